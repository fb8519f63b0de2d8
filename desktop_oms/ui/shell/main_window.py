"""The trading window: docks for the ticket, blotter, positions, PnL chart and alerts; the
kill switch in a fixed toolbar; a status bar; menus and hotkeys; layout persistence.

Rules this module keeps:
- It never blocks. OMS events (published on the loop thread) only queue rows in the
  models (`queue_upsert`), which flush on their own timers; the PnL chart and the status
  bar are refreshed from a 0.5 s timer.
- The PnL chart (pyqtgraph, the costliest import) is not on the way to the first window:
  the P&L dock holds a `PnlChartSlot` (ui/pnl/slot.py) that keeps the points and
  builds the chart once the window is up and the day loaded (import on a worker thread);
  `window.pnl_chart` builds it at once when asked for earlier.
- Everything asynchronous (cancel, modify, exits, the kill switch, loading history) runs
  as a kept task of `self.tasks` (ui.tasks.TaskRunner); failures land in the alerts
  panel. No QDialog.exec(): dialogs are opened with open() and answered by signals.
- It talks to the OMS services of the Application (order_manager, position_manager,
  kill_switch, quotes), never to the broker.
- `closing` is emitted from closeEvent (gui_runner then stops the Application, which
  calls `save_state()` and awaits `shutdown()`).

The window is split by responsibility; `MainWindow` composes these mixins (they keep
every method and attribute on the window, as the tests and sibling modules expect):
- ui/shell/layout.py: docks, kill-switch toolbar, status bar, default layout and reset,
  saved layout;
- ui/shell/actions.py: menus, actions, hotkeys (F1/F2, B/S, kill-switch shortcut),
  widget wiring, opening the ticket;
- ui/shell/events.py: OMS event subscriptions, initial load, refresh timer slot, PnL
  points, trading gate;
- ui/shell/order_actions.py: cancel / modify / cancel all / export, exits, confirmations;
- ui/shell/kill_switch.py: engaging and re-arming the kill switch.
This module keeps construction, closing and shutdown. Mixins rather than helper objects:
the tests and ui/shell/close_guard.py, ui/shell/risk_gui.py, ui/shell/workspace.py reach methods and
state on the window itself (`_confirm`, `_dock`, `_refresh`, `_unsubscribe`, ...); each
mixin is a plain class at run time (QMainWindow only for type checkers), so the Qt base
and the signal appear once, on `MainWindow`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QTableView, QWidget

from desktop_oms.ui.alerts import AlertsPanel, attach_logging
from desktop_oms.ui.blotter import AuditView, BlotterPanel, OrdersModel, TradesModel
from desktop_oms.ui.common import TaskRunner
from desktop_oms.ui.pnl import PnlChartSlot
from desktop_oms.ui.positions import PositionsModel, PositionsPanel
from desktop_oms.ui.risk import KillSwitchButton
from desktop_oms.ui.shell.actions import WindowActionsMixin
from desktop_oms.ui.shell.close_guard import CloseGuard
from desktop_oms.ui.shell.events import (
    INITIAL_ORDERS,
    IST,
    KILL_SWITCH_HALT,
    REFRESH_MS,
    WindowEventsMixin,
    day_start,
)
from desktop_oms.ui.shell.kill_switch import WindowKillSwitchMixin
from desktop_oms.ui.shell.layout import DEFAULT_SIZE, DOCKS, WindowLayoutMixin
from desktop_oms.ui.shell.order_actions import WindowOrderActionsMixin
from desktop_oms.ui.shell.risk_gui import RiskGui
from desktop_oms.ui.shell.workspace import install_workspace
from desktop_oms.ui.ticket import OrderTicket

if TYPE_CHECKING:
    from desktop_oms.ui.pnl import PnlChart

__all__ = [
    "DEFAULT_SIZE",
    "DOCKS",
    "INITIAL_ORDERS",
    "IST",
    "KILL_SWITCH_HALT",
    "REFRESH_MS",
    "SHUTDOWN_GRACE_S",
    "MainWindow",
    "day_start",
]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0  # read at shutdown from this module (tests patch it here)
# After the initial load, the PnL chart's import starts this much later (the first frames
# paint uncontended); the chart follows when the import is done (~0.2-0.3 s).
PNL_CHART_DELAY_MS = 100


# Log records that duplicate an event the window already shows (om.alert logs and
# publishes Alert; TaskGroup.report logs and publishes BackgroundTaskFailed; the ticket
# shows its own failures and the window copies them to the alerts panel).
_EVENT_ECHOES = {
    ("desktop_oms.oms.order_manager", "alert"),
    ("desktop_oms.infra.tasks", "report"),
    ("desktop_oms.ui.ticket.submit", "_run"),
    ("desktop_oms.risk.monitor", "_alert"),  # logs and publishes the same Alert
}


class _NotShownTwice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "oms_shown", False):
            return False
        return (record.name, record.funcName) not in _EVENT_ECHOES


class _NoInstruments:
    """Instrument source for a broker without an instruments list (nothing is known)."""

    def search(self, prefix: str, limit: int) -> list:
        return []

    def get(self, exchange: str, symbol: str):
        return None


class MainWindow(
    WindowLayoutMixin,
    WindowActionsMixin,
    WindowEventsMixin,
    WindowOrderActionsMixin,
    WindowKillSwitchMixin,
    QMainWindow,
):
    """objectName "mainWindow". Built by `Application.start()` as `MainWindow(app)`."""

    closing = Signal()

    def __init__(self, app, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        settings = app.settings
        self._state_path = Path(settings.ui_state_path)
        self._closed = False
        self._shown_once = False
        self.layout_restored = False
        self._saved_on_close = False
        self._shut_down = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._kill_task: asyncio.Task | None = None
        self._pnl_dirty = True
        self._trading: tuple[bool, str] | None = None
        self._recon: tuple[datetime | None, int | None, bool, str | None] = (None, None, True, None)
        last = getattr(getattr(app.order_manager, "sync", None), "last_reconciliation", None)
        if last is not None:
            self._recon = (last.at, len(last.mismatches), True, None)
        self._halt_reason: str | None = app.order_manager.halt_reason
        self._symbol_source: QTableView | None = None
        self.modify_dialog = None  # the open ModifyOrderDialog, if any
        self.confirm_box: QMessageBox | None = None  # the open confirmation, if any
        self.file_dialog: QFileDialog | None = None

        self.tasks = TaskRunner(self._show_failure, self)
        self._build_widgets()
        self._build_docks()
        self._build_toolbar()
        self._build_status_bar()
        self._build_actions_and_menus()
        self._build_shortcuts()
        self._connect_widgets()
        self.workspace_ui = install_workspace(self)  # issue 9: market watch, setups, notes, review
        self._default_headers = {name: h.saveState() for name, h in self._headers().items()}
        self.resize(*self._first_size())
        self.apply_default_layout()
        self.layout_restored = self._restore()
        self._log_handler = attach_logging(self.alerts)
        self._log_handler.addFilter(_NotShownTwice())
        self._subscribe()
        self._watch_broker()
        self.risk_gui = RiskGui(self)  # issue 4: risk panel, limits dialog, bracket tips
        self.close_guard = CloseGuard(self)  # asks before closing with live orders/positions
        self._initial_positions()
        self._sync_kill_switch()
        self._update_trading_state()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        self._refresh()
        self.load_task = self.tasks.run(self._initial_load(), "loading the day's orders and trades")
        title = f"Desktop OMS \u2014 {getattr(app.broker, 'name', settings.broker)}"
        self.setWindowTitle(f"{title} \u2014 {settings.db_path}")

    # ================================================================== building

    def _build_widgets(self) -> None:
        app = self.app
        settings = app.settings
        risk = settings.risk
        om = app.order_manager
        self.orders_model = OrdersModel(parent=self)
        self.trades_model = TradesModel(parent=self)
        self.positions_model = PositionsModel(exit_column=True, parent=self)
        self.ticket = OrderTicket(
            app.instruments if app.instruments is not None else _NoInstruments(),
            app.quotes.last_price,
            om.place_order,
            capital=risk.capital,
            confirm_above=settings.confirm_above_value,
            max_quantity=risk.max_quantity,
            max_order_value=risk.max_order_value,
        )
        self.audit = AuditView(om.get_order_events, self.tasks.run)
        self.blotter_panel = BlotterPanel(self.orders_model, self.trades_model, self.audit)
        self.blotter = self.blotter_panel.view
        self.trades_view = self.blotter_panel.trades_view
        self.positions_panel = PositionsPanel(self.positions_model)
        self.positions_grid = self.positions_panel.grid
        # The chart itself (pyqtgraph) is built once the window is up: see showEvent.
        self.pnl_slot = PnlChartSlot(show_net=True)
        self.alerts = AlertsPanel()
        self.alerts.persist_to(app.db.alerts)  # today's alerts again; new ones saved
        self.kill_button = KillSwitchButton()

    @property
    def pnl_chart(self) -> PnlChart:
        """objectName "pnlChart" (in the P&L dock); built now if it is not there yet."""
        return self.pnl_slot.chart

    def _show_failure(self, what: str, text: str) -> None:
        self.alerts.add("error", f"{what}: {text}", "window")

    # ================================================================== closing

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self.layout_restored:  # the default proportions for the size shown at
                QTimer.singleShot(0, self._size_default_docks)
            # The PnL chart once the day is loaded and the window has painted (its
            # import runs on a worker thread; already imported: built at once).
            if "pyqtgraph" in sys.modules:
                self.pnl_slot.build_soon()
            else:
                self.load_task.add_done_callback(self._build_pnl_chart_soon)

    def _build_pnl_chart_soon(self, _task=None) -> None:
        if self._closed or self._shut_down:
            return
        try:
            self.pnl_slot.build_soon(PNL_CHART_DELAY_MS)
        except RuntimeError:  # the window was deleted meanwhile
            pass

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closed and self.close_guard.defer(event):
            return  # asking first: open orders / positions stay at the broker
        if not self._closed:
            self._closed = True
            try:
                self.save_state()
                self._saved_on_close = True
            except Exception:
                log.exception("could not save the window layout")
            self.closing.emit()
        event.accept()

    async def shutdown(self) -> None:
        """Stop listening, let in-flight work finish (bounded), cancel the rest."""
        if self._shut_down:
            return
        self._shut_down = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._timer.stop()
        for box in (self.confirm_box, self.modify_dialog, self.file_dialog):
            if box is not None:
                box.close()
        pending = self.ticket.pending_task
        if pending is not None and not pending.done():
            _done, still = await asyncio.wait({pending}, timeout=SHUTDOWN_GRACE_S)
            if still:
                log.warning("an order was still being sent at shutdown; interrupting it")
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
        await self.tasks.shutdown(SHUTDOWN_GRACE_S)
        root = logging.getLogger()
        root.removeHandler(self._log_handler)
        self.alerts.flush()  # saved before the database closes
        for model in (self.orders_model, self.trades_model, self.positions_model):
            model.flush()

    # ================================================================== tests / tools

    def select_rows(self, view: QTableView, rows: list[int]) -> None:
        """Select whole rows of a table (tests; keyboard users do the same)."""
        selection = view.selectionModel()
        selection.clearSelection()
        model = view.model()
        for row in rows:
            selection.select(
                model.index(row, 0),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )
        if rows:
            selection.setCurrentIndex(
                model.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )
