"""OrderTicket's live updates: guarded instrument and last-price look-ups, following the
symbol / exchange / order type as typed, and refreshing the value / risk / reward
labels and the marks on invalid fields after every edit and twice a second.

A mixin of `OrderTicket` (ui/order_ticket.py), which holds the state these methods use.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from desktop_oms.domain import Instrument, OrderType

from . import format as fmt
from .ticket_logic import TicketCheck

if TYPE_CHECKING:  # type checkers see the ticket's API; at run time a plain mixin
    from .ticket_form import TicketForm as _TicketBase
else:
    _TicketBase = object

# The same logger as before the split, so log configuration and filters see no change.
log = logging.getLogger("desktop_oms.ui.order_ticket")


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
        if exchange:
            self.exchange.setCurrentText(str(exchange))
        if symbol:
            self.symbol.setText(str(symbol))

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
                self.instrument_changed.emit(inst.exchange, inst.symbol)
            else:
                self.quantity.set_lot_size(1)
                self.instrument_label.setText("")
                self.instrument_label.setToolTip("")
        self._on_edited()

    def _on_type_changed(self, *_args: object) -> None:
        kind = OrderType(self.order_type.currentText())
        self.price.setEnabled(kind.needs_price)
        self.trigger.setEnabled(kind.needs_trigger)
        self._on_edited()

    def _on_refresh_timer(self) -> None:
        if self.isVisible() and self._instrument is not None:
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

        Fields merely left empty are only flagged on send."""
        check = self._refresh_metrics()
        invalid = check.invalid_only()
        self._mark(invalid)
        if invalid:
            self._show(next(iter(invalid.values())), "warn", source="live")
        elif self._message_source in ("live", "check"):
            self._show("", "info", source="live")
