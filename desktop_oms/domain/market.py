"""Market values: a tick (last price and, where known, the quote around it) and funds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Funds:
    available: Decimal
    used: Decimal = Decimal("0")
