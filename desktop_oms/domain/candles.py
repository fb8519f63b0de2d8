"""Candles: the chart's intervals and one candle (open, high, low, close, volume).

A candle covers [start, start + interval) where `start` is in epoch seconds (UTC) and
is where the interval's bucket begins in IST (marketdata/candles.py says where that is:
intraday buckets count from the exchange's session open, as Kite's do, a day candle is
the IST calendar day). Prices are Decimal, as everywhere; the chart turns them into
floats only to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

__all__ = ["Candle", "Interval"]


class Interval(Enum):
    """The chart's intervals: (label, seconds, Kite's name for it)."""

    M1 = ("1m", 60, "minute")
    M3 = ("3m", 180, "3minute")
    M5 = ("5m", 300, "5minute")
    M15 = ("15m", 900, "15minute")
    H1 = ("1h", 3600, "60minute")
    D1 = ("day", 86400, "day")

    def __init__(self, label: str, seconds: int, kite_name: str) -> None:
        self.label = label
        self.seconds = seconds
        self.kite_name = kite_name

    @property
    def intraday(self) -> bool:
        return self is not Interval.D1

    @classmethod
    def from_label(cls, label: str) -> Interval:
        for interval in cls:
            if interval.label == label or interval.kite_name == label:
                return interval
        raise ValueError(f"unknown candle interval {label!r}")


@dataclass(frozen=True, slots=True)
class Candle:
    """One candle. `start` is epoch seconds (UTC) of its first instant."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0

    def __post_init__(self) -> None:
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise ValueError(
                f"not a candle: open {self.open}, high {self.high}, low {self.low}, "
                f"close {self.close}"
            )
        if self.volume < 0:
            raise ValueError(f"a candle's volume cannot be negative, got {self.volume}")

    @property
    def at(self) -> datetime:
        """The candle's start as an aware datetime (UTC; show it with infra.clock)."""
        return datetime.fromtimestamp(self.start, UTC)
