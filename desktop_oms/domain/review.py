"""The day's review: fills grouped into round trips, then statistics per setup (pure).

A round trip starts when a position leaves flat and ends when it is flat again; a
reversal ends one trip and starts the next. Its setup and stop-loss flag come from the
order that opened it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.money import ZERO
from desktop_oms.domain.positions import Position, apply_fill

NO_SETUP = "(no setup)"


@dataclass(frozen=True, slots=True)
class ReviewFill:
    trade_id: str
    symbol: str
    exchange: str
    product: Product
    side: OrderSide
    quantity: int
    price: Decimal
    multiplier: Decimal
    timestamp: datetime
    setup: str | None
    had_stop_loss: bool
    charges: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class RoundTrip:
    symbol: str
    exchange: str
    product: Product
    direction: str  # LONG | SHORT
    setup: str
    had_stop_loss: bool
    opened_at: datetime
    closed_at: datetime | None
    max_quantity: int
    gross_pnl: Decimal
    charges: Decimal
    fills: int

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.charges

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True, slots=True)
class SetupStats:
    setup: str
    trades: int
    wins: int
    losses: int
    gross_pnl: Decimal
    net_pnl: Decimal
    charges: Decimal
    average_win: Decimal | None
    average_loss: Decimal | None
    largest_loss: Decimal | None
    with_stop_loss: int

    @property
    def win_rate(self) -> Decimal | None:
        return None if not self.trades else Decimal(self.wins * 100) / Decimal(self.trades)


@dataclass(slots=True)
class _Open:
    trip: RoundTrip
    position: Position
    extra: dict = field(default_factory=dict)


def round_trips(fills: list[ReviewFill]) -> list[RoundTrip]:
    """All round trips in the fills (closed ones, then any still open), in time order."""
    trips: list[RoundTrip] = []
    open_trips: dict[tuple[str, str, Product], _Open] = {}
    for fill in sorted(fills, key=lambda f: (f.timestamp, f.trade_id)):
        key = (fill.exchange, fill.symbol, fill.product)
        current = open_trips.get(key)
        position = (
            current.position
            if current
            else Position(fill.symbol, fill.exchange, fill.product, multiplier=fill.multiplier)
        )
        before_qty = position.quantity
        outcome = apply_fill(position, fill.side, fill.quantity, fill.price, fill.timestamp)
        after_qty = outcome.position.quantity
        closes = (
            abs(before_qty)
            if (before_qty and (after_qty == 0 or (after_qty > 0) != (before_qty > 0)))
            else 0
        )
        if current is None:
            current = _Open(_new_trip(fill, after_qty), outcome.position)
            open_trips[key] = current
        else:
            share = fill.charges
            if closes and fill.quantity:
                share = fill.charges * closes / fill.quantity
            current.trip = replace(
                current.trip,
                gross_pnl=current.trip.gross_pnl + outcome.realized_pnl,
                charges=current.trip.charges + share,
                max_quantity=max(
                    current.trip.max_quantity,
                    abs(after_qty) if not closes else current.trip.max_quantity,
                ),
                fills=current.trip.fills + 1,
            )
            current.position = outcome.position
        if closes:
            trips.append(replace(current.trip, closed_at=fill.timestamp))
            del open_trips[key]
            if after_qty != 0:  # reversal: the rest opens a new trip at this fill
                rest = fill.charges - fill.charges * closes / fill.quantity
                flat = Position(
                    fill.symbol, fill.exchange, fill.product, multiplier=fill.multiplier
                )
                reopened = apply_fill(
                    flat, fill.side, abs(after_qty), fill.price, fill.timestamp
                ).position
                trip = replace(_new_trip(fill, after_qty), charges=rest)
                open_trips[key] = _Open(trip, reopened)
    trips.extend(o.trip for o in sorted(open_trips.values(), key=lambda o: o.trip.opened_at))
    return trips


def _new_trip(fill: ReviewFill, quantity: int) -> RoundTrip:
    return RoundTrip(
        symbol=fill.symbol,
        exchange=fill.exchange,
        product=fill.product,
        direction="LONG" if quantity > 0 else "SHORT",
        setup=fill.setup or NO_SETUP,
        had_stop_loss=fill.had_stop_loss,
        opened_at=fill.timestamp,
        closed_at=None,
        max_quantity=abs(quantity),
        gross_pnl=ZERO,
        charges=fill.charges,
        fills=1,
    )


def setup_statistics(trips: list[RoundTrip]) -> list[SetupStats]:
    """Per setup (alphabetical), over closed round trips only; a last row "ALL" totals them."""
    groups: dict[str, list[RoundTrip]] = defaultdict(list)
    closed = [t for t in trips if t.is_closed]
    for trip in closed:
        groups[trip.setup].append(trip)
    rows = [_stats(name, groups[name]) for name in sorted(groups)]
    if closed:
        rows.append(_stats("ALL", closed))
    return rows


def _stats(name: str, trips: list[RoundTrip]) -> SetupStats:
    wins = [t.net_pnl for t in trips if t.net_pnl > 0]
    losses = [t.net_pnl for t in trips if t.net_pnl <= 0]
    return SetupStats(
        setup=name,
        trades=len(trips),
        wins=len(wins),
        losses=len(losses),
        gross_pnl=sum((t.gross_pnl for t in trips), ZERO),
        net_pnl=sum((t.net_pnl for t in trips), ZERO),
        charges=sum((t.charges for t in trips), ZERO),
        average_win=(sum(wins, ZERO) / len(wins)) if wins else None,
        average_loss=(sum(losses, ZERO) / len(losses)) if losses else None,
        largest_loss=min(losses) if losses else None,
        with_stop_loss=sum(1 for t in trips if t.had_stop_loss),
    )
