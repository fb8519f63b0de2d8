"""The day's PnL chart: total and realized (and optionally net) PnL against IST.

`add_point` only buffers; a timer redraws at most `max_fps` times a second, so a burst of
ticks costs one setData per curve.

Axes: the time axis shows IST clock times (HH:MM; HH:MM:SS only when zoomed in to under
a few minutes) on round IST minutes, whatever the machine's zone; the PnL axis shows
rupees with Indian digit grouping. Neither scales by an SI prefix ("x0.001", "k").
An invisible extent keeps the view at least `MIN_SPAN_S` wide from the first point (from
now when empty) and at least ±`MIN_RUPEES` tall around zero, so an empty chart, one
point or a flat line still get sensible ticks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

from desktop_oms.infra.clock import IST, IST_OFFSET, now_ist
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

TOTAL_COLOUR = "#6cb0f0"
REALIZED_COLOUR = theme.AMBER
NET_COLOUR = "#b7a3e6"
MIN_SPAN_S = 30 * 60  # the time axis covers at least this much from the first point
MIN_RUPEES = Decimal(100)  # and the PnL axis at least -₹100 .. +₹100
_IST_S = IST_OFFSET.total_seconds()
# Tick steps of the time axis (seconds), from HH:MM:SS when zoomed in to days.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
DAY_S = 86400


class IstTimeAxis(pg.DateAxisItem):
    """A time axis (x in epoch seconds) with ticks on round IST clock times, labelled in
    IST: HH:MM (HH:MM:SS below a minute's step, the date at IST midnight or for steps of
    days). pyqtgraph's own date axis uses the machine's zone and shows seconds."""

    def __init__(self, orientation: str = "bottom", **kwargs: Any) -> None:
        super().__init__(orientation, utcOffset=-int(_IST_S), **kwargs)
        self.enableAutoSIPrefix(False)

    def _label_width(self) -> int:
        font = self.style.get("tickFont") or self.font()
        return QFontMetrics(font).horizontalAdvance("00:00:00") + 16

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal or size <= 0:
            return []
        fits = max(int(size / self._label_width()), 2)
        span = maxVal - minVal
        step = next((s for s in TIME_STEPS if span / s <= fits), None)
        if step is None:  # days: whole IST days
            step = DAY_S * max(math.ceil(span / DAY_S / fits), 1)
        first = math.ceil((minVal + _IST_S) / step) * step - _IST_S
        count = int((maxVal - first) // step) + 1
        return [(step, [first + i * step for i in range(max(count, 0))])]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:  # noqa: N802
        out = []
        for value in values:
            try:
                at = datetime.fromtimestamp(value, IST)
            except (OverflowError, OSError, ValueError):
                out.append("")
                continue
            if spacing >= DAY_S or (spacing >= 60 and at.hour == 0 and at.minute == 0):
                out.append(f"{at:%d %b}")
            else:
                out.append(f"{at:%H:%M}" if spacing >= 60 else f"{at:%H:%M:%S}")
        return out


class RupeeAxis(pg.AxisItem):
    """The PnL axis: rupees with Indian grouping (1,50,000), paise only when the ticks are
    closer than a rupee; never an SI prefix."""

    def __init__(self, orientation: str = "left", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:  # noqa: N802
        places = 0 if spacing >= 1 else 2
        out = []
        for value in values:
            if not math.isfinite(value):
                out.append("")
                continue
            if abs(value) < spacing * 1e-6:
                value = 0.0  # no "-0"
            out.append(fmt.money(Decimal(f"{value:.{places}f}"), places))
        return out


def _point(p: Any) -> tuple[datetime, Decimal, Decimal, Decimal | None]:
    """Accept (ts, total, realized[, net]) tuples or objects with at/ts/timestamp and
    total_pnl/total, realized_pnl/realized, net_pnl/net attributes (pnl_snapshots rows)."""
    if isinstance(p, tuple | list):
        ts, total, realized = p[0], p[1], p[2]
        net = p[3] if len(p) > 3 else None
        return ts, total, realized, net

    def attr(*names: str) -> Any:
        for name in names:
            if hasattr(p, name):
                return getattr(p, name)
        return None

    ts = attr("at", "ts", "timestamp", "created_at")
    total = attr("total_pnl", "total")
    realized = attr("realized_pnl", "realized")
    if ts is None or total is None or realized is None:
        raise ValueError(f"not a PnL point: {p!r}")
    return ts, total, realized, attr("net_pnl", "net")


class _Legend(pg.LegendItem):
    """pyqtgraph's legend keeps itself anchored to its view on every geometry change; when a
    window is deleted the view can go first and the anchor then raised "Internal C++ object
    (ViewBox) already deleted" into Qt's event loop. A deleted view needs no anchoring."""

    def _GraphicsWidgetAnchor__geometryChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        try:
            super()._GraphicsWidgetAnchor__geometryChanged()
        except RuntimeError:
            pass


