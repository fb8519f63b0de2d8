"""The price chart's drawing (pyqtgraph): candles over volume, VWAP and moving
averages, a crosshair, and the trading lines the trader can drag.

`PricePlot` only draws and reports what the mouse did; `PriceChartPanel` (panel.py)
decides what it means (a modify, a bracket leg moved, an order prepared). Signals:

- `lineMoved(key, price)`: a movable line was dragged and let go (price on the tick);
- `lineSelected(key)`: a line was clicked;
- `priceMenuRequested(price, global point)`: a right-click at a price;
- `cursorMoved(index, price)`: the mouse is over candle `index` at `price` (-1: left).

The view pans and zooms in time only (drag, wheel); the price axis always fits the
candles in view. While the last candle is in view, the view follows new candles.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from desktop_oms.domain import OrderSide
from desktop_oms.domain.money import round_to_tick
from desktop_oms.marketdata.candles import IST_OFFSET_S
from desktop_oms.ui.chart.axes import IndexTimeAxis, PriceAxis
from desktop_oms.ui.chart.candle_item import CandleItem, IndicatorItem, VolumeItem
from desktop_oms.ui.chart.lines import ChartLine, LineKind
from desktop_oms.ui.chart.series import ChartSeries
from desktop_oms.ui.common import theme

__all__ = ["PricePlot", "TradingLine"]

VWAP_COLOUR = "#e3a53c"
AVERAGE_COLOURS = ("#6cb0f0", "#c59df2")
CURSOR_COLOUR = "#8b939e"
GRID_COLOUR = "#2a2e35"  # the base with a little of the text in it
POSITION_COLOUR = "#d6dae0"
DRAFT_COLOUR = "#f0d36c"
SHOWN_CANDLES = 120  # candles in view after a load
RIGHT_MARGIN = 6  # empty candle slots right of the last one
TAIL = 3  # the indicators' last points, redrawn on their own as the forming candle moves


class QuietLine(pg.InfiniteLine):
    """An InfiniteLine that moves without asking the view to auto-range (pyqtgraph's
    does on every move, repainting the whole chart for a line's few pixels). The price
    range does not follow these lines (the trading lines are fitted by `set_lines`)."""

    def informViewBoundsChanged(self) -> None:  # noqa: N802 - pyqtgraph's hook
        return


class TradingLine(QuietLine):
    """A horizontal line at a price, snapped to the instrument's tick while dragged."""

    def __init__(self, key: str, tick: Decimal) -> None:
        self.tick = Decimal(0)  # no snapping while pyqtgraph sets the line up
        super().__init__(angle=0, movable=False)
        self.key = key
        self.tick = tick
        self.text = ""
        self.label = pg.InfLineLabel(
            self, text="", position=0.02, anchors=[(0, 1), (0, 1)], color=theme.TEXT,
            fill=pg.mkBrush(28, 31, 36, 210),
        )  # fmt: skip
        self.label.setFont(QFont(self.label.textItem.font().family(), 8))

    def setPos(self, pos) -> None:  # noqa: N802 - snapped to the tick
        if self.tick > 0 and not isinstance(pos, list | tuple | np.ndarray):
            y = pos.y() if isinstance(pos, QPointF) else float(pos)
            if math.isfinite(y):
                snapped = float(round_to_tick(Decimal(f"{y:.8f}"), self.tick))
                pos = QPointF(0.0, snapped) if isinstance(pos, QPointF) else snapped
        super().setPos(pos)

    def price(self) -> Decimal:
        return round_to_tick(Decimal(f"{self.value():.8f}"), self.tick)

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.label.format = text.replace("{", "{{").replace("}", "}}")
            self.label.valueChanged()


def _pen_for(line: ChartLine, selected: bool, pending: bool):
    if line.kind is LineKind.POSITION:
        colour = POSITION_COLOUR
    elif line.kind.draft:
        colour = DRAFT_COLOUR
    elif line.kind is LineKind.STOP:
        colour = theme.SELL
    elif line.kind is LineKind.TARGET:
        colour = theme.BUY
    else:
        colour = theme.BUY if line.side is OrderSide.BUY else theme.SELL
    style = Qt.PenStyle.SolidLine
    if line.kind.draft or pending:
        style = Qt.PenStyle.DashLine
    elif line.kind in (LineKind.STOP, LineKind.TARGET):
        style = Qt.PenStyle.DashDotLine
    width = 3 if selected else (2 if line.movable else 1)
    return pg.mkPen(colour, width=width, style=style), colour


class TailItem(pg.GraphicsObject):
    """The last segments of an indicator line: a few points, repainted on their own (a
    PlotCurveItem's setData would ask the view to auto-range, repainting all of it)."""

    def __init__(self, colour: str) -> None:
        super().__init__()
        self.pen = pg.mkPen(colour, width=1)
        self.pen.setCosmetic(True)
        self.x = np.empty(0)
        self.y = np.empty(0)
        self._bounds = QRectF()

    def setData(self, x: np.ndarray, y: np.ndarray, **_kwargs) -> None:  # noqa: N802
        old = QRectF(self._bounds)
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        finite = np.isfinite(self.y)
        if finite.any():
            xs, ys = self.x[finite], self.y[finite]
            bounds = QRectF(xs.min(), ys.min(), max(xs.max() - xs.min(), 1e-9),
                            max(ys.max() - ys.min(), 1e-9))  # fmt: skip
        else:
            bounds = QRectF()
        if bounds != old:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._bounds)

    def paint(self, p, *args) -> None:
        if len(self.x) < 2:
            return
        p.setPen(self.pen)
        p.drawPath(pg.arrayToQPath(self.x, self.y, connect="finite"))


