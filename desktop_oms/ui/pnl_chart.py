"""The day's PnL chart: total and realized (and optionally net) PnL against local time.

`add_point` only buffers; a timer redraws at most `max_fps` times a second, so a burst of
ticks costs one setData per curve.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from . import format as fmt
from . import theme

TOTAL_COLOUR = "#6cb0f0"
REALIZED_COLOUR = theme.AMBER
NET_COLOUR = "#b7a3e6"


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


class PnlChart(pg.PlotWidget):
    """objectName "pnlChart"."""

    def __init__(
        self, parent: QWidget | None = None, *, max_fps: float = 4.0, show_net: bool = False
    ) -> None:
        super().__init__(parent=parent, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
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
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.legend = item.addLegend(
            offset=(10, 10), labelTextColor=theme.TEXT, brush=pg.mkBrush(35, 39, 46, 200)
        )
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
        self._update_legend()

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
