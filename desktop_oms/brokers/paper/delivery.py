"""Delivery of the paper broker's pushed updates and ticks, and its request rate limiter."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from desktop_oms.brokers.port import BrokerUpdate, TickListener, UpdateListener
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
