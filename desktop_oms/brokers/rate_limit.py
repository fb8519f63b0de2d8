"""Client-side sliding-window rate limiting at Kite's published limits.

Kite counts every order request it receives (rejected ones included) and answers 429
above 10 order requests per second, 400 per minute and 5,000 per day; quotes are limited
to 1 request per second and the other endpoints to 10 per second. Hitting the broker's
limit with a real order is worse than waiting a few milliseconds here, so every request
that sends, modifies or cancels an order passes through one shared `RateLimiter`
(`KiteBroker(rate_limiter=...)`; the kill switch and brackets use the same broker, hence
the same limiter). The OMS's pre-trade `order_rate` check can ask `would_exceed()` first.

All windows are sliding (a request is counted for exactly `period` seconds after it was
sent), which is never looser than a fixed window; the daily window is a sliding 24 h,
which is stricter than Kite's calendar day. Time comes from an injected monotonic clock
and the waiting from an injected sleep, so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from desktop_oms.brokers.errors import BrokerRateLimited

__all__ = [
    "KITE_ORDER_LIMITS",
    "KITE_OTHER_LIMITS",
    "KITE_QUOTE_LIMITS",
    "RateLimit",
    "RateLimiter",
    "kite_order_limiter",
    "kite_other_limiter",
    "kite_quote_limiter",
    "DEFAULT_MARGIN",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` within any `period` seconds."""

    requests: int
    period: float

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.period <= 0:
            raise ValueError("a rate limit needs a positive count and period")


KITE_ORDER_LIMITS = (RateLimit(10, 1.0), RateLimit(400, 60.0), RateLimit(5000, 86_400.0))
KITE_QUOTE_LIMITS = (RateLimit(1, 1.0),)
KITE_OTHER_LIMITS = (RateLimit(10, 1.0),)


