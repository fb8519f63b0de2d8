"""What the price chart draws, as numpy columns: the candles (history, then the live
candles from the cut on) and the indicator lines over them (VWAP, two moving averages).

No Qt. `ChartSeries.load(history)` takes a HistoryLoad; `ChartSeries.set_live(candles)`
takes the live candles (the recorder's minutes from the cut, at the chart's interval,
the forming one last) and joins the first to the last history candle when they are the
same bucket. Only what changed is recomputed: a new live candle appends (the arrays are
rebuilt once a candle), the forming candle's change rewrites the last values, and the
indicators are recomputed from the first changed candle on, from their state just
before it (an EMA over 100,000 candles is not recomputed for a tick).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.marketdata.candle_series import CandleSeries
from desktop_oms.marketdata.candles import IST_OFFSET_S
from desktop_oms.marketdata.history import merge_live

__all__ = ["AVERAGES", "Averages", "ChartSeries"]

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Averages:
    """The moving averages shown: kind ("EMA" / "SMA") and up to two periods."""

    kind: str
    periods: tuple[int, ...]

    @property
    def label(self) -> str:
        if not self.periods:
            return "No averages"
        return f"{self.kind} " + " / ".join(str(p) for p in self.periods)


AVERAGES = (
    Averages("EMA", (20, 50)),
    Averages("EMA", (9, 21)),
    Averages("SMA", (20, 50)),
    Averages("SMA", (50, 200)),
    Averages("EMA", ()),
)


class ChartSeries:
    """Candles and indicators of one instrument at one interval (see the module docstring)."""

    def __init__(self, interval: Interval = Interval.M5, averages: Averages = AVERAGES[0]) -> None:
        self.interval = interval
        self.averages = averages
        self.cut: int = 0
        self._history: list[Candle] = []
        self._live_key: tuple | None = None
        self.data = CandleSeries.empty()
        self.history_count = 0
        self.vwap = np.empty(0)
        self.mas: list[np.ndarray] = []
        self._cum_pv = np.empty(0)
        self._cum_v = np.empty(0)
        self.version = 0  # changes whenever the candles change (the plot redraws)
        self.appended = 0  # candles appended since the load (the plot follows the last)

    def __len__(self) -> int:
        return len(self.data)

    # ---- loading ---------------------------------------------------------------------

    def load(self, candles: Sequence[Candle], cut: int) -> None:
        self._history = list(candles)
        self.cut = cut
        self._live_key = None
        self.data = CandleSeries.from_candles(self._history)
        self.history_count = len(self._history)
        self.appended = 0
        self._recompute(0)
        self.version += 1

    def set_averages(self, averages: Averages) -> None:
        self.averages = averages
        self._recompute_averages(0)
        self.version += 1

    # ---- live ------------------------------------------------------------------------

    def set_live(self, live: Sequence[Candle]) -> bool:
        """The live candles from the cut (forming last). True if anything changed."""
        last = self._history[-1] if self._history else None
        tail = merge_live(last, list(live))
        if not tail:
            return False
        key = (len(tail), tail[-1])
        if key == self._live_key:
            return False
        self._live_key = key
        base = self.history_count - (1 if last is not None and tail[0].start == last.start else 0)
        n_before = len(self.data)
        wanted = base + len(tail)
        if wanted != n_before:  # a new candle: rebuild the arrays once
            head = _slice(self.data, base)
            tail_cols = CandleSeries.from_candles(tail)
            self.data = CandleSeries(
                *(np.concatenate((getattr(head, f), getattr(tail_cols, f))) for f in _FIELDS)
            )
            changed_from = min(base, n_before - 1) if n_before else 0
            self.appended += max(wanted - n_before, 0)
        else:  # only the forming candle (and perhaps the one before) moved
            changed_from = max(wanted - 2, base)
            for i in range(changed_from, wanted):
                c = tail[i - base]
                d = self.data
                d.start[i] = c.start
                d.open[i], d.high[i], d.low[i] = float(c.open), float(c.high), float(c.low)
                d.close[i], d.volume[i] = float(c.close), float(c.volume)
        self._recompute(max(changed_from, 0))
        self.version += 1
        return True

    # ---- indicators ------------------------------------------------------------------

    def _recompute(self, start: int) -> None:
        self._recompute_vwap(start)
        self._recompute_averages(start)

    def _recompute_vwap(self, start: int) -> None:
        d = self.data
        n = len(d)
        self.vwap = _grow(self.vwap, n)
        self._cum_pv = _grow(self._cum_pv, n)
        self._cum_v = _grow(self._cum_v, n)
        if n == 0 or start >= n:
            return
        if not self.interval.intraday:  # a VWAP restarts each day: nothing to show on days
            self.vwap[:] = np.nan
            return
        days = (d.start[start:] + IST_OFFSET_S) // DAY_S
        typical = (d.high[start:] + d.low[start:] + d.close[start:]) / 3.0
        volume = d.volume[start:]
        continues = start > 0 and (d.start[start - 1] + IST_OFFSET_S) // DAY_S == days[0]
        base_pv = self._cum_pv[start - 1] if continues else 0.0
        base_v = self._cum_v[start - 1] if continues else 0.0
        cum_pv = _cumsum_by_day(typical * volume, days, base_pv)
        cum_v = _cumsum_by_day(volume, days, base_v)
        self._cum_pv[start:] = cum_pv
        self._cum_v[start:] = cum_v
        with np.errstate(invalid="ignore", divide="ignore"):
            self.vwap[start:] = np.where(cum_v > 0, cum_pv / np.where(cum_v > 0, cum_v, 1), np.nan)

    def _recompute_averages(self, start: int) -> None:
        close = self.data.close
        n = len(close)
        periods = self.averages.periods
        if len(self.mas) != len(periods) or start == 0:
            self.mas = [np.full(n, np.nan) for _ in periods]
            start = 0
        for k, period in enumerate(periods):
            line = _grow(self.mas[k], n)
            self.mas[k] = line
            if n < period:
                line[:] = np.nan
                continue
            if self.averages.kind == "SMA":
                first = max(start, period - 1)
                window = close[first - period + 1 :]
                sums = np.cumsum(np.insert(window, 0, 0.0))
                line[first:] = (sums[period:] - sums[:-period]) / period
                continue
            alpha = 2.0 / (period + 1)
            if start <= period - 1:
                line[: period - 1] = np.nan
                line[period - 1] = close[:period].mean()
                start = period
            if start < n:
                _ema_into(line, close, start, alpha)


def _cumsum_by_day(values: np.ndarray, days: np.ndarray, base: float) -> np.ndarray:
    """Cumulative sums restarting at each new day; the first day's continue from `base`."""
    sums = np.cumsum(values)
    m = len(values)
    first_of_day = np.zeros(m, dtype=bool)
    first_of_day[0] = True
    first_of_day[1:] = days[1:] != days[:-1]
    group_start = np.maximum.accumulate(np.where(first_of_day, np.arange(m), 0))
    before = np.where(group_start > 0, sums[np.maximum(group_start - 1, 0)], 0.0)
    out = sums - before
    out[group_start == 0] += base
    return out


