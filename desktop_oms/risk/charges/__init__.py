"""Zerodha's charges (brokerage, STT, exchange, SEBI, stamp duty, GST) from a dated schedule.

Entry point: `ChargesCalculator.bundled(instruments)` (resources/charges_schedule.toml);
`for_fill(fill, order, instrument)` per fill, exact; `contract_note(trades)` per day,
rounded as the note is. Invariant: an order's fills add up to exactly one order's
brokerage; a bad schedule file is refused whole, never half-read.
"""

from desktop_oms.risk.charges.amounts import Charges
from desktop_oms.risk.charges.calculator import ChargesCalculator, ContractNote
from desktop_oms.risk.charges.schedule import ChargesError, ChargesSchedule, Segment

__all__ = [
    "Charges",
    "ChargesCalculator",
    "ChargesError",
    "ChargesSchedule",
    "ContractNote",
    "Segment",
]
