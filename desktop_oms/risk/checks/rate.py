"""A sliding window over orders sent to the broker (Kite: 10/s, 400/min, 5000/day).

An order is counted from the moment it is journaled for sending (in flight included)
for exactly `period` seconds. Refused attempts are never recorded. The day window is a
sliding 24 h, never looser than Kite's calendar day. Time is an injected monotonic clock.
"""

from __future__ import annotations

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

    def delay(self, now: float) -> tuple[float, RateLimit | None]:
        """Seconds until one more order fits every window (0 now), and the binding limit."""
        self._prune(now)
        wait, binding = 0.0, None
        sent = list(self._sent)
        for limit in self.limits:
            inside = [t for t in sent if t > now - limit.period]
            excess = len(inside) + 1 - limit.requests
            if excess > 0:
                # The excess-th oldest send must leave the window first.
                leave = inside[excess - 1] + limit.period - now
                if leave > wait:
                    wait, binding = leave, limit
        return wait, binding

    def check(self, now: float) -> str | None:
        wait, limit = self.delay(now)
        if wait <= 0 or limit is None:
            return None
        sent = self.count(now, limit.period)
        return (
            f"Order rate limit: {fmt.count(sent)} orders sent in {limit.window}; the broker allows "
            f"{fmt.count(limit.requests)} {limit.label}. Try again in {max(wait, 0.01):.2f} s"
        )

    def record(self, now: float) -> None:
        self._prune(now)
        self._sent.append(now)

    def prime(self, times: Iterable[float]) -> None:
        """Count orders sent before this window existed (after a restart)."""
        merged = sorted([*self._sent, *times])
        self._sent = deque(merged)