_FIELDS = ("start", "open", "high", "low", "close", "volume")


def _slice(series: CandleSeries, end: int) -> CandleSeries:
    return CandleSeries(*(getattr(series, f)[:end] for f in _FIELDS))


def _grow(values: np.ndarray, n: int) -> np.ndarray:
    if len(values) == n:
        return values
    if len(values) > n:
        return values[:n].copy()
    return np.concatenate((values, np.full(n - len(values), np.nan)))


def _ema_into(line: np.ndarray, close: np.ndarray, start: int, alpha: float) -> None:
    """EMA values from `start` on, from line[start - 1] (vectorised in blocks: a scan
    over a long history in numpy rather than Python)."""
    n = len(close)
    if alpha >= 1:
        line[start:] = close[start:]
        return
    previous = line[start - 1]
    i = start
    while i < n:
        block = min(n - i, 128)
        # e[k] = (1-a)^(k+1) * prev + a * sum_{j<=k} (1-a)^(k-j) x[j]
        decay = (1 - alpha) ** np.arange(1, block + 1)
        x = close[i : i + block]
        weights = alpha * (1 - alpha) ** (-np.arange(block))
        acc = np.cumsum(x * weights) * (1 - alpha) ** np.arange(block)
        line[i : i + block] = decay * previous + acc
        previous = line[i + block - 1]
        i += block
