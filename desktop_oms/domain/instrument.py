"""Tradable instruments: tick size, lot size and multiplier as the exchange defines them,
and what index derivatives add (strike, expiry, the index they follow, freeze quantity)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_oms.domain.money import is_multiple_of

OPTION_TYPES = frozenset({"CE", "PE"})
FUTURE_TYPE = "FUT"
INDEX_SEGMENT = "INDICES"
# Exchanges whose options take no SL-M orders (NSE since 2021, BSE alike): a stop on an
# option is an SL (limit) order.
NO_SL_M_OPTION_EXCHANGES = frozenset({"NFO", "BFO"})


@dataclass(frozen=True, slots=True)
class Instrument:
    exchange: str
    symbol: str  # Kite "tradingsymbol"
    instrument_token: int = 0
    name: str = ""  # Kite "name": the company, or the underlying of a derivative (NIFTY)
    tick_size: Decimal = Decimal("0.05")
    lot_size: int = 1
    multiplier: Decimal = Decimal("1")
    instrument_type: str = "EQ"  # EQ, FUT, CE, PE
    segment: str = ""
    expiry: date | None = None
    tradable: bool = True
    strike: Decimal | None = None  # options only
    underlying: tuple[str, str] | None = None
    """(exchange, symbol) of the index whose spot prices this derivative ("NSE", "NIFTY 50");
    None for anything else (and for derivatives the F&O rules file does not name)."""
    freeze_quantity: int | None = None
    """The exchange's freeze limit in units (from the F&O rules file; Kite's dump has none):
    one order may carry at most this many. None: no limit known."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def is_option(self) -> bool:
        return self.instrument_type in OPTION_TYPES

    @property
    def is_future(self) -> bool:
        return self.instrument_type == FUTURE_TYPE

    @property
    def is_index(self) -> bool:
        """An index (segment INDICES): it has a price, it is not traded."""
        return self.segment == INDEX_SEGMENT

    @property
    def sl_m_allowed(self) -> bool:
        """False for options on NFO/BFO: the exchange refuses stop-loss market orders."""
        return not (self.is_option and self.exchange in NO_SL_M_OPTION_EXCHANGES)

    def expires_on(self, day: date) -> bool:
        """True on its expiry day: still tradable until the close, flagged in the grid."""
        return self.expiry is not None and self.expiry == day

    def expired(self, day: date) -> bool:
        """True from the day after its expiry (it drops out of the listing at the day roll)."""
        return self.expiry is not None and day > self.expiry

    def price_on_tick(self, price: Decimal) -> bool:
        return is_multiple_of(price, self.tick_size)

    def quantity_in_lots(self, quantity: int) -> bool:
        return quantity > 0 and quantity % self.lot_size == 0

    def lots(self, quantity: int) -> int:
        """Whole lots in `quantity` units (rounded down)."""
        return quantity // self.lot_size if self.lot_size > 0 else quantity
