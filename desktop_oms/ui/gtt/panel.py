"""The GTT tab: the account's GTTs at the broker (good-till-triggered orders), with New
(protect a carried position: a GTT OCO), Modify and Delete.

objectName "gttPanel"; the table is "gttView" (a QTableView on `GttModel`, keyed by the
GTT id). The list is read from the broker off the loop (`run`: the window's TaskRunner):
when the tab is shown, every REFRESH_S while it is, after each change, and on F5. Keys
(while the table has the focus): Ins new, Ctrl+E modify, Del delete (asks first), F5
refresh. Dialogs open with open() and answer by signals; a refusal shows in the dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from desktop_oms.domain import Position, Product
from desktop_oms.domain.gtt import GTT_PRODUCTS, Gtt
from desktop_oms.ui.common import (
    NoticeBar,
    confirm,
    describe_error,
    make_table,
    selected_items,
    size_columns,
)
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.gtt.dialogs import ModifyGttDialog, ProtectDialog
from desktop_oms.ui.gtt.model import GttModel

REFRESH_S = 15  # while the tab is shown (Kite: a GTT list read is one API request)
WIDTHS = {
    "id": 8,
    "symbol": 16,
    "type": 6,
    "triggers": 16,
    "legs": 44,
    "status": 10,
    "outcome": 28,
    "created": 19,
}


class GttService(Protocol):
    """What the tab uses of the risk layer's GttManager."""

    async def gtts(self) -> list[Gtt]: ...
    async def protect_with_gtt(self, key, stop, target, *, stop_limit=None) -> int: ...
    async def modify_gtt(self, gtt: Gtt, *, trigger_values, prices, quantity=None) -> None: ...
    async def delete_gtt(self, gtt_id: int, symbol: str = "") -> None: ...


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else describe_error(exc)


def _action(parent: QWidget, name: str, text: str, key, tip: str) -> QAction:
    action = QAction(text, parent)
    action.setObjectName(name)
    action.setShortcut(QKeySequence(key))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    parent.addAction(action)
    return action


