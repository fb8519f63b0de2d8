"""Position accounting as pure functions (the seed's seven scenarios).

Quantities are signed (long > 0, short < 0). PnL is gross and in rupees:
    realized   = closed_qty * (exit - average) * multiplier   (sign by side of the position)
    unrealized = quantity * (mark - average) * multiplier      (same formula long and short)
The average price changes only when a fill adds to the position; reductions realize PnL
at the existing average; a reversal closes the old side and opens the rest at the fill
price.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.money import ZERO
from desktop_oms.domain.records import positional


class PositionAction(StrEnum):
    NEW = "NEW"
    ADD = "ADD"
    REDUCE = "REDUCE"
    CLOSE = "CLOSE"
    REVERSE = "REVERSE"


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    exchange: str
    product: Product
    quantity: int = 0
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    multiplier: Decimal = Decimal("1")
    last_price: Decimal | None = None
    highest_price: Decimal | None = None
    lowest_price: Decimal | None = None
    peak_unrealized_pnl: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    charges: Decimal = ZERO
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    strategy_id: str | None = None
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, Product]:
        return (self.exchange, self.symbol, self.product)

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    @property
    def total_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl

    @property
    def net_pnl(self) -> Decimal:
        return self.total_pnl - self.charges

    @property
    def value(self) -> Decimal:
        mark = self.last_price if self.last_price is not None else self.average_price
        return abs(self.quantity) * mark * self.multiplier


# Hot paths (marks, fills) build positions positionally, in this field order.
_FIELDS = (
    "symbol",
    "exchange",
    "product",
    "quantity",
    "average_price",
    "realized_pnl",
    "unrealized_pnl",
    "multiplier",
    "last_price",
    "highest_price",
    "lowest_price",
    "peak_unrealized_pnl",
    "max_drawdown",
    "charges",
    "opened_at",
    "updated_at",
    "strategy_id",
    "id",
)
if tuple(f.name for f in fields(Position)) != _FIELDS:  # pragma: no cover - a refactor's guard
    raise ImportError("Position's fields changed: update _FIELDS and the positional builders")
_position = positional(Position)  # stores through the slots: twice as fast as Position(...)


@dataclass(frozen=True, slots=True)
class FillOutcome:
    position: Position
    action: PositionAction
    realized_pnl: Decimal  # realized by this fill alone
    closed_quantity: int  # how much of the old position this fill closed


_outcome = positional(FillOutcome)


def flat_position(
    symbol: str, exchange: str, product: Product, multiplier: Decimal = Decimal("1")
) -> Position:
    return Position(symbol=symbol, exchange=exchange, product=product, multiplier=multiplier)


def _excursion(upnl: Decimal, peak: Decimal, drawdown: Decimal) -> tuple[Decimal, Decimal]:
    """Peak unrealized PnL and the largest fall from it, after valuing at `upnl` (ties
    keep the existing Decimal, as max() does)."""
    if upnl > peak:
        peak = upnl
    fall = peak - upnl
    return peak, fall if fall > drawdown else drawdown


def apply_fill(
    position: Position,
    side: OrderSide,
    quantity: int,
    price: Decimal,
    at: datetime | None = None,
    *,
    charges: Decimal = ZERO,
    strategy_id: str | None = None,
) -> FillOutcome:
    """Return the position after one fill and what the fill did to it.

    `charges`: the fill's charges, added to the position's. `strategy_id`: the filling
    order's setup, given to a position this fill opens (NEW or REVERSE)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError(f"fill quantity must be a positive whole number, got {quantity!r}")
    _check_price(price, "fill price")
    signed = quantity * side.sign
    old_qty = position.quantity
    mult = position.multiplier
    if old_qty == 0:
        action, realized, closed = PositionAction.NEW, ZERO, 0
        new_qty, new_avg = signed, price
        opened_at = at
        extremes = (price, price)
        peak, drawdown = ZERO, ZERO
    elif (old_qty > 0) == (signed > 0):
        action, realized, closed = PositionAction.ADD, ZERO, 0
        new_qty = old_qty + signed
        new_avg = (abs(old_qty) * position.average_price + quantity * price) / abs(new_qty)
        opened_at = position.opened_at
        extremes = _widen(position, price)
        peak, drawdown = position.peak_unrealized_pnl, position.max_drawdown
    else:
        closed = min(abs(old_qty), quantity)
        direction = 1 if old_qty > 0 else -1
        realized = closed * (price - position.average_price) * mult * direction
        new_qty = old_qty + signed
        if new_qty == 0:
            action, new_avg = PositionAction.CLOSE, ZERO
            opened_at = position.opened_at
            extremes = _widen(position, price)
            peak, drawdown = position.peak_unrealized_pnl, position.max_drawdown
        elif (new_qty > 0) == (old_qty > 0):
            action, new_avg = PositionAction.REDUCE, position.average_price
            opened_at = position.opened_at
            extremes = _widen(position, price)
            # Profit taken is not a drawdown: the peak shrinks with the position.
            peak = position.peak_unrealized_pnl * abs(new_qty) / abs(old_qty)
            drawdown = position.max_drawdown
        else:
            action, new_avg = PositionAction.REVERSE, price
            opened_at = at
            extremes = (price, price)
            peak, drawdown = ZERO, ZERO
    # A new side is valued at its own fill, never at the mark of a position already closed.
    fresh = action in (PositionAction.NEW, PositionAction.REVERSE) or position.last_price is None
    mark = price if fresh else position.last_price
    # One construction: the values of replace(...) followed by _with_unrealized(..., mark).
    if new_qty:
        upnl = new_qty * (mark - new_avg) * mult
        peak, drawdown = _excursion(upnl, peak, drawdown)
    else:
        upnl = ZERO
    updated = _position(
        position.symbol,
        position.exchange,
        position.product,
        new_qty,
        new_avg,
        position.realized_pnl + realized,
        upnl,
        mult,
        mark,
        extremes[0],
        extremes[1],
        peak,
        drawdown,
        position.charges + charges if charges else position.charges,
        opened_at,
        at or position.updated_at,
        strategy_id
        if strategy_id and action in (PositionAction.NEW, PositionAction.REVERSE)
        else position.strategy_id,
        position.id,
    )
    return _outcome(position=updated, action=action, realized_pnl=realized, closed_quantity=closed)


