"""OrderTicket's sending: `check` the typed fields, `send` (refuse, ask to confirm a
large order, or submit), the confirmation's answer, the submit runner's start / finish,
and the enabled state and tooltips of Buy / Sell.

A mixin of `OrderTicket` (ui/ticket/ticket.py), which holds the state these methods use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop_oms.domain import OrderRequest, OrderSide
from desktop_oms.infra.clock import format_time, now_ist
from desktop_oms.ui.common import dialogs
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.ticket.logic import TicketCheck, check_ticket
from desktop_oms.ui.ticket.submit import ERROR, INTERRUPTED, OK, REJECTED, describe_request

if TYPE_CHECKING:  # type checkers see the ticket's API; at run time a plain mixin
    from desktop_oms.ui.ticket.form import TicketForm as _TicketBase
else:
    _TicketBase = object

_OUTCOME_KIND = {OK: "ok", REJECTED: "error", ERROR: "error", INTERRUPTED: "warn"}


class TicketSendMixin(_TicketBase):
    """Validation, confirmation and submission of `OrderTicket`."""

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

    # ---- submission --------------------------------------------------------------

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
