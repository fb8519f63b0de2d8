"""The trading window: docks for the ticket, blotter, positions, PnL chart and alerts; the
kill switch in a fixed toolbar; a status bar; menus and hotkeys; layout persistence.

Rules this module keeps:
- It never blocks. OMS events (published on the loop thread) only queue rows in the
  models (`queue_upsert`), which flush on their own timers; the PnL chart and the status
  bar are refreshed from a 0.5 s timer.
- Everything asynchronous (cancel, modify, exits, the kill switch, loading history) runs
  as a kept task of `self.tasks` (ui.tasks.TaskRunner); failures land in the alerts
  panel. No QDialog.exec(): dialogs are opened with open() and answered by signals.
- It talks to the OMS services of the Application (order_manager, position_manager,
  kill_switch, quotes), never to the broker.
- `closing` is emitted from closeEvent (gui_runner then stops the Application, which
  calls `save_state()` and awaits `shutdown()`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QTableView,
    QToolBar,
    QWidget,
)

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.events import (
    Alert,
    BackgroundTaskFailed,
    FillApplied,
    KillSwitchProgress,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
    PricesMarked,
    ReconciliationCompleted,
    TradingHalted,
    TradingResumed,
)

from . import dialogs, theme
from . import format as fmt
from .alerts_panel import AlertsPanel, attach_logging
from .audit_view import AuditView
from .blotter_panel import BlotterPanel
from .broker_status import BrokerStatus
from .close_guard import CloseGuard
from .columns import KeyedTableModel, export_csv
from .kill_switch_button import KillSwitchButton, KillSwitchState
from .layout import restore_layout, save_layout, saved_values
from .order_ticket import OrderTicket
from .orders_model import OrdersModel
from .pnl_chart import PnlChart
from .positions_model import PositionsModel, PositionTotals
from .positions_panel import PositionsPanel
from .risk_gui import RiskGui
from .status_bar import OmsStatusBar
from .tasks import TaskRunner, describe_error
from .trades_model import TradeRow, TradesModel
from .workspace_wiring import install_workspace

log = logging.getLogger(__name__)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
INITIAL_ORDERS = 5000  # most recent orders loaded at start (active ones always)
DEFAULT_SIZE = (1600, 950)
SHUTDOWN_GRACE_S = 5.0
REFRESH_MS = 500  # status bar, trading state and a PnL point (when PnL moved) twice a second

KILL_SWITCH_HALT = "Kill switch"  # OrderManager.halt_reason prefix set by the kill switch
DOCKS = ("ticketDock", "blotterDock", "positionsDock", "pnlDock", "alertsDock")

# Log records that duplicate an event the window already shows (om.alert logs and
# publishes Alert; TaskGroup.report logs and publishes BackgroundTaskFailed; the ticket
# shows its own failures and the window copies them to the alerts panel).
_EVENT_ECHOES = {
    ("desktop_oms.oms.order_manager", "alert"),
    ("desktop_oms.oms.supervisor", "report"),
    ("desktop_oms.ui.ticket_submit", "_run"),
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


def day_start(now: datetime | None = None) -> datetime:
    """Midnight IST of the trading day, as an aware datetime."""
    now = (now or datetime.now(UTC)).astimezone(IST)
    return datetime.combine(now.date(), time(0, 0), IST)


def _pnl_point(snapshot: Any) -> tuple:
    net = getattr(snapshot, "net_pnl", None)  # total after charges
    return snapshot.at, snapshot.total_pnl, snapshot.realized_pnl, net


class MainWindow(QMainWindow):
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
        self.pnl_chart = PnlChart(show_net=True)
        self.alerts = AlertsPanel()
        self.kill_button = KillSwitchButton()

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
        self.pnl_dock = self._dock("pnlDock", "P&&L today", self.pnl_chart)
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

    def _build_actions_and_menus(self) -> None:
        bp = self.blotter_panel
        pp = self.positions_panel
        menu = self.menuBar()
        menu.setObjectName("menuBar")

        file_menu = menu.addMenu("&File")
        self.export_orders_action = QAction("Export &orders to CSV\u2026", self)
        self.export_orders_action.triggered.connect(bp.export_action.trigger)
        self.export_trades_action = QAction("Export &trades to CSV\u2026", self)
        self.export_trades_action.triggered.connect(bp.export_trades_action.trigger)
        file_menu.addAction(self.export_orders_action)
        file_menu.addAction(self.export_trades_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setObjectName("actionQuit")
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(lambda: self.close_guard.request_close())
        file_menu.addAction(quit_action)
        self.addAction(quit_action)

        orders_menu = menu.addMenu("&Orders")
        self.buy_action = QAction("New &buy order", self)
        self.buy_action.setObjectName("actionBuy")
        self.buy_action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.buy_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.buy_action.triggered.connect(lambda: self.open_ticket(OrderSide.BUY))
        self.sell_action = QAction("New &sell order", self)
        self.sell_action.setObjectName("actionSell")
        self.sell_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.sell_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.sell_action.triggered.connect(lambda: self.open_ticket(OrderSide.SELL))
        self.addAction(self.buy_action)
        self.addAction(self.sell_action)
        for action in (self.buy_action, self.sell_action):
            orders_menu.addAction(action)
        orders_menu.addSeparator()
        for action in (bp.cancel_action, bp.modify_action, bp.cancel_all_action):
            orders_menu.addAction(action)
        orders_menu.addSeparator()
        orders_menu.addAction(pp.exit_all_action)
        orders_menu.aboutToShow.connect(self._refresh_menu_actions)

        risk_menu = menu.addMenu("&Risk")
        self.engage_action = QAction("&Engage kill switch (press twice)", self)
        self.engage_action.setObjectName("actionEngageKillSwitch")
        self.engage_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.engage_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.engage_action.triggered.connect(self.kill_button.keyboard_engage)
        self.addAction(self.engage_action)
        self.rearm_action = QAction("&Re-arm kill switch\u2026", self)
        self.rearm_action.setObjectName("actionRearmKillSwitch")
        self.rearm_action.triggered.connect(self.request_rearm)
        risk_menu.addAction(self.engage_action)
        risk_menu.addAction(self.rearm_action)
        risk_menu.aboutToShow.connect(self._refresh_menu_actions)

        view_menu = menu.addMenu("&View")
        view_menu.setObjectName("viewMenu")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.reset_layout_action = QAction("&Reset layout", self)
        self.reset_layout_action.setObjectName("actionResetLayout")
        self.reset_layout_action.triggered.connect(self.reset_layout)
        view_menu.addAction(self.reset_layout_action)
        self.view_menu = view_menu

    def _build_shortcuts(self) -> None:
        """B / S open the ticket from the data panels (in the ticket itself letters are
        typing, and the ticket handles B/S only for keys its fields do not use)."""
        self._letter_shortcuts: list[QShortcut] = []
        for widget in (self.blotter_panel, self.positions_panel, self.pnl_chart, self.alerts):
            for key, side in ((Qt.Key.Key_B, OrderSide.BUY), (Qt.Key.Key_S, OrderSide.SELL)):
                shortcut = QShortcut(QKeySequence(key), widget)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda s=side: self.open_ticket(s))
                self._letter_shortcuts.append(shortcut)

    def _connect_widgets(self) -> None:
        bp = self.blotter_panel
        bp.cancel_action.triggered.connect(self.cancel_selected_orders)
        bp.modify_action.triggered.connect(self.modify_selected_order)
        bp.cancel_all_action.triggered.connect(self.request_cancel_all)
        bp.export_action.triggered.connect(lambda: self.ask_export(self.orders_model, "orders"))
        bp.export_trades_action.triggered.connect(
            lambda: self.ask_export(self.trades_model, "trades")
        )
        bp.view.selectionModel().selectionChanged.connect(self._on_order_selection)
        for view in (bp.view, bp.trades_view, self.positions_grid):
            view.selectionModel().currentRowChanged.connect(
                lambda *_a, v=view: self._set_symbol_source(v)
            )
        self.positions_panel.exitRequested.connect(self.request_exit)
        self.positions_panel.exitAllRequested.connect(self.request_exit_all)
        self.positions_model.totals_changed.connect(self._show_totals)
        self.kill_button.engageRequested.connect(self.engage_kill_switch)
        self.ticket.order_sent.connect(self._on_order_sent)
        self.ticket.order_failed.connect(self._on_order_failed)

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

    # ================================================================== layout

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

    # ================================================================== events

    def _subscribe(self) -> None:
        bus = self.app.events
        for event_type, handler in (
            (OrderStatusChanged, self._on_order_event),
            (OrderModified, self._on_order_event),
            (FillApplied, self._on_fill),
            (PositionChanged, self._on_position),
            (PricesMarked, self._on_marked),
            (ReconciliationCompleted, self._on_reconciled),
            (TradingHalted, self._on_halted),
            (TradingResumed, self._on_resumed),
            (BackgroundTaskFailed, self._on_task_failed),
            (Alert, self._on_alert),
            (KillSwitchProgress, self._on_kill_progress),
        ):
            self._unsubscribe.append(bus.subscribe(event_type, handler))

    def _on_order_event(self, event) -> None:
        order = event.order
        self.orders_model.queue_upsert(order)
        if self.audit.order_id == order.id:
            self.audit.refresh(order)

    def _on_fill(self, event: FillApplied) -> None:
        self.trades_model.queue_upsert(TradeRow.from_fill(event.fill))
        self.orders_model.queue_upsert(event.order)
        self.positions_model.queue_upsert(event.position)
        self._pnl_dirty = True
        if self.audit.order_id == event.order.id:
            self.audit.refresh(event.order)

    def _on_position(self, event: PositionChanged) -> None:
        self.positions_model.queue_upsert(event.position)
        self._pnl_dirty = True

    def _on_marked(self, event: PricesMarked) -> None:
        self.positions_model.queue_upsert_many(event.positions)
        self._pnl_dirty = True

    def _on_reconciled(self, event: ReconciliationCompleted) -> None:
        self._recon = (event.at, event.mismatches, event.ok, event.error)
        self._refresh_reconciliation()
        self._update_trading_state()

    def _on_halted(self, event: TradingHalted) -> None:
        self._halt_reason = event.reason
        if not event.reason.startswith(KILL_SWITCH_HALT):  # the kill switch says so itself
            self.alerts.add("warning", f"Trading halted: {event.reason}", "oms", at=event.at)
        self._update_trading_state()

    def _on_resumed(self, event: TradingResumed) -> None:
        previous, self._halt_reason = self._halt_reason, None
        if not (previous or "").startswith(KILL_SWITCH_HALT):
            self.alerts.add("info", "Trading resumed", "oms", at=event.at)
        self._update_trading_state()

    def _on_task_failed(self, event: BackgroundTaskFailed) -> None:
        self.alerts.add("error", f"{event.task}: {event.error}", "background", at=event.at)

    def _on_alert(self, event: Alert) -> None:
        self.alerts.add(event.level, event.message, event.source, at=event.at)

    def _on_kill_progress(self, event: KillSwitchProgress) -> None:
        state = event.state
        if state == "ARMED":
            self.kill_button.set_state(KillSwitchState.ARMED)
        elif state in ("ENGAGED", "DONE"):
            self.kill_button.set_state(KillSwitchState.ENGAGED, event.message)
        elif state == "FAILED":
            self.kill_button.set_state(KillSwitchState.ENGAGED, f"FAILED: {event.message}")
        elif self.kill_button.state is KillSwitchState.ENGAGING:
            self.kill_button.set_progress_text(event.message)
        else:  # engaged by the risk monitor, not the button
            self.kill_button.set_state(KillSwitchState.ENGAGING, event.message)
        self._update_trading_state()

    # ================================================================== loading

    def _initial_positions(self) -> None:
        pm = self.app.position_manager
        if pm is not None:
            self.positions_model.load(pm.all_positions())

    async def _initial_load(self) -> None:
        om = self.app.order_manager
        since = day_start()
        orders = await om.list_orders(limit=INITIAL_ORDERS)
        active = await om.get_active_orders()
        self.orders_model.load([*orders, *active])
        trades = await om.list_trades(since=since)
        self.trades_model.load(TradeRow.from_fill(t) for t in trades)
        db = self.app.db
        snapshots = db.positions.pnl_snapshots(since) if db is not None else []
        self.pnl_chart.load([_pnl_point(s) for s in snapshots])
        self._pnl_dirty = True
        self._add_pnl_point()

    # ================================================================== periodic

    def _refresh(self) -> None:
        if self._shut_down:
            return
        try:
            self._add_pnl_point()
            self._refresh_status()
            self._update_trading_state()
        except Exception:  # a timer slot must not raise into Qt
            log.exception("window refresh failed")

    def _add_pnl_point(self) -> None:
        if not self._pnl_dirty or self.app.position_manager is None:
            return
        self._pnl_dirty = False
        snapshot = self.app.pnl_now()
        self.pnl_chart.add_point(*_pnl_point(snapshot))

    def _refresh_status(self) -> None:
        self.broker_status.refresh()
        quotes = self.app.quotes
        last = quotes.last_tick_at
        age = None if last is None else max((datetime.now(UTC) - last).total_seconds(), 0.0)
        self.status.set_market_data(age, quotes.tick_count)
        self._refresh_reconciliation()

    def _refresh_reconciliation(self) -> None:
        at, mismatches, ok, error = self._recon
        self.status.set_reconciliation(at, mismatches, ok=ok, error=error)

    def _watch_broker(self) -> None:
        """Connection state for the status bar (ui/broker_status.py: Kite's stream state,
        session expiry; the paper broker is always connected)."""
        broker = self.app.broker
        name = getattr(broker, "name", self.app.settings.broker)
        self.broker_status = BrokerStatus(broker, self.status, name)

    def _update_trading_state(self) -> None:
        om = self.app.order_manager
        ks = self.app.kill_switch
        if ks is not None and ks.engaged:
            enabled, reason = (
                False,
                f"Kill switch engaged ({ks.reason or 'manual'}): new orders are refused",
            )
        elif om.halted:
            reason = om.halt_reason or "Trading is halted"
            enabled = False
            if not reason.lower().startswith(("trading", "kill")):
                reason = f"Trading halted: {reason}"
        elif not om.ready:
            enabled, reason = False, "Orders held: waiting for reconciliation with the broker"
        else:
            enabled, reason = True, ""
        if (enabled, reason) == self._trading:
            return
        self._trading = (enabled, reason)
        self.ticket.set_trading_enabled(enabled, reason)
        self.status.set_trading(enabled, reason)

    def _sync_kill_switch(self) -> None:
        ks = self.app.kill_switch
        if ks is None:
            return
        if ks.state == "ENGAGED":
            self.kill_button.set_state(KillSwitchState.ENGAGED, f"since: {ks.reason or 'earlier'}")
        elif ks.state == "ENGAGING":
            self.kill_button.set_state(KillSwitchState.ENGAGING, "in progress\u2026")

    def _show_totals(self, totals: PositionTotals) -> None:
        def money(label: str, value: Decimal, big: bool = False) -> str:
            colour = theme.PROFIT if value > 0 else theme.LOSS if value < 0 else theme.TEXT
            weight = "font-weight: bold;" if big else ""
            return (
                f"<span style='color:{theme.TEXT_DIM}'>{label}</span> "
                f"<span style='color:{colour}; {weight}'>{fmt.signed_money(value)}</span>"
            )

        parts = [
            money("Day P&amp;L", totals.total, True),
            money("Realized", totals.realized),
            money("Unrealized", totals.unrealized),
            f"<span style='color:{theme.TEXT_DIM}'>Open</span> {totals.open_positions}",
        ]
        if totals.charges:
            parts.insert(1, money("Net", totals.net))
        self.pnl_summary.setText(" &nbsp;&nbsp; ".join(parts))

    # ================================================================== ticket

    def open_ticket(self, side: OrderSide) -> None:
        """F1/F2 anywhere, B/S in the data panels: the ticket on that side; from a table,
        with the selected row's instrument."""
        self.ticket_dock.show()
        self.ticket_dock.raise_()
        focus = QApplication.focusWidget()
        in_ticket = focus is not None and (focus is self.ticket or self.ticket.isAncestorOf(focus))
        instrument = None if in_ticket else self.selected_instrument()
        if instrument is None:
            self.ticket.open_for(side)
        else:
            exchange, symbol = instrument
            self.ticket.open_for(side, symbol, exchange)

    def selected_instrument(self) -> tuple[str, str] | None:
        view = self._symbol_source
        if view is None:
            return None
        model = view.model()
        index = view.currentIndex()
        if not index.isValid() or not isinstance(model, KeyedTableModel):
            return None
        try:
            item = model.item_at(index.row())
        except IndexError:
            return None
        exchange, symbol = getattr(item, "exchange", None), getattr(item, "symbol", None)
        return (exchange, symbol) if exchange and symbol else None

    def _set_symbol_source(self, view: QTableView) -> None:
        self._symbol_source = view

    def _on_order_sent(self, request: OrderRequest, result: object) -> None:
        # Only a line in the alerts: the new row appears at the top of the blotter by
        # itself. The blotter's selection is left alone on purpose: moving it to the new
        # order would make a Del meant for the selected order cancel the new one.
        self.alerts.add("info", self.ticket.message.text(), "ticket")

    def _on_order_failed(self, request: OrderRequest, reason: str) -> None:
        self.alerts.add("error", reason, "ticket")

    # ================================================================== blotter actions

    def _on_order_selection(self, *_args) -> None:
        orders = self.blotter_panel.selected_orders()
        self.audit.show_order(orders[0] if len(orders) == 1 else None)

    def _refresh_menu_actions(self) -> None:
        self.blotter_panel._update_actions()
        self.blotter_panel._update_count()
        self.positions_panel.exit_all_action.setEnabled(bool(self.positions_model.open_positions()))
        ks = self.app.kill_switch
        self.rearm_action.setEnabled(ks is not None and ks.state == "ENGAGED")
        self.engage_action.setEnabled(ks is not None and not ks.engaged)

    def cancel_selected_orders(self) -> asyncio.Task | None:
        """Del / context menu: cancel the selected open orders."""
        selected = self.blotter_panel.selected_orders()
        active = [o for o in selected if o.status.is_active]
        if not active:
            self.alerts.add("warning", "No open order selected to cancel", "blotter")
            return None
        om = self.app.order_manager

        async def cancel_each() -> list[str]:
            results = []
            for order in active:
                try:
                    after = await om.cancel_order(order.id)
                except Exception as exc:  # report each, go on with the others
                    results.append(
                        ("error", f"Cancel #{order.id} {order.symbol}: {describe_error(exc)}")
                    )
                else:
                    results.append(
                        (
                            "info",
                            f"Cancel #{order.id} {order.symbol}: {fmt.enum_text(after.status)}",
                        )
                    )
            return results

        names = ", ".join(f"#{o.id}" for o in active[:5]) + ("\u2026" if len(active) > 5 else "")
        return self.tasks.run(cancel_each(), f"cancel {names}", on_result=self._report_results)

    def _report_results(self, results: list[tuple[str, str]]) -> None:
        for level, text in results:
            self.alerts.add(level, text, "orders")

    def modify_selected_order(self):
        """Open the modify dialog for the one selected open order (non-modal)."""
        from .dialogs import ModifyOrderDialog

        active = [o for o in self.blotter_panel.selected_orders() if o.status.is_active]
        if len(active) != 1:
            self.alerts.add("warning", "Select one open order to modify", "blotter")
            return None
        if self.modify_dialog is not None:
            self.modify_dialog.close()
        order = active[0]
        instruments = self.app.instruments
        inst = instruments.get(order.exchange, order.symbol) if instruments is not None else None
        dialog = ModifyOrderDialog(
            order,
            tick_size=inst.tick_size if inst is not None else None,
            lot_size=inst.lot_size if inst is not None else 1,
            parent=self,
        )

        def accepted(_price, _qty, _trigger) -> None:
            changes = dialog.changes()
            if changes:
                self.send_modify(order, changes)

        dialog.accepted_values.connect(accepted)
        dialog.finished.connect(lambda _r: self._forget_modify_dialog(dialog))
        self.modify_dialog = dialog
        dialog.open()
        return dialog

    def _forget_modify_dialog(self, dialog) -> None:
        if self.modify_dialog is dialog:
            self.modify_dialog = None

    def send_modify(self, order, changes: dict) -> asyncio.Task | None:
        om = self.app.order_manager
        described = ", ".join(
            f"{k.replace('_price', '')} {fmt.price(v) if isinstance(v, Decimal) else v}"
            for k, v in changes.items()
        )

        def done(after) -> None:
            self.alerts.add(
                "info",
                f"Modified #{order.id} {order.symbol}: {described} \u2014 {fmt.enum_text(after.status)}",
                "orders",
            )

        return self.tasks.run(
            om.modify_order(order.id, **changes),
            f"modify #{order.id} {order.symbol} ({described})",
            on_result=done,
        )

    def request_cancel_all(self) -> QMessageBox | None:
        """Cancel all open orders, after a confirmation."""
        open_orders = self.orders_model.open_orders()
        if not open_orders:
            self.alerts.add("info", "No open orders to cancel", "blotter")
            return None
        count = len(open_orders)
        symbols = sorted({o.symbol for o in open_orders})
        listed = ", ".join(symbols[:8]) + ("\u2026" if len(symbols) > 8 else "")
        return self._confirm(
            "Cancel all open orders",
            f"Cancel all {count} open order{'s' if count != 1 else ''}?\n{listed}",
            self.cancel_all_orders,
            yes_text="Cancel &all",
            no_text="&Keep them",
        )

    def cancel_all_orders(self) -> asyncio.Task | None:
        om = self.app.order_manager

        def done(result) -> None:
            requested, errors = result
            self.alerts.add(
                "warning" if errors else "info",
                f"Cancel all: {requested} cancelled"
                + (f", {len(errors)} failed" if errors else ""),
                "orders",
            )
            for error in errors:
                self.alerts.add("error", f"Cancel all: {error}", "orders")

        return self.tasks.run(om.cancel_all_orders(), "cancel all open orders", on_result=done)

    def ask_export(self, model: KeyedTableModel, what: str) -> QFileDialog:
        """Export CSV: a non-modal save dialog, then `export_model`."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        folder = Path.home() / "Documents"
        if not folder.is_dir():
            folder = Path.home()
        dialog = QFileDialog(self, f"Export {what} to CSV", str(folder / f"{what}-{stamp}.csv"))
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export_model(model, path, what))
        dialog.finished.connect(lambda _r: setattr(self, "file_dialog", None))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export_model(self, model: KeyedTableModel, path: str | Path, what: str = "rows") -> int:
        model.flush()
        try:
            count = export_csv(model, path)
        except OSError as exc:
            self.alerts.add("error", f"Could not export {what} to {path}: {exc}", "export")
            return -1
        self.alerts.add("info", f"Exported {count} {what} to {path}", "export")
        return count

    # ================================================================== positions

    def _confirm(self, title: str, text: str, on_yes: Callable[[], object], **kw) -> QMessageBox:
        if self.confirm_box is not None:
            self.confirm_box.close()  # one question at a time; the old one counts as "no"
        box = dialogs.confirm(self, title, text, on_yes, **kw)
        self.confirm_box = box
        box.finished.connect(lambda _r: self._forget_confirm(box))
        return box

    def _forget_confirm(self, box) -> None:
        if self.confirm_box is box:
            self.confirm_box = None

    @staticmethod
    def _exit_text(position) -> str:
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return (
            f"{side.value} {fmt.quantity(abs(position.quantity))} {position.exchange}:{position.symbol} "
            f"{position.product.value} at MARKET"
        )

    def request_exit(self, position) -> QMessageBox | None:
        """Per-row Exit: square off one position at market, after a confirmation."""
        if not position.quantity:
            return None
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return self._confirm(
            "Exit position",
            f"Square off {position.exchange}:{position.symbol} ({position.product.value})?\n"
            f"{self._exit_text(position)}",
            lambda: self.exit_positions([position], f"exit {position.symbol}"),
            yes_text=f"&{side.value.title()} {fmt.quantity(abs(position.quantity))} at market",
            no_text="&Keep it",
            informative="A reduce-only market order; it is not sent if the position has changed meanwhile.",
        )

    def request_exit_all(self) -> QMessageBox | None:
        positions = self.positions_model.open_positions()
        if not positions:
            self.alerts.add("info", "No open positions to exit", "positions")
            return None
        lines = "\n".join(self._exit_text(p) for p in positions[:12])
        if len(positions) > 12:
            lines += f"\n\u2026 and {len(positions) - 12} more"
        count = len(positions)
        return self._confirm(
            "Exit all positions",
            f"Square off all {count} open position{'s' if count != 1 else ''} at market?\n{lines}",
            lambda: self.exit_positions(positions, "exit all positions"),
            yes_text="E&xit all",
            no_text="&Keep them",
            informative="Reduce-only market orders; a position that changed meanwhile is skipped.",
        )

    def exit_positions(self, positions: list, what: str) -> asyncio.Task | None:
        """Send the reduce orders for positions the trader confirmed (as they were then)."""
        om = self.app.order_manager
        pm = self.app.position_manager

        async def send() -> list[tuple[str, str]]:
            results = []
            for confirmed in positions:
                current = pm.peek(confirmed.exchange, confirmed.symbol, confirmed.product)
                label = f"{confirmed.exchange}:{confirmed.symbol} {confirmed.product.value}"
                if current.quantity != confirmed.quantity:
                    results.append(
                        (
                            "warning",
                            f"Exit {label}: not sent, the position changed from "
                            f"{confirmed.quantity} to {current.quantity} since you confirmed",
                        )
                    )
                    continue
                request = OrderRequest(
                    symbol=confirmed.symbol,
                    exchange=confirmed.exchange,
                    side=OrderSide.SELL if confirmed.quantity > 0 else OrderSide.BUY,
                    quantity=abs(confirmed.quantity),
                    order_type=OrderType.MARKET,
                    product=Product(confirmed.product),
                    reduce_only=True,
                )
                try:
                    result = await om.place_order(request)
                except Exception as exc:  # report each, go on with the others
                    results.append(("error", f"Exit {label}: {describe_error(exc)}"))
                else:
                    level = "error" if result.status is OrderStatus.REJECTED else "info"
                    tail = f" ({result.message})" if result.message else ""
                    results.append(
                        (
                            level,
                            f"Exit {label}: {request.side.value} {request.quantity} at market "
                            f"\u2014 #{result.order_id} {fmt.enum_text(result.status)}{tail}",
                        )
                    )
            return results

        return self.tasks.run(send(), what, on_result=self._report_results)

    # ================================================================== kill switch

    def engage_kill_switch(self) -> asyncio.Task | None:
        """The button was held (or the shortcut pressed twice): halt, cancel, flatten."""
        if self._kill_task is not None and not self._kill_task.done():
            return self._kill_task
        ks = self.app.kill_switch
        if ks is None:
            self.alerts.add("error", "No kill switch is configured", "kill_switch")
            return None
        self.kill_button.set_state(KillSwitchState.ENGAGING, "halting\u2026")
        self._kill_task = self.tasks.run(
            ks.engage(reason="manual (button)"),
            "kill switch",
            on_result=self._kill_done,
            on_error=self._kill_failed,
        )
        self._update_trading_state()
        return self._kill_task

    def _kill_done(self, result) -> None:
        def get(name: str, default=None):
            if isinstance(result, dict):
                return result.get(name, default)
            return getattr(result, name, default)

        text = get("message") or (
            f"cancelled {get('cancelled', 0)}/{get('to_cancel', 0)}, "
            f"flattened {get('flattened', 0)}/{get('to_flatten', 0)}"
            + ("" if get("verified", True) else ", NOT verified")
        )
        self.kill_button.set_state(KillSwitchState.ENGAGED, text)
        self._update_trading_state()

    def _kill_failed(self, exc: BaseException) -> None:
        text = describe_error(exc)
        self.alerts.add("critical", f"Kill switch failed: {text}", "kill_switch")
        ks = self.app.kill_switch
        halted = self.app.order_manager.halted or (ks is not None and ks.engaged)
        if halted:
            self.kill_button.set_state(
                KillSwitchState.ENGAGED, f"FAILED: {text} \u2014 check the broker"
            )
        else:
            self.kill_button.set_state(KillSwitchState.ARMED, f"engage failed: {text}")
        self._update_trading_state()

    def request_rearm(self) -> QMessageBox | None:
        ks = self.app.kill_switch
        if ks is None or not ks.engaged:
            return None
        problem = ks.rearm_problem() if hasattr(ks, "rearm_problem") else None
        if problem:
            self.alerts.add("warning", f"Cannot re-arm the kill switch: {problem}", "kill_switch")
            return None
        return self._confirm(
            "Re-arm the kill switch",
            f"Allow trading again?\nThe kill switch was engaged: {ks.reason or 'manual'}",
            self.rearm_kill_switch,
            yes_text="&Re-arm",
            no_text="&Stay halted",
        )

    def rearm_kill_switch(self) -> bool:
        ks = self.app.kill_switch
        try:
            ks.rearm()
        except Exception as exc:
            self.alerts.add(
                "error", f"Cannot re-arm the kill switch: {describe_error(exc)}", "kill_switch"
            )
            return False
        self.kill_button.set_state(KillSwitchState.ARMED)  # the kill switch alerts it itself
        self._update_trading_state()
        return True

    # ================================================================== failures

    def _show_failure(self, what: str, text: str) -> None:
        self.alerts.add("error", f"{what}: {text}", "window")

    # ================================================================== closing

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self.layout_restored:  # the default proportions for the size shown at
                QTimer.singleShot(0, self._size_default_docks)

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
