"""The trading lines of the price chart, as values (no Qt): the position's average price
with its live P&L, each working order, and the bracket legs, each labelled with side,
quantity and type, and what dragging it does.

    lines = build_lines("NSE", "RELIANCE", orders, positions, brackets, last_price)

Kinds and what moving them does (the panel acts):

- POSITION: the average price; not movable.
- ORDER: a working order at its limit (LIMIT), or its trigger (SL, SL-M; an SL's limit
  moves with its trigger by the same amount): `modify_order`, through every risk check.
  A MARKET order has no line.
- STOP: a bracket's stop-loss, where the bracket keeps it (the working stop follows):
  `move_stop(entry, price)`. Its working order has no line of its own.
- TARGET: a bracket's target, watched by the app: `move_target(entry, price)`.
- DRAFT_ENTRY / DRAFT_STOP / DRAFT_TARGET: an order being prepared on the chart
  (right-click "Buy limit here"), sent with Enter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from desktop_oms.domain import MODIFIABLE_STATUSES, Order, OrderSide, OrderType, Position
from desktop_oms.ui.common import format as fmt

__all__ = ["ChartLine", "LineKind", "build_lines", "order_line_price"]


class LineKind(StrEnum):
    POSITION = "position"
    ORDER = "order"
    STOP = "stop"
    TARGET = "target"
    DRAFT_ENTRY = "draft_entry"
    DRAFT_STOP = "draft_stop"
    DRAFT_TARGET = "draft_target"

    @property
    def draft(self) -> bool:
        return self in (LineKind.DRAFT_ENTRY, LineKind.DRAFT_STOP, LineKind.DRAFT_TARGET)


_TYPE_WORDS = {
    OrderType.LIMIT: "LMT",
    OrderType.MARKET: "MKT",
    OrderType.SL: "SL",
    OrderType.SL_M: "SL-M",
}


@dataclass(frozen=True, slots=True)
class ChartLine:
    key: str  # stable across rebuilds: "order:12", "stop:7", "target:7", "position:MIS"
    kind: LineKind
    price: Decimal
    label: str
    side: OrderSide | None = None  # the side an order line would trade
    movable: bool = False
    order_id: int | None = None  # ORDER: the order; STOP / TARGET: the bracket's entry
    entry_id: int | None = None
    pnl: Decimal | None = None  # POSITION: unrealized P&L at the last price


def order_line_price(order: Order) -> Decimal | None:
    """Where a working order's line is: its trigger for stops, else its limit."""
    if order.order_type.needs_trigger:
        return order.trigger_price
    if order.order_type is OrderType.LIMIT:
        return order.price
    return None


def _side_word(side: OrderSide) -> str:
    return side.value


def build_lines(
    exchange: str,
    symbol: str,
    orders: Iterable[Order],
    positions: Iterable[Position],
    brackets: Iterable[Any],
    last_price: Decimal | None,
) -> list[ChartLine]:
    """The lines of one instrument (see the module docstring). `brackets` are the
    bracket manager's views (entry_order_id, side, stop_loss, take_profit, status,
    open_quantity, stop_order_ids, ...)."""
    lines: list[ChartLine] = []
    mine = [o for o in orders if o.exchange == exchange and o.symbol == symbol]
    views = [
        b for b in brackets
        if b.exchange == exchange and b.symbol == symbol and b.status == "active"
    ]  # fmt: skip
    bracket_exits: set[int] = set()
    for view in views:
        bracket_exits.update(view.stop_order_ids)
        bracket_exits.update(view.target_order_ids)
    by_id = {o.id: o for o in mine}

    for position in positions:
        if position.exchange != exchange or position.symbol != symbol or not position.quantity:
            continue
        long = position.quantity > 0
        pnl = None
        if last_price is not None:
            pnl = (last_price - position.average_price) * position.quantity * position.multiplier
        words = f"{'LONG' if long else 'SHORT'} {fmt.quantity(abs(position.quantity))}"
        label = f"{words} {position.product.value} @ {fmt.price(position.average_price)}"
        if pnl is not None:
            label += f"   P&L {fmt.rupees(pnl, 0)}"
        lines.append(
            ChartLine(
                key=f"position:{position.product.value}",
                kind=LineKind.POSITION,
                price=position.average_price,
                label=label,
                side=OrderSide.BUY if long else OrderSide.SELL,
                pnl=pnl,
            )
        )

    for order in mine:
        if order.id in bracket_exits or not order.status.is_active:
            continue
        price = order_line_price(order)
        if price is None:
            continue
        remaining = order.quantity - order.filled_quantity
        words = (
            f"{_side_word(order.side)} {fmt.quantity(remaining)} {_TYPE_WORDS[order.order_type]}"
        )
        label = f"{words} {fmt.price(price)}  #{order.id}"
        if order.order_type is OrderType.SL and order.price is not None:
            label = f"{words} {fmt.price(price)} (limit {fmt.price(order.price)})  #{order.id}"
        if order.stop_loss is not None or order.take_profit is not None:
            label += " bracket"
        movable = order.status in MODIFIABLE_STATUSES and order.broker_order_id is not None
        lines.append(
            ChartLine(
                key=f"order:{order.id}",
                kind=LineKind.ORDER,
                price=price,
                label=label,
                side=order.side,
                movable=movable,
                order_id=order.id,
            )
        )

    for view in views:
        exit_side = view.side.opposite
        quantity = view.open_quantity or _entry_remaining(by_id.get(view.entry_order_id))
        stops = [by_id[i] for i in view.stop_order_ids if i in by_id and by_id[i].status.is_active]
        if view.stop_loss is not None and view.stop_enabled:
            kind = _TYPE_WORDS.get(stops[0].order_type, "SL") if stops else "planned"
            label = f"STOP {_side_word(exit_side)} {fmt.quantity(quantity)} {kind} {fmt.price(view.stop_loss)}"
            resting = stops[0].trigger_price if stops else None
            if resting is not None and resting != view.stop_loss:
                label += f" (at broker {fmt.price(resting)})"
            lines.append(
                ChartLine(
                    key=f"stop:{view.entry_order_id}",
                    kind=LineKind.STOP,
                    price=view.stop_loss,
                    label=f"{label}  #{view.entry_order_id}",
                    side=exit_side,
                    movable=True,
                    entry_id=view.entry_order_id,
                    order_id=stops[0].id if stops else None,
                )
            )
        if view.take_profit is not None and view.target_enabled:
            label = (
                f"TARGET {_side_word(exit_side)} {fmt.quantity(quantity)} "
                f"{fmt.price(view.take_profit)} (watched)  #{view.entry_order_id}"
            )
            lines.append(
                ChartLine(
                    key=f"target:{view.entry_order_id}",
                    kind=LineKind.TARGET,
                    price=view.take_profit,
                    label=label,
                    side=exit_side,
                    movable=True,
                    entry_id=view.entry_order_id,
                )
            )
    return lines


def _entry_remaining(entry: Order | None) -> int:
    if entry is None:
        return 0
    return entry.quantity - entry.filled_quantity
