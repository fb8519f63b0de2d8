"""Candles and volume bars that draw only what is in view (pyqtgraph items).

x is the candle's index (candles side by side: a night or a quiet minute leaves no
hole), y the price. Each paint:

1. takes the candles whose index is in the view's x range (numpy slices, no copy of
   the rest: 100,000 candles cost what the visible ones cost);
2. when there are more of them than pixel columns, folds them into one candle per
   column (first open, highest high, lowest low, last close), so a zoomed-out chart
   draws at most a screenful of candles and still shows every extreme;
3. maps them to device pixels with numpy and draws, without the item's transform, four
   paths: rising wicks, falling wicks, rising bodies, falling bodies. A body is one
   thick line (its width the candle's width in pixels, flat caps) from open to close,
   at least one pixel tall, so a doji still shows.

`dataBounds` gives the low and high of the candles in a given x range, which is what
the view's auto-range uses to fit the price axis to what is visible (`setAutoVisible`).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QTransform

from desktop_oms.marketdata.candle_series import CandleSeries

__all__ = ["CandleItem", "IndicatorItem", "VolumeItem", "fold"]

BODY_SHARE = 0.7  # of a candle's slot
KEEP_IN_VIEW_SHARE = 0.05  # lines this close to the last price widen the price range


def fold(k: int, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray):
    """Every `k` candles as one (first open, max high, min low, last close)."""
    n = len(o)
    if k <= 1 or n == 0:
        return o, h, lo, c
    starts = np.arange(0, n, k)
    ends = np.minimum(starts + k, n) - 1
    return o[starts], np.maximum.reduceat(h, starts), np.minimum.reduceat(lo, starts), c[ends]


class _RangeItem(pg.GraphicsObject):
    """Shared plumbing: the series, the visible slice, the bounds."""

    def __init__(self) -> None:
        super().__init__()
        self.series: CandleSeries = CandleSeries.empty()
        self._bounds = QRectF()
        self.paints = 0  # paints so far (benchmarks, tests)
        self.drawn = 0  # candles (or folded groups) drawn by the last paint

    def set_series(self, series: CandleSeries) -> None:
        self.prepareGeometryChange()
        self.series = series
        self._bounds = self._compute_bounds()
        self.update()

    def data_changed(self, series: CandleSeries | None = None) -> None:
        """The last candles changed (or one was added): new bounds, a repaint."""
        if series is not None:
            self.series = series
        bounds = self._compute_bounds()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def tail_changed(self, series: CandleSeries, count: int) -> None:
        """The last `count` candles changed in place: repaint their column only (all of
        the item if its bounds changed)."""
        self.series = series
        bounds = self._compute_bounds()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
            self.update()
            return
        n = len(series)
        self.update(QRectF(n - count - 0.5, bounds.top(), count + 1.0, bounds.height()))

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._bounds)

    def _compute_bounds(self) -> QRectF:
        raise NotImplementedError

    def _visible(self) -> tuple[int, int]:
        n = len(self.series)
        view = self.viewRect()
        if view is None or n == 0:
            return 0, n
        first = max(int(math.floor(view.left())), 0)
        last = min(int(math.ceil(view.right())) + 1, n)
        return first, max(first, last)

    @staticmethod
    def _slice_bounds(values: np.ndarray, ortho: tuple[float, float] | None) -> slice:
        n = len(values)
        if ortho is None:
            return slice(0, n)
        a, b = ortho
        return slice(max(int(math.floor(a)), 0), min(int(math.ceil(b)) + 1, n))


class CandleItem(_RangeItem):
    """Candlesticks of a CandleSeries (see the module docstring)."""

    def __init__(self, up: str, down: str) -> None:
        super().__init__()
        self.up = pg.mkColor(up)
        self.down = pg.mkColor(down)
        self.kept_in_view: tuple[float, ...] = ()  # prices of the trading lines

    def _compute_bounds(self) -> QRectF:
        s = self.series
        if len(s) == 0:
            return QRectF()
        low, high = float(np.nanmin(s.low)), float(np.nanmax(s.high))
        return QRectF(-0.5, low, len(s), max(high - low, 1e-9))

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802,N803
        s = self.series
        if len(s) == 0:
            return (None, None)
        if ax == 0:
            return (-0.5, len(s) - 0.5)
        part = self._slice_bounds(s.low, orthoRange)
        if part.start >= part.stop:
            return (None, None)
        low, high = float(np.nanmin(s.low[part])), float(np.nanmax(s.high[part]))
        # the trader's lines (orders, stop, target, position) near the price stay in view
        last = float(s.close[-1])
        for price in self.kept_in_view:
            if abs(price - last) <= last * KEEP_IN_VIEW_SHARE:
                low, high = min(low, price), max(high, price)
        return (low, high)

    def paint(self, p: QPainter, *args) -> None:
        self.paints += 1
        first, last = self._visible()
        s = self.series
        if last <= first:
            self.drawn = 0
            return
        t: QTransform = p.transform()
        sx, dx, sy, dy = t.m11(), t.m31(), t.m22(), t.m32()
        if sx <= 0:
            return
        o, h, lo, c = s.open[first:last], s.high[first:last], s.low[first:last], s.close[first:last]
        k = max(int(math.ceil(1.0 / sx)), 1)  # candles per pixel column
        o, h, lo, c = fold(k, o, h, lo, c)
        x = (first + np.arange(len(o)) * k + (k - 1) / 2.0) * sx + dx
        self.drawn = len(o)
        yo, yh, yl, yc = o * sy + dy, h * sy + dy, lo * sy + dy, c * sy + dy
        up = c >= o
        width = max(int(sx * k * BODY_SHARE), 1)
        x = np.round(x) + (0.5 if width % 2 else 0.0)
        # at least a pixel of body: a doji is a short dash
        flat = np.abs(yc - yo) < 1.0
        yc = np.where(flat, yo + np.where(up, -1.0, 1.0), yc)
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for mask, colour in ((up, self.up), (~up, self.down)):
            if not mask.any():
                continue
            xs = x[mask]
            wick = QPen(colour)
            wick.setWidth(1)
            wick.setCosmetic(True)
            p.setPen(wick)
            p.drawPath(_pairs(xs, yh[mask], yl[mask]))
            if width > 1:
                body = QPen(colour)
                body.setWidth(width)
                body.setCapStyle(Qt.PenCapStyle.FlatCap)
                body.setCosmetic(True)
                p.setPen(body)
                p.drawPath(_pairs(xs, yo[mask], yc[mask]))
        p.restore()


class VolumeItem(_RangeItem):
    """Volume bars of a CandleSeries, coloured as their candles."""

    def __init__(self, up: str, down: str) -> None:
        super().__init__()
        self.up = pg.mkColor(up)
        self.down = pg.mkColor(down)
        self.up.setAlpha(150)
        self.down.setAlpha(150)

    def _compute_bounds(self) -> QRectF:
        s = self.series
        if len(s) == 0:
            return QRectF()
        return QRectF(-0.5, 0.0, len(s), max(float(np.nanmax(s.volume)), 1.0))

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802,N803
        s = self.series
        if len(s) == 0:
            return (None, None)
        if ax == 0:
            return (-0.5, len(s) - 0.5)
        part = self._slice_bounds(s.volume, orthoRange)
        if part.start >= part.stop:
            return (None, None)
        return (0.0, max(float(np.nanmax(s.volume[part])), 1.0))

    def paint(self, p: QPainter, *args) -> None:
        self.paints += 1
        first, last = self._visible()
        s = self.series
        if last <= first:
            self.drawn = 0
            return
        t = p.transform()
        sx, dx, sy, dy = t.m11(), t.m31(), t.m22(), t.m32()
        if sx <= 0:
            return
        k = max(int(math.ceil(1.0 / sx)), 1)
        v, o, c = s.volume[first:last], s.open[first:last], s.close[first:last]
        if k > 1:
            starts = np.arange(0, len(v), k)
            v = np.add.reduceat(v, starts)
            o, c = o[starts], c[np.minimum(starts + k, len(c)) - 1]
        x = (first + np.arange(len(v)) * k + (k - 1) / 2.0) * sx + dx
        self.drawn = len(v)
        width = max(int(sx * k * BODY_SHARE), 1)
        x = np.round(x) + (0.5 if width % 2 else 0.0)
        base = np.full(len(v), dy)
        top = v * sy + dy
        up = c >= o
        p.save()
        p.resetTransform()
        for mask, colour in ((up, self.up), (~up, self.down)):
            if not mask.any():
                continue
            pen = QPen(colour)
            pen.setWidth(width)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.drawPath(_pairs(x[mask], base[mask], top[mask]))
        p.restore()


class IndicatorItem(pg.GraphicsObject):
    """A line over the candles (VWAP, a moving average) that draws only what is in view:
    the points whose x is in the view's range, every k-th of them when there are more
    than pixel columns (a smooth line loses nothing a screen can show), mapped to device
    pixels with numpy, NaN breaking the line. (pyqtgraph's PlotDataItem with clipToView
    rebuilds its curve and asks the view to auto-range on every pan: 3x the frame.)"""

    def __init__(self, colour: str) -> None:
        super().__init__()
        self.pen = pg.mkPen(colour, width=1)
        self.pen.setCosmetic(True)
        self.x = np.empty(0)
        self.y = np.empty(0)
        self._bounds = QRectF()
        self.drawn = 0

    def setData(self, x: np.ndarray, y: np.ndarray, **_kwargs) -> None:  # noqa: N802
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        finite = np.isfinite(self.y)
        bounds = QRectF()
        if finite.any():
            ys = self.y[finite]
            x0, x1 = float(self.x[0]), float(self.x[-1])
            low, high = float(ys.min()), float(ys.max())
            bounds = QRectF(x0, low, max(x1 - x0, 1e-9), max(high - low, 1e-9))
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._bounds)

    def paint(self, p: QPainter, *args) -> None:
        view = self.viewRect()
        if view is None or len(self.x) < 2:
            self.drawn = 0
            return
        first = max(int(np.searchsorted(self.x, view.left(), "left")) - 1, 0)
        last = min(int(np.searchsorted(self.x, view.right(), "right")) + 1, len(self.x))
        if last - first < 2:
            self.drawn = 0
            return
        t: QTransform = p.transform()
        sx, dx, sy, dy = t.m11(), t.m31(), t.m22(), t.m32()
        columns = max(view.width() * abs(sx), 1.0)
        k = max(int(math.ceil((last - first) / columns)), 1)
        x = self.x[first:last:k]
        y = self.y[first:last:k]
        if k > 1 and (last - 1 - first) % k:  # keep the last point in view
            x, y = np.append(x, self.x[last - 1]), np.append(y, self.y[last - 1])
        self.drawn = len(x)
        p.save()
        p.resetTransform()
        p.setPen(self.pen)
        p.drawPath(pg.arrayToQPath(x * sx + dx, y * sy + dy, connect="finite"))
        p.restore()


def _pairs(x: np.ndarray, y0: np.ndarray, y1: np.ndarray):
    """One path of vertical segments (x, y0) -> (x, y1)."""
    xs = np.repeat(x, 2)
    ys = np.empty(2 * len(y0))
    ys[0::2] = y0
    ys[1::2] = y1
    return pg.arrayToQPath(xs, ys, connect="pairs")