class RateLimiter:
    """An asyncio sliding-window limiter over one or more windows.

    `acquire()` waits (FIFO) until a request may be sent and records it; `try_acquire()`
    records it only if it may be sent now; `would_exceed()` and `delay()` only look.
    Use it from one event loop; the bookkeeping itself is not thread-safe.
    """

    def __init__(
        self,
        limits: Sequence[RateLimit],
        *,
        name: str = "requests",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        margin: float = 0.0,
    ) -> None:
        if not limits:
            raise ValueError("a rate limiter needs at least one limit")
        if margin < 0:
            raise ValueError("the safety margin cannot be negative")
        self.name = name
        # Requests reach the broker a little after we count them (thread hand-off, network
        # jitter): each one is counted `margin` seconds longer than its window.
        self.margin = margin
        self.limits = tuple(sorted(limits, key=lambda limit: limit.period))
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        # One deque of send times per limit, oldest first.
        self._sent: tuple[deque[float], ...] = tuple(deque() for _ in self.limits)
        self._lock: asyncio.Lock | None = None
        # When each request waiting in `acquire` is expected to leave, in arrival order.
        self._queued: list[float] = []

    # -- looking -------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        for limit, sent in zip(self.limits, self._sent, strict=True):
            horizon = now - limit.period - self.margin
            while sent and sent[0] <= horizon:
                sent.popleft()

    def delay(self, count: int = 1) -> float:
        """Seconds to wait before `count` more requests fit in every window (0: now)."""
        now = self._clock()
        self._prune(now)
        wait = 0.0
        for limit, sent in zip(self.limits, self._sent, strict=True):
            if count > limit.requests:
                return float("inf")
            excess = len(sent) + count - limit.requests
            if excess > 0:
                # The excess-th oldest request must leave the window first.
                wait = max(wait, sent[excess - 1] + limit.period + self.margin - now)
        return max(wait, 0.0)

    def would_exceed(self, count: int = 1) -> bool:
        """True if sending `count` more requests now would break a limit."""
        return self.delay(count) > 0

    def usage(self) -> dict[float, int]:
        """Requests counted in each window, keyed by the window's period in seconds."""
        self._prune(self._clock())
        return {
            limit.period: len(sent) for limit, sent in zip(self.limits, self._sent, strict=True)
        }

    # -- recording -----------------------------------------------------------------------

    def record(self, count: int = 1) -> None:
        """Count requests that were sent (or are about to be) without asking first."""
        now = self._clock()
        self._prune(now)
        for sent in self._sent:
            sent.extend([now] * count)

    def try_acquire(self, count: int = 1) -> bool:
        """Record and return True if `count` requests may go now, else change nothing."""
        if self.delay(count) > 0:
            return False
        self.record(count)
        return True

    def _projected_start(self, now: float) -> float:
        """When a request asked for now would leave: after every request already sent
        and every one queued ahead of it (FIFO), within every window."""
        self._prune(now)
        start = now
        if self._queued:
            start = max(start, self._queued[-1])
        queued = len(self._queued)
        for limit, sent in zip(self.limits, self._sent, strict=True):
            # The request `limit.requests` places back (sent ones are older than queued
            # ones) must have left the window.
            back = len(sent) + queued - limit.requests
            if back >= 0:
                at = sent[back] if back < len(sent) else self._queued[back - len(sent)]
                start = max(start, at + limit.period + self.margin)
        return start

    async def acquire(self, *, max_wait: float | None = None) -> float:
        """Wait until one request may be sent, record it, return the seconds waited.

        The wait limit runs from this call: time spent queued behind other requests
        counts. A request that could not leave within `max_wait` seconds of being asked
        is refused with BrokerRateLimited (recording nothing) - at once when the queue
        ahead already says so, else as soon as it would: a stale order is worse than a
        refused one.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        asked = self._clock()
        deadline = None if max_wait is None else asked + max_wait
        projected = self._projected_start(asked)
        if deadline is not None and projected > deadline:
            raise self._refusal(projected - asked, max_wait, ahead=len(self._queued))
        self._queued.append(projected)
        try:
            async with self._lock:  # FIFO: waiters are served in arrival order
                while True:
                    now = self._clock()
                    wait = self.delay()
                    if deadline is not None and now + wait > deadline:
                        raise self._refusal(now + wait - asked, max_wait, ahead=0)
                    if wait <= 0:
                        self.record()
                        return now - asked
                    await self._sleep(wait)
        finally:
            self._queued.remove(projected)

    def _refusal(self, would_wait: float, max_wait: float, *, ahead: int) -> BrokerRateLimited:
        queue = f"; {ahead} request(s) are queued ahead of it" if ahead else ""
        return BrokerRateLimited(
            f"Not sent: Kite's {self.name} rate limit ({self._describe()}) would hold this "
            f"request {would_wait:.1f} s, longer than its {max_wait:g} s wait limit{queue}. "
            "Send it again when the burst is over."
        )

    def describe(self) -> str:
        """The limits as a trader reads them: "10/s, 400/min, 5000/day"."""
        return self._describe()

    def _describe(self) -> str:
        parts = []
        for limit in self.limits:
            if limit.period == 1:
                parts.append(f"{limit.requests}/s")
            elif limit.period == 60:
                parts.append(f"{limit.requests}/min")
            elif limit.period == 86_400:
                parts.append(f"{limit.requests}/day")
            else:
                parts.append(f"{limit.requests} per {limit.period:g} s")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"RateLimiter({self.name!r}, {self._describe()})"


DEFAULT_MARGIN = 0.15


def kite_order_limiter(
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    margin: float = DEFAULT_MARGIN,
) -> RateLimiter:
    """Orders (place, modify, cancel): 10/s, 400/min, 5000/day (+ a small safety margin)."""
    return RateLimiter(KITE_ORDER_LIMITS, name="order", clock=clock, sleep=sleep, margin=margin)


def kite_quote_limiter(
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    margin: float = DEFAULT_MARGIN,
) -> RateLimiter:
    """Quote / LTP / OHLC: 1/s."""
    return RateLimiter(KITE_QUOTE_LIMITS, name="quote", clock=clock, sleep=sleep, margin=margin)


def kite_other_limiter(
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    margin: float = DEFAULT_MARGIN,
) -> RateLimiter:
    """Every other endpoint (order book, trades, positions, margins): 10/s."""
    return RateLimiter(KITE_OTHER_LIMITS, name="API", clock=clock, sleep=sleep, margin=margin)
