"""Root causes of what the bracket crash suite found (issue 18), each pinned apart from
the suite's scenes (tests/reliability/test_bracket_suite_findings.py):

- a report's terms are taken before the trades that came with it: a fill is judged
  against the broker's quantity, so an order raised elsewhere and filled up to its old
  quantity keeps working for the rest (oms/sync/order_sync.py, oms/sync/reports.py);
- reconciliation leaves alone a position whose order is in flight (placed, the broker's
  answer not applied yet): its fill is counted once (oms/reconcile/reconciler.py);
- the bracket's audit notes carry the order's status after the broker call they tell of
  (risk/brackets/manager.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerOutcomeUnknown
from desktop_oms.domain import (
    Order,
    OrderReport,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    TradeReport,
    Validity,
    Variety,
)
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms.sync.reports import (
    fill_from_trade,
    order_after_fill,
    order_with_report_terms,
)
from tests.helpers import limit, market, until
from tests.integration.test_risk_harness import rig

D = Decimal
T0 = datetime(2026, 12, 8, 4, 30, tzinfo=UTC)


def working_sell(quantity: int = 9, filled: int = 0) -> Order:
    return Order(
        id=7,
        client_order_id="ABC000000007",
        symbol="SBIN",
        exchange="NSE",
        side=OrderSide.SELL,
        order_type=OrderType.SL_M,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=quantity,
        price=None,
        trigger_price=D("790"),
        status=OrderStatus.TRIGGER_PENDING if not filled else OrderStatus.PARTIALLY_FILLED,
        created_at=T0,
        updated_at=T0,
        broker_order_id="2001",
        filled_quantity=filled,
    )


def raised_report(quantity: int, filled: int, status: OrderStatus) -> OrderReport:
    return OrderReport(
        broker_order_id="2001",
        client_order_id="ABC000000007",
        symbol="SBIN",
        exchange="NSE",
        side=OrderSide.SELL,
        order_type=OrderType.SL_M,
        product=Product.MIS,
        quantity=quantity,
        filled_quantity=filled,
        pending_quantity=quantity - filled,
        price=None,
        trigger_price=D("790"),
        average_price=D("790") if filled else None,
        status=status,
        status_message=None,
        timestamp=T0,
    )


def trade(quantity: int, trade_id: str = "T1", broker_order_id: str = "2001") -> TradeReport:
    return TradeReport(
        trade_id=trade_id,
        broker_order_id=broker_order_id,
        symbol="SBIN",
        exchange="NSE",
        side=OrderSide.SELL,
        quantity=quantity,
        price=D("790"),
        timestamp=T0,
        product=Product.MIS,
    )


# ---------------------------------------------------------------------- terms before fills
def test_the_reports_terms_come_before_its_fill_so_the_rest_still_works():
    order = working_sell(9)
    report = raised_report(12, 9, OrderStatus.PARTIALLY_FILLED)
    raised, reason, adopted = order_with_report_terms(order, report, T0)
    # only the terms: the status waits for the trades
    assert (raised.quantity, raised.status) == (12, OrderStatus.TRIGGER_PENDING)
    assert adopted == {"quantity": (9, 12)}
    assert reason == "adopted from the broker: quantity 9 -> 12"
    after = order_after_fill(raised, fill_from_trade(raised, trade(9), D(1)), T0)
    assert (after.status, after.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 9)
    # what the journal did before: the old quantity made the fill final
    before_fix = order_after_fill(order, fill_from_trade(order, trade(9), D(1)), T0)
    assert before_fix.status is OrderStatus.FILLED


def test_report_terms_never_go_below_the_fills_nor_touch_a_final_order():
    order = working_sell(9, filled=6)
    same, _, adopted = order_with_report_terms(
        order, raised_report(5, 6, OrderStatus.PARTIALLY_FILLED), T0
    )
    assert same is order and adopted == {}
    done = working_sell(9).copy(status=OrderStatus.CANCELLED)
    same, _, adopted = order_with_report_terms(
        done, raised_report(12, 0, OrderStatus.CANCELLED), T0
    )
    assert same is done and adopted == {}


async def test_one_update_with_a_raised_order_and_its_fill_keeps_it_working(paper_oms):
    """The broker's update carries both the raised quantity (Kite web took the order from
    9 to 12) and the trade filling 9: the order works on for 3, cancellable; the same
    trade reported again changes nothing (fills are idempotent by trade id)."""
    h = paper_oms
    placed = await h.om.place_order(limit(side=OrderSide.SELL, qty=9, price="2470"))
    order = h.om.order_now(placed.order_id)
    assert order.status is OrderStatus.OPEN
    [report] = [r for r in await h.broker.orders() if r.broker_order_id == order.broker_order_id]
    now = utcnow()
    raised = replace(
        report,
        quantity=12,
        filled_quantity=9,
        pending_quantity=3,
        status=OrderStatus.PARTIALLY_FILLED,
        timestamp=now,
    )
    fill = TradeReport(
        trade_id="WEB-1",
        broker_order_id=order.broker_order_id,
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.SELL,
        quantity=9,
        price=D("2470"),
        timestamp=now,
        product=Product.MIS,
    )
    for _ in range(2):
        async with h.om.sync.lock:
            h.om.sync.apply_reports([raised], [fill])
        after = h.om.order_now(order.id)
        assert (after.status, after.quantity, after.filled_quantity) == (
            OrderStatus.PARTIALLY_FILLED,
            12,
            9,
        )
        assert h.om.live_order(order.id) is not None
        assert h.pm.peek("NSE", "RELIANCE", Product.MIS).quantity == -9
    kinds = [e.event_type for e in await h.om.get_order_events(order.id)]
    assert kinds.index("TERMS_ADOPTED") < kinds.index("FILL")


# ---------------------------------------------------------------------- order in flight
async def test_reconciliation_leaves_a_position_alone_while_its_order_is_in_flight(paper_oms):
    """The place's answer is lost after the exchange filled it: while the order is looked
    up by its tag, the periodic reconciliation must not take the broker's position (its
    fill is not booked yet); once found, the fill is booked once."""
    h = paper_oms
    await h.om.place_order(market(symbol="INFY", qty=5))
    place = h.broker.place_order
    seen = {}

    async def fill_then_lose_the_answer(order):
        await place(order)  # accepted and filled at the exchange ...
        seen["result"] = await h.om.reconcile_positions()  # ... reconciled meanwhile ...
        raise BrokerOutcomeUnknown("read timeout")  # ... and the answer is lost

    h.broker.place_order = fill_then_lose_the_answer
    lost = await h.om.place_order(market(symbol="INFY", qty=3))
    assert h.om.order_now(lost.order_id).broker_order_id is None  # not known yet
    h.broker.place_order = place
    result = seen["result"]
    assert result.mismatches == () and "NSE:INFY:MIS" in result.skipped
    await until(lambda: h.pm.peek("NSE", "INFY", Product.MIS).quantity == 8)
    assert h.count("trades") == 2 and h.count("reconciliation_log") == 0
    later = await h.om.reconcile_positions()
    assert later.ok and h.pm.peek("NSE", "INFY", Product.MIS).quantity == 8
    # Nothing in flight any more: a real difference on that position is taken from the broker.
    h.broker.set_position("NSE", "INFY", Product.MIS, 6, D("1500"))
    fixed = await h.om.reconcile_positions()
    assert [m.broker_quantity for m in fixed.mismatches] == [6]
    assert h.pm.peek("NSE", "INFY", Product.MIS).quantity == 6


# ---------------------------------------------------------------------- bracket notes
async def test_a_bracket_note_after_its_cancel_says_cancelled(tmp_path):
    """The position is sold outside the bracket: the bracket cancels its stop (no longer
    needed) and notes it with the status the stop has after the cancel."""
    r = await rig(tmp_path)
    try:
        entry = await r.om.place_order(
            OrderRequest(
                symbol="SBIN",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=10,
                order_type=OrderType.LIMIT,
                price=D("800"),
                product=Product.MIS,
                stop_loss=D("790"),
            )
        )
        await r.brackets.settle()
        [stop] = [o for o in r.om.live_orders() if o.parent_order_id == entry.order_id]
        await r.om.place_order(market(symbol="SBIN", side=OrderSide.SELL, qty=10))
        await until(lambda: r.position("SBIN") == 0)
        await r.brackets.settle()
        await until(lambda: r.om.order_now(stop.id).status is OrderStatus.CANCELLED)
        events = await r.om.get_order_events(stop.id)
        notes = [(i, e) for i, e in enumerate(events) if e.event_type == "BRACKET" and i > 0]
        assert notes, [e.event_type for e in events]
        for i, note in notes:
            assert note.new_status is events[i - 1].new_status, (note.reason, note.new_status)
        assert any(
            n.reason.startswith("cancelled by the bracket")
            and n.new_status is OrderStatus.CANCELLED
            for _, n in notes
        ), [(n.reason, n.new_status) for _, n in notes]
    finally:
        await r.close()
