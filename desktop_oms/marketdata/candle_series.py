"""Candles as numpy columns (what the chart draws from) and the chart's indicators:
VWAP (restarting each IST day), simple and exponential moving averages.

Pure, numpy (not imported on the way to the first window: the chart loads it once it
is built).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from desktop_oms.domain.candles import Candle
from desktop_oms.marketdata.candles import DAY_S, IST_OFFSET_S

__all__ = ["CandleSeries", "ema", "sma", "vwap"]


@dataclass(slots=True)
class CandleSeries:
    """Candles as numpy columns (what the chart draws): start (int64 epoch seconds) and
    open, high, low, close, volume (float64)."""

    start: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def empty(cls) -> CandleSeries:
        return cls.from_candles(())

    @classmethod
    def from_candles(cls, candles: Sequence[Candle] | Iterable[Candle]) -> CandleSeries:
        rows = list(candles)
        n = len(rows)
        start = np.fromiter((c.start for c in rows), dtype=np.int64, count=n)
        cols = np.array(
            [(float(c.open), float(c.high), float(c.low), float(c.close), c.volume) for c in rows],
            dtype=np.float64,
        ).reshape(n, 5)
        return cls(start, cols[:, 0].copy(), cols[:, 1].copy(), cols[:, 2].copy(),
                   cols[:, 3].copy(), cols[:, 4].copy())  # fmt: skip

    def __len__(self) -> int:
        return len(self.start)

    def put(self, candle: Candle) -> None:
        """The forming candle: replaces the last one when it has the same start, else is
        appended (a candle older than the last is ignored)."""
        values = (float(candle.open), float(candle.high), float(candle.low),
                  float(candle.close), float(candle.volume))  # fmt: skip
        n = len(self.start)
        if n and self.start[-1] == candle.start:
            i = n - 1
            self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i] = values
            return
        if n and candle.start < self.start[-1]:
            return
        self.start = np.append(self.start, np.int64(candle.start))
        self.open = np.append(self.open, values[0])
        self.high = np.append(self.high, values[1])
        self.low = np.append(self.low, values[2])
        self.close = np.append(self.close, values[3])
        self.volume = np.append(self.volume, values[4])


def vwap(series: CandleSeries) -> np.ndarray:
    """Volume-weighted average price, restarting each IST day (typical price
    (high + low + close) / 3 weighted by volume; NaN until a day has traded volume)."""
    n = len(series)
    if n == 0:
        return np.empty(0)
    typical = (series.high + series.low + series.close) / 3.0
    days = (series.start + IST_OFFSET_S) // DAY_S
    pv = typical * series.volume
    out = np.empty(n)
    # cumulative sums restarted at each day boundary
    boundaries = np.flatnonzero(np.diff(days)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [n]))
    for a, b in zip(starts, ends, strict=True):
        cum_v = np.cumsum(series.volume[a:b])
        cum_pv = np.cumsum(pv[a:b])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[a:b] = np.where(cum_v > 0, cum_pv / np.where(cum_v > 0, cum_v, 1), np.nan)
    return out


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average over `period` values (NaN for the first period - 1)."""
    if period < 1:
        raise ValueError("a moving average needs a period of at least 1")
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) >= period:
        cumulative = np.cumsum(np.insert(values, 0, 0.0))
        out[period - 1 :] = (cumulative[period:] - cumulative[:-period]) / period
    return out


def ema(values: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average (alpha 2 / (period + 1)), seeded with the SMA of the
    first `period` values (NaN before)."""
    if period < 1:
        raise ValueError("a moving average needs a period of at least 1")
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    out = np.full(n, np.nan)
    if n < period:
        return out
    alpha = 2.0 / (period + 1)
    out[period - 1] = values[:period].mean()
    previous = out[period - 1]
    for i in range(period, n):
        previous = previous + alpha * (values[i] - previous)
        out[i] = previous
    return out
