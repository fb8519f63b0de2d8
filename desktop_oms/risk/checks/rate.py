"""A sliding window over orders sent to the broker (Kite: 10/s, 400/min, 5000/day).

An order is counted from the moment it is journaled for sending (in flight included)
for exactly `period` seconds; an order sent as slices counts once per slice, and needs
room for all of them. Refused attempts are never recorded. The day window is a
sliding 24 h, never looser than Kite's calendar day. Time is an injected monotonic clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from desktop_oms.risk.checks import fmt


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests: int
    period: float  # seconds

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.period <= 0:
            raise ValueError("a rate limit needs a positive count and period")

    @property
    def label(self) -> str:
        if self.period == 1:
            return "per second"
        if self.period == 60:
            return "per minute"
        if self.period == 86_400:
            return "per day"
        return f"per {self.period:g} s"

    @property
    def window(self) -> str:
        if self.period == 1:
            return "the last second"
        if self.period == 60:
            return "the last minute"
        if self.period == 86_400:
            return "the last 24 hours"
        return f"the last {self.period:g} s"


KITE_ORDER_RATE = (RateLimit(10, 1.0), RateLimit(400, 60.0), RateLimit(5000, 86_400.0))


class OrderRateWindow:
    def __init__(self, limits: Iterable[RateLimit] = KITE_ORDER_RATE) -> None:
        self.limits = tuple(sorted(limits, key=lambda limit: limit.period))
        if not self.limits:
            raise ValueError("at least one rate limit is needed")
        self._sent: deque[float] = deque()  # send times, oldest first

    def _prune(self, now: float) -> None:
        horizon = now - self.limits[-1].period
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    def count(self, now: float, period: float) -> int:
        self._prune(now)
        return sum(1 for t in self._sent if t > now - period)

    def delay(self, now: float, count: int = 1) -> tuple[float, RateLimit | None]:
        """Seconds until `count` more orders (the slices of one) fit every window (0 now),
        and the binding limit; infinite if they never can."""
        self._prune(now)
        wait, binding = 0.0, None
        sent = list(self._sent)
        for limit in self.limits:
            if count > limit.requests:
                return math.inf, limit
            inside = [t for t in sent if t > now - limit.period]
            excess = len(inside) + count - limit.requests
            if excess > 0:
                # The excess-th oldest send must leave the window first.
                leave = inside[excess - 1] + limit.period - now
                if leave > wait:
                    wait, binding = leave, limit
        return wait, binding

    def check(self, now: float, count: int = 1) -> str | None:
        wait, limit = self.delay(now, count)
        if wait <= 0 or limit is None:
            return None
        if math.isinf(wait):
            return (
                f"Order rate limit: this order goes as {fmt.count(count)} orders; the broker allows "
                f"{fmt.count(limit.requests)} {limit.label}"
            )
        sent = self.count(now, limit.period)
        slices = f"; this order goes as {fmt.count(count)} orders" if count > 1 else ""
        return (
            f"Order rate limit: {fmt.count(sent)} orders sent in {limit.window}{slices}; the broker "
            f"allows {fmt.count(limit.requests)} {limit.label}. Try again in {max(wait, 0.01):.2f} s"
        )

    def record(self, now: float) -> None:
        self._prune(now)
        self._sent.append(now)

    def prime(self, times: Iterable[float]) -> None:
        """Count orders sent before this window existed (after a restart)."""
        merged = sorted([*self._sent, *times])
        self._sent = deque(merged)
