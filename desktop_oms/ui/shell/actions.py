"""MainWindow's menus, actions and hotkeys (F1/F2 and B/S open the ticket, Ctrl+Shift+K
the kill switch, Ctrl+Q quit), the wiring of the panels' own actions and signals to the
window, and opening the ticket for the selected row's instrument.

A mixin of `MainWindow` (ui/shell/main_window.py), not a helper object: the actions and
handlers stay attributes of the window (`window.buy_action`, `window.view_menu`,
`window.open_ticket`), which the tests and sibling modules use, and the signal
connections keep their bound-method targets unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QTableView, QWidget

from desktop_oms.domain import OrderRequest, OrderSide
from desktop_oms.ui.common import KeyedTableModel
from desktop_oms.ui.shell.shortcuts import keyboard_shortcuts

# Ctrl+1..6: (action objectName, menu text, panel)
FOCUS_TARGETS = (
    ("actionFocusTicket", "Order &ticket", "ticket"),
    ("actionFocusWatch", "&Market watch", "watch"),
    ("actionFocusBlotter", "&Blotter (orders)", "blotter"),
    ("actionFocusPositions", "&Positions", "positions"),
    ("actionFocusChart", "&Chart", "chart"),
    ("actionFocusAlerts", "&Alerts", "alerts"),
)

if TYPE_CHECKING:  # type checkers see the window's API; at run time a plain mixin
    _WindowBase = QMainWindow
else:
    _WindowBase = object


class WindowActionsMixin(_WindowBase):
    """Menus, shortcuts, widget wiring and the ticket hotkeys of the trading window."""

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
        # Cancel all and Exit all work from anywhere in the window (each asks first).
        bp.cancel_all_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(bp.cancel_all_action)
        orders_menu.addSeparator()
        orders_menu.addAction(pp.exit_action)
        orders_menu.addAction(pp.exit_all_action)
        self.addAction(pp.exit_all_action)
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
        self.risk_menu = risk_menu

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

        go_menu = menu.addMenu("&Go")
        go_menu.setObjectName("goMenu")
        self.focus_actions: dict[str, QAction] = {}
        for number, (name, text, target) in enumerate(FOCUS_TARGETS, start=1):
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _c=False, t=target: self.focus_panel(t))
            go_menu.addAction(action)
            self.addAction(action)
            self.focus_actions[target] = action
        self.go_menu = go_menu

        help_menu = menu.addMenu("&Help")
        help_menu.setObjectName("helpMenu")
        self.shortcuts_action = QAction("&Keyboard shortcuts\u2026", self)
        self.shortcuts_action.setObjectName("actionKeyboardShortcuts")
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+F1"))
        self.shortcuts_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        self.addAction(self.shortcuts_action)
        self.help_menu = help_menu

    def _build_shortcuts(self) -> None:
        """B / S open the ticket from the data panels (in the ticket itself letters are
        typing, and the ticket handles B/S only for keys its fields do not use)."""
        self._letter_shortcuts: list[QShortcut] = []
        for widget in (self.blotter_panel, self.positions_panel, self.pnl_slot, self.alerts):
            for key, side in ((Qt.Key.Key_B, OrderSide.BUY), (Qt.Key.Key_S, OrderSide.SELL)):
                shortcut = QShortcut(QKeySequence(key), widget)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.setWhatsThis(f"Open the ticket on the {side.value.lower()} side")
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

    def _refresh_menu_actions(self) -> None:
        self.blotter_panel._update_actions()
        self.blotter_panel._update_count()
        self._refresh_kill_switch_actions()

    def _refresh_kill_switch_actions(self) -> None:
        """Kept in step with the kill switch on every change of the trading state (not only
        when a menu opens: a disabled action's shortcut does nothing)."""
        ks = self.app.kill_switch
        self.rearm_action.setEnabled(ks is not None and ks.state == "ENGAGED")
        self.engage_action.setEnabled(ks is not None and not ks.engaged)

    # ================================================================== keyboard

    def focus_panel(self, target: str) -> QWidget | None:
        """Ctrl+1..6: show and raise a panel and put the keyboard focus in it."""
        widget: QWidget | None = None
        dock = None
        if target == "ticket":
            dock, widget = self.ticket_dock, self.ticket.symbol
        elif target == "watch":
            watch = getattr(self, "market_watch", None)
            if watch is not None:
                current = watch.current()
                dock, widget = watch, current[2] if current is not None else watch
        elif target == "blotter":
            dock, widget = self.blotter_dock, self.blotter
            self.blotter_panel.tabs.setCurrentWidget(self.blotter)
        elif target == "positions":
            dock, widget = self.positions_dock, self.positions_grid
        elif target == "chart":
            chart = self.findChild(QWidget, "priceChart") or self.pnl_slot
            dock = self._dock_of(chart)
            widget = chart
        elif target == "alerts":
            dock, widget = self.alerts_dock, self.alerts.view
        if widget is None:
            return None
        if dock is not None:
            dock.show()
            dock.raise_()
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if isinstance(widget, QTableView) and not widget.currentIndex().isValid():
            model = widget.model()
            if model is not None and model.rowCount() > 0:
                widget.setCurrentIndex(model.index(0, 0))
        return widget

    def _dock_of(self, widget: QWidget):
        parent = widget.parentWidget()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        return parent

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(keys, what, where) of every action with a shortcut in the window, generated from
        the actions themselves (Help > Keyboard shortcuts)."""
        return keyboard_shortcuts(self)

    def show_shortcuts(self):
        from desktop_oms.ui.shell.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self.shortcut_rows(), self)
        dialog.open()
        self.shortcuts_dialog = dialog
        return dialog

    # ================================================================== ticket

    def open_ticket(self, side: OrderSide) -> None:
        """F1/F2 anywhere, B/S in the data panels: the ticket on that side. From a table
        that has the keyboard focus, with its current row's instrument; from anywhere else,
        with what the ticket shows."""
        self.ticket_dock.show()
        self.ticket_dock.raise_()
        instrument = self.selected_instrument()
        if instrument is None:
            self.ticket.open_for(side)
        else:
            exchange, symbol = instrument
            self.ticket.open_for(side, symbol, exchange)

    def selected_instrument(self) -> tuple[str, str] | None:
        """The instrument of the current row of the table that has the keyboard focus."""
        focus = QApplication.focusWidget()
        view = focus
        while view is not None and not isinstance(view, QTableView):
            view = view.parentWidget()
        if view is None or view.window() is not self:
            return None
        model = view.model()
        index = view.currentIndex()
        if not index.isValid():
            return None
        if isinstance(model, KeyedTableModel):
            try:
                item = model.item_at(index.row())
            except IndexError:
                return None
            exchange, symbol = getattr(item, "exchange", None), getattr(item, "symbol", None)
            return (exchange, symbol) if exchange and symbol else None
        watch = getattr(self, "market_watch", None)
        if watch is not None and watch.isAncestorOf(view):
            return watch.selected_key()
        return None

    def _set_symbol_source(self, view: QTableView) -> None:
        self._symbol_source = view  # the last table whose row changed (kept for tools)

    def _on_order_sent(self, request: OrderRequest, result: object) -> None:
        # Only a line in the alerts: the new row appears at the top of the blotter by
        # itself. The blotter's selection is left alone on purpose: moving it to the new
        # order would make a Del meant for the selected order cancel the new one.
        self.alerts.add("info", self.ticket.message.text(), "ticket")

    def _on_order_failed(self, request: OrderRequest, reason: str) -> None:
        self.alerts.add("error", reason, "ticket")
