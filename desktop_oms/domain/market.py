"""Market values: a tick (last price and, where known, the quote around it, up to five
levels of market depth), a derived quote (what a model prices an option or future at)
and funds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One price level of the order book: the quantity resting there and in how many orders."""

    price: Decimal
    quantity: int
    orders: int = 0


@dataclass(frozen=True, slots=True)
class MarketDepth:
    """The book around the last price, best level first on each side (Kite's full mode and
    the paper exchange give five). Bids are below asks; a side may be empty."""

    bids: tuple[DepthLevel, ...] = ()
    asks: tuple[DepthLevel, ...] = ()

    @property
    def best_bid(self) -> DepthLevel | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> DepthLevel | None:
        return self.asks[0] if self.asks else None


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
    extra: dict = field(default_factory=dict)  # Kite's other fields: "oi", ...
    depth: MarketDepth | None = None  # the five best levels each side, where streamed

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
