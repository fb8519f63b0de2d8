"""The paper exchange's matching rules, as pure functions (no state, no I/O, no clock).

Liquidity is unlimited at the last traded price; there is no order book. Rules:

- MARKET (and a triggered SL-M) fills at the last price, moved by the slippage against
  the trader and rounded to the tick (buy up, sell down).
- A LIMIT order that is marketable when it enters the book (placed, modified, or an SL
  just triggered) fills at the last price (never worse than its limit). A resting LIMIT
  fills at its own limit price once the last price crosses it (buy: last <= limit; sell:
  last >= limit) - except a protected LIMIT (a market order with Kite's protection),
  which trades at the last price whenever that is inside its limit.
- SL / SL-M wait in TRIGGER_PENDING until the last price crosses the trigger (buy:
  last >= trigger; sell: last <= trigger); then SL works as a LIMIT, SL-M as a MARKET -
  or, with market protection (Kite's rule), as a LIMIT at the protection price from the
  last price (`Protect`), which rests if the market runs past it.
- With a maximum fill quantity, one matching pass fills at most that many (rounded down
  to whole lots, at least one lot); the rest waits for the next pass.
- IOC: whatever does not fill when the order enters the book is cancelled.

With the exchange's order book (`liquidity`: the levels the order would take, best
first), a MARKET order (and a triggered SL-M) takes the levels in turn, one execution
per level, and a LIMIT entering the book takes those within its limit (the rest rests,
and fills at its limit once the last price crosses it, as above). Slippage is then the
book's: the configured slippage does not apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from desktop_oms.brokers.paper.records import PaperOrder
from desktop_oms.domain import OrderSide, OrderType, Validity

BPS = Decimal(10000)


@dataclass(frozen=True, slots=True)
class Trigger:
    """The stop order's trigger was hit."""


@dataclass(frozen=True, slots=True)
class Execute:
    quantity: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class CancelRest:
    message: str


@dataclass(frozen=True, slots=True)
class Protect:
    """A triggered SL-M becomes a LIMIT at the market-protection price."""

    price: Decimal
    percent: Decimal


Action = Trigger | Execute | CancelRest | Protect


@dataclass(frozen=True, slots=True)
class MatchingRules:
    slippage_bps: Decimal = Decimal(0)
    max_fill_quantity: int | None = None
    market_protection_pct: Decimal | None = None


def protected_price(side: OrderSide, last: Decimal, tick: Decimal, percent: Decimal) -> Decimal:
    """Kite's market protection: a LIMIT `percent` beyond the last price (buy above, sell
    below), on the tick, never past the band; never on the wrong side of the last price."""
    if side is OrderSide.BUY:
        price = to_tick(last * (1 + percent / 100), tick, ROUND_FLOOR)
        return max(price, to_tick(last, tick, ROUND_CEILING))
    price = to_tick(last * (1 - percent / 100), tick, ROUND_CEILING)
    price = min(price, to_tick(last, tick, ROUND_FLOOR))
    return price if price > 0 else (tick if tick > 0 else last)


def to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    if tick <= 0:
        return value
    return ((value / tick).to_integral_value(rounding=rounding) * tick).quantize(tick)


def market_price(side: OrderSide, last: Decimal, tick: Decimal, slippage_bps: Decimal) -> Decimal:
    """Where a market order fills: the last price, slipped against the trader."""
    if slippage_bps <= 0:
        return last
    if side is OrderSide.BUY:
        return to_tick(last * (1 + slippage_bps / BPS), tick, ROUND_CEILING)
    price = to_tick(last * (1 - slippage_bps / BPS), tick, ROUND_FLOOR)
    return price if price > 0 else (tick if tick > 0 else last)


def trigger_hit(side: OrderSide, last: Decimal, trigger: Decimal) -> bool:
    return last >= trigger if side is OrderSide.BUY else last <= trigger


