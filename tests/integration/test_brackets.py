"""Brackets on the paper broker (issue 18): the stop rests at the broker and follows the
filled quantity; the target is watched by the app (the stop goes first, then one market
exit), so the position is never doubled; links survive a restart; the stop can be moved,
set to break-even and trail the price."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from desktop_oms.domain import OrderSide, OrderStatus, OrderType
from desktop_oms.risk import BracketChanged, RiskLimits
from tests.helpers import limit, until
from tests.integration.test_risk_harness import rig

D = Decimal


async def exits(r, entry_id):
    orders = await r.om.list_orders()
    return [o for o in orders if o.parent_order_id == entry_id]


def working(orders, kind=None):
    return [o for o in orders if o.status.is_active and (kind is None or o.order_type is kind)]


async def place_entry(r, qty=100, price="2440", side=OrderSide.BUY, sl="2420", tp="2490", **kw):
    result = await r.om.place_order(
        limit(
            qty=qty,
            price=price,
            side=side,
            stop_loss=D(sl) if sl else None,
            take_profit=D(tp) if tp else None,
            **kw,
        )
    )
    return await r.om.get_order(result.order_id)


async def test_entry_fills_partly_then_fully_the_stop_rests_and_only_the_stop(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r)
        assert entry.status is OrderStatus.OPEN
        await r.brackets.settle()
        assert await exits(r, entry.id) == []  # nothing filled, nothing to protect
        link = r.store.bracket(entry.id)
        assert link.status == "active" and (link.stop_loss, link.take_profit) == (
            D("2420"),
            D("2490"),
        )

        r.broker.fill(entry.broker_order_id, 40)
        await until(lambda: r.position() == 40)
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        # one order at the broker: the stop; the target is watched, never resting
        assert [(o.order_type, o.quantity, o.trigger_price, o.side) for o in working(legs)] == [
            (OrderType.SL_M, 40, D("2420"), OrderSide.SELL)
        ]
        assert all(o.source == "bracket" and o.parent_order_id == entry.id for o in legs)

        r.broker.fill(entry.broker_order_id, 60)
        await until(lambda: r.position() == 100)
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        assert [o.quantity for o in working(legs)] == [100]
        assert len(legs) == 1  # grown by modification, not by new orders

        r.broker.set_last_price("NSE", "RELIANCE", D("2415"))  # through the stop
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        [stop] = await exits(r, entry.id)
        assert (stop.status, stop.filled_quantity) == (OrderStatus.FILLED, 100)
        assert await r.broker_open_orders() == []
        assert r.store.bracket(entry.id).status == "closed"
        views = [e.bracket for e in r.recorded if isinstance(e, BracketChanged)]
        assert views[-1].status == "closed" and views[-1].entry_filled == 100
    finally:
        await r.close()


async def test_the_target_reached_cancels_the_stop_then_exits_at_market(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430", tp="2490")  # fills at once
        await r.brackets.settle()
        [stop] = working(await exits(r, entry.id))
        r.broker.set_last_price("NSE", "RELIANCE", D("2491"))  # the target is reached
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        legs = {o.id: o for o in await exits(r, entry.id)}
        assert legs[stop.id].status is OrderStatus.CANCELLED and legs[stop.id].filled_quantity == 0
        [market] = [o for o in legs.values() if o.sent_type is OrderType.MARKET]
        assert (market.status, market.filled_quantity, market.side) == (
            OrderStatus.FILLED, 100, OrderSide.SELL,
        )  # fmt: skip
        assert await r.broker_open_orders() == [] and await r.broker_positions() == {}
        link = r.store.bracket(entry.id)
        assert link.status == "closed" and "target reached" in link.status_message
        events = await r.om.get_order_events(stop.id)
        assert any(e.event_type == "BRACKET" and "target" in e.reason for e in events)
        pos = r.pm.peek("NSE", "RELIANCE", entry.product)
        assert pos.realized_pnl == (D("2491") - D("2450")) * 100
    finally:
        await r.close()


async def test_a_partly_filled_stop_leaves_the_stop_for_the_rest(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430")  # marketable: fills at once
        await r.brackets.settle()
        [stop] = working(await exits(r, entry.id))
        r.broker.fill(stop.broker_order_id, 30, "2430")
        await until(lambda: r.position() == 70)
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        assert [(o.id, o.quantity - o.filled_quantity) for o in working(legs)] == [(stop.id, 70)]
        r.broker.fill(stop.broker_order_id, 70, "2429")  # the triggered stop fills the rest
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        assert await r.broker_positions() == {} and await r.broker_open_orders() == []
        assert r.store.bracket(entry.id).status == "closed"
    finally:
        await r.close()


async def test_restart_in_the_middle_reattaches_from_database_and_broker(tmp_path):
    r = await rig(tmp_path)
    entry = await place_entry(r)
    r.broker.fill(entry.broker_order_id, 40)
    await until(lambda: r.position() == 40)
    await r.brackets.settle()
    assert [o.quantity for o in working(await exits(r, entry.id))] == [40]
    await r.close()
    # While the app is down the rest of the entry fills at the broker.
    r.broker.fill(entry.broker_order_id, 60)
    await r.open()
    try:
        await until(lambda: r.position() == 100)
        await r.brackets.settle()
        assert [o.quantity for o in working(await exits(r, entry.id))] == [100]
        with r.db.read() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM bracket_links")).scalar() == 1
        r.broker.set_last_price("NSE", "RELIANCE", D("2490"))  # the target
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        assert sorted(o.status.value for o in legs) == ["CANCELLED", "FILLED"]
        assert r.store.bracket(entry.id).status == "closed"
    finally:
        await r.close()


async def test_the_stop_filled_while_the_app_was_down_closes_the_bracket(tmp_path):
    r = await rig(tmp_path)
    entry = await place_entry(r, price="2450", sl="2430")
    await r.brackets.settle()
    [stop] = working(await exits(r, entry.id))
    await r.close()
    r.broker.set_last_price("NSE", "RELIANCE", D("2410"))  # the stop fills while we are down
    await r.open()
    try:
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        assert await r.broker_open_orders() == []
        assert (await r.om.get_order(stop.id)).status is OrderStatus.FILLED
        assert r.store.bracket(entry.id).status == "closed"
        pos = r.pm.peek("NSE", "RELIANCE", entry.product)
        assert pos.realized_pnl == (D("2410") - D("2450")) * 100  # the stop's price
    finally:
        await r.close()


async def test_the_target_passed_while_the_app_was_closed_exits_when_it_starts(tmp_path):
    """The documented failure mode: with the app closed nothing exits at the target (the
    stop still protects the position); started while the price is still beyond the
    target, it exits then."""
    r = await rig(tmp_path)
    await place_entry(r, price="2450", sl="2430", tp="2490")
    await r.brackets.settle()
    await r.close()
    r.broker.set_last_price("NSE", "RELIANCE", D("2495"))
    assert len(await r.broker_open_orders()) == 1  # only the stop: no doubled exit
    assert r.position() == 100
    await r.open()
    try:
        r.broker.set_last_price("NSE", "RELIANCE", D("2496"))  # the next tick
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        assert await r.broker_open_orders() == [] and await r.broker_positions() == {}
    finally:
        await r.close()


async def test_the_target_passed_and_came_back_while_closed_keeps_the_stop(tmp_path):
    r = await rig(tmp_path)
    entry = await place_entry(r, price="2450", sl="2430", tp="2490")
    await r.brackets.settle()
    await r.close()
    r.broker.set_last_price("NSE", "RELIANCE", D("2495"))
    r.broker.set_last_price("NSE", "RELIANCE", D("2470"))  # back below the target
    await r.open()
    try:
        r.broker.set_last_price("NSE", "RELIANCE", D("2471"))
        await r.brackets.settle()
        assert r.position() == 100
        [stop] = working(await exits(r, entry.id))
        assert stop.order_type is OrderType.SL_M and stop.trigger_price == D("2430")
    finally:
        await r.close()


async def test_move_stop_break_even_and_trailing(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430", tp=None)
        await r.brackets.settle()
        [stop] = working(await exits(r, entry.id))
        assert r.brackets.move_stop(entry.id, D("2455")) is not None  # above the last price
        assert r.brackets.move_stop(entry.id, D("2440")) is None
        await r.brackets.settle()
        assert r.om.order_now(stop.id).trigger_price == D("2440")
        assert r.store.bracket(entry.id).stop_loss == D("2440")
        r.broker.set_last_price("NSE", "RELIANCE", D("2460"))
        assert r.brackets.stop_to_break_even(entry.id) is None
        await r.brackets.settle()
        assert r.om.order_now(stop.id).trigger_price == D("2450")
        # trailing 100 ticks (5.00) behind the best price; it never moves back
        assert r.brackets.trail_stop(entry.id, 100) is None
        r.broker.set_last_price("NSE", "RELIANCE", D("2470"))
        await until(lambda: r.om.order_now(stop.id).trigger_price == D("2465"))
        r.broker.set_last_price("NSE", "RELIANCE", D("2466"))
        await r.brackets.settle()
        assert r.om.order_now(stop.id).trigger_price == D("2465")
        # the trail survives a restart
        await r.restart()
        r.broker.set_last_price("NSE", "RELIANCE", D("2480"))
        await until(lambda: r.om.order_now(stop.id).trigger_price == D("2475"))
        await r.brackets.settle()  # the move's note follows the modify
        events = await r.om.get_order_events(stop.id)
        assert any("stop moved to 2475" in (e.reason or "") for e in events)
    finally:
        await r.close()


async def test_stop_already_breached_exits_at_market(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2440")  # resting buy, stop 2420
        r.broker.set_last_price("NSE", "RELIANCE", D("2410"))  # gaps through: fills at 2440
        await until(lambda: r.pm.peek("NSE", "RELIANCE", entry.product).realized_pnl != 0)
        await r.brackets.settle()
        assert r.position() == 0
        legs = await exits(r, entry.id)
        assert [(o.sent_type, o.status, o.filled_quantity) for o in legs] == [
            (OrderType.MARKET, OrderStatus.FILLED, 100)
        ]
        assert any("already through the stop" in a.message for a in r.alerts("brackets"))
        assert r.store.bracket(entry.id).status == "closed"
    finally:
        await r.close()


async def test_short_entry_and_a_manual_close_removes_the_exits(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(
            r, qty=50, price="2450", side=OrderSide.SELL, sl="2470", tp="2400"
        )
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        assert [(o.order_type.value, o.side.value, o.quantity) for o in working(legs)] == [
            ("SL-M", "BUY", 50)
        ]
        # The trader buys back 20 by hand: the stop shrinks to the 30 still held.
        await r.om.place_order(limit(qty=20, price="2450", side=OrderSide.BUY))
        await r.brackets.settle()
        assert [o.quantity - o.filled_quantity for o in working(await exits(r, entry.id))] == [30]
        await r.om.place_order(limit(qty=30, price="2450.05", side=OrderSide.BUY))
        await r.brackets.settle()
        assert working(await exits(r, entry.id)) == []
        assert r.store.bracket(entry.id).status == "closed"
    finally:
        await r.close()


async def test_a_leg_the_trader_cancels_is_no_longer_managed(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430")
        await r.brackets.settle()
        stop = working(await exits(r, entry.id), OrderType.SL_M)[0]
        await r.om.cancel_order(stop.id)
        await r.brackets.settle()
        legs = await exits(r, entry.id)
        assert working(legs) == []  # not re-placed
        assert r.store.bracket(entry.id).stop_enabled is False
        assert any("no longer managed" in a.message for a in r.alerts("brackets"))
    finally:
        await r.close()


async def test_a_leg_the_broker_keeps_refusing_is_given_up_loudly(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, qty=10, price="2445", tp=None, sl="2430")  # resting
        r.broker.inject_rejection("RMS: stop-loss orders blocked", count=3)
        r.broker.fill(entry.broker_order_id)
        await until(lambda: r.store.bracket(entry.id).stop_enabled is False)
        errors = [a for a in r.alerts("brackets") if a.level == "error"]
        assert errors and "UNPROTECTED" in errors[-1].message
        assert len([o for o in await exits(r, entry.id) if o.status is OrderStatus.REJECTED]) == 3
    finally:
        await r.close()


async def test_bracket_entries_respect_risk_reward(tmp_path):
    r = await rig(tmp_path, limits=RiskLimits(min_risk_reward=D("3")))
    try:
        from desktop_oms.oms import OrderRejected

        try:
            await place_entry(r, price="2450", sl="2430", tp="2490")  # 40 / 20 = 2 < 3
        except OrderRejected as exc:
            assert exc.failed_check == "risk_reward"
        else:
            raise AssertionError("risk_reward did not refuse")
    finally:
        await r.close()


async def test_the_kill_switch_takes_over_a_bracketed_position(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430")
        await r.brackets.settle()
        assert len(working(await exits(r, entry.id))) == 1  # the stop
        result = await r.ks.engage(reason="enough")
        assert result.verified and result.cancelled == 1 and result.flattened == 1
        await r.brackets.settle()
        assert await r.broker_open_orders() == [] and await r.broker_positions() == {}
        assert r.store.bracket(entry.id).status == "closed"
        # Nothing was re-placed behind the kill switch's back.
        assert [o.status for o in await exits(r, entry.id)] == [OrderStatus.CANCELLED]
    finally:
        await r.close()


async def test_a_stop_crossed_while_being_placed_exits_at_market(tmp_path):
    r = await rig(tmp_path)
    try:
        r.brackets.last_price = lambda exchange, symbol: D("2450")  # a stale view of the price
        entry = await place_entry(r, price="2440")  # resting buy, stop 2420
        r.broker.set_last_price("NSE", "RELIANCE", D("2410"))  # gap: the entry fills at 2440
        await until(lambda: r.pm.peek("NSE", "RELIANCE", entry.product).realized_pnl != 0)
        await r.brackets.settle()
        assert r.position() == 0
        kinds = [o.sent_type for o in await exits(r, entry.id) if o.status is OrderStatus.FILLED]
        assert kinds == [OrderType.MARKET]
        assert any("while it was being placed" in a.message for a in r.alerts("brackets"))
        assert r.store.bracket(entry.id).stop_enabled  # not counted as a failure
    finally:
        await r.close()
