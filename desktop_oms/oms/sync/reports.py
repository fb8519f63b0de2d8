"""Interpreting broker reports against the journal (pure functions, no I/O)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from desktop_oms.domain import Fill, Order, OrderReport, OrderStatus, TradeReport, can_transition
from desktop_oms.domain.state_machine import status_for_fill


def order_after_report(
    order: Order, report: OrderReport, now: datetime, *, take_terms: bool = True
) -> tuple[Order, str | None]:
    """The order as the report says it is, except fills (those come only from trades).

    Returns (order, reason). The status moves only along the transition table; a report
    saying FILLED/PARTIAL before its trades are known keeps the fill-derived status (the
    caller fetches trades). Stale reports (e.g. OPEN after FILLED) change nothing.
    `take_terms=False`: keep the order's price, trigger and quantity (the caller knows
    the report predates terms it already has).
    """
    changes: dict = {}
    reason = None
    if order.broker_order_id is None and report.broker_order_id:
        changes["broker_order_id"] = report.broker_order_id
    target = report.status
    if target in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        target = status_for_fill(order.quantity, order.filled_quantity, order.status)
        if target is order.status and order.status in (OrderStatus.PENDING, OrderStatus.SUBMITTED):
            target = OrderStatus.OPEN
    if target is not order.status and can_transition(order.status, target):
        changes["status"] = target
        if report.status_message:
            changes["status_message"] = report.status_message
        reason = report.status_message or f"broker reports {report.status.value}"
    elif (
        report.status is OrderStatus.REJECTED
        and report.status_message
        and order.status is OrderStatus.REJECTED
    ):
        pass
    if take_terms and order.status.is_active and report.status.is_active:
        # Modified outside the app (or our modify confirmed): take the broker's terms.
        for name in ("price", "trigger_price", "quantity"):
            value = getattr(report, name)
            if (
                value is not None
                and value != getattr(order, name)
                and (name != "quantity" or value > 0)
            ):
                if name == "price" and value == 0:
                    continue
                if name == "trigger_price" and value == 0:
                    continue
                changes[name] = value
    if not changes:
        return order, None
    changes["updated_at"] = now
    return order.copy(**changes), reason


def fill_gap(order: Order, report: OrderReport) -> int:
    """How many units the broker says are filled that our trades don't show yet."""
    return max(report.filled_quantity - order.filled_quantity, 0)


def fill_from_trade(order: Order, trade: TradeReport, multiplier: Decimal) -> Fill:
    return Fill(
        trade_id=trade.trade_id,
        order_id=order.id,
        broker_order_id=trade.broker_order_id,
        symbol=order.symbol,
        exchange=order.exchange,
        product=order.product,
        side=order.side,
        quantity=trade.quantity,
        price=trade.price,
        timestamp=trade.timestamp,
        multiplier=multiplier,
    )


def order_after_fill(order: Order, fill: Fill, now: datetime) -> Order:
    filled = order.filled_quantity + fill.quantity
    previous_value = (order.average_price or Decimal(0)) * order.filled_quantity
    average = (previous_value + fill.price * fill.quantity) / filled
    status = status_for_fill(order.quantity, filled, order.status)
    if not can_transition(order.status, status) and status is not order.status:
        status = order.status  # e.g. a late trade on a REJECTED/FILLED order: keep the status
    return order.copy(filled_quantity=filled, average_price=average, status=status, updated_at=now)