class PnlChart(pg.PlotWidget):
    """objectName "pnlChart"."""

    def __init__(
        self, parent: QWidget | None = None, *, max_fps: float = 4.0, show_net: bool = False
    ) -> None:
        super().__init__(
            parent=parent, axisItems={"bottom": IstTimeAxis("bottom"), "left": RupeeAxis("left")}
        )
        self.setObjectName("pnlChart")
        self.setBackground(theme.BASE)
        self._times: list[float] = []
        self._total: list[float] = []
        self._realized: list[float] = []
        self._net: list[float] = []
        self._has_net = show_net
        self._dirty = False
        self.redraw_count = 0
        self.last_values: tuple[Decimal, Decimal, Decimal | None] | None = None
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
        item.getAxis("left").setLabel("PnL \u20b9", color=theme.TEXT_DIM)
        # Never drawn (a transparent pen), only counted by the auto range: see MIN_SPAN_S.
        self.extent = pg.PlotDataItem([], [], pen=pg.mkPen(0, 0, 0, 0))
        item.addItem(self.extent)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        # As PlotItem.addLegend, with a legend that survives its view being deleted first.
        item.legend = _Legend(
            offset=(10, 10), labelTextColor=theme.TEXT, brush=pg.mkBrush(35, 39, 46, 200)
        )
        item.legend.setParentItem(item.vb)
        self.legend = item.legend
        self.zero_line = pg.InfiniteLine(
            pos=0,
            angle=0,
            pen=pg.mkPen(theme.TEXT_DIM, width=1, style=Qt.PenStyle.DashLine),
        )
        item.addItem(self.zero_line, ignoreBounds=True)
        self.total_curve = item.plot([], [], name="Total", pen=pg.mkPen(TOTAL_COLOUR, width=2))
        self.realized_curve = item.plot(
            [], [], name="Realized", pen=pg.mkPen(REALIZED_COLOUR, width=2)
        )
        self.net_curve = item.plot(
            [],
            [],
            name="Net",
            pen=pg.mkPen(NET_COLOUR, width=1.5, style=Qt.PenStyle.DotLine),
        )
        self.net_curve.setVisible(show_net)
        if not show_net:
            self.legend.removeItem(self.net_curve)
        self._update_extent()
        self._timer = QTimer(self)
        self._timer.setInterval(max(int(1000 / max_fps), 1))
        self._timer.timeout.connect(self._redraw_if_dirty)
        self._timer.start()

    # ---- data --------------------------------------------------------------------

    def add_point(
        self, ts: datetime, total: Decimal, realized: Decimal, net: Decimal | None = None
    ) -> None:
        """Buffer one point; drawn at the next redraw tick (never more than max_fps/s)."""
        self._append(ts, total, realized, net)
        self._dirty = True

    def load(self, points: Iterable[Any]) -> None:
        """Replace the history (e.g. the day's pnl_snapshots after a restart); draws now."""
        self._times.clear()
        self._total.clear()
        self._realized.clear()
        self._net.clear()
        for p in points:
            self._append(*_point(p))
        self._dirty = True
        self._redraw_if_dirty()
        self.getPlotItem().enableAutoRange()

    def reset(self) -> None:
        self.load([])

    def point_count(self) -> int:
        return len(self._times)

    def _append(self, ts: datetime, total: Decimal, realized: Decimal, net: Decimal | None) -> None:
        seconds = ts.timestamp()
        if self._times and seconds < self._times[-1]:
            seconds = self._times[-1]  # never draw time backwards (clock adjustments)
        self._times.append(seconds)
        self._total.append(float(total))
        self._realized.append(float(realized))
        if net is not None and not self._has_net:
            self._has_net = True
            self._net = [float("nan")] * (len(self._times) - 1)
            self.net_curve.setVisible(True)
            self.legend.addItem(self.net_curve, "Net")
        if self._has_net:
            self._net.append(float(net) if net is not None else float("nan"))
        self.last_values = (
            Decimal(total),
            Decimal(realized),
            None if net is None else Decimal(net),
        )

    # ---- drawing -----------------------------------------------------------------

    def flush(self) -> None:
        """Draw now (tests, or right before a screenshot)."""
        self._dirty = True
        self._redraw_if_dirty()

    def _redraw_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraw_count += 1
        x = np.asarray(self._times, dtype=float)
        self.total_curve.setData(x, np.asarray(self._total, dtype=float))
        self.realized_curve.setData(x, np.asarray(self._realized, dtype=float))
        if self._has_net:
            self.net_curve.setData(x, np.asarray(self._net, dtype=float), connect="finite")
        self._update_extent()
        self._update_legend()

    def _update_extent(self) -> None:
        """The invisible extent: MIN_SPAN_S from the first point (from now when empty),
        ±MIN_RUPEES around zero; the auto range includes it with the curves."""
        start = self._times[0] if self._times else _minute_floor(now_ist().timestamp())
        end = max(start + MIN_SPAN_S, self._times[-1] if self._times else start)
        low, high = -float(MIN_RUPEES), float(MIN_RUPEES)
        self.extent.setData([start, end], [low, high])

    def _update_legend(self) -> None:
        if self.last_values is None:
            labels = {
                self.total_curve: "Total",
                self.realized_curve: "Realized",
                self.net_curve: "Net",
            }
        else:
            total, realized, net = self.last_values
            labels = {
                self.total_curve: f"Total {fmt.rupees(total, 0)}",
                self.realized_curve: f"Realized {fmt.rupees(realized, 0)}",
                self.net_curve: f"Net {fmt.rupees(net, 0)}" if net is not None else "Net",
            }
        for sample, label in self.legend.items:
            text = labels.get(sample.item)
            if text is not None:
                label.setText(text)


def _minute_floor(seconds: float) -> float:
    return seconds - seconds % 60