def _tail(colour: str) -> TailItem:
    return TailItem(colour)


class GridItem(pg.GraphicsObject):
    """Horizontal lines at the price axis's ticks and vertical lines at the time axis's,
    drawn in device pixels with a solid colour (the grid of `showGrid`, cheaper)."""

    def __init__(self, price_axis: pg.AxisItem, time_axis: IndexTimeAxis) -> None:
        super().__init__()
        self.price_axis = price_axis
        self.time_axis = time_axis
        self.setZValue(-100)
        self.pen = pg.mkPen(GRID_COLOUR, width=1)
        self.pen.setCosmetic(True)

    def boundingRect(self):  # noqa: N802 - the view's rectangle, whatever it is
        rect = self.viewRect()
        return QRectF() if rect is None else rect

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph's hook
        self.prepareGeometryChange()
        self.update()

    def paint(self, p, *args) -> None:
        rect = self.viewRect()
        if rect is None or rect.width() <= 0 or rect.height() <= 0:
            return
        t = p.transform()
        sx, dx, sy, dy = t.m11(), t.m31(), t.m22(), t.m32()
        width, height = rect.width() * abs(sx), rect.height() * abs(sy)
        levels = self.price_axis.tickValues(rect.top(), rect.bottom(), height)
        ys = [v for _spacing, values in levels[:2] for v in values]
        # the axis's own length: the same question as the axis asks (its answer is kept)
        length = self.time_axis.geometry().width() or width
        xs, _labels = self.time_axis.marks(rect.left(), rect.right(), length)
        left, right = rect.left() * sx + dx, rect.right() * sx + dx
        top, bottom = rect.top() * sy + dy, rect.bottom() * sy + dy
        py = np.round(np.asarray(ys, dtype=float) * sy + dy) + 0.5
        px = np.round(np.asarray(xs, dtype=float) * sx + dx) + 0.5
        x = np.concatenate((np.repeat([[left, right]], len(py), 0).ravel(), np.repeat(px, 2)))
        y = np.concatenate((np.repeat(py, 2), np.tile([top, bottom], len(px))))
        if not len(x):
            return
        p.save()
        p.resetTransform()
        p.setRenderHint(p.RenderHint.Antialiasing, False)
        p.setPen(self.pen)
        p.drawPath(pg.arrayToQPath(x, y, connect="pairs"))
        p.restore()


