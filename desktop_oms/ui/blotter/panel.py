"""The blotter dock's content: Orders (filterable) / Trades / Audit tabs.

Only views and actions live here; what an action does (cancel through the OMS, open the
modify dialog, ...) is the window's business, connected to the actions' `triggered`.
Actions are added to their view with a widget-with-children shortcut context, so Del or
Ctrl+C act on the blotter only while it has focus, and the same QAction objects fill the
context menu (tests trigger exactly what the menu does).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.ui.blotter.audit import AuditView
from desktop_oms.ui.blotter.orders_model import OrderFilter, OrdersModel
from desktop_oms.ui.blotter.trades_model import TradesModel
from desktop_oms.ui.common import (
    NoticeBar,
    copy_rows,
    make_table,
    move_columns_last,
    selected_items,
    selected_rows,
    size_columns,
)

ORDER_WIDTHS = {
    "time": 8,
    "client_id": 20,
    "broker_id": 19,
    "symbol": 14,  # room for a bracket exit's "↳ TGT  RELIANCE"
    "side": 4,
    "type": 6,
    "quantity": 6,
    "filled": 6,
    "price": 9,
    "trigger": 8,
    "avg_price": 9,
    "status": 15,
    "message": 26,
    "product": 6,
    "strategy": 8,
    "slice": 26,
}
# what the trader scans first comes first; the ids (for support calls) at the end
ORDER_IDS_LAST = ("product", "strategy", "client_id", "broker_id")
TRADE_WIDTHS = {
    "time": 8,
    "trade_id": 14,
    "order_id": 6,
    "broker_id": 15,
    "symbol": 10,
    "exchange": 4,
    "side": 4,
    "quantity": 6,
    "price": 9,
    "value": 12,
    "product": 6,
}


def _action(
    parent: QWidget, name: str, text: str, shortcut=None, tip: str | None = None
) -> QAction:
    action = QAction(text, parent)
    action.setObjectName(name)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return action


class BlotterPanel(QWidget):
    """objectName "blotterPanel": tabs "blotterTabs" with `blotter`, `tradesView` and the
    audit panel; filter combo "blotterFilter"."""

    def __init__(
        self,
        orders: OrdersModel,
        trades: TradesModel,
        audit: AuditView,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("blotterPanel")
        self.orders_model = orders
        self.trades_model = trades
        self.audit = audit

        # Orders tab
        self.filter = QComboBox(self)
        self.filter.setObjectName("blotterFilter")
        self.filter.addItems([f.value for f in OrderFilter])
        self.filter.setToolTip("Show all orders, open ones, executed ones or rejected ones")
        self.filter.currentTextChanged.connect(orders.set_status_filter)
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("blotterCount")
        self.count_label.setStyleSheet("color: palette(placeholder-text);")
        self.view = make_table("blotter", orders, self)
        size_columns(self.view, ORDER_WIDTHS)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # NIFTY26…26000PE
        move_columns_last(self.view, ORDER_IDS_LAST)
        self.view.sortByColumn(orders.column_index("time"), Qt.SortOrder.DescendingOrder)
        orders_tab = QWidget(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(QLabel("Show", orders_tab))
        bar.addWidget(self.filter)
        bar.addStretch(1)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(orders_tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view)

        # Trades tab
        self.trades_view = make_table("tradesView", trades, self)
        size_columns(self.trades_view, TRADE_WIDTHS)
        self.trades_view.sortByColumn(trades.column_index("time"), Qt.SortOrder.DescendingOrder)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("blotterTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(orders_tab, "Orders")
        self.tabs.addTab(self.trades_view, "Trades")
        self.tabs.addTab(audit, "Audit")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)
        self.notice = NoticeBar("blotterNotice", self)
        outer.addWidget(self.notice)

        # Actions (the window connects what they do)
        v = self.view
        self.cancel_action = _action(
            v,
            "actionCancelOrder",
            "&Cancel order",
            Qt.Key.Key_Delete,
            "Cancel the selected open order(s) (Del)",
        )
        self.modify_action = _action(
            v,
            "actionModifyOrder",
            "&Modify order\u2026",
            "Ctrl+E",
            "Change price / quantity / trigger of the selected open order (Ctrl+E, or double-click)",
        )
        self.cancel_all_action = _action(
            v,
            "actionCancelAllOrders",
            "Cancel &all open orders\u2026",
            "Ctrl+Shift+Del",
            "Cancel every open order (asks first)",
        )
        self.copy_action = _action(
            v,
            "actionCopyOrders",
            "C&opy",
            QKeySequence.StandardKey.Copy,
            "Copy the selected rows (tab-separated)",
        )
        self.export_action = _action(
            v,
            "actionExportOrders",
            "&Export CSV\u2026",
            None,
            "Save the orders shown (filter and order as on screen) to a UTF-8 CSV file",
        )
        self.audit_action = _action(
            v,
            "actionShowAudit",
            "Show &history",
            None,
            "Show the selected order's event history in the Audit tab",
        )
        self.note_action = _action(
            v,
            "actionOrderNote",
            "&Note\u2026",
            None,
            "Your note on this trade: why in, why out",
        )
        for action in (
            self.cancel_action,
            self.modify_action,
            self.cancel_all_action,
            self.copy_action,
            self.export_action,
        ):
            v.addAction(action)
        t = self.trades_view
        self.copy_trades_action = _action(
            t, "actionCopyTrades", "C&opy", QKeySequence.StandardKey.Copy
        )
        self.export_trades_action = _action(t, "actionExportTrades", "&Export CSV\u2026")
        for action in (self.copy_trades_action, self.export_trades_action):
            t.addAction(action)
        self.copy_action.triggered.connect(lambda: copy_rows(self.view))
        self.copy_trades_action.triggered.connect(lambda: copy_rows(self.trades_view))
        self.audit_action.triggered.connect(lambda: self.tabs.setCurrentWidget(self.audit))

        v.customContextMenuRequested.connect(self._orders_menu)
        t.customContextMenuRequested.connect(self._trades_menu)
        v.selectionModel().selectionChanged.connect(self._update_actions)
        v.selectionModel().selectionChanged.connect(self._audit_selected)
        v.doubleClicked.connect(self._on_double_click)
        # the counts walk every order: at most ~3 times a second, however fast updates come
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(300)
        self._count_timer.timeout.connect(self._update_count)
        for signal in (orders.rowsInserted, orders.rowsRemoved, orders.modelReset, orders.flushed):
            signal.connect(self._schedule_count)
        self._update_count()
        self._update_actions()

    # ---- selection ---------------------------------------------------------------

    def selected_orders(self) -> list:
        return selected_items(self.view)

    def current_order(self):
        """The order under the cursor (current row), selected or not."""
        index = self.view.currentIndex()
        if not index.isValid():
            items = self.selected_orders()
            return items[0] if items else None
        try:
            return self.orders_model.item_at(index.row())
        except IndexError:
            return None

    def select_order(self, order_id: int) -> bool:
        self.orders_model.flush()
        row = self.orders_model.row_for_key(order_id)
        if row is None:
            return False
        self.view.selectRow(row)
        self.view.scrollTo(self.orders_model.index(row, 0))
        return True

    def refresh_actions(self) -> None:
        """The actions' enabled state and the counts, now (a menu is about to show)."""
        self._update_actions()
        self._update_count()

    def _audit_selected(self, *_args) -> None:
        """The Audit tab follows the one selected order (none: it is emptied)."""
        orders = self.selected_orders()
        self.audit.show_order(orders[0] if len(orders) == 1 else None)

    def _update_actions(self, *_args) -> None:
        orders = self.selected_orders()
        active = [o for o in orders if o.status.is_active]
        self.cancel_action.setEnabled(bool(active))
        self.modify_action.setEnabled(len(active) == 1)
        self.copy_action.setEnabled(bool(orders))
        self.audit_action.setEnabled(len(orders) == 1)
        self.note_action.setEnabled(len(orders) == 1)

    def _schedule_count(self, *_args) -> None:
        if not self._count_timer.isActive():
            self._count_timer.start()

    def _update_count(self, *_args) -> None:
        model = self.orders_model
        shown = model.rowCount()
        total = len(model)
        open_count = model.open_count
        text = f"{open_count} open \u00b7 {total} orders"
        if shown != total:
            text = f"{shown} shown \u00b7 " + text
        self.count_label.setText(text)
        # Cancel all stays enabled: its key must always answer (with "No open orders to
        # cancel" when there are none). Enabled from this throttled count, it was still
        # off for up to ~0.5 s after an order came, and Ctrl+Shift+Del did nothing.

    # ---- menus -------------------------------------------------------------------

    def _on_double_click(self, index: QModelIndex) -> None:
        if self.modify_action.isEnabled():
            self.modify_action.trigger()
        else:
            self.audit_action.trigger()

    def show_message(self, text: str, level: str = "info") -> None:
        """The outcome of a cancel / modify started here, under the tables (ui/common/notice.py)."""
        self.notice.show_message(text, level)

    def orders_menu(self) -> QMenu:
        self._update_actions()
        menu = QMenu(self)
        menu.setObjectName("blotterMenu")
        menu.addAction(self.cancel_action)
        menu.addAction(self.modify_action)
        menu.addAction(self.audit_action)
        menu.addAction(self.note_action)
        menu.addSeparator()
        menu.addAction(self.cancel_all_action)
        menu.addSeparator()
        menu.addAction(self.copy_action)
        menu.addAction(self.export_action)
        return menu

    def _orders_menu(self, pos) -> None:
        menu = self.orders_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _trades_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.copy_trades_action.setEnabled(bool(selected_rows(self.trades_view)))
        menu.addAction(self.copy_trades_action)
        menu.addAction(self.export_trades_action)
        menu.popup(self.trades_view.viewport().mapToGlobal(pos))
