"""OrderTicket's live updates: guarded instrument and last-price look-ups, following the
symbol / exchange / order type as typed, and refreshing the value / risk / reward
labels and the marks on invalid fields after every edit and twice a second.

Another instrument brings its own terms (`_take_terms_for`): the price from its last
price (as F1 gives it), the stop-loss, target and trigger typed for the previous one
dropped. A typed symbol is judged ("Unknown symbol ...") only once it is committed:
Enter, focus out, a completion chosen, or a send - never half-typed.

A mixin of `OrderTicket` (ui/ticket/ticket.py), which holds the state these methods use.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from desktop_oms.domain import Instrument, OrderType
from desktop_oms.domain.money import round_to_tick
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import parse_int_text
from desktop_oms.ui.ticket.logic import TicketCheck

if TYPE_CHECKING:  # type checkers see the ticket's API; at run time a plain mixin
    from desktop_oms.ui.ticket.form import TicketForm as _TicketBase
else:
    _TicketBase = object

# The same logger as before the split, so log configuration and filters see no change.
log = logging.getLogger("desktop_oms.ui.ticket.ticket")


class TicketLiveMixin(_TicketBase):
    """Instrument look-ups and live metrics of `OrderTicket`."""

    # ---- live updates ------------------------------------------------------------

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
            self._refresh_metrics()

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
