"""Market values: a tick (last price and, where known, the quote around it), a derived
quote (what a model prices an option or future at) and funds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Tick:
    exchange: str
    symbol: str
    last_price: Decimal
    timestamp: datetime
    volume: int | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_quantity: int | None = None
    ask_quantity: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None  # previous close, for change %
    extra: dict = field(default_factory=dict)  # Kite's other fields: "oi", depth, ...

    @property
    def oi(self) -> int | None:
        """Open interest (derivatives), where the feed gives it (Kite's and paper's "oi")."""
        return self.extra.get("oi")


class MarketQuote(NamedTuple):
    """A derivative's quote as a price model makes it (the paper exchange's options and
    futures, priced from their index): last price and the quote around it, on the tick.
    A named tuple: thousands are made per index tick."""

    last_price: Decimal
    bid: Decimal | None = None  # None: no bid
    ask: Decimal | None = None
    close: Decimal | None = None  # the previous close, for change
    volume: int | None = None
    oi: int | None = None


@dataclass(frozen=True, slots=True)
class Funds:
    available: Decimal
    used: Decimal = Decimal("0")