def limit_marketable(side: OrderSide, last: Decimal, limit: Decimal) -> bool:
    return last <= limit if side is OrderSide.BUY else last >= limit


def fill_size(remaining: int, lot_size: int, max_fill_quantity: int | None) -> int:
    if max_fill_quantity is None:
        return remaining
    lot = max(lot_size, 1)
    per_pass = max(lot, (max_fill_quantity // lot) * lot)
    return min(remaining, per_pass)


def match(
    order: PaperOrder,
    last: Decimal | None,
    *,
    tick: Decimal,
    lot_size: int,
    rules: MatchingRules,
    entering: bool,
    liquidity: Sequence[tuple[Decimal, int]] | None = None,
) -> list[Action]:
    """What happens to `order` at last price `last` in one matching pass.

    `entering` is True when the order (re-)enters the book: on placement and after a
    modification. A trigger during the pass makes it enter the book too. `liquidity`:
    the book's levels on the side the order takes (None: unlimited at the last price).
    """
    if not order.is_active or order.remaining <= 0:
        return []
    actions: list[Action] = []
    kind, limit = order.order_type, order.price
    triggered = order.triggered or not order.order_type.needs_trigger
    if not triggered:
        if (
            last is None
            or order.trigger_price is None
            or not trigger_hit(order.side, last, order.trigger_price)
        ):
            return []
        actions.append(Trigger())
        triggered, entering = True, True
        if order.order_type is OrderType.SL_M and rules.market_protection_pct is not None:
            limit = protected_price(order.side, last, tick, rules.market_protection_pct)
            actions.append(Protect(limit, rules.market_protection_pct))
            kind = OrderType.LIMIT
    if order.protection_pct is not None or kind is not order.order_type:
        # A protected LIMIT is a market order with a limit: whenever the market is
        # inside it, it trades at the market (as it did when it entered), not at its limit.
        entering = True
    remaining = order.remaining
    takes = kind in (OrderType.MARKET, OrderType.SL_M) or entering
    if last is not None and liquidity is not None and takes:
        most = fill_size(remaining, lot_size, rules.max_fill_quantity)
        for executed in _take(kind, order.side, limit, liquidity, most):
            actions.append(executed)
            remaining -= executed.quantity
    elif last is not None:
        price = _fill_price(kind, order.side, limit, last, tick, rules.slippage_bps, entering)
        if price is not None:
            quantity = fill_size(remaining, lot_size, rules.max_fill_quantity)
            actions.append(Execute(quantity=quantity, price=price))
            remaining -= quantity
    if order.validity is Validity.IOC and entering and remaining > 0:
        actions.append(CancelRest(f"IOC order: unfilled quantity {remaining} cancelled"))
    return actions


def _take(
    kind: OrderType,
    side: OrderSide,
    limit: Decimal | None,
    levels: Sequence[tuple[Decimal, int]],
    most: int,
) -> list[Execute]:
    """Executions taking the book's levels in turn, at most `most` in all (a LIMIT, and
    a protected one, only at levels within its limit)."""
    if kind in (OrderType.MARKET, OrderType.SL_M):
        limit = None
    out: list[Execute] = []
    left = most
    for price, available in levels:
        if left <= 0:
            break
        if limit is not None and not limit_marketable(side, price, limit):
            break
        quantity = min(left, available)
        if quantity > 0:
            out.append(Execute(quantity=quantity, price=price))
            left -= quantity
    return out


def _fill_price(
    kind: OrderType,
    side: OrderSide,
    limit: Decimal | None,
    last: Decimal,
    tick: Decimal,
    slippage_bps: Decimal,
    entering: bool,
) -> Decimal | None:
    if kind in (OrderType.MARKET, OrderType.SL_M):
        return market_price(side, last, tick, slippage_bps)
    if limit is None or not limit_marketable(side, last, limit):
        return None
    if not entering:
        return limit
    slipped = market_price(side, last, tick, slippage_bps)
    return min(slipped, limit) if side is OrderSide.BUY else max(slipped, limit)
