"""Tradable instruments: tick size, lot size and multiplier as the exchange defines them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_oms.domain.money import is_multiple_of


@dataclass(frozen=True, slots=True)
class Instrument:
    exchange: str
    symbol: str  # Kite "tradingsymbol"
    instrument_token: int = 0
    name: str = ""
    tick_size: Decimal = Decimal("0.05")
    lot_size: int = 1
    multiplier: Decimal = Decimal("1")
    instrument_type: str = "EQ"
    segment: str = ""
    expiry: date | None = None
    tradable: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    def price_on_tick(self, price: Decimal) -> bool:
        return is_multiple_of(price, self.tick_size)

    def quantity_in_lots(self, quantity: int) -> bool:
        return quantity > 0 and quantity % self.lot_size == 0
