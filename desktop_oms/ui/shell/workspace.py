"""Issue 9 in the main window (`WorkspaceUi`): the market watch, setups on the ticket,
per-trade notes and the day review, wired to each other and to the OMS.

The window builds the market watch, the day review and its dock (placed and sized by its
layout, ui/shell/layout.py); everything else is connected here, and the Journal menu's
actions are made here (the window's menus place them):

- market watch ("marketWatch"): fed by the app's coalesced QuotesUpdated events (one
  `on_quotes(ticks)` per batch, nothing per tick), seeded from the quote cache; its rows
  are streamed with `services.subscribe`; the ticket follows the selected row
  (`ticket.show_symbol`), B / S / F1 / F2 / double-click open the ticket for it;
- the ticket's instrument is streamed whenever it changes; its setup combo lists
  `workspace.setups()` and is refreshed after "Setups…";
- notes: "Note…" on a blotter order or a position opens a non-modal editor; a corner
  mark and tooltip on the symbol cell show which rows have one;
- the day review ("dayReview", hidden by default, tabbed with the blotter): refreshed
  when shown and (coalesced) after fills while shown.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from desktop_oms.domain import OrderSide
from desktop_oms.domain.events import FillApplied, QuotesUpdated
from desktop_oms.ui.common import Subscriptions, WindowServices
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.review import NoteDialog, NoteMarks, SetupsDialog, position_key

log = logging.getLogger(__name__)


class WorkspaceUi(QObject):
    """What issue 9 adds to the window; `window.workspace_ui`."""

    def __init__(
        self, window: QMainWindow, services: WindowServices, subscriptions: Subscriptions
    ) -> None:
        super().__init__(window)
        self.window = window
        self.services = services
        self.workspace = services.workspace
        self.subscriptions = subscriptions
        self.note_dialogs: dict[Hashable, NoteDialog] = {}
        self.setups_dialog: SetupsDialog | None = None
        self.market_watch = window.market_watch
        self.review = window.review_panel
        self.review_dock = window.review_dock

        self._wire_market_watch()
        self._wire_ticket()
        self._wire_notes()
        self._wire_review()
        self._make_actions()
        window.closing.connect(self._on_closing)

    # ================================================================== market watch

    def _wire_market_watch(self) -> None:
        watch, ticket = self.market_watch, self.window.ticket
        self.subscriptions.add(QuotesUpdated, self._on_quotes)
        watch.symbolSelected.connect(ticket.show_symbol)
        watch.tradeRequested.connect(self.trade)

    def _on_quotes(self, event: QuotesUpdated) -> None:
        self.market_watch.on_quotes(event.ticks)

    def trade(self, exchange: str, symbol: str, side: OrderSide | None) -> None:
        """B / S / F1 / F2 / double-click on a market-watch row: the ticket for that row,
        on that side (None: the side it is on), quantity focused."""
        w = self.window
        ticket = w.ticket
        w.ticket_dock.show()
        w.ticket_dock.raise_()
        ticket.show_symbol(exchange, symbol)
        ticket.open_for(side or ticket.side, symbol, exchange)

    # ================================================================== ticket and setups

    def _wire_ticket(self) -> None:
        ticket = self.window.ticket
        ticket.instrument_changed.connect(self._stream)
        inst = ticket.instrument
        if inst is not None:
            self._stream(inst.exchange, inst.symbol)
        self.refresh_setups()

    def _stream(self, exchange: str, symbol: str) -> None:
        self.services.subscribe([(exchange, symbol)])

    def refresh_setups(self, names: list[str] | None = None) -> None:
        if names is None:
            try:
                names = self.workspace.setups()
            except Exception:  # noqa: BLE001 - the ticket works without setups
                log.exception("could not read the setups")
                names = []
        self.window.ticket.set_setups(names)

    def open_setups(self) -> SetupsDialog:
        """Journal > Setups…: the non-modal editor (one at a time)."""
        if self.setups_dialog is not None:
            self.setups_dialog.show()
            self.setups_dialog.raise_()
            self.setups_dialog.activateWindow()
            return self.setups_dialog
        dialog = SetupsDialog(self.workspace.setups(), self.workspace.set_setups, self.window)
        dialog.saved.connect(self._setups_saved)
        dialog.finished.connect(lambda _r: self._forget_setups(dialog))
        self.setups_dialog = dialog
        dialog.show()
        return dialog

    def _setups_saved(self, names: list[str]) -> None:
        self.refresh_setups(names)
        shown = ", ".join(names) if names else "none"
        self.window.alerts.add("info", f"Setups saved: {shown}", "journal")

    def _forget_setups(self, dialog) -> None:
        if self.setups_dialog is dialog:
            self.setups_dialog = None

    # ================================================================== notes

    def _wire_notes(self) -> None:
        w = self.window
        ws = self.workspace
        self.order_marks = NoteMarks(w.blotter, lambda o: o.id, ws.note_for_order)
        w.blotter.setItemDelegateForColumn(w.orders_model.column_index("symbol"), self.order_marks)
        self.position_marks = NoteMarks(
            w.positions_grid, position_key, lambda key: ws.note_for_position(*key)
        )
        w.positions_grid.setItemDelegateForColumn(
            w.positions_model.column_index("symbol"), self.position_marks
        )
        w.blotter_panel.note_action.triggered.connect(self.edit_selected_order_note)
        w.positions_panel.note_action.triggered.connect(self.edit_current_position_note)

    def edit_selected_order_note(self) -> NoteDialog | None:
        bp = self.window.blotter_panel
        orders = bp.selected_orders()
        order = orders[0] if len(orders) == 1 else bp.current_order()
        if order is None:
            self.window.alerts.add("warning", "Select an order to write a note on", "journal")
            return None
        return self.open_order_note(order)

    def edit_current_position_note(self) -> NoteDialog | None:
        position = self.window.positions_panel.current_position()
        if position is None:
            self.window.alerts.add("warning", "Select a position to write a note on", "journal")
            return None
        return self.open_position_note(position)

    def open_order_note(self, order) -> NoteDialog:
        ws = self.workspace
        order_id = order.id
        setup = f" \u00b7 setup {order.strategy_id}" if order.strategy_id else ""
        price = f" @ {fmt.price(order.price)}" if order.price is not None else ""
        heading = (
            f"#{order_id} {order.side.value} {fmt.quantity(order.quantity)} "
            f"{order.exchange}:{order.symbol} {fmt.enum_text(order.order_type)}{price} "
            f"\u2014 {fmt.enum_text(order.status)}{setup}"
        )

        def save(text: str) -> None:
            ws.set_order_note(order_id, text)

        return self._open_note(
            ("order", order_id),
            f"Note \u2014 order #{order_id} {order.symbol}",
            heading,
            ws.note_for_order(order_id),
            save,
            lambda text: self.order_marks.set(order_id, text),
        )

    def open_position_note(self, position) -> NoteDialog:
        ws = self.workspace
        key = position_key(position)
        exchange, symbol, product = key
        heading = (
            f"{exchange}:{symbol} {product} \u2014 position {fmt.quantity(position.quantity)}"
            f", total P&L {fmt.signed_money(position.total_pnl)}"
        )

        def save(text: str) -> None:
            ws.set_position_note(exchange, symbol, product, text)

        return self._open_note(
            ("position", key),
            f"Note \u2014 {symbol} {product}",
            heading,
            ws.note_for_position(exchange, symbol, product),
            save,
            lambda text: self.position_marks.set(key, text),
        )

    def _open_note(self, key, title, heading, text, save, on_saved) -> NoteDialog:
        existing = self.note_dialogs.get(key)
        if existing is not None:
            existing.show()
            existing.raise_()
            existing.activateWindow()
            return existing
        dialog = NoteDialog(title, heading, text, save, self.window)
        dialog.saved.connect(on_saved)
        dialog.saved.connect(
            lambda _t: self.window.alerts.add("info", f"{title}: saved", "journal")
        )
        dialog.finished.connect(lambda _r: self._forget_note(key, dialog))
        self.note_dialogs[key] = dialog
        dialog.show()
        return dialog

    def _forget_note(self, key, dialog) -> None:
        if self.note_dialogs.get(key) is dialog:
            del self.note_dialogs[key]

    def _on_closing(self) -> None:
        """The window is closing: notes being typed are kept, not lost."""
        for dialog in list(self.note_dialogs.values()):
            try:
                if dialog.is_changed():
                    dialog.save()
                else:
                    dialog.reject()
            except RuntimeError:  # already deleted
                continue
        if self.setups_dialog is not None:
            self.setups_dialog.reject()
        if self.review.file_dialog is not None:
            self.review.file_dialog.close()

    # ================================================================== review

    def _wire_review(self) -> None:
        self.subscriptions.add(FillApplied, lambda _e: self.review.schedule_refresh())
        self.review_dock.visibilityChanged.connect(self._review_visible)
        # View > Day review brings it to the front of its tab group
        self.review_dock.toggleViewAction().triggered.connect(
            lambda checked: checked and self.review_dock.raise_()
        )
        self.review.exported.connect(
            lambda level, text: self.window.alerts.add(level, text, "export")
        )

    def _review_visible(self, visible: bool) -> None:
        if visible:
            self.review.refresh()

    def show_review(self) -> None:
        self.review_dock.show()
        self.review_dock.raise_()

    # ================================================================== journal actions

    def _make_actions(self) -> None:
        """The Journal menu's actions (the window's menus place them)."""
        w = self.window
        self.setups_action = QAction("&Setups\u2026", w)
        self.setups_action.setObjectName("actionSetups")
        self.setups_action.setStatusTip("Edit the list of setups you choose on the ticket")
        self.setups_action.triggered.connect(self.open_setups)
        self.review_action = QAction("Day &review", w)
        self.review_action.setObjectName("actionDayReview")
        self.review_action.setShortcut("Ctrl+R")
        self.review_action.setStatusTip("Trades grouped by setup: win rate, average win/loss, net")
        self.review_action.triggered.connect(self.show_review)
        self.order_note_action = QAction("Note on the selected &order\u2026", w)
        self.order_note_action.setObjectName("actionOrderNoteMenu")
        self.order_note_action.triggered.connect(self.edit_selected_order_note)
        self.position_note_action = QAction("Note on the selected &position\u2026", w)
        self.position_note_action.setObjectName("actionPositionNoteMenu")
        self.position_note_action.triggered.connect(self.edit_current_position_note)

    def refresh_note_actions(self) -> None:
        w = self.window
        bp = w.blotter_panel
        self.order_note_action.setEnabled(
            len(bp.selected_orders()) == 1 or bp.current_order() is not None
        )
        self.position_note_action.setEnabled(w.positions_panel.current_position() is not None)