def unrealized_pnl(
    quantity: int, average_price: Decimal, mark: Decimal, multiplier: Decimal
) -> Decimal:
    if quantity == 0:
        return ZERO
    return quantity * (mark - average_price) * multiplier


def mark_to_market(position: Position, mark: Decimal, at: datetime | None = None) -> Position:
    """Position valued at `mark`: unrealized PnL, price extremes and max drawdown.

    On the tick path (every open position, several times a second), so it builds the
    result in one construction; the values are exactly those of `_with_unrealized` after
    `_widen` (ties keep the existing Decimal, as max/min do)."""
    _check_price(mark, "mark price")
    p = position
    qty = p.quantity
    high = p.highest_price
    low = p.lowest_price
    peak = p.peak_unrealized_pnl
    drawdown = p.max_drawdown
    if qty:
        if high is None or mark > high:
            high = mark
        if low is None or mark < low:
            low = mark
        upnl = qty * (mark - p.average_price) * p.multiplier
        peak, drawdown = _excursion(upnl, peak, drawdown)
    else:
        upnl = ZERO
    return _position(
        p.symbol,
        p.exchange,
        p.product,
        qty,
        p.average_price,
        p.realized_pnl,
        upnl,
        p.multiplier,
        mark,
        high,
        low,
        peak,
        drawdown,
        p.charges,
        p.opened_at,
        at or p.updated_at,
        p.strategy_id,
        p.id,
    )


def _check_price(price: object, label: str) -> None:
    if not isinstance(price, Decimal) or not price.is_finite() or price <= ZERO:
        raise ValueError(f"{label} must be a positive finite Decimal, got {price!r}")


def _with_unrealized(position: Position, mark: Decimal) -> Position:
    upnl = unrealized_pnl(position.quantity, position.average_price, mark, position.multiplier)
    if not position.is_open:
        return replace(position, unrealized_pnl=ZERO, last_price=mark)
    peak = max(position.peak_unrealized_pnl, upnl)
    drawdown = max(position.max_drawdown, peak - upnl)
    return replace(
        position,
        unrealized_pnl=upnl,
        last_price=mark,
        peak_unrealized_pnl=peak,
        max_drawdown=drawdown,
    )


def _widen(position: Position, price: Decimal) -> tuple[Decimal, Decimal]:
    high = price if position.highest_price is None else max(position.highest_price, price)
    low = price if position.lowest_price is None else min(position.lowest_price, price)
    return high, low


def force_quantity(
    position: Position, quantity: int, average_price: Decimal | None, at: datetime | None
) -> Position:
    """Reconciliation: trust the broker's quantity (and average when it gives one)."""
    avg = (
        average_price
        if average_price is not None and quantity != 0
        else (position.average_price if quantity else ZERO)
    )
    changed = replace(
        position, quantity=quantity, average_price=avg, updated_at=at or position.updated_at
    )
    if quantity != 0 and position.quantity == 0:
        changed = replace(
            changed,
            opened_at=at,
            highest_price=None,
            lowest_price=None,
            peak_unrealized_pnl=ZERO,
            max_drawdown=ZERO,
        )
    mark = position.last_price if position.last_price is not None else (avg if quantity else None)
    return _with_unrealized(changed, mark) if mark is not None else changed
