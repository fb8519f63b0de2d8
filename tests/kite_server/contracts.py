"""MCX and CDS futures the test server can list, with the multipliers Kite reports.

On Kite, MCX and CDS quantities are in lots: the instruments dump says `lot_size` 1 for
these contracts and carries no multiplier column; the contract multiplier (units of the
quoted price per lot) appears only in `/portfolio/positions` rows (`"multiplier": 1000`
for LEADMINI in Zerodha's positions.json, whose value is -(1 x 161.05 x 1000)).

The multipliers below are the exchanges' contract specifications (lot / price unit):
LEADMINI 1 MT quoted per kg, CRUDEOIL 100 barrels per barrel, GOLD 1 kg per 10 g, ...
Tokens follow Kite's layout: the low byte is the segment (7 = MCX, 3 = CDS), which also
picks the ticker's price divisor (100 for MCX, 10^7 for CDS).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SEGMENT_IDS = {"MCX": 7, "CDS": 3}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True, slots=True)
class Contract:
    name: str
    exchange: str
    tick_size: Decimal
    multiplier: int
    exchange_token: int

    @property
    def segment(self) -> str:
        return f"{self.exchange}-FUT"


CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract("LEADMINI", "MCX", Decimal("0.05"), 1000, 208_971),
        Contract("CRUDEOIL", "MCX", Decimal("1"), 100, 208_972),
        Contract("CRUDEOILM", "MCX", Decimal("1"), 10, 208_973),
        Contract("GOLD", "MCX", Decimal("1"), 100, 208_974),
        Contract("GOLDM", "MCX", Decimal("1"), 10, 208_975),
        Contract("SILVER", "MCX", Decimal("1"), 30, 208_976),
        Contract("SILVERM", "MCX", Decimal("1"), 5, 208_977),
        Contract("NATURALGAS", "MCX", Decimal("0.1"), 1250, 208_978),
        Contract("COPPER", "MCX", Decimal("0.05"), 2500, 208_979),
        Contract("ZINCMINI", "MCX", Decimal("0.05"), 1000, 208_980),
        Contract("USDINR", "CDS", Decimal("0.0025"), 1000, 9_001),
        Contract("EURINR", "CDS", Decimal("0.0025"), 1000, 9_002),
        # Not in the app's bundled table (resources/contract_multipliers.toml): the app
        # learns its multiplier (360 kg per lot, quoted per kg) from Kite's positions.
        Contract("MENTHAOIL", "MCX", Decimal("0.1"), 360, 208_981),
    )
}


def front_month_expiry(today: date | None = None) -> date:
    """The last day of next month: always in the future, whatever day the tests run."""
    today = today or date.today()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def contract_symbol(name: str, expiry: date) -> str:
    """Kite's futures symbol: NAME + yy + MON + FUT (e.g. LEADMINI17DECFUT)."""
    return f"{name}{expiry:%y}{_MONTHS[expiry.month - 1]}FUT"


def instrument_row(contract: Contract, expiry: date) -> dict[str, str]:
    """One instruments-dump row (strings, in the dump's column order): lot_size 1."""
    token = contract.exchange_token * 256 + SEGMENT_IDS[contract.exchange]
    return {
        "instrument_token": str(token),
        "exchange_token": str(contract.exchange_token),
        "tradingsymbol": contract_symbol(contract.name, expiry),
        "name": contract.name,
        "last_price": "0.0",
        "expiry": expiry.isoformat(),
        "strike": "0.0",
        "tick_size": str(contract.tick_size),
        "lot_size": "1",
        "instrument_type": "FUT",
        "segment": contract.segment,
        "exchange": contract.exchange,
    }
