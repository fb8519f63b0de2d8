"""Full order lifecycle through the OMS on the paper broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.events import FillApplied, OrderStatusChanged
from desktop_oms.oms import (
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
)
from tests.helpers import limit, market, until

D = Decimal


async def test_marketable_limit_fills_at_once_and_opens_a_position(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2450.50"))
    assert result.broker_order_id and result.broker_order_id.isdigit()
    assert result.status is OrderStatus.FILLED
    order = await h.om.get_order(result.order_id)
    assert order.id == result.order_id
    assert (order.filled_quantity, order.fill_percentage, order.average_price) == (
        10,
        100.0,
        D("2450"),
    )
    pos = await h.pm.get_position("RELIANCE", exchange="NSE")
    assert (pos.quantity, pos.average_price, pos.realized_pnl) == (10, D("2450"), D("0"))
    statuses = [
        (e.old_status, e.new_status) for e in h.recorded if isinstance(e, OrderStatusChanged)
    ]
    assert statuses[0] == (None, OrderStatus.PENDING)
    assert statuses[-1][1] is OrderStatus.FILLED
    assert [type(e) for e in h.recorded].count(FillApplied) == 1
    # The journal row can be audited with plain SQL.
    from sqlalchemy import text

    with h.db.read() as conn:
        row = conn.execute(
            text("SELECT client_order_id, broker_order_id, status FROM orders")
        ).one()
    assert row.client_order_id == result.client_order_id and row.status == "FILLED"
    assert row.broker_order_id == result.broker_order_id


async def test_event_history_records_every_status_change(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=5, price="2400"))
    await h.om.cancel_order(result.order_id)
    events = await h.om.get_order_events(result.order_id)
    chain = [
        (e.old_status, e.new_status)
        for e in events
        if e.event_type in ("CREATED", "ACKNOWLEDGED", "STATUS")
    ]
    assert chain[0] == (None, OrderStatus.PENDING)
    assert chain[-1][1] is OrderStatus.CANCELLED
    assert any(e.event_type == "CANCEL_REQUESTED" for e in events)
    for (_, new), (old, _) in zip(chain, chain[1:], strict=False):
        assert new == old  # each event starts where the previous ended


async def test_resting_limit_fills_when_price_crosses(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2440"))
    assert result.status is OrderStatus.OPEN
    assert [o.id for o in await h.om.get_active_orders()] == [result.order_id]
    h.broker.set_last_price("NSE", "RELIANCE", D("2439.95"))
    await until(lambda: h.om.sync.current(result.order_id) is None)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.FILLED and order.average_price == D("2440")
    assert await h.om.get_active_orders() == []


async def test_partial_fills_are_tracked(tmp_path, instruments):
    from desktop_oms.brokers.paper import PaperBroker
    from tests.integration.conftest import Harness

    broker = PaperBroker(instruments=instruments, max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", D("2450"))
    h = await Harness(path=tmp_path, broker=broker, instruments=instruments).open()
    try:
        result = await h.om.place_order(limit(qty=10, price="2450"))
        order = await h.om.get_order(result.order_id)
        assert order.status is OrderStatus.PARTIALLY_FILLED
        assert order.filled_quantity == 4 and order.fill_percentage == pytest.approx(40.0)
        broker.set_last_price("NSE", "RELIANCE", D("2449"))
        await until(lambda: h.om.sync.current(result.order_id).filled_quantity == 8)
        broker.set_last_price("NSE", "RELIANCE", D("2448"))
        await until(lambda: h.om.sync.current(result.order_id) is None)
        order = await h.om.get_order(result.order_id)
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
        pos = await h.pm.get_position("RELIANCE")
        assert pos.quantity == 10 and pos.average_price == D(
            "2450"
        )  # resting limit fills at its limit
        assert h.count("trades") == 3
    finally:
        await h.close()


async def test_cancel_open_order_and_refusals(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2400"))
    cancelled = await h.om.cancel_order(result.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(OrderNotCancellable):
        await h.om.cancel_order(result.order_id)
    with pytest.raises(OrderNotFound):
        await h.om.cancel_order(999_999)
    filled = await h.om.place_order(limit(qty=1, price="2450"))
    with pytest.raises(OrderNotCancellable):
        await h.om.cancel_order(filled.order_id)


async def test_modify_price_quantity_and_refusals(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2400"))
    order = await h.om.modify_order(result.order_id, price=D("2405.05"), quantity=20)
    assert (order.price, order.quantity, order.modification_count) == (D("2405.05"), 20, 1)
    assert order.status is OrderStatus.OPEN
    reports = {r.broker_order_id: r for r in await h.broker.orders()}
    assert reports[order.broker_order_id].price == D("2405.05")
    with pytest.raises(ValueError):
        await h.om.modify_order(result.order_id, quantity=0)
    with pytest.raises(ValueError):
        await h.om.modify_order(result.order_id)
    with pytest.raises(OrderRejected) as off_tick:
        await h.om.modify_order(result.order_id, price=D("2405.03"))
    assert off_tick.value.failed_check == "instrument"
    # modifying to a marketable price fills it
    order = await h.om.modify_order(result.order_id, price=D("2450"))
    await until(lambda: h.om.sync.current(result.order_id) is None)
    with pytest.raises(OrderNotModifiable):
        await h.om.modify_order(result.order_id, price=D("2451"))


async def test_broker_rejection_is_journaled_with_its_reason(paper_oms):
    h = paper_oms
    h.broker.inject_rejection("RMS: margin exceeds available funds")
    with pytest.raises(OrderRejected) as exc:
        await h.om.place_order(limit(qty=10, price="2450"))
    assert "margin exceeds" in exc.value.reason
    order = await h.om.get_order(exc.value.order_id)
    assert order.status is OrderStatus.REJECTED and "margin exceeds" in order.status_message
    assert await h.om.get_active_orders() == []
    assert h.count("trades") == 0


async def test_reversal_and_short_cover_through_fills(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))
    h.broker.set_last_price("NSE", "RELIANCE", D("2460"))
    await h.om.place_order(market(side=OrderSide.SELL, qty=15))
    pos = await h.pm.get_position("RELIANCE")
    assert pos.quantity == -5
    assert pos.average_price == D("2460")
    assert pos.realized_pnl == D("100")  # 10 x (2460 - 2450)
    h.broker.set_last_price("NSE", "RELIANCE", D("2455"))
    await h.om.place_order(market(side=OrderSide.BUY, qty=5))
    pos = await h.pm.get_position("RELIANCE")
    assert pos.quantity == 0 and pos.realized_pnl == D("125")  # + 5 x (2460 - 2455)
    assert await h.pm.get_total_realized_pnl() == D("125")
    assert await h.pm.get_all_open_positions() == []


async def test_unrealized_pnl_marks_and_drawdown(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))
    await h.pm.update_unrealized_pnl("RELIANCE", D("2480"))
    await h.pm.update_unrealized_pnl("RELIANCE", D("2470"))
    pos = await h.pm.get_position("RELIANCE", exchange="NSE")
    assert pos.unrealized_pnl == D("200") and pos.total_pnl == D("200")
    assert pos.highest_price == D("2480") and pos.max_drawdown == D("100")


async def test_bad_inputs_are_refused_and_write_nothing(paper_oms):
    from desktop_oms.domain import OrderRequest

    h = paper_oms
    with pytest.raises(ValueError):
        limit(qty=0)
    with pytest.raises(ValueError):
        limit(qty=-5)
    with pytest.raises(OrderRejected) as shape:
        await h.om.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side="BUY",
                quantity=1,
                order_type=OrderType.LIMIT,
            )
        )
    assert shape.value.failed_check == "order_shape"
    with pytest.raises(OrderRejected) as unknown:
        await h.om.place_order(limit(symbol="NOSUCHCO"))
    assert unknown.value.failed_check == "instrument"
    with pytest.raises(OrderRejected) as tick:
        await h.om.place_order(limit(price="2450.03"))
    assert tick.value.failed_check == "instrument"
    assert h.count("orders") == 0 and h.count("order_events") == 0
    assert await h.broker.orders() == []


async def test_replayed_trades_are_applied_once(paper_oms):
    from desktop_oms.brokers.port import BrokerUpdate

    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))
    trades = await h.broker.trades()
    orders = await h.broker.orders()
    for _ in range(3):
        h.om.sync._on_update(BrokerUpdate(orders=tuple(orders), trades=tuple(trades)))
    await h.om.sync.drain()
    await h.om.sync._poll()
    pos = await h.pm.get_position("RELIANCE")
    assert pos.quantity == 10
    assert h.count("trades") == 1
    # and across a restart (trade keys come from the database)
    await h.restart()
    h.om.sync._on_update(BrokerUpdate(orders=tuple(orders), trades=tuple(trades)))
    await h.om.sync.drain()
    assert (await h.pm.get_position("RELIANCE")).quantity == 10
    assert h.count("trades") == 1


async def test_orders_by_strategy_and_active_orders(paper_oms):
    h = paper_oms
    a = await h.om.place_order(limit(qty=1, price="2400", strategy_id="Breakout"))
    await h.om.place_order(limit(qty=1, price="2400", strategy_id="Hammer"))
    await h.om.place_order(limit(qty=1, price="2450", strategy_id=1))
    assert [o.id for o in await h.om.get_orders_by_strategy("Breakout")] == [a.order_id]
    assert len(await h.om.get_orders_by_strategy(1)) == 1
    assert len(await h.om.get_active_orders()) == 2


async def test_product_keeps_positions_apart(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=3, price="2450", product=Product.CNC))
    await h.om.place_order(limit(qty=2, price="2450", product=Product.MIS))
    cnc = await h.pm.get_position("RELIANCE", "NSE", Product.CNC)
    mis = await h.pm.get_position("RELIANCE", "NSE", "MIS")
    assert (cnc.quantity, mis.quantity) == (3, 2)
    assert await h.pm.get_open_position_count() == 2


async def test_halt_refuses_new_orders_until_resumed(paper_oms):
    h = paper_oms
    h.om.halt("testing")
    with pytest.raises(OrderRejected) as exc:
        await h.om.place_order(limit(qty=1))
    assert exc.value.failed_check == "kill_switch"
    assert h.count("orders") == 0
    h.om.resume()
    assert (await h.om.place_order(limit(qty=1))).status is OrderStatus.FILLED


async def test_stop_is_clean_and_idempotent(paper_oms, recwarn):
    h = paper_oms
    await h.om.place_order(limit(qty=1, price="2400"))
    await h.om.stop()
    await h.om.stop()
    tasks = [
        t
        for t in __import__("asyncio").all_tasks()
        if not t.done() and t is not __import__("asyncio").current_task()
    ]
    assert not [
        t for t in tasks if t.get_name() in ("order-monitor", "reconciliation", "order-updates")
    ]
    await h.om.start()
