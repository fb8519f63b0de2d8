"""The order ticket: type an order, see its value / risk / reward live, send it once.

Entry point: `OrderTicket(instruments, last_price, submit, capital=..., ...)` (ticket.py),
a widget with the contract object names (orderTicket, ticketSymbol, ..., buyButton,
sellButton); its widgets are form.py. What it checks and computes without Qt is logic.py
(`check_ticket`); the submit runner is submit.py. With `preflight=` (the window passes
the validator's `problems`) the ticket predicts, as the trader types, every refusal with a
knowable reason before sending (ticketPreflight: circuit limits, MIS cut-off, tick/lot,
order rate, margin, the trader's limits).

Invariants: nothing is submitted unless every field passes `check_ticket`; one submission
at a time (Buy / Sell disabled until its outcome is shown); an order above the
confirmation threshold waits for a non-modal confirmation; another instrument brings its
own terms (price, stop-loss, target never carried over from the previous one).
"""

from desktop_oms.ui.ticket.logic import TicketCheck, TicketInput, check_ticket
from desktop_oms.ui.ticket.submit import describe_request
from desktop_oms.ui.ticket.ticket import OrderTicket

__all__ = ["OrderTicket", "TicketCheck", "TicketInput", "check_ticket", "describe_request"]
