"""The validator inside the OMS: bursts of concurrent clicks, orders still in flight,
the paper broker's funds. Monotonic time is frozen so the 1 s window is deterministic."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from desktop_oms.domain import OrderStatus
from desktop_oms.oms import OrderRejected
from desktop_oms.risk import RiskLimits
from tests.helpers import limit
from tests.integration.test_risk_harness import rig

D = Decimal


class Frozen:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


async def outcomes(tasks):
    results = await asyncio.gather(*tasks, return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, OrderRejected)]
    other = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, OrderRejected)
    ]
    assert not other, other
    return ok, refused


async def test_a_burst_of_concurrent_clicks_cannot_pass_the_order_rate(tmp_path):
    clock = Frozen()
    r = await rig(tmp_path, monotonic=clock, latency_s=0.05)  # acks arrive after the burst
    try:
        tasks = [
            asyncio.ensure_future(r.om.place_order(limit(qty=1, price=str(2400 - i))))
            for i in range(15)
        ]
        ok, refused = await outcomes(tasks)
        assert len(ok) == 10 and len(refused) == 5
        assert {e.failed_check for e in refused} == {"order_rate"}
        assert len(await r.om.list_orders()) == 10  # refused attempts were never journaled
        # Refused attempts do not count: one second after the ten, exactly ten more fit.
        clock.t += 1.0
        tasks = [
            asyncio.ensure_future(r.om.place_order(limit(qty=1, price=str(2300 - i))))
            for i in range(11)
        ]
        ok, refused = await outcomes(tasks)
        assert (len(ok), len(refused)) == (10, 1)
    finally:
        await r.close()


async def test_duplicates_and_open_positions_count_orders_in_flight(tmp_path):
    clock = Frozen()
    r = await rig(tmp_path, limits=RiskLimits(max_open_positions=2), monotonic=clock, latency_s=0.2)
    try:
        first = asyncio.ensure_future(r.om.place_order(limit(qty=5, price="2450")))
        second = asyncio.ensure_future(r.om.place_order(limit(qty=5, price="2450")))
        ok, refused = await outcomes([first, second])
        assert len(ok) == 1 and refused[0].failed_check == "duplicate_order"
        clock.t += 10
        # One position held; two more would open concurrently, while neither is acknowledged.
        a = asyncio.ensure_future(r.om.place_order(limit("INFY", qty=1, price="1500")))
        b = asyncio.ensure_future(r.om.place_order(limit("TCS", qty=1, price="3100")))
        ok, refused = await outcomes([a, b])
        assert len(ok) == 1 and refused[0].failed_check == "max_open_positions"
    finally:
        await r.close()


async def test_margin_uses_the_paper_brokers_funds_and_orders_in_flight(tmp_path):
    clock = Frozen()
    r = await rig(tmp_path, monotonic=clock, latency_s=0.2)
    try:
        r.broker.set_funds("100000")  # MIS blocks 20%: 100 RELIANCE @ 2450 need 49,000
        a = asyncio.ensure_future(r.om.place_order(limit(qty=100, price="2450")))
        b = asyncio.ensure_future(r.om.place_order(limit(qty=100, price="2450.05")))
        c = asyncio.ensure_future(r.om.place_order(limit(qty=100, price="2450.10")))
        ok, refused = await outcomes([a, b, c])
        assert len(ok) == 2 and refused[0].failed_check == "margin"
        assert "Insufficient margin" in refused[0].reason
        assert all(o.status is OrderStatus.FILLED for o in await r.om.list_orders())
        # Closing needs no margin, even with none left.
        r.broker.set_funds("0")
        clock.t += 10
        await r.om.place_order(limit(qty=200, price="2450", side="SELL"))
        assert r.position() == 0
    finally:
        await r.close()


async def test_kill_switch_check_in_the_validator_refuses_even_without_the_oms_halt(tmp_path):
    r = await rig(tmp_path)
    try:
        r.ks.state = "ENGAGED"  # as if engaged by another process' state
        with pytest.raises(OrderRejected) as exc:
            await r.validator.validate(limit(qty=1))
        assert exc.value.failed_check == "kill_switch"
        r.ks.state = "ARMED"
    finally:
        await r.close()
