"""The kill switch on the paper broker (10 requests/s): halted at once, everything cancelled
and flat, verified with the broker; persisted across restarts; re-arm rules."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from desktop_oms.brokers.errors import BrokerUnavailable
from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.oms import OrderRejected
from desktop_oms.risk import RearmRefused, RiskLimits
from tests.helpers import limit, market, until
from tests.integration.test_risk_harness import FakeClock, rig

D = Decimal
ROOMY = RiskLimits(capital=D("10000000"), max_open_positions=20, max_order_value=D("5000000"))


def stepping():
    """A monotonic clock one second further on each reading: the order-rate and duplicate
    checks never bind, so a test can place many orders quickly."""
    counter = itertools.count(start=1000.0, step=1.0)
    return lambda: next(counter)


async def open_book(r) -> None:
    """3 positions (long, short, CNC) and 14 resting orders (limits and stops)."""
    await r.om.place_order(limit(qty=10, price="2450"))
    await r.om.place_order(limit("INFY", side=OrderSide.SELL, qty=5, price="1500"))
    await r.om.place_order(limit("TCS", qty=3, price="3100", product=Product.CNC))
    for i in range(10):
        await r.om.place_order(limit(qty=1, price=str(D("2400") - i)))
    for i in range(2):
        await r.om.place_order(limit("INFY", qty=1, price=str(1450 - i)))
    from desktop_oms.domain import OrderRequest

    for i in range(2):
        await r.om.place_order(
            OrderRequest(
                symbol="SBIN",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=1,
                order_type=OrderType.SL_M,
                trigger_price=D("820") + i,
                product=Product.MIS,
            )  # fmt: skip
        )
    assert len(await r.broker_open_orders()) == 14
    assert len(r.pm.open_positions()) == 3


async def test_engage_cancels_everything_flattens_and_verifies(tmp_path):
    r = await rig(tmp_path, limits=ROOMY, monotonic=stepping(), requests_per_second=10)
    try:
        await open_book(r)
        result = await r.ks.engage(reason="testing the switch")
        assert result.verified, result.message
        assert (result.to_cancel, result.cancelled, result.to_flatten, result.flattened) == (
            14,
            14,
            3,
            3,
        )
        assert result.message == "cancelled 14/14, flattened 3/3, verified flat with broker"
        # The broker itself: nothing open, nothing held.
        assert await r.broker_open_orders() == []
        assert await r.broker_positions() == {}
        assert r.pm.open_positions() == []
        assert r.ks.engaged and r.om.halted
        # Progress was published step by step, and ended DONE.
        progress = r.progress()
        assert (
            progress[0].state == "ENGAGING" and progress[0].message == "halted: new orders refused"
        )
        assert any(p.message == "cancelled 14/14" for p in progress)
        assert progress[-1].state == "DONE" and (
            progress[-1].cancelled,
            progress[-1].flattened,
        ) == (14, 3)
        # Audit: a KILL_SWITCH event on every order it touched; risk_events for the steps.
        with r.db.read() as conn:
            touched = conn.execute(
                text(
                    "SELECT COUNT(DISTINCT order_id) FROM order_events WHERE event_type='KILL_SWITCH'"
                )
            ).scalar()
            kinds = [
                row[0] for row in conn.execute(text("SELECT kind FROM risk_events ORDER BY id"))
            ]
            flatten = conn.execute(
                text("SELECT COUNT(*) FROM orders WHERE source='kill_switch' AND status='FILLED'")
            ).scalar()
        assert touched == 14 + 3 and flatten == 3
        assert kinds[0] == "kill_switch_engaged" and kinds[-1] == "kill_switch_done"
        assert {"kill_switch_cancelled", "kill_switch_flattened"} <= set(kinds)
        # New orders are refused.
        with pytest.raises(OrderRejected) as exc:
            await r.om.place_order(limit(qty=1, price="2440"))
        assert exc.value.failed_check == "kill_switch"
    finally:
        await r.close()


async def test_new_orders_are_refused_before_engage_first_awaits(tmp_path):
    r = await rig(tmp_path, limits=ROOMY)
    try:
        # Scheduled in the same loop iteration, engage first: the order must be refused.
        engage = asyncio.ensure_future(r.ks.engage(reason="race"))
        order = asyncio.ensure_future(r.om.place_order(limit(qty=1, price="2440")))
        with pytest.raises(OrderRejected) as exc:
            await order
        assert exc.value.failed_check == "kill_switch"
        await engage
        # Step the coroutine by hand: after its first step (up to its first suspension)
        # trading is halted and ENGAGED is on disk.
        r.ks.rearm()
        assert not r.om.halted
        coro = r.ks.engage(reason="by hand")
        coro.send(None)
        assert r.om.halted and r.ks.state == "ENGAGING"
        with r.db.read() as conn:
            saved = json.loads(
                conn.execute(text("SELECT value FROM app_state WHERE key='kill_switch'")).scalar()
            )
        assert saved["engaged"] is True and saved["reason"] == "by hand"
        coro.close()  # the work itself runs on, shielded
        await r.ks._task
    finally:
        await r.close()


async def test_restart_comes_back_engaged_and_halted(tmp_path):
    r = await rig(tmp_path, limits=ROOMY)
    await r.om.place_order(limit(qty=2, price="2450"))
    task = r.ks.engage_now("end of the world")  # persisted synchronously
    await task
    await r.restart()
    try:
        assert r.ks.engaged and r.ks.reason == "end of the world"
        assert r.om.halted
        with pytest.raises(OrderRejected) as exc:
            await r.om.place_order(limit(qty=1, price="2440"))
        assert exc.value.failed_check == "kill_switch"
        r.ks.rearm()
        await r.restart()
        assert not r.ks.engaged and not r.om.halted
        assert (await r.om.place_order(limit(qty=1, price="2450"))).status is OrderStatus.FILLED
    finally:
        await r.close()


async def test_rearm_rules(tmp_path):
    clock = FakeClock()  # Monday 11:00 IST
    r = await rig(tmp_path, limits=ROOMY, clock=clock)
    try:
        task = r.ks.engage_now("manual")
        with pytest.raises(RearmRefused, match="still working"):
            r.ks.rearm()  # the switch is busy
        await task
        breached = {"value": True}
        r.ks.loss_limit_breached = lambda: breached["value"]
        assert r.ks.can_rearm() == (
            False,
            "The daily loss limit is breached: trading stays halted for today",
        )
        with pytest.raises(RearmRefused, match="daily loss limit"):
            r.ks.rearm()
        assert r.ks.engaged and r.om.halted
        breached["value"] = False
        # Another halt (an expired session) outlives the re-arm.
        r.om.halt("Kite session expired", source="session")
        r.ks.rearm()
        assert not r.ks.engaged and r.om.halt_reason == "Kite session expired"
        r.om.resume("session")
        assert not r.om.halted
        r.ks.rearm()  # armed already: nothing to do
        kinds = [e.kind for e in r.store.audit_log()]
        assert kinds.count("kill_switch_rearm_refused") == 2 and "kill_switch_rearmed" in kinds
    finally:
        await r.close()


async def test_cool_off_until_the_next_trading_day(tmp_path):
    clock = FakeClock()
    clock.at = clock.at + timedelta(days=4)  # Friday 11:00 IST
    r = await rig(tmp_path, limits=replace(ROOMY, kill_switch_cool_off=True), clock=clock)
    try:
        await r.ks.engage(reason="tilt")
        assert r.ks.cool_off_until.isoformat() == "2026-05-11"  # Monday
        clock.at += timedelta(days=2)  # Sunday
        with pytest.raises(RearmRefused, match="2026-05-11"):
            r.ks.rearm()
        await r.restart()  # the cool-off is persisted too
        assert r.ks.cool_off_until.isoformat() == "2026-05-11"
        clock.at += timedelta(days=1)  # Monday
        r.ks.rearm()
        assert not r.om.halted
    finally:
        await r.close()


async def test_without_flattening_positions_and_their_stops_stay(tmp_path):
    limits = replace(ROOMY, flatten_on_kill_switch=False)
    r = await rig(tmp_path, limits=limits)
    try:
        await r.om.place_order(
            limit(qty=10, price="2450", stop_loss=D("2430"), take_profit=D("2500"))
        )
        await r.brackets.settle()
        await r.om.place_order(limit("INFY", qty=5, price="1450"))  # a resting entry
        assert len(await r.broker_open_orders()) == 2  # the stop rests; the target is watched
        result = await r.ks.engage(reason="halt only")
        assert result.verified and result.kept == 1
        assert result.message == "cancelled 1/1, kept 1 protective exit, verified with broker"
        still = await r.broker_open_orders()
        assert [o.order_type.value for o in still] == ["SL-M"]
        assert r.position() == 10
        # The stop still protects the position while halted.
        r.broker.set_last_price("NSE", "RELIANCE", D("2425"))
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        assert await r.broker_open_orders() == []
    finally:
        await r.close()


async def test_failed_cancels_are_retried(tmp_path):
    r = await rig(tmp_path, limits=ROOMY, monotonic=stepping())
    try:
        for i in range(3):
            await r.om.place_order(limit(qty=1, price=str(2400 - i)))
        real = r.broker.cancel_order
        calls = {"n": 0}

        async def flaky(broker_order_id, **kw):
            calls["n"] += 1
            if calls["n"] <= 2:
                raise BrokerUnavailable("network down")
            return await real(broker_order_id, **kw)

        r.broker.cancel_order = flaky
        result = await r.ks.engage(reason="flaky network")
        assert result.verified and result.cancelled == 3
        assert any("network down" in e for e in result.errors)
        assert await r.broker_open_orders() == []
    finally:
        await r.close()


async def test_positions_only_the_broker_knows_are_flattened_too(tmp_path):
    r = await rig(tmp_path, limits=ROOMY)
    try:
        await r.om.place_order(market(qty=4))
        r.broker.set_position("NSE", "SBIN", "MIS", 7, "800")  # traded elsewhere (Kite web)
        result = await r.ks.engage(reason="everything")
        assert result.verified, result.message
        assert await r.broker_positions() == {}
        assert r.pm.peek("NSE", "SBIN", Product.MIS).quantity == 0
    finally:
        await r.close()


async def test_engaging_twice_while_working_runs_once(tmp_path):
    r = await rig(tmp_path, limits=ROOMY)
    try:
        await r.om.place_order(limit(qty=1, price="2400"))
        first = asyncio.ensure_future(r.ks.engage(reason="one"))
        second = asyncio.ensure_future(r.ks.engage(reason="two"))
        a, b = await asyncio.gather(first, second)
        assert a is b and r.ks.reason == "one"
        assert [e.kind for e in r.store.audit_log()].count("kill_switch_engaged") == 1
    finally:
        await r.close()