class PricePlot(pg.GraphicsLayoutWidget):
    """objectName "pricePlot" (see the module docstring)."""

    lineMoved = Signal(str, object)  # noqa: N815
    lineSelected = Signal(str)  # noqa: N815
    priceMenuRequested = Signal(object, QPoint)  # noqa: N815
    cursorMoved = Signal(int, float)  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pricePlot")
        self.setBackground(theme.BASE)
        self.ci.layout.setSpacing(0)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.series = ChartSeries()
        self.tick = Decimal("0.05")
        self.time_axis = IndexTimeAxis("bottom")
        self.price_plot = self.addPlot(row=0, col=0, axisItems={"right": PriceAxis("right")})
        self.volume_plot = self.addPlot(
            row=1, col=0, axisItems={"bottom": self.time_axis, "right": PriceAxis("right")}
        )
        self.ci.layout.setRowStretchFactor(0, 4)
        self.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.price_plot, self.volume_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.hideAxis("left")
            plot.showAxis("right")
            for name in ("right", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.BORDER))
                axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
            vb = plot.getViewBox()
            vb.setMouseEnabled(x=True, y=False)
            vb.setAutoVisible(y=True)
            vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
        # the grid: one path of solid one-pixel lines (pyqtgraph's own, alpha-blended
        # through the axes, cost more than the candles a frame)
        self.grid = GridItem(self.price_plot.getAxis("right"), self.time_axis)
        self.price_plot.addItem(self.grid, ignoreBounds=True)
        self.price_plot.getAxis("bottom").setStyle(showValues=False)
        self.price_plot.getAxis("bottom").setHeight(0)
        self.volume_plot.getAxis("right").setWidth(self.price_plot.getAxis("right").width())
        self.volume_plot.setXLink(self.price_plot)
        self.volume_plot.getAxis("right").setStyle(showValues=False)
        self.candles = CandleItem(theme.BUY, theme.SELL)
        self.volume = VolumeItem(theme.BUY, theme.SELL)
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volume)
        # lines over 100,000 candles: only the part in view is drawn (IndicatorItem)
        # one-pixel pens: Qt's fast path (a wider line goes through the stroker, ~10x
        # the cost of a frame's candles)
        self.vwap_curve = IndicatorItem(VWAP_COLOUR)
        self.average_curves = [IndicatorItem(colour) for colour in AVERAGE_COLOURS]
        self.vwap_tail = _tail(VWAP_COLOUR)
        self.average_tails = [_tail(colour) for colour in AVERAGE_COLOURS]
        for curve in (self.vwap_curve, *self.average_curves, self.vwap_tail, *self.average_tails):
            self.price_plot.addItem(curve, ignoreBounds=True)
        self._drawn_key: tuple | None = None
        self.show_vwap = True
        # crosshair and the keyboard's price cursor
        dim = pg.mkPen(CURSOR_COLOUR, width=1, style=Qt.PenStyle.DotLine)
        self.cross_v = QuietLine(angle=90, movable=False, pen=dim)
        self.cross_h = QuietLine(angle=0, movable=False, pen=dim)
        self.cross_v2 = QuietLine(angle=90, movable=False, pen=dim)
        for item, plot in ((self.cross_v, self.price_plot), (self.cross_h, self.price_plot),
                           (self.cross_v2, self.volume_plot)):  # fmt: skip
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
        self.cursor_line = TradingLine("cursor", self.tick)
        self.cursor_line.setPen(pg.mkPen(DRAFT_COLOUR, width=1, style=Qt.PenStyle.DotLine))
        self.cursor_line.setVisible(False)
        self.price_plot.addItem(self.cursor_line, ignoreBounds=True)
        self.last_line = QuietLine(
            angle=0, movable=False, pen=pg.mkPen(theme.TEXT_DIM, width=1, style=Qt.PenStyle.DotLine),
            label="{value:.2f}", labelOpts={"position": 0.98, "color": theme.TEXT,
                                            "fill": pg.mkBrush(58, 64, 74, 230), "anchors": [(1, 0.5), (1, 0.5)]},
        )  # fmt: skip
        self.last_line.setVisible(False)
        self.price_plot.addItem(self.last_line, ignoreBounds=True)
        self.lines: dict[str, TradingLine] = {}
        self.line_values: dict[str, ChartLine] = {}
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.frames = 0
        self._following = True

    # ---- data --------------------------------------------------------------------------

    def set_series(self, series: ChartSeries, tick: Decimal) -> None:
        """A new history: draw it all and show its last candles."""
        self.series = series
        self.tick = tick
        self.cursor_line.tick = tick
        for line in self.lines.values():
            line.tick = tick
        self._redraw_data()
        n = len(series)
        vb = self.price_plot.getViewBox()
        vb.setLimits(xMin=-RIGHT_MARGIN * 4, xMax=max(n, 1) + RIGHT_MARGIN * 4, minXRange=8)
        self.show_latest()

    def series_changed(self) -> None:
        """The live candles changed: redraw; follow a new candle when the last is in view.
        When only the last candles changed in place (a tick into the forming candle), only
        they, the indicators' last segments and the last-price line are redrawn: the view
        repaints a column and a strip, not the whole chart."""
        if self._drawn_key is not None and self._drawn_key == self._data_key():
            self._redraw_tail()
            return
        at_end = self._last_in_view()
        self._redraw_data()
        n = len(self.series)
        vb = self.price_plot.getViewBox()
        vb.setLimits(xMin=-RIGHT_MARGIN * 4, xMax=max(n, 1) + RIGHT_MARGIN * 4, minXRange=8)
        if at_end and self.series.appended:
            (x0, x1), _ = vb.viewRange()
            if n - 1 + RIGHT_MARGIN > x1:
                shift = n - 1 + RIGHT_MARGIN - x1
                vb.setXRange(x0 + shift, x1 + shift, padding=0)

    def _last_in_view(self) -> bool:
        (x0, x1), _ = self.price_plot.getViewBox().viewRange()
        n = len(self.series)
        return n == 0 or x0 <= n - 1 <= x1 + 1

    def _data_key(self) -> tuple:
        """Changes when the candles are replaced or one is added, or the lines change."""
        s = self.series
        return (id(s.data.start), len(s.data), s.averages, self.show_vwap)

    def redraw(self) -> None:
        """Draw everything again (the averages or the VWAP changed)."""
        self._drawn_key = None
        self.series_changed()

    def _redraw_data(self) -> None:
        s = self.series
        data = s.data
        n = len(data)
        self.candles.set_series(data)
        self.volume.set_series(data)
        self.time_axis.set_starts(data.start)
        # the indicator curves stop TAIL - 1 candles short of the end; the tail curves
        # draw the rest, so a tick redraws only them
        head = max(n - TAIL + 1, 0)
        x = np.arange(n, dtype=float)
        if self._vwap_shown():
            # a VWAP restarts each day: a gap (NaN) before each day's first candle
            days = (data.start + IST_OFFSET_S) // 86_400
            starts = np.flatnonzero(np.diff(days[:head])) + 1
            vx = np.insert(x[:head], starts, starts - 0.5)
            vy = np.insert(s.vwap[:head], starts, np.nan)
            self.vwap_curve.setData(vx, vy, connect="finite")
            self.vwap_curve.setVisible(True)
        else:
            self.vwap_curve.setVisible(False)
        for k, curve in enumerate(self.average_curves):
            if k < len(s.mas):
                curve.setData(x[:head], s.mas[k][:head], connect="finite")
                curve.setVisible(True)
            else:
                curve.setVisible(False)
        self._draw_tails()
        self._drawn_key = self._data_key()
        self.frames += 1

    def _vwap_shown(self) -> bool:
        s = self.series
        return bool(self.show_vwap and len(s.vwap) and np.isfinite(s.vwap).any())

    def _draw_tails(self) -> None:
        """The indicators' last TAIL points and the last-price line."""
        s = self.series
        data = s.data
        n = len(data)
        first = max(n - TAIL, 0)
        x = np.arange(first, n, dtype=float)
        if self._vwap_shown() and n:
            days = (data.start[first:n] + IST_OFFSET_S) // 86_400
            starts = np.flatnonzero(np.diff(days)) + 1  # no segment across a day's start
            vx = np.insert(x, starts, x[starts] - 0.5)
            vy = np.insert(s.vwap[first:n], starts, np.nan)
            self.vwap_tail.setData(vx, vy, connect="finite")
            self.vwap_tail.setVisible(True)
        else:
            self.vwap_tail.setVisible(False)
        for k, tail in enumerate(self.average_tails):
            if k < len(s.mas) and n:
                tail.setData(x, s.mas[k][first:n], connect="finite")
                tail.setVisible(True)
            else:
                tail.setVisible(False)
        if n:
            self.last_line.setVisible(True)  # (a hidden line's label is not updated)
            self.last_line.setValue(float(data.close[-1]))
        else:
            self.last_line.setVisible(False)

    def _redraw_tail(self) -> None:
        """Only the last candles changed, in place (see series_changed)."""
        data = self.series.data
        n = len(data)
        self.candles.tail_changed(data, TAIL - 1)
        self.volume.tail_changed(data, TAIL - 1)
        self._draw_tails()
        # the forming candle left the price range in view: fit it again
        vb = self.price_plot.getViewBox()
        _, (y0, y1) = vb.viewRange()
        if n and (data.high[-1] > y1 or data.low[-1] < y0) and self._last_in_view():
            vb.updateAutoRange()
        self.frames += 1

    def set_vwap_visible(self, shown: bool) -> None:
        self.show_vwap = shown
        self.redraw()

    # ---- the view ------------------------------------------------------------------------

    def show_latest(self, count: int = SHOWN_CANDLES) -> None:
        n = len(self.series)
        vb = self.price_plot.getViewBox()
        end = max(n - 1, 0) + RIGHT_MARGIN
        vb.setXRange(end - count, end, padding=0)

    def pan(self, candles: float) -> None:
        vb = self.price_plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        vb.setXRange(x0 + candles, x1 + candles, padding=0)

    def zoom(self, factor: float) -> None:
        """factor < 1: fewer candles (in); > 1: more (out). Keeps the right edge."""
        vb = self.price_plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        width = max((x1 - x0) * factor, 8.0)
        vb.setXRange(x1 - width, x1, padding=0)

    def view_span(self) -> tuple[float, float]:
        (x0, x1), _ = self.price_plot.getViewBox().viewRange()
        return x0, x1

    def price_range(self) -> tuple[float, float]:
        _, (y0, y1) = self.price_plot.getViewBox().viewRange()
        return y0, y1

    # ---- lines ---------------------------------------------------------------------------

    def set_lines(
        self, lines: list[ChartLine], selected: str | None, pending: dict[str, Decimal]
    ) -> None:
        """Show these lines (added, moved, relabelled, removed by key)."""
        wanted = {line.key: line for line in lines}
        kept = tuple(sorted(float(pending.get(k, x.price)) for k, x in wanted.items()))
        if kept != self.candles.kept_in_view:  # the price axis fits them too
            self.candles.kept_in_view = kept
            self.price_plot.getViewBox().updateAutoRange()
        for key in list(self.lines):
            if key not in wanted:
                item = self.lines.pop(key)
                self.line_values.pop(key, None)
                self.price_plot.removeItem(item)
        for key, line in wanted.items():
            item = self.lines.get(key)
            if item is None:
                item = TradingLine(key, self.tick)
                item.sigPositionChangeFinished.connect(self._line_released)
                item.sigClicked.connect(self._line_clicked)
                self.lines[key] = item
                self.price_plot.addItem(item, ignoreBounds=True)
            self.line_values[key] = line
            is_pending = key in pending
            pen, colour = _pen_for(line, key == selected, is_pending)
            item.setPen(pen)
            item.setHoverPen(pg.mkPen(colour, width=3))
            item.setMovable(line.movable)
            item.setZValue(20 if key == selected else 10)
            price = pending.get(key, line.price)
            text = line.label
            if is_pending:
                text = f"{line.label}  \u2192 {price}"
            item.set_text(text)
            item.label.setColor(colour)
            if not item.moving:
                item.setValue(float(price))

    def set_cursor(self, price: Decimal | None) -> None:
        if price is None:
            self.cursor_line.setVisible(False)
            return
        self.cursor_line.setValue(float(price))
        self.cursor_line.set_text(f"cursor {price}")
        self.cursor_line.setVisible(True)

    def _line_released(self, item: TradingLine) -> None:
        self.lineMoved.emit(item.key, item.price())

    def _line_clicked(self, item: TradingLine, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.lineSelected.emit(item.key)

    # ---- the mouse -----------------------------------------------------------------------

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        vb = self.price_plot.getViewBox()
        inside = self.price_plot.sceneBoundingRect().contains(scene_pos) or (
            self.volume_plot.sceneBoundingRect().contains(scene_pos)
        )
        if not inside or not len(self.series):
            for item in (self.cross_v, self.cross_h, self.cross_v2):
                item.setVisible(False)
            self.cursorMoved.emit(-1, math.nan)
            return
        point = vb.mapSceneToView(scene_pos)
        index = int(round(point.x()))
        index = min(max(index, 0), len(self.series) - 1)
        self.cross_v.setValue(index)
        self.cross_v2.setValue(index)
        self.cross_h.setValue(point.y())
        over_price = self.price_plot.sceneBoundingRect().contains(scene_pos)
        self.cross_h.setVisible(over_price)
        self.cross_v.setVisible(True)
        self.cross_v2.setVisible(True)
        self.cursorMoved.emit(index, point.y() if over_price else math.nan)

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.RightButton or event.isAccepted():
            return
        scene_pos = event.scenePos()
        if not self.price_plot.sceneBoundingRect().contains(scene_pos):
            return
        point = self.price_plot.getViewBox().mapSceneToView(scene_pos)
        price = round_to_tick(Decimal(f"{point.y():.8f}"), self.tick)
        event.accept()
        self.priceMenuRequested.emit(price, event.screenPos().toPoint())

    # ---- where things are on screen (tests, the e2e harness) --------------------------

    def price_to_widget(self, price: Decimal | float, index: float | None = None) -> QPoint:
        """Where a price is in this widget (x: `index`, or the middle of the view)."""
        vb = self.price_plot.getViewBox()
        if index is None:
            x0, x1 = self.view_span()
            index = x0 + (x1 - x0) * 0.5
        scene = vb.mapViewToScene(QPointF(float(index), float(price)))
        return self.mapFromScene(scene)

    def line_point(self, key: str) -> QPoint | None:
        """A point on a line's middle, in this widget (None: no such line)."""
        item = self.lines.get(key)
        if item is None:
            return None
        return self.price_to_widget(item.value())