class GttPanel(QWidget):
    def __init__(
        self,
        service: GttService | None,
        run: Callable[..., Any],
        *,
        positions: Callable[[], Sequence[Position]] = list,
        last_price: Callable[[str, str], Decimal | None] = lambda exchange, symbol: None,
        tick_size: Callable[[str, str], Decimal] = lambda exchange, symbol: Decimal("0.05"),
        selected_position: Callable[[], tuple[str, str, str] | None] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("gttPanel")
        self.service = service
        self._run = run
        self._positions = positions
        self._last_price = last_price
        self._tick_size = tick_size
        self._selected_position = selected_position
        self.model = GttModel(self)
        self.view = make_table("gttView", self.model, self)
        size_columns(self.view, WIDTHS)
        self.view.sortByColumn(self.model.column_index("id"), Qt.SortOrder.DescendingOrder)
        self.dialog: ProtectDialog | ModifyGttDialog | None = None  # the open one
        self.confirm_box = None
        self.refresh_task = None
        self.refreshed_at: datetime | None = None
        self.refreshes = 0  # lists received (tests)

        self.new_button = QPushButton("&New GTT\u2026", self)
        self.new_button.setObjectName("gttNewButton")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("gttRefreshButton")
        self.state = QLabel("", self)
        self.state.setObjectName("gttState")
        self.state.setStyleSheet("color: palette(placeholder-text);")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.new_button)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.state)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.notice = NoticeBar("gttNotice", self)
        layout.addWidget(self.notice)

        v = self.view
        self.new_action = _action(
            v, "actionNewGtt", "&New GTT\u2026", Qt.Key.Key_Insert,
            "Protect a carried (CNC/NRML) position with a GTT OCO: stop-loss and target (Ins)",
        )  # fmt: skip
        self.modify_action = _action(
            v, "actionModifyGtt", "&Modify GTT\u2026", "Ctrl+E",
            "Change the selected active GTT's triggers, prices or quantity (Ctrl+E)",
        )  # fmt: skip
        self.delete_action = _action(
            v, "actionDeleteGtt", "&Delete GTT\u2026", Qt.Key.Key_Delete,
            "Delete the selected active GTT at the broker (asks first) (Del)",
        )  # fmt: skip
        self.refresh_action = _action(
            v, "actionRefreshGtts", "&Refresh", Qt.Key.Key_F5, "Read the GTTs again (F5)"
        )
        self.new_action.triggered.connect(self.open_new)
        self.modify_action.triggered.connect(self.open_modify)
        self.delete_action.triggered.connect(self.request_delete)
        self.refresh_action.triggered.connect(self.refresh)
        self.new_button.clicked.connect(self.open_new)
        self.refresh_button.clicked.connect(self.refresh)
        v.selectionModel().selectionChanged.connect(self._update_actions)
        v.doubleClicked.connect(lambda _index: self.modify_action.trigger())
        v.customContextMenuRequested.connect(self._menu)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_S * 1000)
        self._timer.timeout.connect(self._refresh_if_shown)
        self._timer.start()
        if service is None:
            self.state.setText("GTTs are not available")
            for widget in (self.new_button, self.refresh_button):
                widget.setEnabled(False)
        self._update_actions()

    # ---- reading -----------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Read the GTTs from the broker (off the loop); one read at a time."""
        if self.service is None:
            return
        if self.refresh_task is not None and not self.refresh_task.done():
            return
        self.state.setText("reading\u2026")
        self.refresh_task = self._run(
            self.service.gtts(),
            "reading the GTTs",
            on_result=self._show,
            on_error=lambda exc: self._failed_read(exc),
        )

    def _show(self, gtts: list[Gtt]) -> None:
        selected = {g.gtt_id for g in self.selected_gtts()}
        self.model.reset(gtts)
        for gtt_id in selected:
            row = self.model.row_for_key(gtt_id)
            if row is not None:
                self.view.selectRow(row)
        self.refreshes += 1
        self.refreshed_at = datetime.now().astimezone()
        active = sum(1 for g in gtts if g.status.is_active)
        self.state.setText(
            f"{active} active \u00b7 {len(gtts)} GTTs \u00b7 read {fmt.ist_time(self.refreshed_at)} IST"
        )
        self._update_actions()

    def _failed_read(self, exc: BaseException) -> None:
        self.state.setText("not read")
        self.notice.show_message(f"GTTs could not be read: {_reason(exc)}", "error")

    # ---- selection ---------------------------------------------------------------

    def selected_gtts(self) -> list[Gtt]:
        return selected_items(self.view)

    def select_gtt(self, gtt_id: int) -> bool:
        row = self.model.row_for_key(gtt_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def _active_selected(self) -> Gtt | None:
        gtts = self.selected_gtts()
        return gtts[0] if len(gtts) == 1 and gtts[0].status.is_active else None

    def _update_actions(self, *_args) -> None:
        available = self.service is not None
        active = self._active_selected() is not None
        self.new_action.setEnabled(available)
        self.modify_action.setEnabled(available and active)
        self.delete_action.setEnabled(available and active)
        self.refresh_action.setEnabled(available)

    def _menu(self, pos) -> None:
        self._update_actions()
        menu = QMenu(self)
        menu.setObjectName("gttMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for action in (self.new_action, self.modify_action, self.delete_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.refresh_action)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    # ---- new ---------------------------------------------------------------------

    def open_new(self) -> ProtectDialog | None:
        if self.service is None:
            return None
        carried = [
            p for p in self._positions() if p.quantity != 0 and Product(p.product) in GTT_PRODUCTS
        ]
        dialog = ProtectDialog(
            carried,
            self._last_price,
            tick_size=self._tick_size,
            selected=self._selected_position(),
            parent=self.window(),
        )
        dialog.submitted.connect(lambda *args, d=dialog: self._send_new(d, *args))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _send_new(self, dialog: ProtectDialog, key, stop, target, stop_limit) -> None:
        dialog.set_sending("Placing the GTT\u2026")

        def done(gtt_id: int) -> None:
            dialog.sent()
            self.notice.show_message(
                f"GTT #{gtt_id} protects {key[1]} {key[2]}: stop {fmt.price(stop)}, "
                f"target {fmt.price(target)}",
                "info",
            )
            self.refresh()

        self._run(
            self.service.protect_with_gtt(key, stop, target, stop_limit=stop_limit),
            f"placing a GTT for {key[1]}",
            on_result=done,
            on_error=lambda exc: self._after_failure(dialog.refused, f"Not placed: {_reason(exc)}"),
        )

    # ---- modify ------------------------------------------------------------------

    def open_modify(self) -> ModifyGttDialog | None:
        gtt = self._active_selected()
        if gtt is None or self.service is None:
            return None
        dialog = ModifyGttDialog(
            gtt, tick_size=self._tick_size(gtt.exchange, gtt.symbol), parent=self.window()
        )
        dialog.submitted.connect(lambda *args, d=dialog: self._send_modify(d, *args))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _send_modify(self, dialog: ModifyGttDialog, triggers, prices, quantity) -> None:
        gtt = dialog.gtt
        dialog.set_sending("Modifying the GTT\u2026")

        def done(_result) -> None:
            dialog.sent()
            self.notice.show_message(f"GTT #{gtt.gtt_id} ({gtt.symbol}) modified", "info")
            self.refresh()

        self._run(
            self.service.modify_gtt(gtt, trigger_values=triggers, prices=prices, quantity=quantity),
            f"modifying GTT #{gtt.gtt_id}",
            on_result=done,
            on_error=lambda exc: self._after_failure(
                dialog.refused, f"Not modified: {_reason(exc)}"
            ),
        )

    # ---- delete ------------------------------------------------------------------

    def request_delete(self):
        gtt = self._active_selected()
        if gtt is None or self.service is None:
            return None
        self.confirm_box = confirm(
            self.window(),
            "Delete GTT",
            f"Delete GTT #{gtt.gtt_id} on {gtt.exchange}:{gtt.symbol}?",
            lambda: self.delete(gtt),
            yes_text="&Delete",
            informative="The position it protects is then unprotected at the broker.",
            default_yes=True,  # asked on purpose (Del): Enter confirms, Esc refuses
        )
        self.confirm_box.finished.connect(self._confirm_closed)
        return self.confirm_box

    def _confirm_closed(self, _result: int) -> None:
        self.confirm_box = None

    def delete(self, gtt: Gtt) -> None:
        def done(_result) -> None:
            self.notice.show_message(f"GTT #{gtt.gtt_id} ({gtt.symbol}) deleted", "info")
            self.refresh()

        self._run(
            self.service.delete_gtt(gtt.gtt_id, gtt.symbol),
            f"deleting GTT #{gtt.gtt_id}",
            on_result=done,
            on_error=lambda exc: self._after_failure(
                self.notice.show_message, f"GTT #{gtt.gtt_id} not deleted: {_reason(exc)}", "error"
            ),
        )

    def _after_failure(self, show, *args) -> None:
        """Say why; and read the list again: a request whose answer was lost may have
        been carried out at the broker (it is never sent twice)."""
        show(*args)
        self.refresh()

    def stop(self) -> None:
        """The window is closing: no more reads; close the dialogs."""
        self._timer.stop()
        self.service = None
        self.close_dialogs()

    def close_dialogs(self) -> None:
        for widget in (self.dialog, self.confirm_box):
            if widget is not None:
                try:
                    widget.close()
                except RuntimeError:  # already deleted
                    pass
