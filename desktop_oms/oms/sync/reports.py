"""Interpreting broker reports against the journal (pure functions, no I/O)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from desktop_oms.domain import (
    Fill,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    TradeReport,
    can_transition,
)
from desktop_oms.domain.records import changer, positional
from desktop_oms.domain.state_machine import status_for_fill

# Statuses of an order working at the exchange (a stale or interim report keeps them).
_WORKING = frozenset({OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING, OrderStatus.PARTIALLY_FILLED})


def order_after_report(
    order: Order,
    report: OrderReport,
    now: datetime,
    *,
    take_terms: bool = True,
    take_status: bool = True,
) -> tuple[Order, str | None, dict[str, tuple]]:
    """The order as the report says it is, except fills (those come only from trades).

    Returns (order, reason, adopted): `adopted` maps each term taken from the broker to
    (old, new), for the audit trail.

    The status moves only along the transition table; a report saying FILLED/PARTIAL
    before its trades are known keeps the fill-derived status (the caller fetches trades).
    Stale reports (e.g. OPEN after FILLED) change nothing; with `take_status` False (the
    caller found the report older than one already applied) a working status is not
    moved to another working one (a late TRIGGER PENDING does not revert OPEN), while a
    final one still applies. An interim report (Kite's UPDATE, MODIFY PENDING: still
    working, triggered or not unsaid) leaves a working order's status as it is.

    Terms (quantity, price, trigger price, order type): while nothing of ours is in flight
    for the order (`take_terms`: the caller knows whether the report predates terms it
    already has, or our own modify awaits confirmation), the broker's report is the truth
    — a modify made elsewhere or whose answer was lost, a MARKET order Kite turned into a
    protected LIMIT — also from a final report: an order modified down and then filled
    must not stay working for the quantity it no longer has.
    """
    changes: dict = {}
    adopted: dict[str, tuple] = {}
    if order.broker_order_id is None and report.broker_order_id:
        changes["broker_order_id"] = report.broker_order_id
    if take_terms and order.status.is_active:
        adopted = report_terms(order, report)
        changes.update({name: new for name, (_old, new) in adopted.items()})
    quantity = changes.get("quantity", order.quantity)
    reason = None
    target = report.status
    if target in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        target = status_for_fill(quantity, order.filled_quantity, order.status)
        if target is order.status and order.status in (OrderStatus.PENDING, OrderStatus.SUBMITTED):
            target = OrderStatus.OPEN
    if (
        target.is_active
        and target not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
        and order.status in _WORKING
        and (not take_status or getattr(report, "interim", False))
    ):
        target = order.status  # stale or interim: the working status stays
    if target is not order.status and can_transition(order.status, target):
        changes["status"] = target
        if report.status_message:
            changes["status_message"] = report.status_message
        reason = report.status_message or f"broker reports {report.status.value}"
    if adopted:
        reason = adoption_reason(order, report, changes, adopted, reason)
    if not changes:
        return order, None, {}
    changes["updated_at"] = now
    return order.copy(**changes), reason, adopted


def adoption_reason(
    order: Order, report: OrderReport, changes: dict, adopted: dict, reason: str | None
) -> str:
    """The audit reason for terms taken from the broker (and the protected-LIMIT note,
    which also becomes the order's status message unless the report set one, and the
    journal remembers the type the order was sent as: `protected_from`)."""
    terms = ", ".join(
        f"{name.replace('_', ' ')} {old} -> {new}" for name, (old, new) in adopted.items()
    )
    reason = f"adopted from the broker: {terms}" + (f"; {reason}" if reason else "")
    protection = protection_note(order, report, changes)
    if protection:
        reason = f"{protection}; {reason}"
        if "status_message" not in changes:
            changes["status_message"] = protection
        if order.protected_from is None:
            changes["protected_from"] = order.order_type
    return reason


def report_terms(order: Order, report: OrderReport) -> dict[str, tuple]:
    """The terms (quantity, price, trigger price, order type) the report gives a working
    order that differ from the journal's, as name -> (old, new). The quantity never goes
    below what already filled; Kite's 0 for "no price" / "no trigger" is not a term."""
    adopted: dict[str, tuple] = {}
    for name in ("quantity", "price", "trigger_price"):
        value = getattr(report, name)
        old = getattr(order, name)
        if value is None or value == old:
            continue
        if name == "quantity" and (value <= 0 or value < order.filled_quantity):
            continue  # never below what already filled
        if name != "quantity" and value == 0:
            continue  # Kite reports 0 for "no price" / "no trigger"
        adopted[name] = (old, value)
    kind = getattr(report, "order_type", None)
    if kind is not None and kind is not order.order_type:
        adopted["order_type"] = (order.order_type, kind)
    return adopted


def order_with_report_terms(
    order: Order, report: OrderReport, now: datetime
) -> tuple[Order, str | None, dict[str, tuple]]:
    """Only the report's terms (no status): taken before the trades that came with the
    report are applied. A fill is judged against the broker's quantity, not the journal's
    older one: an order raised from 9 to 12 elsewhere (Kite web, or our own modify whose
    answer a crash lost) and filled 9 is PARTIALLY_FILLED with 3 working, not FILLED 9/9
    with the rest working at the broker unseen."""
    adopted = report_terms(order, report) if order.status.is_active else {}
    if not adopted:
        return order, None, {}
    changes = {name: new for name, (_old, new) in adopted.items()}
    reason = adoption_reason(order, report, changes, adopted, None)
    return order.copy(updated_at=now, **changes), reason, adopted


def protection_note(order: Order, report: OrderReport, changes: dict) -> str | None:
    """What the trader is told when the broker made a MARKET / SL-M order a protected
    LIMIT (Kite's market protection): None when this report did not do that."""
    kind = changes.get("order_type")
    if kind is not OrderType.LIMIT or order.order_type not in (OrderType.MARKET, OrderType.SL_M):
        return None
    if not getattr(report, "protected", False):
        return None
    price = changes.get("price", order.price)
    at = f" at {price}" if price is not None else ""
    pct = getattr(report, "protection_pct", None)
    band = f" {pct}%" if pct is not None else ""
    return (
        f"the broker made this {order.order_type.value} order a protected LIMIT{at} "
        f"(market protection{band}): it rests at that price and can be modified"
    )


def fill_gap(order: Order, report: OrderReport) -> int:
    """How many units the broker says are filled that our trades don't show yet."""
    return max(report.filled_quantity - order.filled_quantity, 0)


# Built for every fill (see domain.records).
_fill = positional(Fill)
_order_filled = changer(Order, ("filled_quantity", "average_price", "status", "updated_at"))


def fill_from_trade(order: Order, trade: TradeReport, multiplier: Decimal) -> Fill:
    return _fill(
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
    return _order_filled(order, filled, average, status, now)
