"""Start-up recovery of the order journal and lost broker responses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from tests.helpers import limit, until

D = Decimal


def _pending_draft(client_order_id: str) -> Order:
    now = datetime.now(UTC)
    return Order(
        id=0,
        client_order_id=client_order_id,
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=5,
        price=D("2450"),
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def test_pending_order_never_sent_is_rejected_after_restart(paper_oms):
    h = paper_oms
    await h.om.stop()
    # A crash between the journal write and the broker call leaves this row behind.
    orphan = h.db.journal.insert_pending(_pending_draft("CRASHED0000000001"))
    await h.om.start()
    order = await h.om.get_order(orphan.id)
    assert order.status is OrderStatus.REJECTED
    assert order.status_message == "not sent (recovered after restart)"
    assert await h.broker.orders() == []
    events = await h.om.get_order_events(orphan.id)
    assert events[-1].event_type == "RECOVERED"


async def test_pending_order_the_broker_has_is_adopted_after_restart(paper_oms):
    h = paper_oms
    # The broker accepted the order but the process died before hearing back.
    h.broker.inject_outcome_unknown(accept=True)
    result = await h.om.place_order(limit(qty=5, price="2450"))
    assert result.status is OrderStatus.PENDING and result.broker_order_id is None
    await h.restart()
    order = await h.om.get_order(result.order_id)
    assert order.broker_order_id is not None
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 5
    broker_orders = await h.broker.orders()
    assert len(broker_orders) == 1 and broker_orders[0].client_order_id == result.client_order_id
    assert (await h.pm.get_position("RELIANCE")).quantity == 5


async def test_lost_response_is_resolved_by_tag_without_resending(paper_oms):
    h = paper_oms
    h.broker.inject_outcome_unknown(accept=True)
    result = await h.om.place_order(limit(qty=5, price="2400"))
    assert result.status is OrderStatus.PENDING
    await until(lambda: h.om.sync.current(result.order_id).broker_order_id is not None)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.OPEN
    assert len(await h.broker.orders()) == 1


async def test_lost_request_that_never_arrived_stays_unknown_then_a_restart_rejects_it(paper_oms):
    h = paper_oms
    h.broker.inject_outcome_unknown(accept=False)
    result = await h.om.place_order(limit(qty=5, price="2400"))
    await until(
        lambda: "outcome unknown" in (h.om.order_now(result.order_id).status_message or ""),
        timeout=5,
    )
    assert h.om.live_order(result.order_id) is not None  # never final while unknown
    assert await h.broker.orders() == []
    await h.restart()
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.REJECTED and "not sent" in order.status_message


async def test_fills_missed_while_down_are_applied_on_restart(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=5, price="2400"))
    await h.om.stop()
    h.broker.set_last_price("NSE", "RELIANCE", D("2399"))  # fills while the OMS is not listening
    await h.om.start()
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.FILLED
    assert (await h.pm.get_position("RELIANCE")).quantity == 5


async def test_paper_broker_state_survives_restart_of_everything(paper_oms, instruments):
    from desktop_oms.brokers.paper import PaperBroker

    h = paper_oms
    open_order = await h.om.place_order(limit(qty=5, price="2400"))
    await h.om.place_order(limit(qty=3, price="2450"))
    await h.close()
    broker = PaperBroker(state_path=h.path / "paper.jsonl", instruments=instruments)
    await h.open(broker)
    active = await h.om.get_active_orders()
    assert [o.id for o in active] == [open_order.order_id]
    assert (await h.pm.get_position("RELIANCE")).quantity == 3
    assert h.om.sync.last_reconciliation.ok
    await h.om.cancel_order(open_order.order_id)
    assert (await h.om.get_order(open_order.order_id)).status is OrderStatus.CANCELLED
