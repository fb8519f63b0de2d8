"""The trading window: docks for the ticket, blotter, positions, P&L chart, market watch,
alerts and the day review; the kill switch in a fixed toolbar; a status bar; menus and
hotkeys; layout persistence.

`MainWindow(services)` builds every feature's widget and the docks holding them, then
composes the controllers that act for the trader, each an object holding what it needs:

- `order_actions` (shell/order_actions.py): cancel / modify / cancel all / export, exits;
- `kill_switch_controller` (shell/kill_switch.py): engage, re-arm, the button's state;
- `trading_gate` (shell/trading_gate.py): whether new orders may be sent, and why not;
- `confirmations` (shell/confirmations.py): one question at a time;
- `live` (shell/live_updates.py): OMS events to the models, the day's load, the refresh;
- `layout_manager` (shell/layout.py): default layout per window size, saved layout;
- `menus` (shell/menus.py): menus, window-wide keys, focus, opening the ticket;
- `risk_gui`, `workspace_ui`, `close_guard`, `broker_status`: the risk panel and limits,
  the journal and market watch wiring, asking before closing, the broker's state.

Rules this module keeps:
- It never blocks. OMS events (published on the loop thread) only queue rows in the
  models, which flush on their own timers; the P&L chart and the status bar are
  refreshed from a 0.5 s timer.
- The P&L chart (pyqtgraph, the costliest import) is not on the way to the first window:
  the P&L dock holds a `PnlChartSlot` that keeps the points and builds the chart once the
  window is up and the day loaded (import on a worker thread); `window.pnl_chart` builds
  it at once when asked for earlier.
- Everything asynchronous (cancel, modify, exits, the kill switch, loading the day) runs
  as a kept task of `self.tasks`; failures land in the alerts panel. No QDialog.exec():
  dialogs are opened with open() and answered by signals.
- It uses the `WindowServices` it is given (OMS, risk, quotes, the workspace's
  repositories), never the broker's orders or the database directly.
- `closing` is emitted from closeEvent (gui_runner then stops the Application, which
  calls `save_state()` and awaits `shutdown()`).

The window's public operations (`request_exit`, `confirm_box`, `focus_panel`, ...) are the
controllers', forwarded so that tools and tests reach them on the window.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTableView, QWidget

from desktop_oms.domain import OrderRequest
from desktop_oms.ui.alerts import AlertsPanel, attach_logging
from desktop_oms.ui.blotter import AuditView, BlotterPanel, OrdersModel, TradesModel
from desktop_oms.ui.chart import PriceChartPanel
from desktop_oms.ui.common import PnlHistory, Subscriptions, TaskRunner, WindowServices
from desktop_oms.ui.depth import DepthLadder
from desktop_oms.ui.pnl import PnlChartSlot
from desktop_oms.ui.positions import PositionsModel, PositionsPanel
from desktop_oms.ui.review import ReviewPanel
from desktop_oms.ui.risk import KillSwitchButton
from desktop_oms.ui.shell.broker_status import BrokerStatus
from desktop_oms.ui.shell.close_guard import CloseGuard
from desktop_oms.ui.shell.confirmations import Confirmations
from desktop_oms.ui.shell.kill_switch import KillSwitchController
from desktop_oms.ui.shell.layout import LayoutManager
from desktop_oms.ui.shell.live_updates import LiveUpdates
from desktop_oms.ui.shell.menus import WindowMenus
from desktop_oms.ui.shell.order_actions import OrderActions
from desktop_oms.ui.shell.risk_gui import RiskGui
from desktop_oms.ui.shell.status_bar import OmsStatusBar
from desktop_oms.ui.shell.top_strip import TopStrip
from desktop_oms.ui.shell.trading_gate import TradingGate
from desktop_oms.ui.shell.workspace import WorkspaceUi
from desktop_oms.ui.ticket import OrderTicket
from desktop_oms.ui.watch import MarketWatch

if TYPE_CHECKING:
    from desktop_oms.ui.pnl import PnlChart

__all__ = ["SHUTDOWN_GRACE_S", "MainWindow"]

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


def _forward(controller: str, name: str) -> Any:
    """A window attribute that is a controller's (`window.request_exit` is
    `window.order_actions.request_exit`)."""
    return property(
        lambda self: getattr(getattr(self, controller), name),
        doc=f"`{controller}.{name}`",
    )


def _between(history: PnlHistory) -> Callable[[datetime, datetime], list]:
    def snapshots(since: datetime, until: datetime) -> list:
        return [p for p in history.pnl_snapshots(since) if p.at < until]

    return snapshots


class MainWindow(QMainWindow):
    """objectName "mainWindow". Built by `Application.start()` as `MainWindow(services)`."""

    closing = Signal()

    def __init__(self, services: WindowServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self._closed = False
        self._shown_once = False
        self._shut_down = False
        self.tasks = TaskRunner(self._show_failure, self)
        self.subscriptions = Subscriptions(services.events)

        self._build_features()
        self._build_docks()
        self.top_strip = TopStrip(self.kill_button, self)  # the kill switch, P&L, key hints
        self.kill_bar = self.top_strip.bar
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.kill_bar)
        self.status = OmsStatusBar(self)
        self.setStatusBar(self.status)
        self.status.set_data_file(services.data_file)
        self._build_controllers()
        self._wire()

        layout = self.layout_manager
        self.resize(*layout.first_size())
        layout.apply_default_layout()
        layout.restore()
        self._show_first_instrument()
        self._log_handler = attach_logging(self.alerts)
        self._log_handler.addFilter(_NotShownTwice())
        self.live.load_positions()
        self.trading_gate.update()
        self.live.start()
        self.load_task = self.tasks.run(self.live.load_day(), "loading the day's orders and trades")
        title = f"Desktop OMS \u2014 {services.broker_name}"
        self.setWindowTitle(f"{title} \u2014 {services.data_file}")

    # ================================================================== building

    def _build_features(self) -> None:
        services = self.services
        settings = services.settings
        limits = services.risk.limits
        om = services.order_manager
        self.orders_model = OrdersModel(parent=self)
        self.trades_model = TradesModel(parent=self)
        self.positions_model = PositionsModel(exit_column=True, parent=self)
        self.ticket = OrderTicket(
            services.instrument_source,
            services.quotes.last_price,
            om.place_order,
            capital=limits.capital,
            confirm_above=settings.confirm_above_value,
            max_quantity=limits.max_quantity,
            max_order_value=limits.max_order_value,
            preflight=services.risk.validator.problems,  # every refusal, before sending
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
        self.alerts.persist_to(services.alert_log)  # today's alerts again; new ones saved
        self.kill_button = KillSwitchButton()
        self.market_watch = MarketWatch(
            services.workspace,
            services.instrument_source,
            services.subscribe,
            self,
            quote=services.quotes.tick,
        )
        self.market_watch.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.review_panel = ReviewPanel(
            services.reporting.review_fills, _between(services.pnl_history), services.reports
        )
        # issue 17: the instrument's chart (its plot is built once the window is up) and
        # the depth ladder; both follow the instrument the window selects
        self.price_chart = PriceChartPanel(services, self.tasks)
        self.depth_ladder = DepthLadder(services, self.tasks)

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
        self.chart_dock = self._dock("priceChartDock", "Chart", self.price_chart)
        self.ladder_dock = self._dock("depthLadderDock", "Depth", self.depth_ladder)
        self.docks = {
            "ticketDock": self.ticket_dock,
            "blotterDock": self.blotter_dock,
            "positionsDock": self.positions_dock,
            "pnlDock": self.pnl_dock,
            "alertsDock": self.alerts_dock,
            "priceChartDock": self.chart_dock,
            "depthLadderDock": self.ladder_dock,
        }
        self.review_dock = self._dock("dayReview", "Day review", self.review_panel)
        # no central widget: the docks share the whole window
        placeholder = QWidget(self)
        placeholder.setObjectName("centralPlaceholder")
        placeholder.setMaximumSize(0, 0)
        placeholder.hide()
        self.setCentralWidget(placeholder)

    def _build_controllers(self) -> None:
        services = self.services
        om = services.order_manager
        self.confirmations = Confirmations(self)
        self.order_actions = OrderActions(
            order_manager=om,
            instruments=services.instrument_source,
            tasks=self.tasks,
            alerts=self.alerts,
            confirmations=self.confirmations,
            blotter=self.blotter_panel,
            positions=self.positions_panel,
            parent=self,
        )
        self.kill_switch_controller = KillSwitchController(
            kill_switch=services.kill_switch,
            order_manager=om,
            button=self.kill_button,
            tasks=self.tasks,
            alerts=self.alerts,
            confirmations=self.confirmations,
            subscriptions=self.subscriptions,
            parent=self,
        )
        self.trading_gate = TradingGate(
            order_manager=om,
            kill_switch=services.kill_switch,
            ticket=self.ticket,
            status=self.status,
            kill_switch_controller=self.kill_switch_controller,
        )
        self.kill_switch_controller.changed.connect(self.trading_gate.update)
        self.risk_gui = RiskGui(  # issue 4: risk panel, limits dialog, bracket tips
            services.risk,
            top_strip=self.top_strip,
            orders_model=self.orders_model,
            ticket=self.ticket,
            alerts=self.alerts,
            status=self.status,
            subscriptions=self.subscriptions,
            parent=self,
        )
        # issue 9: market watch, setups, notes, review
        self.workspace_ui = WorkspaceUi(self, services, self.subscriptions)
        self.layout_manager = LayoutManager(self, services.settings.ui_state_path)
        self.menus = WindowMenus(self)
        self.broker_status = BrokerStatus(services.broker, self.status, services.broker_name)
        self.live = LiveUpdates(
            services,
            orders_model=self.orders_model,
            trades_model=self.trades_model,
            positions_model=self.positions_model,
            audit=self.audit,
            alerts=self.alerts,
            pnl_slot=self.pnl_slot,
            status=self.status,
            broker_status=self.broker_status,
            order_actions=self.order_actions,
            gate=self.trading_gate,
            subscriptions=self.subscriptions,
            parent=self,
        )
        self.close_guard = CloseGuard(  # asks before closing with live orders / positions
            self,
            order_manager=om,
            position_manager=services.position_manager,
            orders_model=self.orders_model,
            confirmations=self.confirmations,
        )

    def _wire(self) -> None:
        """The panels' actions and signals to the controllers that act on them."""
        bp, actions = self.blotter_panel, self.order_actions
        bp.cancel_action.triggered.connect(actions.cancel_selected_orders)
        bp.modify_action.triggered.connect(actions.modify_selected_order)
        bp.cancel_all_action.triggered.connect(actions.request_cancel_all)
        bp.export_action.triggered.connect(lambda: actions.ask_export(self.orders_model, "orders"))
        bp.export_trades_action.triggered.connect(
            lambda: actions.ask_export(self.trades_model, "trades")
        )
        self.positions_panel.exitRequested.connect(actions.request_exit)
        self.positions_panel.exitAllRequested.connect(actions.request_exit_all)
        self.positions_model.totals_changed.connect(self.top_strip.show_totals)
        self.ticket.order_sent.connect(self._on_order_sent)
        self.ticket.order_failed.connect(self._on_order_failed)
        # the chart and the ladder show what the ticket (which follows the market watch)
        # or the positions grid selects; what they say also goes to the alerts
        self.ticket.instrument_changed.connect(self.show_instrument)
        self.positions_grid.selectionModel().currentRowChanged.connect(self._position_selected)
        self.price_chart.message.connect(lambda level, text: self.alerts.add(level, text, "chart"))
        self.depth_ladder.message.connect(
            lambda level, text: self.alerts.add(level, text, "ladder")
        )

    @property
    def pnl_chart(self) -> PnlChart:
        """objectName "pnlChart" (in the P&L dock); built now if it is not there yet."""
        return self.pnl_slot.chart

    def show_instrument(self, exchange: str, symbol: str) -> None:
        """The chart and the depth ladder show this instrument."""
        self.price_chart.show_instrument(exchange, symbol)
        self.depth_ladder.show_instrument(exchange, symbol)

    def _position_selected(self, current, _previous) -> None:
        if not current.isValid():
            return
        try:
            position = self.positions_model.item_at(current.row())
        except IndexError:
            return
        exchange, symbol = getattr(position, "exchange", None), getattr(position, "symbol", None)
        if exchange and symbol:
            self.show_instrument(exchange, symbol)

    def _show_first_instrument(self) -> None:
        """At start: the ticket's instrument, else the first open position's, else the
        market watch's selected row."""
        if self.price_chart.key is not None:
            return
        instrument = self.ticket.instrument
        if instrument is not None:
            self.show_instrument(instrument.exchange, instrument.symbol)
            return
        positions = self.services.position_manager.open_positions()
        if positions:
            self.show_instrument(positions[0].exchange, positions[0].symbol)
            return
        key = self.market_watch.selected_key()
        if key is not None:
            self.show_instrument(*key)

    @property
    def price_chart_plot(self):
        """The price chart's plot (pyqtgraph), built now if it is not there yet."""
        return self.price_chart.build_now()

    def _show_failure(self, what: str, text: str) -> None:
        self.alerts.add("error", f"{what}: {text}", "window")

    def _on_order_sent(self, request: OrderRequest, result: object) -> None:
        # Only a line in the alerts: the new row appears at the top of the blotter by
        # itself. The blotter's selection is left alone on purpose: moving it to the new
        # order would make a Del meant for the selected order cancel the new one.
        self.alerts.add("info", self.ticket.message.text(), "ticket")

    def _on_order_failed(self, request: OrderRequest, reason: str) -> None:
        self.alerts.add("error", reason, "ticket")

    # ================================================================== the window's operations
    # (the controllers', reached on the window by tools, tests and the e2e harness)

    # orders and positions
    cancel_selected_orders = _forward("order_actions", "cancel_selected_orders")
    modify_selected_order = _forward("order_actions", "modify_selected_order")
    send_modify = _forward("order_actions", "send_modify")
    request_cancel_all = _forward("order_actions", "request_cancel_all")
    cancel_all_orders = _forward("order_actions", "cancel_all_orders")
    ask_export = _forward("order_actions", "ask_export")
    export_model = _forward("order_actions", "export_model")
    request_exit = _forward("order_actions", "request_exit")
    request_exit_all = _forward("order_actions", "request_exit_all")
    exit_positions = _forward("order_actions", "exit_positions")
    modify_dialog = _forward("order_actions", "modify_dialog")  # the open Modify dialog
    file_dialog = _forward("order_actions", "file_dialog")  # the open export dialog
    confirm_box = _forward("confirmations", "box")  # the open confirmation, if any
    # the kill switch
    engage_kill_switch = _forward("kill_switch_controller", "engage")
    request_rearm = _forward("kill_switch_controller", "request_rearm")
    rearm_kill_switch = _forward("kill_switch_controller", "rearm")
    engage_action = _forward("kill_switch_controller", "engage_action")
    rearm_action = _forward("kill_switch_controller", "rearm_action")
    # menus and keys
    buy_action = _forward("menus", "buy_action")
    sell_action = _forward("menus", "sell_action")
    export_orders_action = _forward("menus", "export_orders_action")
    export_trades_action = _forward("menus", "export_trades_action")
    reset_layout_action = _forward("menus", "reset_layout_action")
    shortcuts_action = _forward("menus", "shortcuts_action")
    focus_actions = _forward("menus", "focus_actions")
    risk_menu = _forward("menus", "risk_menu")
    view_menu = _forward("menus", "view_menu")
    go_menu = _forward("menus", "go_menu")
    help_menu = _forward("menus", "help_menu")
    focus_panel = _forward("menus", "focus_panel")
    open_ticket = _forward("menus", "open_ticket")
    selected_instrument = _forward("menus", "selected_instrument")
    shortcut_rows = _forward("menus", "shortcut_rows")
    show_shortcuts = _forward("menus", "show_shortcuts")
    # layout
    show_on_screen = _forward("layout_manager", "show_on_screen")
    apply_default_layout = _forward("layout_manager", "apply_default_layout")
    reset_layout = _forward("layout_manager", "reset_layout")
    hidden_controls = _forward("layout_manager", "hidden_controls")
    layout_profile = _forward("layout_manager", "layout_profile")
    layout_restored = _forward("layout_manager", "restored")
    pnl_summary = _forward("top_strip", "pnl_summary")

    def save_state(self) -> None:
        """Write the window's layout and a few values (see LayoutManager.save_state)."""
        self.layout_manager.save_state()

    # ================================================================== showing and closing

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.layout_manager.on_shown()
        if not self._shown_once:
            self._shown_once = True
            # The PnL chart once the day is loaded and the window has painted (its
            # import runs on a worker thread; already imported: built at once).
            # the price chart follows the P&L chart (pyqtgraph is loaded by then)
            self.pnl_slot.chartReady.connect(lambda _chart: self.price_chart.build_soon())
            if "pyqtgraph" in sys.modules:
                self.pnl_slot.build_soon()
            else:
                self.load_task.add_done_callback(self._build_pnl_chart_soon)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.layout_manager.on_resized()

    def _build_pnl_chart_soon(self, _task=None) -> None:
        if self._closed or self._shut_down:
            return
        try:
            self.pnl_slot.build_soon(PNL_CHART_DELAY_MS)
        except RuntimeError:  # the window was deleted meanwhile
            pass

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closed and not self._shut_down and self.close_guard.defer(event):
            return  # asking first: open orders / positions stay at the broker
        if not self._closed:
            self._closed = True
            self.layout_manager.window_closed()
            try:
                self.layout_manager.save_state(final=True)
            except Exception:
                log.exception("could not save the window layout")
            self.closing.emit()
        event.accept()

    async def shutdown(self) -> None:
        """Stop listening, let in-flight work finish (bounded), cancel the rest."""
        if self._shut_down:
            return
        self._shut_down = True
        self.subscriptions.close()
        self.price_chart.shutdown()
        self.depth_ladder.shutdown()
        self.live.stop()
        self.confirmations.close()
        self.order_actions.close_dialogs()
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
