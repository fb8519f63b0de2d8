"""Moving a bracket's target (issue 17: drag the target line on the chart): the app
watches the target, so `move_target` changes the bracket's record; the exit then comes
at the new target, also after a restart. Refused: a target the price has passed (it
would exit at once), a closed bracket, a bracket without a target."""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain import OrderSide, OrderStatus, OrderType
from tests.helpers import until
from tests.integration.test_brackets import exits, place_entry, working
from tests.integration.test_risk_harness import rig

D = Decimal


async def test_the_target_moves_and_the_exit_comes_there(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await place_entry(r, price="2450", sl="2430", tp="2490")  # fills at once
        await r.brackets.settle()
        [stop] = working(await exits(r, entry.id))
        assert "above the last price" in r.brackets.move_target(entry.id, D("2445"))
        assert "multiple of the tick" in r.brackets.move_target(entry.id, D("2470.01"))
        assert r.brackets.move_target(entry.id, D("2470")) is None
        assert r.brackets.view(entry.id).take_profit == D("2470")
        assert r.store.bracket(entry.id).take_profit == D("2470")
        events = await r.om.get_order_events(entry.id)
        assert any("target moved to 2470" in (e.reason or "") for e in events)
        await r.restart()  # kept in the database
        r.broker.set_last_price("NSE", "RELIANCE", D("2471"))
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        legs = {o.id: o for o in await exits(r, entry.id)}
        assert legs[stop.id].status is OrderStatus.CANCELLED
        [market] = [o for o in legs.values() if o.sent_type is OrderType.MARKET]
        assert market.side is OrderSide.SELL and market.filled_quantity == 100
        pos = r.pm.peek("NSE", "RELIANCE", entry.product)
        assert pos.realized_pnl == (D("2471") - D("2450")) * 100
    finally:
        await r.close()


async def test_a_passed_target_a_closed_bracket_or_none_is_refused(tmp_path):
    r = await rig(tmp_path)
    try:
        short = await place_entry(r, price="2450", side=OrderSide.SELL, sl="2470", tp="2410")
        await r.brackets.settle()
        assert "below the last price" in r.brackets.move_target(short.id, D("2455"))
        assert r.brackets.move_target(short.id, D("2400")) is None
        r.broker.set_last_price("NSE", "RELIANCE", D("2480"))  # through the stop
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        assert "no active bracket" in r.brackets.move_target(short.id, D("2400"))
        bare = await place_entry(r, price="2440", sl="2420", tp=None)
        assert "no target" in r.brackets.move_target(bare.id, D("2500"))
        assert "no active bracket" in r.brackets.move_target(999_999, D("2500"))
    finally:
        await r.close()
