"""Where the window's PnL chart lives: built once pyqtgraph is loaded, not at start-up.

pyqtgraph (with numpy) takes about as long to import as the rest of the window takes to
build, so the window does not wait for it: the P&L dock holds a `PnlChartSlot`, which
shows a short note until the chart exists and keeps the points it is given meanwhile.

    slot = PnlChartSlot()          # no pyqtgraph import
    slot.load(points)              # buffered until the chart exists, then drawn
    slot.add_point(ts, total, realized, net)
    slot.build_soon()              # window shown: import in the background, then build
    slot.chart                     # the PnlChart now (built on the spot if need be)

The import runs on a worker thread (no Qt objects are made there; PySide6's types that
pyqtgraph copies are created on the GUI thread first, see ui/common/background_import.py),
so the event loop keeps running meanwhile;
the chart itself is made on the GUI thread when the import is done. When pyqtgraph is
already imported (another module loaded it), there is nothing to wait for and the chart
is built at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop_oms.ui.common import theme
from desktop_oms.ui.common.background_import import BackgroundImport

if TYPE_CHECKING:
    from desktop_oms.ui.pnl.chart import PnlChart

log = logging.getLogger(__name__)


CHART_MODULE = "desktop_oms.ui.pnl.chart"  # pyqtgraph and numpy: imported off the GUI thread


class PnlChartSlot(QWidget):
    """objectName "pnlChartSlot": the P&L dock's widget; the chart ("pnlChart") goes in it."""

    chartReady = Signal(object)  # the PnlChart, once built  # noqa: N815 - Qt naming

    def __init__(self, parent: QWidget | None = None, *, show_net: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("pnlChartSlot")
        self._show_net = show_net
        self._chart: PnlChart | None = None
        self._points: list[tuple] = []  # given before the chart existed
        self._loaded = False  # load() was called before the chart existed
        self._import: BackgroundImport | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._note = QLabel("Loading the P&L chart\u2026", self)
        self._note.setObjectName("pnlChartPending")
        self._note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._note.setStyleSheet(f"color: {theme.TEXT_DIM}; background: {theme.BASE};")
        self._layout.addWidget(self._note)

    # ---- the chart -----------------------------------------------------------------

    @property
    def chart(self) -> PnlChart:
        """The chart, built now if it does not exist yet (importing pyqtgraph if need be)."""
        if self._chart is None:
            self._build()
        assert self._chart is not None
        return self._chart

    @property
    def is_built(self) -> bool:
        return self._chart is not None

    def build_soon(self, delay_ms: int = 0) -> None:
        """Build the chart without holding up the GUI: at once if pyqtgraph is loaded,
        else import it on a worker thread (after `delay_ms`) and build when it is done."""
        if self._chart is None and self._import is None:
            self._import = BackgroundImport(CHART_MODULE, self._check_import, "pnl-chart", self)
            self._import.start(delay_ms)

    def _start_import(self) -> None:
        """The worker-thread path even when pyqtgraph is loaded (tests)."""
        if self._chart is None and self._import is None:
            self._import = BackgroundImport(CHART_MODULE, self._check_import, "pnl-chart", self)
            self._import.start(even_if_loaded=True)

    @property
    def _import_thread(self) -> threading.Thread | None:
        return self._import.thread if self._import is not None else None

    def _check_import(self) -> None:
        if self._chart is None:
            try:
                self._build()
            except Exception:  # a timer slot must not raise into Qt
                log.exception("could not build the PnL chart")
                self._note.setText("The P&L chart could not be shown (see the log)")

    def _build(self) -> None:
        from desktop_oms.ui.pnl.chart import PnlChart  # waits for a background import still running

        chart = PnlChart(self, show_net=self._show_net)
        if self._loaded or self._points:
            chart.load(self._points)
        self._points = []
        self._chart = chart
        self._layout.removeWidget(self._note)
        self._note.hide()
        self._note.deleteLater()
        self._layout.addWidget(chart)
        self.chartReady.emit(chart)

    # ---- data (the chart's own API, buffered until it exists) ---------------------------

    def load(self, points: Iterable[Any]) -> None:
        """Replace the history (see PnlChart.load)."""
        if self._chart is not None:
            self._chart.load(points)
            return
        self._points = list(points)
        self._loaded = True

    def add_point(
        self, ts: datetime, total: Decimal, realized: Decimal, net: Decimal | None = None
    ) -> None:
        """One more point (see PnlChart.add_point)."""
        if self._chart is not None:
            self._chart.add_point(ts, total, realized, net)
            return
        self._points.append((ts, total, realized, net))

    def point_count(self) -> int:
        return self._chart.point_count() if self._chart is not None else len(self._points)
