"""The order ticket: type an order, see its value / risk / reward live, send it once.

Nothing is submitted unless every field passes `logic.check_ticket`; orders above
`confirm_above` wait for a non-modal confirmation; the submit coroutine runs as a kept
asyncio task (`submit.SubmitRunner`) with Buy/Sell disabled until it finishes, and
its outcome (result, OrderRejected reason, any other error) is shown on `ticketMessage`.
The pre-flight (`preflight`, the validator's `problems`) shows on `ticketPreflight`, as
the trader types, what the order would be refused for before it is sent.

Another instrument brings its own terms (`_take_terms_for`): the price from its last
price (as F1 gives it), the stop-loss, target and trigger typed for the previous one
dropped. A typed symbol is judged ("Unknown symbol ...") only once it is committed:
Enter, focus out, a completion chosen, or a send - never half-typed.

One class in sections: state and the public API; live updates (instrument look-ups,
value / risk / reward, marks on invalid fields); sending (check, confirm, submit, the
Buy / Sell state); the keyboard. Its widgets and their layout are ui/ticket/form.py
(`TicketForm`, the base class).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_oms.domain import Instrument, OrderRequest, OrderSide, OrderType, Validity
from desktop_oms.domain.money import round_to_tick
from desktop_oms.infra.clock import format_time, now_ist
from desktop_oms.oms.checks import allowed_validities
from desktop_oms.ui.common import (
    InstrumentSource,
    SymbolCompleter,
    dialogs,
    parse_int_text,
    theme,
)
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.ticket.form import NO_SETUP, TicketForm
from desktop_oms.ui.ticket.logic import TicketCheck, check_ticket
from desktop_oms.ui.ticket.submit import (
    ERROR,
    INTERRUPTED,
    OK,
    REJECTED,
    SubmitRunner,
    describe_request,
)

log = logging.getLogger(__name__)

_OUTCOME_KIND = {OK: "ok", REJECTED: "error", ERROR: "error", INTERRUPTED: "warn"}
PREFLIGHT_DEBOUNCE_MS = 300  # after the last keystroke
PREFLIGHT_REFRESH_S = 5.0  # again while the ticket stands still (prices, funds move)


class OrderTicket(TicketForm):
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
        preflight: Callable[[OrderRequest], Awaitable[list[tuple[str, str]]]] | None = None,
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
        # Pre-flight (`preflight`: the validator's `problems`): every refusal with a
        # knowable reason, predicted as the trader types - debounced, run as a kept task
        # off the typing, a stale answer (for an order since edited) dropped.
        self._preflight_fn = preflight
        self._preflight_task: asyncio.Task[Any] | None = None
        self._preflight_request: OrderRequest | None = None  # what the shown answer is for
        self._preflight_at = 0.0  # loop time of the last run
        self.last_preflight: list[tuple[str, str]] | None = None
        self._preflight_timer = QTimer(self)
        self._preflight_timer.setSingleShot(True)
        self._preflight_timer.setInterval(PREFLIGHT_DEBOUNCE_MS)
        self._preflight_timer.timeout.connect(self._run_preflight)
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
        self.exchange.currentTextChanged.connect(self._offer_validities)
        self.exchange.currentTextChanged.connect(self._on_instrument_changed)
        self.order_type.currentTextChanged.connect(self._on_type_changed)
        # Product and validity change what the broker would refuse (MIS cut-off, IOC).
        self.product.currentTextChanged.connect(self._on_edited)
        self.validity.currentTextChanged.connect(self._on_edited)
        self.quantity.lineEdit().textChanged.connect(self._on_edited)
        for edit in (self.price, self.trigger, self.stop_loss, self.take_profit):
            edit.textChanged.connect(self._on_edited)
        self.buy_button.clicked.connect(lambda: self.send(OrderSide.BUY))
        self.sell_button.clicked.connect(lambda: self.send(OrderSide.SELL))

    # ================================================================== public API

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

    # ================================================================== live updates

    def _safe_get(self, exchange: str, symbol: str) -> Instrument | None:
        try:
            return self._instruments.get(exchange, symbol)
        except Exception:
            log.exception("instrument lookup %s:%s failed", exchange, symbol)
            return None

    def _safe_ltp(self, exchange: str, symbol: str) -> Decimal | None:
        try:
            value = self._last_price_fn(exchange, symbol)
        except Exception:
            log.exception("last price %s:%s failed", exchange, symbol)
            return None
        return None if value is None else Decimal(value)

    def _on_picked(self, exchange: str, symbol: str) -> None:
        """A completion chosen: exchange and symbol as one change, and committed."""
        self._symbol_committed = True
        self._set_instrument(exchange, symbol)

    def _on_symbol_edited(self, _text: str) -> None:
        """The trader is typing a symbol: no verdict on it until it is committed."""
        self._symbol_committed = False

    def _commit_symbol(self) -> None:
        """Enter or focus out of the symbol field: judge what it holds now."""
        if not self._symbol_committed:
            self._symbol_committed = True
            self._on_edited()

    def _on_price_edited(self, _text: str) -> None:
        self._price_awaits_ltp = False  # the trader's own price: no quote overwrites it

    def _on_instrument_changed(self, *_args: object) -> None:
        symbol = self.symbol.text().strip().upper()
        inst = self._safe_get(self.exchange.currentText(), symbol) if symbol else None
        if inst != self._instrument:
            self._instrument = inst
            if inst is not None:
                self.quantity.set_lot_size(inst.lot_size)
                for edit in (self.price, self.trigger, self.stop_loss, self.take_profit):
                    edit.setSingleStep(inst.tick_size)
                extra = f" \u00b7 x{inst.multiplier}" if inst.multiplier != 1 else ""
                self.instrument_label.setText(
                    f"lot {inst.lot_size} \u00b7 tick {inst.tick_size}{extra}"
                )
                self.instrument_label.setToolTip(f"{inst.exchange}:{inst.symbol} {inst.name}")
                self._take_terms_for(inst)
                self.instrument_changed.emit(inst.exchange, inst.symbol)
            else:
                self.quantity.set_lot_size(1)
                self.instrument_label.setText("")
                self.instrument_label.setToolTip("")
        self._on_edited()

    def _take_terms_for(self, inst: Instrument) -> None:
        """The terms on the ticket are for `inst` from now on.

        Another instrument than the one they were typed for (INFY's price, stop-loss and
        target under RELIANCE would buy at INFY's price with a stop already crossed): the
        trigger, stop-loss and target are dropped and the price is the new last price
        (empty until a quote arrives). Typing the same symbol again keeps them. On a fresh
        ticket (nothing chosen yet, or after Esc) only an empty price is filled: what the
        trader typed before choosing the symbol was meant for it. A quantity that is not a
        whole number of the new lot size becomes one lot."""
        if inst == self._terms_for:
            return
        fresh = self._terms_for is None
        self._terms_for = inst
        if not fresh:
            for edit in (self.stop_loss, self.take_profit, self.trigger):
                edit.clear()
        kind = OrderType(self.order_type.currentText())
        if kind.needs_price and (not fresh or not self.price.text().strip()):
            self._price_awaits_ltp = True
            self.price.clear()
            self._fill_price_from_quote()
        qty_text = self.quantity.text_value()
        qty = parse_int_text(qty_text) if qty_text else None
        if qty_text and (qty is None or qty <= 0 or qty % inst.lot_size):
            self.quantity.set_quantity(inst.lot_size)

    def _fill_price_from_quote(self) -> None:
        """The price the new instrument is waiting for: its last price, once there is one."""
        inst = self._instrument
        if not self._price_awaits_ltp or inst is None:
            return
        if self.price.text().strip() or not OrderType(self.order_type.currentText()).needs_price:
            self._price_awaits_ltp = False
            return
        ltp = self._safe_ltp(inst.exchange, inst.symbol)
        if ltp is not None and ltp > 0:
            self._price_awaits_ltp = False
            self.price.setValue(round_to_tick(ltp, inst.tick_size))

    def _on_type_changed(self, *_args: object) -> None:
        kind = OrderType(self.order_type.currentText())
        self.price.setEnabled(kind.needs_price)
        self.trigger.setEnabled(kind.needs_trigger)
        self._on_edited()

    def _on_refresh_timer(self) -> None:
        if self.isVisible() and self._instrument is not None:
            self._fill_price_from_quote()
            check = self._refresh_metrics()
            stale = time.monotonic() - self._preflight_at >= PREFLIGHT_REFRESH_S
            if stale and check.ok and not self._preflight_timer.isActive():
                self._run_preflight()

    def _refresh_metrics(self) -> TicketCheck:
        check = self.check()
        m = check.metrics
        self.last_price_label.setText(
            f"LTP {fmt.price(m.last_price) if m.last_price is not None else fmt.DASH}"
        )
        self.value_label.setText(f"Value {fmt.rupees(m.value)}")
        if m.risk is not None:
            pct = f" ({fmt.percent(m.risk_pct)} of capital)" if m.risk_pct is not None else ""
            self.risk_label.setText(f"Risk {fmt.rupees(m.risk)}{pct}")
        else:
            self.risk_label.setText(f"Risk {fmt.DASH}")
        rr = m.reward_risk
        self.rr_label.setText(
            f"Reward:risk {rr:.2f}" if rr is not None else f"Reward:risk {fmt.DASH}"
        )
        return check

    def _on_edited(self, *_args: object) -> None:
        """After any edit: metrics, and marks for what is wrong with the typed text.

        Fields merely left empty are only flagged on send; a symbol still being typed
        is judged once it is committed."""
        check = self._refresh_metrics()
        invalid = check.invalid_only()
        if not self._symbol_committed:
            invalid.pop("symbol", None)
        self._mark(invalid)
        if invalid:
            self._show(next(iter(invalid.values())), "warn", source="live")
        elif self._message_source in ("live", "check"):
            self._show("", "info", source="live")
        self._schedule_preflight(check)

    def _offer_validities(self, exchange: str) -> None:
        """Only the validities the exchange takes for API orders (no IOC on MCX)."""
        allowed = {v.value for v in allowed_validities(exchange)}
        model = self.validity.model()
        for row in range(self.validity.count()):
            item = model.item(row)
            if item is not None:
                item.setEnabled(self.validity.itemText(row) in allowed)
        if self.validity.currentText() not in allowed:
            self.validity.setCurrentText(Validity.DAY.value)

    # ================================================================== pre-flight

    def _schedule_preflight(self, check: TicketCheck) -> None:
        """An edit: the shown prediction is for another order now; ask again once the
        trader pauses (only for an order the ticket itself would send)."""
        if self._preflight_fn is None:
            return
        if not check.ok:
            self._preflight_timer.stop()
            self._cancel_preflight()
            self._show_preflight(None)
            return
        if check.request != self._preflight_request:
            self._preflight_timer.start()  # restarts: debounced

    def _cancel_preflight(self) -> None:
        task, self._preflight_task = self._preflight_task, None
        if task is not None and not task.done():
            task.cancel()
        self._preflight_request = None

    def _run_preflight(self) -> None:
        check = self.check()
        if self._preflight_fn is None or not check.ok:
            return
        self._cancel_preflight()
        request = check.request
        self._preflight_request = request
        self._preflight_at = time.monotonic()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a widget test without qasync): nothing to run on
            return
        task = loop.create_task(self._preflight(request))
        self._preflight_task = task
        task.add_done_callback(self._preflight_done)

    async def _preflight(self, request: OrderRequest) -> tuple[OrderRequest, list]:
        return request, list(await self._preflight_fn(request))

    def _preflight_done(self, task: asyncio.Task) -> None:
        exc = None if task.cancelled() else task.exception()  # always retrieved
        if task is not self._preflight_task:
            return  # superseded (its order was edited since)
        self._preflight_task = None
        if task.cancelled():
            return
        if exc is not None:
            log.warning("pre-flight failed: %s", exc)
            self._show_preflight(None)
            return
        request, problems = task.result()
        if request != self._preflight_request:
            return
        self._show_preflight(problems)

    def _show_preflight(self, problems: list[tuple[str, str]] | None) -> None:
        """None: nothing to say (no order typed yet); [] the order passes every check
        known before sending; else the first refusal and how many more."""
        self.last_preflight = problems
        label = self.preflight_label
        if problems is None:
            label.clear()
            label.setToolTip("")
            label.hide()
            return
        if problems:
            _check, reason = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            label.setText(f"Would be refused: {reason}{more}")
            label.setToolTip("\n".join(f"{c}: {r}" for c, r in problems))
            colour = theme.LOSS
        else:
            label.setText("Pre-flight: no refusal expected")
            label.setToolTip("Every check known before sending passes (rules, limits, margin)")
            colour = theme.PROFIT
        label.setStyleSheet(f"color: {colour};")
        label.show()

    # ================================================================== sending

    def check(self) -> TicketCheck:
        """Validate the fields as typed (no effect on the widgets)."""
        return check_ticket(
            self._input(),
            instrument=self._safe_get,
            last_price=self._safe_ltp,
            capital=self._capital,
            max_quantity=self._max_quantity,
            max_order_value=self._max_order_value,
        )

    def send(self, side: OrderSide | str | None = None) -> bool:
        """Validate, then submit or ask to confirm. True if the order is on its way."""
        if side is not None:
            self.set_side(side)
        self._symbol_committed = True  # a send judges the symbol as it stands
        if self._busy:
            self._show("The previous order is still being sent\u2026", "warn", source="result")
            return False
        if self._confirm_box is not None:
            self._confirm_box.raise_()
            return False
        if not self._trading_enabled:
            self._show(self._trading_reason or "Trading is disabled", "error", source="trading")
            return False
        check = self.check()
        self.last_check = check
        self._mark(check.problems)
        if not check.ok or check.request is None:
            self._show(check.reason() or "Order refused", "error", source="check")
            return False
        request = check.request
        value = check.metrics.value
        limit = self._confirm_above
        if limit is not None and (value is None or value > limit):
            value_text = fmt.rupees(value) if value is not None else "unknown (no last price)"
            self._confirm_box = dialogs.confirm(
                self,
                "Confirm large order",
                f"{describe_request(request)}\nOrder value {value_text}",
                on_yes=lambda: self._confirmed(request, True),
                on_no=lambda: self._confirmed(request, False),
                yes_text=f"&Send {request.side.value}",
                informative=f"Above your confirmation threshold of {fmt.rupees(limit)}.",
            )
            self._update_buttons()
            self._show("Waiting for confirmation\u2026", "warn", source="result")
            return True
        return self._submit(request)

    # ================================================================== submission

    def _confirmed(self, request: OrderRequest, yes: bool) -> None:
        self._confirm_box = None
        self._update_buttons()
        if yes:
            self._submit(request)
        else:
            self._show("Not sent (confirmation declined)", "info", source="result")

    def _submit(self, request: OrderRequest) -> bool:
        problem = self._runner.run(request)
        if problem is not None:
            self._show(problem, "error", source="result")
            return False
        return True

    def _on_started(self, request: OrderRequest) -> None:
        self._set_busy(True)
        self._show(f"Sending {describe_request(request)}\u2026", "info", source="result")

    def _on_finished(self, request: OrderRequest, outcome: str, text: str, result: object) -> None:
        self._set_busy(False)
        if outcome == OK:
            self._note_sent(text, f"{format_time(now_ist())} IST")
        self._show(text, _OUTCOME_KIND.get(outcome, "error"), source="result")
        if outcome == OK:
            self.order_sent.emit(request, result)
        else:
            self.order_failed.emit(request, text)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        enabled = self._trading_enabled and not self._busy and self._confirm_box is None
        self.buy_button.setEnabled(enabled)
        self.sell_button.setEnabled(enabled)
        if not self._trading_enabled:
            tip = self._trading_reason or "Trading is disabled"
        elif not enabled:
            tip = "An order is in progress"
        else:
            tip = "{} now. Enter sends on the current side; Esc clears."
        self.buy_button.setToolTip(tip.format("Buy (F1 / B)"))
        self.sell_button.setToolTip(tip.format("Sell (F2 / S)"))

    # ================================================================== keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Keys the focused child did not use: Enter sends, Esc clears, F1/F2 (B/S) side."""
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            if self.focusWidget() is self.symbol:
                # A typed symbol is committed and the quantity comes next: Enter right after
                # a symbol never sends at a price the trader has not seen yet.
                self._commit_symbol()
                if self._instrument is None:  # unknown: stay to correct it (the ticket says why)
                    self.symbol.selectAll()
                else:
                    self.quantity.setFocus(Qt.FocusReason.TabFocusReason)
                    self.quantity.selectAll()
            else:
                self.send()
        elif key == Qt.Key.Key_Escape:
            if self.completer.model().rowCount() and self.completer.popup().isVisible():
                self.completer.popup().hide()
            else:
                self.clear()
        elif key == Qt.Key.Key_F1 or (key == Qt.Key.Key_B and plain):
            self.open_for(OrderSide.BUY)
        elif key == Qt.Key.Key_F2 or (key == Qt.Key.Key_S and plain):
            self.open_for(OrderSide.SELL)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
