"""Bracket tooltips on the blotter's orders: a bracket's state (entry, stop-loss and
target, their legs' current rows), from the bracket manager's view of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop_oms.domain import Order
from desktop_oms.ui.blotter.orders_model import OrdersModel, bracket_leg
from desktop_oms.ui.common import format as fmt

if TYPE_CHECKING:
    from desktop_oms.risk import BracketView


def describe_bracket(view: BracketView, orders) -> str:
    """A bracket's state for a tooltip; `orders.get(id)` gives the legs' current rows."""
    head = (
        f"Bracket on #{view.entry_order_id} ({view.side.value} {view.symbol} "
        f"{view.product.value}): {view.status}"
    )
    if view.message:
        head += f" \u2014 {view.message}"
    legs = []
    if view.stop_loss is not None:
        legs.append(
            f"stop-loss {fmt.price(view.stop_loss)}" + ("" if view.stop_enabled else " (off)")
        )
    if view.take_profit is not None:
        legs.append(
            f"target {fmt.price(view.take_profit)}"
            + (" (watched by the app)" if view.target_enabled else " (off)")
        )
    lines = [head]
    if legs:
        lines.append(", ".join(legs))
    lines.append(
        f"entry filled {fmt.quantity(view.entry_filled)}, open {fmt.quantity(view.open_quantity)}"
    )
    for label, ids in (("stop", view.stop_order_ids), ("target", view.target_order_ids)):
        for order_id in ids:
            order = orders.get(order_id)
            if order is None:
                lines.append(f"  {label} #{order_id}")
                continue
            lines.append(
                f"  {label} #{order_id}: {order.side.value} {fmt.quantity(order.quantity)} "
                f"{fmt.enum_text(order.status)}"
                + (
                    f", filled {fmt.quantity(order.filled_quantity)}"
                    if order.filled_quantity
                    else ""
                )
            )
    return "\n".join(lines)


def bracket_tooltip(brackets: Any, orders: OrdersModel) -> Callable[[Order], str | None]:
    """The tooltip of an order's symbol cell, for `OrdersModel.set_bracket_tooltip`:
    the state of the bracket it opens or belongs to (None: not part of one).
    `brackets`: the bracket manager (`entry_of(order_id)`, `view(entry_id)`)."""

    def tooltip(order: Order) -> str | None:
        entry_id = brackets.entry_of(order.id)
        if entry_id is None and bracket_leg(order) is not None:
            entry_id = order.parent_order_id
        if entry_id is None:
            entry_id = order.id
        view = brackets.view(entry_id)
        if view is None:
            return None
        return describe_bracket(view, orders)

    return tooltip
