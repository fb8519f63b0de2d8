"""Delivery of the paper broker's pushed updates and ticks, and the pace of its requests.

`Delivery` hands order updates to listeners only once the exchange's record of them is
on disk (`Durability`, the store), in order, batched while they wait; ticks go out at
once. `ListenerHub` calls the listeners on the event loop. `RequestPacing` makes each
request take the configured latency and wait for the rate limiter (`RateLimiter`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from desktop_oms.brokers.errors import BrokerRateLimited
from desktop_oms.brokers.port import BrokerUpdate, TickListener, UpdateListener
from desktop_oms.brokers.rate_limit import RateLimit
from desktop_oms.brokers.rate_limit import RateLimiter as SlidingLimiter
from desktop_oms.domain.market import Tick

log = logging.getLogger(__name__)


class ListenerHub:
    """Update and tick listeners, called on the event loop and never inside a request.

    On the loop thread, `publish` delivers ticks at once and schedules order updates with
    `call_soon` (so whoever made the change has returned first); from a thread without a running loop it hands the
    batch to the broker's loop thread-safely, or calls the listeners at once when no
    loop runs at all. A listener that raises is logged; the others still get the batch.
    """

    def __init__(self) -> None:
        self.update_listeners: list[UpdateListener] = []
        self.tick_listeners: list[TickListener] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def publish(self, ticks: Sequence[Tick], updates: Sequence[BrokerUpdate]) -> None:
        if not (ticks and self.tick_listeners) and not (updates and self.update_listeners):
            return
        batch = (tuple(ticks), tuple(updates))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            # Ticks go out at once: a price set by set_last_price must be what the next
            # pre-trade check sees (tick listeners only store quotes). Order updates wait
            # for the next loop turn, so a request returns before its updates arrive.
            if batch[0]:
                self.deliver(batch[0], ())
            if batch[1]:
                running.call_soon(self.deliver, (), batch[1])
            return
        owner = self.loop
        if owner is not None and owner.is_running() and not owner.is_closed():
            try:
                owner.call_soon_threadsafe(self.deliver, *batch)
                return
            except RuntimeError:  # closed in between
                pass
        self.deliver(*batch)

    def deliver(self, ticks: tuple[Tick, ...], updates: tuple[BrokerUpdate, ...]) -> None:
        if ticks:
            for listener in list(self.tick_listeners):
                try:
                    listener(ticks)
                except Exception:
                    log.exception("paper broker: tick listener %r failed", listener)
        for update in updates:
            for listener in list(self.update_listeners):
                try:
                    listener(update)
                except Exception:
                    log.exception("paper broker: update listener %r failed", listener)


class RateLimiter:
    """Token bucket: bursts of up to `rate` requests, then `rate` per second; callers wait."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0:
            raise ValueError("requests_per_second must be positive")
        self._clock = clock
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._tokens = self.capacity
        self._stamp: float | None = None

    def reserve(self) -> float:
        """Take a token; return how long the caller must wait for it (seconds)."""
        now = self._clock()
        if self._stamp is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1
        return max(0.0, -self._tokens / self.rate)

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


class Durability(Protocol):
    """What delivery needs of the store: when its records are on disk."""

    @property
    def mark(self) -> int:
        """The mark of the last record written on the loop (0: nothing to wait for)."""

    def is_durable(self, mark: int) -> bool: ...

    def when_durable(self, mark: int, callback: Callable[[OSError | None], None]) -> None: ...

    async def durable(self, mark: int) -> None: ...

    def failed(self, exc: OSError) -> None:
        """A flush failed: the store stops recording."""


class Delivery:
    """Pushes ticks at once and order updates once the exchange's record of them is on
    disk. Updates made while earlier ones wait for the disk join them: they are delivered
    together, in order, as one batch (as a burst of fills would arrive)."""

    def __init__(self, durability: Durability) -> None:
        self.hub = ListenerHub()
        self._disk = durability
        self._held: list[BrokerUpdate] | None = None  # updates waiting for the disk
        self._held_mark = 0

    def bind_loop(self) -> None:
        """Deliver from threads through the running loop (the first one seen)."""
        if self.hub.loop is None:
            self.hub.loop = asyncio.get_running_loop()

    def publish(self, ticks: Sequence[Tick], updates: Sequence[BrokerUpdate]) -> None:
        mark = self._disk.mark
        if not updates or (not mark and self._held is None):
            self.hub.publish(ticks, updates)
            return
        self.hub.publish(ticks, ())
        if self._held is not None:
            self._held.extend(updates)
            self._held_mark = mark
            return
        self._held, self._held_mark = list(updates), mark
        self._disk.when_durable(mark, self._deliver_held)

    def _deliver_held(self, failure: OSError | None) -> None:
        if failure is None and not self._disk.is_durable(self._held_mark):
            # More joined while the disk worked: wait for theirs too.
            self._disk.when_durable(self._held_mark, self._deliver_held)
            return
        held, self._held = self._held or [], None
        if failure is not None:
            self._disk.failed(failure)  # applied in memory already: still reported
        self.hub.publish((), held)

    async def settle(self) -> None:
        """Return once every order update made so far has reached the listeners (they
        wait for the journal's disk flush, then the hub's next loop turn)."""
        disk = self._disk
        while self._held is not None or not disk.is_durable(disk.mark):
            try:
                await disk.durable(disk.mark)
            except OSError:
                break  # _deliver_held reported it and delivered what was held
            await asyncio.sleep(0)
        await asyncio.sleep(0)


class RequestPacing:
    """How long a request takes: the configured latency, after the rate limiter's wait;
    and Kite's order request limits (`order_limits`): a place or modify over them is
    refused like Kite's 429 (or waits up to `order_wait_limit_s`, as the app's Kite
    adapter does), a cancel waits its turn."""

    def __init__(
        self,
        latency_s: float,
        requests_per_second: float | None,
        order_limits: Sequence[RateLimit] = (),
        order_wait_limit_s: float | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.limiter = RateLimiter(requests_per_second) if requests_per_second else None
        self.order_window = (
            SlidingLimiter(order_limits, name="order", margin=0.0) if order_limits else None
        )
        self.order_wait_limit_s = order_wait_limit_s

    async def before(self, order_request: bool = False, *, kind: str = "place") -> None:
        if order_request and self.limiter is not None:
            await self.limiter.acquire()
        if order_request and self.order_window is not None:
            await self._admit(kind)
        if self.latency_s > 0:
            # Order requests: half the latency before the exchange acts, half after (a
            # caller that gives up in the second half leaves an order that exists).
            await asyncio.sleep(self.latency_s / 2 if order_request else self.latency_s)

    async def _admit(self, kind: str) -> None:
        window = self.order_window
        if kind == "cancel":
            await window.acquire()  # a cancel never goes stale: it waits its turn
        elif self.order_wait_limit_s is not None:
            await window.acquire(max_wait=self.order_wait_limit_s)
        elif not window.try_acquire():
            raise BrokerRateLimited(
                f"Too many requests: Kite allows {window.describe()} order requests "
                f"(HTTP 429); this {kind} was not accepted, try again in "
                f"{window.delay():.1f} s"
            )

    async def after(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s / 2)
