"""The order ticket: type an order, see its value / risk / reward live, send it once.

Nothing is submitted unless every field passes `ticket_logic.check_ticket`; orders above
`confirm_above` wait for a non-modal confirmation; the submit coroutine runs as a kept
asyncio task (`ticket_submit.SubmitRunner`) with Buy/Sell disabled until it finishes, and
its outcome (result, OrderRejected reason, any other error) is shown on `ticketMessage`.

Layout: OrderTicket (here: state, wiring and the public API) takes its behaviour from
mixins in ui/ticket/send.py (check, confirm, submit, Buy/Sell state),
ui/ticket/live.py (instrument look-ups, live metrics and field marks) and
ui/ticket/keys.py (keyboard); its widgets and layout are ui/ticket/form.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_oms.domain import Instrument, OrderRequest, OrderSide, OrderType
from desktop_oms.domain.money import round_to_tick
from desktop_oms.ui.common import SymbolCompleter, parse_int_text, theme
from desktop_oms.ui.ticket.form import NO_SETUP, TicketForm
from desktop_oms.ui.ticket.keys import TicketKeysMixin
from desktop_oms.ui.ticket.live import TicketLiveMixin
from desktop_oms.ui.ticket.logic import TicketCheck
from desktop_oms.ui.ticket.send import TicketSendMixin
from desktop_oms.ui.ticket.submit import SubmitRunner

log = logging.getLogger(__name__)


class InstrumentSource(Protocol):
    def search(self, prefix: str, limit: int) -> list[Instrument]: ...
    def get(self, exchange: str, symbol: str) -> Instrument | None: ...


class OrderTicket(TicketSendMixin, TicketLiveMixin, TicketKeysMixin, TicketForm):
    """objectName "orderTicket"; children as in ARCHITECTURE.md (ticketSymbol, ...)."""

    order_sent = Signal(object, object)  # (OrderRequest, result returned by submit)
    order_failed = Signal(object, str)  # (OrderRequest, reason shown): rejections, errors
    side_changed = Signal(object)  # OrderSide
    instrument_changed = Signal(str, str)  # (exchange, symbol) of a newly shown instrument

    def __init__(
        self,
        instruments: InstrumentSource,
        last_price: Callable[[str, str], Decimal | None],
        submit: Callable[[OrderRequest], Awaitable[object]],
        *,
        capital: Decimal,
        confirm_above: Decimal | None,
        max_quantity: int | None = None,
        max_order_value: Decimal | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)  # builds the widgets
        self._instruments = instruments
        self._last_price_fn = last_price
        self._capital = Decimal(capital)
        self._confirm_above = None if confirm_above is None else Decimal(confirm_above)
        self._max_quantity = max_quantity
        self._max_order_value = max_order_value
        self._busy = False
        self._trading_enabled = True
        self._trading_reason = ""
        self._instrument: Instrument | None = None
        self._terms_for: Instrument | None = None  # the instrument the terms were set for
        self._symbol_committed = True  # False while the trader is typing a symbol
        self._price_awaits_ltp = False  # price emptied for a new instrument, no quote yet
        self._confirm_box: QMessageBox | None = None
        self.last_check: TicketCheck | None = None
        self._runner = SubmitRunner(submit, self)
        self._runner.started.connect(self._on_started)
        self._runner.finished.connect(self._on_finished)
        self.completer = SymbolCompleter(self.symbol, instruments, self._on_picked)
        self._connect()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(500)
        self._refresh_timer.timeout.connect(self._on_refresh_timer)
        self._refresh_timer.start()
        self.set_side(OrderSide.BUY)
        self._on_type_changed()
        self._update_buttons()

    def _connect(self) -> None:
        self.symbol.textEdited.connect(self._on_symbol_edited)  # before textChanged
        self.symbol.textChanged.connect(self._on_instrument_changed)
        self.symbol.editingFinished.connect(self._commit_symbol)
        self.price.textEdited.connect(self._on_price_edited)
        self.exchange.currentTextChanged.connect(self._on_instrument_changed)
        self.order_type.currentTextChanged.connect(self._on_type_changed)
        self.quantity.lineEdit().textChanged.connect(self._on_edited)
        for edit in (self.price, self.trigger, self.stop_loss, self.take_profit):
            edit.textChanged.connect(self._on_edited)
        self.buy_button.clicked.connect(lambda: self.send(OrderSide.BUY))
        self.sell_button.clicked.connect(lambda: self.send(OrderSide.SELL))

    # ---- public API --------------------------------------------------------------

    @property
    def side(self) -> OrderSide:
        return self._side

    @property
    def busy(self) -> bool:
        """True while a submit is in flight (Buy/Sell disabled)."""
        return self._busy

    @property
    def pending_task(self) -> asyncio.Task[Any] | None:
        """The in-flight submit task, if any."""
        return self._runner.task if self._runner.busy else None

    @property
    def confirm_box(self) -> QMessageBox | None:
        """The open large-order confirmation, if any (objectName "confirmDialog")."""
        return self._confirm_box

    @property
    def instrument(self) -> Instrument | None:
        return self._instrument

    @property
    def message_kind(self) -> str:
        """info | ok | warn | error: the colour class of ticketMessage."""
        return self._message_kind

    def set_capital(self, capital: Decimal) -> None:
        self._capital = Decimal(capital)
        self._refresh_metrics()

    def set_confirm_above(self, value: Decimal | None) -> None:
        self._confirm_above = None if value is None else Decimal(value)

    def set_limits(
        self, *, max_quantity: int | None = None, max_order_value: Decimal | None = None
    ) -> None:
        """Ticket-side copies of the risk limits, refused before anything is submitted."""
        self._max_quantity = max_quantity
        self._max_order_value = max_order_value

    def set_trading_state(self, allowed: bool, reason: str | None = None) -> None:
        """Whether new orders may be sent. Not allowed (before reconciliation, kill switch
        engaged, ...): Buy/Sell disabled and the reason shown on the ticket. Allowed again
        (re-armed, reconciled): the buttons come back and a reason still shown is cleared;
        any other message (a refusal, the last order sent) stays."""
        self._trading_enabled = bool(allowed)
        self._trading_reason = reason or ""
        self._update_buttons()
        if not allowed and reason:
            self._show(reason, "warn", source="trading")
        elif allowed and self._message_source == "trading":
            self._show("", "info", source="live")

    def set_trading_enabled(self, enabled: bool, reason: str = "") -> None:
        """The same as `set_trading_state` (the name the window has always called)."""
        self.set_trading_state(enabled, reason)

    def set_side(self, side: OrderSide | str) -> None:
        side = OrderSide(getattr(side, "value", side))
        changed = side is not self._side
        self._side = side
        self.side_label.setText(side.value)
        self.side_label.setProperty("side", side.value)
        theme.repolish(self.side_label)
        for button, its_side in (
            (self.buy_button, OrderSide.BUY),
            (self.sell_button, OrderSide.SELL),
        ):
            button.setProperty("current", its_side is side)
            theme.repolish(button)
        self._on_edited()
        if changed:
            self.side_changed.emit(side)

    @property
    def setup_name(self) -> str | None:
        """The setup chosen on the ticket (None: none)."""
        if self.setup.currentIndex() <= 0:
            return None
        return " ".join(self.setup.currentText().split()) or None

    def set_setups(self, names: list[str]) -> None:
        """The trader's setups for the combo (first entry: none); the choice is kept if it
        is still listed."""
        current = self.setup_name
        self.setup.blockSignals(True)
        try:
            self.setup.clear()
            self.setup.addItem(NO_SETUP)
            self.setup.addItems([n for n in names if n])
            self.setup.setCurrentIndex(0)
            self._select_setup(current)
        finally:
            self.setup.blockSignals(False)

    def set_setup(self, name: str | None) -> bool:
        """Choose a listed setup (None: none); False if it is not in the list."""
        return self._select_setup(name)

    def _select_setup(self, name: str | None) -> bool:
        if not name:
            self.setup.setCurrentIndex(0)
            return True
        for index in range(1, self.setup.count()):
            if self.setup.itemText(index) == name:
                self.setup.setCurrentIndex(index)
                return True
        return False

    def show_symbol(self, exchange: str, symbol: str) -> bool:
        """Follow a selection elsewhere (the market watch): show this instrument without
        changing the side or taking the focus. Another instrument brings its own terms, as
        a typed one does (`_take_terms_for`): its price at its last price, the stop-loss /
        target / trigger typed for the previous one dropped, a quantity that is not a whole
        number of its lots made one lot. True if the instrument changed."""
        before = self._instrument
        self._set_instrument(exchange, symbol)
        inst = self._instrument
        return inst is not None and inst != before

    def _set_instrument(self, exchange: str | None, symbol: str | None) -> None:
        """Set exchange and symbol together: one instrument change, not two."""
        exchange = (exchange or "").strip().upper()
        symbol = (symbol or "").strip().upper()
        if exchange and self.exchange.findText(exchange) < 0:
            exchange = ""
        if not exchange and not symbol:
            return
        self._symbol_committed = True  # set whole, not typed
        self.exchange.blockSignals(True)
        self.symbol.blockSignals(True)
        try:
            if exchange:
                self.exchange.setCurrentText(exchange)
            if symbol:
                self.symbol.setText(symbol)
        finally:
            self.exchange.blockSignals(False)
            self.symbol.blockSignals(False)
        self._on_instrument_changed()

    def open_for(
        self, side: OrderSide | str, symbol: str | None = None, exchange: str | None = None
    ) -> None:
        """B/S/F1/F2: switch side; with a symbol also fill it, a lot, LIMIT at the last price."""
        self.set_side(side)
        self._set_instrument(exchange, symbol)
        inst = self._instrument
        qty_text = self.quantity.text_value()
        qty = parse_int_text(qty_text) if qty_text else None
        if inst is not None and (qty is None or qty <= 0):
            self.quantity.set_quantity(inst.lot_size)
        if symbol and inst is not None:
            ltp = self._safe_ltp(inst.exchange, inst.symbol)
            if ltp is not None and ltp > 0:
                self.order_type.setCurrentText(OrderType.LIMIT.value)
                self.price.setValue(round_to_tick(ltp, inst.tick_size))
        self.show()
        self.raise_()
        if inst is None:
            self.symbol.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self.quantity.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.quantity.selectAll()

    def clear(self) -> None:
        """Esc: empty the entry fields (exchange, type, product and validity are kept)."""
        for edit in (self.symbol, self.price, self.trigger, self.stop_loss, self.take_profit):
            edit.clear()
        self.quantity.clear()
        self.completer.clear_items()
        self._terms_for = None  # a fresh ticket: the next instrument's terms start here
        self._price_awaits_ltp = False
        self._symbol_committed = True
        self._mark({})
        self._show("", "info", source="live")
        self.symbol.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh_market(self) -> None:
        """Re-read the last price now (e.g. after the window flushed a batch of ticks)."""
        self._fill_price_from_quote()
        self._refresh_metrics()
