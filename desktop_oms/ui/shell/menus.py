"""The window's menus and keys (`WindowMenus`): File, Orders, Risk, Journal, View, Go and
Help; F1 / F2 (and B / S in the data panels) open the ticket, Ctrl+1..6 go to a panel,
Ctrl+Q quits, Ctrl+F1 lists every key.

Menus are built from the actions their owners made: the panels' own (cancel, modify,
exit, ...), the kill switch controller's (engage, re-arm), the risk and journal
controllers' (risk limits, setups, notes, day review); the ones made here are the
window's own (new buy / sell order, exports, layout, focus, help). Window-wide keys are
actions added to the window, so the shortcuts dialog and the conflict test find them all.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMenu, QTableView, QWidget

from desktop_oms.domain import OrderSide
from desktop_oms.ui.common import KeyedTableModel
from desktop_oms.ui.shell.shortcuts import ShortcutsDialog, keyboard_shortcuts

# Ctrl+1..6: (action objectName, menu text, panel)
FOCUS_TARGETS = (
    ("actionFocusTicket", "Order &ticket", "ticket"),
    ("actionFocusWatch", "&Market watch", "watch"),
    ("actionFocusBlotter", "&Blotter (orders)", "blotter"),
    ("actionFocusPositions", "&Positions", "positions"),
    ("actionFocusChart", "&Chart", "chart"),
    ("actionFocusAlerts", "&Alerts", "alerts"),
)


def _action(parent: QWidget, text: str, name: str | None = None, keys=None) -> QAction:
    """An action of the window; with keys, window-wide."""
    action = QAction(text, parent)
    if name:
        action.setObjectName(name)
    if keys is not None:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    return action


class WindowMenus(QObject):
    """The menu bar, the window-wide keys, and moving around the window by keyboard."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.shortcuts_dialog = None  # the Help > Keyboard shortcuts dialog last opened
        self._build_menus()
        self._build_letter_shortcuts()

    # ================================================================== menus

    def _build_menus(self) -> None:
        w = self.window
        bp, pp = w.blotter_panel, w.positions_panel
        kill = w.kill_switch_controller
        journal = w.workspace_ui
        menu_bar = w.menuBar()
        menu_bar.setObjectName("menuBar")

        file_menu = menu_bar.addMenu("&File")
        self.export_orders_action = _action(w, "Export &orders to CSV\u2026")
        self.export_orders_action.triggered.connect(bp.export_action.trigger)
        self.export_trades_action = _action(w, "Export &trades to CSV\u2026")
        self.export_trades_action.triggered.connect(bp.export_trades_action.trigger)
        file_menu.addAction(self.export_orders_action)
        file_menu.addAction(self.export_trades_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", w)
        quit_action.setObjectName("actionQuit")
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(lambda: w.close_guard.request_close())
        file_menu.addAction(quit_action)
        w.addAction(quit_action)
        self.quit_action = quit_action

        orders_menu = menu_bar.addMenu("&Orders")
        self.buy_action = _action(w, "New &buy order", "actionBuy", Qt.Key.Key_F1)
        self.buy_action.triggered.connect(lambda: self.open_ticket(OrderSide.BUY))
        self.sell_action = _action(w, "New &sell order", "actionSell", Qt.Key.Key_F2)
        self.sell_action.triggered.connect(lambda: self.open_ticket(OrderSide.SELL))
        w.addAction(self.buy_action)
        w.addAction(self.sell_action)
        for action in (self.buy_action, self.sell_action):
            orders_menu.addAction(action)
        orders_menu.addSeparator()
        for action in (bp.cancel_action, bp.modify_action, bp.cancel_all_action):
            orders_menu.addAction(action)
        # Cancel all and Exit all work from anywhere in the window (each asks first).
        bp.cancel_all_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        w.addAction(bp.cancel_all_action)
        orders_menu.addSeparator()
        orders_menu.addAction(pp.exit_action)
        orders_menu.addAction(pp.exit_all_action)
        w.addAction(pp.exit_all_action)
        orders_menu.aboutToShow.connect(self.refresh_menu_actions)

        risk_menu = menu_bar.addMenu("&Risk")
        risk_menu.addAction(w.risk_gui.limits_action)
        risk_menu.addSeparator()
        w.addAction(kill.engage_action)
        risk_menu.addAction(kill.engage_action)
        risk_menu.addAction(kill.rearm_action)
        risk_menu.aboutToShow.connect(self.refresh_menu_actions)
        self.risk_menu = risk_menu

        journal_menu = QMenu("&Journal", w)
        journal_menu.setObjectName("journalMenu")
        journal_menu.addAction(journal.setups_action)
        journal_menu.addSeparator()
        journal_menu.addAction(journal.order_note_action)
        journal_menu.addAction(journal.position_note_action)
        journal_menu.addSeparator()
        journal_menu.addAction(journal.review_action)
        w.addAction(journal.review_action)
        journal_menu.aboutToShow.connect(journal.refresh_note_actions)
        menu_bar.addMenu(journal_menu)
        self.journal_menu = journal_menu

        view_menu = menu_bar.addMenu("&View")
        view_menu.setObjectName("viewMenu")
        for dock in (*w.docks.values(), w.market_watch, w.review_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.reset_layout_action = _action(w, "&Reset layout", "actionResetLayout")
        self.reset_layout_action.triggered.connect(w.layout_manager.reset_layout)
        view_menu.addAction(self.reset_layout_action)
        self.view_menu = view_menu

        go_menu = menu_bar.addMenu("&Go")
        go_menu.setObjectName("goMenu")
        self.focus_actions: dict[str, QAction] = {}
        for number, (name, text, target) in enumerate(FOCUS_TARGETS, start=1):
            action = _action(w, text, name, f"Ctrl+{number}")
            action.triggered.connect(lambda _c=False, t=target: self.focus_panel(t))
            go_menu.addAction(action)
            w.addAction(action)
            self.focus_actions[target] = action
        self.go_menu = go_menu

        help_menu = menu_bar.addMenu("&Help")
        help_menu.setObjectName("helpMenu")
        self.shortcuts_action = _action(
            w, "&Keyboard shortcuts\u2026", "actionKeyboardShortcuts", "Ctrl+F1"
        )
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        w.addAction(self.shortcuts_action)
        self.help_menu = help_menu

    def _build_letter_shortcuts(self) -> None:
        """B / S open the ticket from the data panels (in the ticket itself letters are
        typing, and the ticket handles B/S only for keys its fields do not use)."""
        w = self.window
        self.letter_shortcuts: list[QShortcut] = []
        for widget in (w.blotter_panel, w.positions_panel, w.pnl_slot, w.alerts):
            for key, side in ((Qt.Key.Key_B, OrderSide.BUY), (Qt.Key.Key_S, OrderSide.SELL)):
                shortcut = QShortcut(QKeySequence(key), widget)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.setWhatsThis(f"Open the ticket on the {side.value.lower()} side")
                shortcut.activated.connect(lambda s=side: self.open_ticket(s))
                self.letter_shortcuts.append(shortcut)

    def refresh_menu_actions(self) -> None:
        self.window.blotter_panel.refresh_actions()
        self.window.kill_switch_controller.sync_actions()

    # ================================================================== keyboard

    def focus_panel(self, target: str) -> QWidget | None:
        """Ctrl+1..6: show and raise a panel and put the keyboard focus in it."""
        w = self.window
        widget: QWidget | None = None
        dock = None
        if target == "ticket":
            dock, widget = w.ticket_dock, w.ticket.symbol
        elif target == "watch":
            watch = w.market_watch
            current = watch.current()
            dock, widget = watch, current[2] if current is not None else watch
        elif target == "blotter":
            dock, widget = w.blotter_dock, w.blotter
            w.blotter_panel.tabs.setCurrentWidget(w.blotter)
        elif target == "positions":
            dock, widget = w.positions_dock, w.positions_grid
        elif target == "chart":
            chart = w.findChild(QWidget, "priceChart") or w.pnl_slot
            dock = _dock_of(chart)
            widget = chart
        elif target == "alerts":
            dock, widget = w.alerts_dock, w.alerts.view
        if widget is None:
            return None
        if dock is not None:
            dock.show()
            dock.raise_()
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a chart takes the keyboard too
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if isinstance(widget, QTableView) and not widget.currentIndex().isValid():
            model = widget.model()
            if model is not None and model.rowCount() > 0:
                widget.setCurrentIndex(model.index(0, 0))
        return widget

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(keys, what, where) of every action with a shortcut in the window, generated from
        the actions themselves (Help > Keyboard shortcuts)."""
        return keyboard_shortcuts(self.window)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.shortcut_rows(), self.window)
        dialog.open()
        self.shortcuts_dialog = dialog
        return dialog

    # ================================================================== ticket

    def open_ticket(self, side: OrderSide) -> None:
        """F1/F2 anywhere, B/S in the data panels: the ticket on that side. From a table
        that has the keyboard focus, with its current row's instrument; from anywhere else,
        with what the ticket shows."""
        w = self.window
        w.ticket_dock.show()
        w.ticket_dock.raise_()
        instrument = self.selected_instrument()
        if instrument is None:
            w.ticket.open_for(side)
        else:
            exchange, symbol = instrument
            w.ticket.open_for(side, symbol, exchange)

    def selected_instrument(self) -> tuple[str, str] | None:
        """The instrument of the current row of the table that has the keyboard focus."""
        focus = QApplication.focusWidget()
        view = focus
        while view is not None and not isinstance(view, QTableView):
            view = view.parentWidget()
        if view is None or view.window() is not self.window:
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
        watch = self.window.market_watch
        if watch.isAncestorOf(view):
            return watch.selected_key()
        return None


def _dock_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent
