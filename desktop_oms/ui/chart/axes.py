"""The price chart's axes: time under candles placed by index, and the price.

x is the candle's index, so the time axis finds its ticks in the candles' start times:
for the span in view it picks the smallest step (1 minute ... 1 year) whose boundaries,
in IST, fit the axis's width, and puts a tick at each candle that starts a new step.
Labels are IST: HH:MM inside a day, "08 Dec" where a day starts, "Dec 2026" where a
month starts (for monthly steps and coarser). The price axis never scales by an SI
prefix.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics

from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.candles import IST_OFFSET_S

__all__ = ["IndexTimeAxis", "PriceAxis"]

DAY_S = 86_400
# Intraday steps (seconds) and then calendar steps: days, weeks, months, years.
_STEPS = (60, 300, 900, 1800, 3600, 7200, 10800, DAY_S)
_CALENDAR = ("week", "month", "quarter", "year")


def _month_index(starts: np.ndarray) -> np.ndarray:
    days = (starts + IST_OFFSET_S) // DAY_S
    dates = days.astype("datetime64[D]")
    return dates.astype("datetime64[M]").astype(np.int64)


class IndexTimeAxis(pg.AxisItem):
    """Bottom axis of a chart whose x is the candle index (see the module docstring)."""

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.starts = np.empty(0, dtype=np.int64)
        self._labels: dict[int, str] = {}
        self._last: tuple | None = None  # (key, marks) of the last question

    def set_starts(self, starts: np.ndarray) -> None:
        self.starts = starts
        self._last = None
        self.picture = None
        self.update()

    def _label_width(self) -> int:
        font = self.style.get("tickFont") or self.font()
        return QFontMetrics(font).horizontalAdvance("00 Mmm 00") + 14

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        values, self._labels = self.marks(minVal, maxVal, size)
        return [(1.0, values)] if values else []

    def marks(self, lo: float, hi: float, size: float) -> tuple[list[float], dict[int, str]]:
        """The candle indices that get a tick between `lo` and `hi` on `size` pixels, and
        their labels (the price chart's grid asks too: the last answer is kept)."""
        starts = self.starts
        n = len(starts)
        if n == 0 or not (math.isfinite(lo) and math.isfinite(hi)) or size <= 0:
            return [], {}
        first = max(int(math.ceil(lo)), 0)
        last = min(int(math.floor(hi)), n - 1)
        if last < first:
            return [], {}
        fits = max(int(size / self._label_width()), 2)
        # what the answer depends on (the axis and the grid ask with a pixel's difference)
        key = (id(starts), n, first, last, fits)
        if self._last is None or self._last[0] != key:
            self._last = (key, self._marks(first, last, fits))
        return self._last[1]

    def _marks(self, first: int, last: int, fits: int) -> tuple[list[float], dict[int, str]]:
        starts = self.starts
        labels: dict[int, str] = {}
        visible = starts[first : last + 1]
        local = visible + IST_OFFSET_S
        chosen = None
        for step in _STEPS:
            bucket = local // step
            marks = np.flatnonzero(np.diff(bucket)) + 1
            if len(marks) <= fits:
                chosen = (step, marks)
                break
        if chosen is None:
            days = local // DAY_S
            for kind in _CALENDAR:
                if kind == "week":
                    bucket = (days + 3) // 7  # weeks start on Monday (1970-01-01 was a Thursday)
                else:
                    months = _month_index(visible)
                    per = {"month": 1, "quarter": 3, "year": 12}[kind]
                    bucket = months // per
                marks = np.flatnonzero(np.diff(bucket)) + 1
                if len(marks) <= fits:
                    chosen = (kind, marks)
                    break
        if chosen is None:
            years = _month_index(visible) // 12
            marks = np.flatnonzero(np.diff(years)) + 1
            every = max(int(math.ceil(len(marks) / fits)), 1)
            chosen = ("year", marks[::every])
        step, marks = chosen
        values = []
        days = local // DAY_S
        for m in marks:
            index = first + int(m)
            at = datetime.fromtimestamp(int(starts[index]), UTC).astimezone(IST)
            new_day = m > 0 and days[m] != days[m - 1]
            if step in ("month", "quarter", "year"):
                text = f"{at:%b %Y}" if at.month == 1 or step != "month" else f"{at:%b}"
            elif step in ("week", DAY_S) or (new_day and step != 60):
                text = f"{at:%d %b}"
            else:
                text = f"{at:%H:%M}"
            labels[index] = text
            values.append(float(index))
        return values, labels

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [self._labels.get(int(round(v)), "") for v in values]


class PriceAxis(pg.AxisItem):
    """A price axis without SI prefixes."""

    def __init__(self, orientation: str = "right", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
