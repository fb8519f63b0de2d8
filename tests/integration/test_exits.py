"""Exit always exits (issue 13, defect 1): a position with live bracket legs, with the
trader's own resting orders on the symbol, above the order-value limit, while the kill
switch is engaged; and it never leaves the position doubled or sends a changed quantity."""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.risk import RiskLimits
from tests.helpers import limit, market, until
from tests.integration.test_risk_harness import rig

D = Decimal


async def bracketed(r, qty=5, sl="3080", tp="3160"):
    """Buy TCS at market with a stop and a target; wait until the stop rests (the target
    is watched by the app)."""
    result = await r.om.place_order(market("TCS", qty=qty, stop_loss=D(sl), take_profit=D(tp)))
    await until(lambda: r.position("TCS") == qty)
    await r.brackets.settle()
    legs = [o for o in r.om.sync.active_orders() if o.parent_order_id == result.order_id]
    assert [o.order_type for o in legs] == [OrderType.SL_M]
    return result.order_id, legs


async def test_exit_cancels_the_bracket_legs_first_then_goes_flat(tmp_path):
    r = await rig(tmp_path)
    try:
        entry_id, legs = await bracketed(r)
        # Before the fix the exit was refused: "Reduce-only order ... would not only reduce".
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=5)
        assert outcome.level == "info", outcome.message
        assert outcome.status is OrderStatus.FILLED and outcome.sent_quantity == 5
        assert sorted(outcome.cancelled) == sorted(o.id for o in legs)
        assert r.position("TCS") == 0
        for leg in legs:
            assert (await r.om.get_order(leg.id)).status is OrderStatus.CANCELLED
        await r.brackets.settle()
        assert not [o for o in r.om.sync.active_orders() if o.symbol == "TCS"]
        assert r.store.bracket(entry_id).status != "active"
        # one audited action: each leg says why it was cancelled, the exit names the legs
        for leg in legs:
            kinds = [e.event_type for e in await r.om.get_order_events(leg.id)]
            assert "EXIT_CANCEL" in kinds
        exit_events = await r.om.get_order_events(outcome.order_id)
        exit_note = [e for e in exit_events if e.event_type == "EXIT"]
        assert exit_note and exit_note[0].details["cancelled"] == sorted(o.id for o in legs)
        exit_order = await r.om.get_order(outcome.order_id)
        assert exit_order.source == "exit" and exit_order.side is OrderSide.SELL
    finally:
        await r.close()


async def test_resting_orders_on_the_symbol_never_block_the_exit_nor_reverse_it(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(market("TCS", qty=5))
        await until(lambda: r.position("TCS") == 5)
        # the trader's own orders on the symbol: a sell far above, a buy far below
        sell = await r.om.place_order(limit("TCS", side=OrderSide.SELL, qty=5, price="3250"))
        buy = await r.om.place_order(limit("TCS", side=OrderSide.BUY, qty=5, price="2950"))
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=5)
        assert outcome.status is OrderStatus.FILLED, outcome.message
        assert r.position("TCS") == 0
        # the sell was an exit of the position: cancelled first (after the exit it could
        # only have opened a short); the buy adds to nothing now and is left, and named
        assert outcome.cancelled == (sell.order_id,)
        assert outcome.left_working == (buy.order_id,)
        assert f"#{buy.order_id}" in outcome.message
        assert (await r.om.get_order(sell.order_id)).status is OrderStatus.CANCELLED
        assert (await r.om.get_order(buy.order_id)).status is OrderStatus.OPEN
        r.broker.set_last_price("NSE", "TCS", D("3260"))  # through the old sell's price
        await r.om.drain()
        assert r.position("TCS") == 0
    finally:
        await r.close()


async def test_an_exit_already_under_way_is_not_doubled(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(market("TCS", qty=5))
        await until(lambda: r.position("TCS") == 5)
        await r.ks.engage(reason="halt only", flatten=False)
        # a resting reduce-only exit (as the kill switch or an earlier Exit leaves it)
        r.broker.set_last_price("NSE", "TCS", D("3100"))
        from desktop_oms.domain import OrderRequest, OrderType

        pending = await r.om.place_order(
            OrderRequest(
                symbol="TCS", exchange="NSE", side=OrderSide.SELL, quantity=5,
                order_type=OrderType.LIMIT, price=D("3300"), product=Product.MIS,
                reduce_only=True, source="exit",
            )
        )  # fmt: skip
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=5)
        assert outcome.level == "error" and "would not only reduce" in outcome.message
        assert (await r.om.get_order(pending.order_id)).status is OrderStatus.OPEN
        assert r.position("TCS") == 5
    finally:
        await r.close()


async def test_exit_of_a_position_above_the_order_value_limit_goes(tmp_path):
    r = await rig(tmp_path, limits=RiskLimits(max_order_value=D("500000")))
    try:
        await r.om.place_order(market("TCS", qty=150))  # 4.65 lakh
        await r.om.place_order(market("TCS", qty=50))  # 6.2 lakh held in all
        await until(lambda: r.position("TCS") == 200)
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=200)
        assert outcome.status is OrderStatus.FILLED, outcome.message
        assert r.position("TCS") == 0
    finally:
        await r.close()


async def test_exit_goes_while_the_kill_switch_halts_new_orders(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(market("TCS", qty=5))
        await until(lambda: r.position("TCS") == 5)
        await r.ks.engage(reason="halt only", flatten=False)
        assert r.position("TCS") == 5
        refused = await r.om.exit_position("NSE", "SBIN", Product.MIS)
        assert "already flat" in refused.message
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=5)
        assert outcome.status is OrderStatus.FILLED, outcome.message
        assert r.position("TCS") == 0
    finally:
        await r.close()


async def test_a_position_that_grew_since_the_confirmation_is_not_exited(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(market("TCS", qty=5))
        await r.om.place_order(market("TCS", qty=4))
        await r.om.place_order(market("TCS", qty=1))
        await until(lambda: r.position("TCS") == 10)
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=5)
        assert outcome.order_id is None and outcome.level == "warning"
        assert "changed from 5 to 10" in outcome.message
        assert r.position("TCS") == 10
        reversed_ = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=-10)
        assert reversed_.order_id is None and r.position("TCS") == 10
    finally:
        await r.close()


async def test_a_leg_that_filled_meanwhile_leaves_only_the_rest_to_exit(tmp_path):
    r = await rig(tmp_path)
    try:
        _entry_id, [stop] = await bracketed(r, qty=10)
        # The stop fills 4 between the trader's confirmation and the exit.
        r.broker.fill(stop.broker_order_id, 4)
        await until(lambda: r.position("TCS") == 6)
        outcome = await r.om.exit_position("NSE", "TCS", Product.MIS, confirmed_quantity=10)
        assert outcome.status is OrderStatus.FILLED and outcome.sent_quantity == 6, outcome.message
        assert r.position("TCS") == 0
        await r.brackets.settle()
        assert (await r.om.get_order(stop.id)).status is OrderStatus.CANCELLED
        assert r.position("TCS") == 0  # never doubled
    finally:
        await r.close()


async def test_the_exit_plan_names_legs_and_orders_left(tmp_path):
    r = await rig(tmp_path)
    try:
        _entry_id, legs = await bracketed(r)
        buy = await r.om.place_order(limit("TCS", side=OrderSide.BUY, qty=5, price="2950"))
        to_cancel, left = r.om.exits.plan("NSE", "TCS", Product.MIS)
        assert {o.id for o in to_cancel} == {o.id for o in legs}
        assert [o.id for o in left] == [buy.order_id]
        assert all(o.source == "bracket" for o in to_cancel)
    finally:
        await r.close()
