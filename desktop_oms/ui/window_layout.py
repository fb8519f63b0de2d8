"""MainWindow's frame: the docks, the kill-switch toolbar, the status bar, the default
layout and its reset, and the saved layout (geometry, docks, columns, a few values).

A mixin of `MainWindow` (ui/main_window.py), not a helper object: sibling modules and the
tests call these methods on the window itself (`window._dock(...)`, `reset_layout`,
`save_state`), and a mixin keeps every name, bound-method connection and override
exactly where it was with no delegating stubs. It builds on the widgets
`MainWindow._build_widgets` made and keeps what it creates (docks, `kill_bar`,
`pnl_summary`, `status`) on the window, as before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from . import theme
from .layout import restore_layout, save_layout, saved_values
from .positions_model import PositionTotals
from .status_bar import OmsStatusBar

if TYPE_CHECKING:  # type checkers see the window's API; at run time a plain mixin
    _WindowBase = QMainWindow
else:
    _WindowBase = object

# The same logger as before the split, so log configuration and filters see no change.
log = logging.getLogger("desktop_oms.ui.main_window")

DEFAULT_SIZE = (1600, 950)
DOCKS = ("ticketDock", "blotterDock", "positionsDock", "pnlDock", "alertsDock")


class WindowLayoutMixin(_WindowBase):
    """Docks, toolbar, status bar and layout persistence of the trading window."""

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        return dock

    def _build_docks(self) -> None:
        self.ticket_dock = self._dock("ticketDock", "Order ticket", self.ticket)
        self.blotter_dock = self._dock("blotterDock", "Blotter", self.blotter_panel)
        self.positions_dock = self._dock("positionsDock", "Positions", self.positions_panel)
        self.pnl_dock = self._dock("pnlDock", "P&&L today", self.pnl_slot)
        self.alerts_dock = self._dock("alertsDock", "Alerts and log", self.alerts)
        self.docks = {
            "ticketDock": self.ticket_dock,
            "blotterDock": self.blotter_dock,
            "positionsDock": self.positions_dock,
            "pnlDock": self.pnl_dock,
            "alertsDock": self.alerts_dock,
        }
        # no central widget: the docks share the whole window
        placeholder = QWidget(self)
        placeholder.setObjectName("centralPlaceholder")
        placeholder.setMaximumSize(0, 0)
        placeholder.hide()
        self.setCentralWidget(placeholder)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Kill switch", self)
        bar.setObjectName("killSwitchBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setAllowedAreas(Qt.ToolBarArea.TopToolBarArea)
        bar.toggleViewAction().setVisible(False)  # never offered for hiding
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        strip = QWidget(bar)
        strip.setObjectName("topStrip")
        row = QHBoxLayout(strip)
        row.setContentsMargins(6, 4, 6, 4)
        row.setSpacing(16)
        row.addWidget(self.kill_button)
        self.pnl_summary = QLabel("", strip)
        self.pnl_summary.setObjectName("pnlSummary")
        self.pnl_summary.setTextFormat(Qt.TextFormat.RichText)
        self.pnl_summary.setStyleSheet("font-size: 13px;")
        row.addWidget(self.pnl_summary)
        row.addStretch(1)
        self.hint = QLabel(
            "F1 / B buy \u00b7 F2 / S sell \u00b7 Enter send \u00b7 Esc clear \u00b7 Del cancel order",
            strip,
        )
        self.hint.setObjectName("keyHints")
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        row.addWidget(self.hint)
        strip.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(strip)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.kill_bar = bar
        self._show_totals(PositionTotals())

    def _build_status_bar(self) -> None:
        self.status = OmsStatusBar(self)
        self.setStatusBar(self.status)
        self.status.set_data_file(self.app.settings.db_path)

    def _first_size(self) -> tuple[int, int]:
        """DEFAULT_SIZE, or less on a small screen (a saved geometry replaces it)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return DEFAULT_SIZE
        available = screen.availableGeometry()
        return (
            min(DEFAULT_SIZE[0], int(available.width() * 0.96)),
            min(DEFAULT_SIZE[1], int(available.height() * 0.92)),
        )

    def _headers(self) -> dict[str, QHeaderView]:
        return {
            "blotter": self.blotter.horizontalHeader(),
            "trades": self.trades_view.horizontalHeader(),
            "positions": self.positions_grid.horizontalHeader(),
            "audit": self.audit.view.horizontalHeader(),
            "alerts": self.alerts.view.horizontalHeader(),
        }

    def apply_default_layout(self) -> None:
        """Ticket and alerts on the left; orders on top right, positions and P&L under."""
        docks = list(self.docks.values())
        for dock in docks:
            dock.setFloating(False)
            self.removeDockWidget(dock)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.addDockWidget(left, self.ticket_dock)
        self.addDockWidget(right, self.blotter_dock)
        self.splitDockWidget(self.ticket_dock, self.alerts_dock, Qt.Orientation.Vertical)
        self.splitDockWidget(self.blotter_dock, self.positions_dock, Qt.Orientation.Vertical)
        self.splitDockWidget(self.positions_dock, self.pnl_dock, Qt.Orientation.Horizontal)
        for dock in docks:
            dock.show()
        self.workspace_ui.place_default_docks()
        self.kill_bar.show()
        self._size_default_docks()

    def _size_default_docks(self) -> None:
        width = max(self.width(), 1000)
        height = max(self.height(), 700)
        ticket_w = max(self.ticket.minimumSizeHint().width() + 24, 420)
        self.resizeDocks(
            [self.ticket_dock, self.blotter_dock],
            [ticket_w, width - ticket_w],
            Qt.Orientation.Horizontal,
        )
        usable = height - 120  # menu, toolbar, status bar
        ticket_h = min(self.ticket.sizeHint().height() + 48, int(usable * 0.6))
        self.resizeDocks(
            [self.ticket_dock, self.alerts_dock],
            [ticket_h, usable - ticket_h],
            Qt.Orientation.Vertical,
        )
        self.resizeDocks(
            [self.blotter_dock, self.positions_dock],
            [int(usable * 0.5), int(usable * 0.5)],
            Qt.Orientation.Vertical,
        )
        rest = width - ticket_w
        grid_w = self.positions_panel.natural_width()
        grid_w = min(max(grid_w, int(rest * 0.5)), int(rest * 0.66))
        self.resizeDocks(
            [self.positions_dock, self.pnl_dock], [grid_w, rest - grid_w], Qt.Orientation.Horizontal
        )
        self.workspace_ui.size_default_docks()

    def reset_layout(self) -> None:
        """View > Reset layout: every panel back, default places, sizes and columns."""
        self.apply_default_layout()
        for name, header in self._headers().items():
            saved = self._default_headers.get(name)
            if saved is not None:
                header.restoreState(saved)
        # sizes settle after the re-docking is laid out
        QTimer.singleShot(0, self._size_default_docks)
        self.alerts.add("info", "Layout reset to the default", "window")

    def save_state(self) -> None:
        """Write geometry, docks, column widths and the ticket's instrument to
        settings.ui_state_path. After the window was closed (saved then, while still on
        screen) a later call changes nothing."""
        if self._saved_on_close:
            return
        values = {
            "blotter_filter": self.blotter_panel.filter.currentText(),
            "blotter_tab": self.blotter_panel.tabs.currentIndex(),
            "ticket_exchange": self.ticket.exchange.currentText(),
            "ticket_symbol": self.ticket.symbol.text().strip().upper(),
            "ticket_product": self.ticket.product.currentText(),
        }
        save_layout(self, self._state_path, self._headers(), values)

    def _restore(self) -> bool:
        try:
            restored = restore_layout(self, self._state_path, self._headers())
            values = saved_values(self._state_path)
        except Exception:
            log.exception("could not restore the window layout; using the default")
            return False
        self.kill_bar.show()  # whatever the saved state says
        bp = self.blotter_panel
        if values.get("blotter_filter"):
            index = bp.filter.findText(values["blotter_filter"])
            if index >= 0:
                bp.filter.setCurrentIndex(index)
        try:
            tab = int(values.get("blotter_tab", "0"))
        except ValueError:
            tab = 0
        if 0 <= tab < bp.tabs.count():
            bp.tabs.setCurrentIndex(tab)
        t = self.ticket
        if values.get("ticket_exchange") and t.exchange.findText(values["ticket_exchange"]) >= 0:
            t.exchange.setCurrentText(values["ticket_exchange"])
        if values.get("ticket_product") and t.product.findText(values["ticket_product"]) >= 0:
            t.product.setCurrentText(values["ticket_product"])
        if values.get("ticket_symbol"):
            t.symbol.setText(values["ticket_symbol"])
        return restored
