"""The paper broker's GTTs: resting in its journal, fired by its prices like Kite's
(single: one trigger; OCO: the first trigger reached places its leg as a LIMIT order and
the other leg is never placed), statuses like Kite's, kept across a restart."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from desktop_oms.brokers.errors import BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.gtt import GttLeg, GttRequest, GttStatus, GttType


def oco(stop="2400", target="2600", quantity=10, last="2450", stop_price=None) -> GttRequest:
    return GttRequest(
        GttType.OCO,
        "NSE",
        "RELIANCE",
        (D(stop), D(target)),
        D(last),
        (
            GttLeg(OrderSide.SELL, quantity, D(stop_price or stop), Product.CNC),
            GttLeg(OrderSide.SELL, quantity, D(target), Product.CNC),
        ),
    )


@pytest.fixture
def paper(tmp_path):
    broker = PaperBroker(state_path=tmp_path / "paper.jsonl", seed=1)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    broker.set_position("NSE", "RELIANCE", Product.CNC, 10, "2450")
    yield broker
    broker._store.close()


async def test_oco_stop_fires_its_leg_and_cancels_the_target(paper):
    gtt_id = await paper.place_gtt(oco(stop_price="2390"))
    paper.set_last_price("NSE", "RELIANCE", "2401")
    (gtt,) = await paper.gtts()
    assert gtt.status is GttStatus.ACTIVE and await paper.orders() == []

    trades = paper.set_last_price("NSE", "RELIANCE", "2399")
    (gtt,) = await paper.gtts()
    assert (gtt.gtt_id, gtt.status, gtt.fired_leg) == (gtt_id, GttStatus.TRIGGERED, 0)
    assert gtt.legs[1].result is None
    result = gtt.legs[0].result
    assert result.placed and result.triggered_at == D("2400")
    (order,) = await paper.orders()
    assert order.broker_order_id == result.order_id and order.client_order_id is None
    assert (order.side, order.order_type, order.price, order.quantity) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        D("2390"),
        10,
    )
    # A SELL LIMIT at 2390 with the price at 2399 is marketable: it fills at 2399.
    assert [(t.quantity, t.price) for t in trades] == [(10, D("2399"))]
    assert order.status is OrderStatus.FILLED
    (position,) = await paper.positions()
    assert position.quantity == 0

    paper.set_last_price("NSE", "RELIANCE", "2700")  # the target: never placed now
    assert len(await paper.orders()) == 1
    with pytest.raises(BrokerRejected, match="not active"):
        await paper.delete_gtt(gtt_id)


async def test_oco_target_fires_the_second_leg(paper):
    await paper.place_gtt(oco())
    paper.set_last_price("NSE", "RELIANCE", "2650")
    (gtt,) = await paper.gtts()
    assert gtt.status is GttStatus.TRIGGERED and gtt.fired_leg == 1
    (order,) = await paper.orders()
    assert order.price == D("2600") and order.status is OrderStatus.FILLED


async def test_single_trigger_direction_from_the_last_price(paper):
    buy_dip = GttRequest(
        GttType.SINGLE,
        "NSE",
        "RELIANCE",
        (D("2300"),),
        D("2450"),
        (GttLeg(OrderSide.BUY, 5, D("2301"), Product.CNC),),
    )
    await paper.place_gtt(buy_dip)
    paper.set_last_price("NSE", "RELIANCE", "2900")  # the other way: nothing
    assert await paper.orders() == []
    paper.set_last_price("NSE", "RELIANCE", "2299.95")
    (gtt,) = await paper.gtts()
    assert gtt.status is GttStatus.TRIGGERED
    (order,) = await paper.orders()
    assert order.side is OrderSide.BUY and order.quantity == 5


async def test_modify_and_delete(paper):
    gtt_id = await paper.place_gtt(oco())
    await paper.modify_gtt(gtt_id, oco(stop="2350", target="2700", quantity=4))
    (gtt,) = await paper.gtts()
    assert gtt.trigger_values == (D("2350"), D("2700")) and gtt.legs[0].quantity == 4
    paper.set_last_price("NSE", "RELIANCE", "2390")  # the old stop: no longer
    assert await paper.orders() == []
    await paper.delete_gtt(gtt_id)
    (gtt,) = await paper.gtts()
    assert gtt.status is GttStatus.DELETED
    paper.set_last_price("NSE", "RELIANCE", "2300")
    assert await paper.orders() == []
    with pytest.raises(OrderNotFoundAtBroker):
        await paper.delete_gtt(99)


async def test_refusals_like_kites(paper):
    with pytest.raises(BrokerRejected, match="first trigger price more than the last price"):
        await paper.place_gtt(oco(stop="2460"))
    with pytest.raises(BrokerRejected, match="Tick size"):
        await paper.place_gtt(oco(stop_price="2399.97"))
    intraday = GttRequest(
        GttType.SINGLE,
        "NSE",
        "RELIANCE",
        (D("2300"),),
        D("2450"),
        (GttLeg(OrderSide.SELL, 5, D("2300"), Product.MIS),),
    )
    with pytest.raises(BrokerRejected, match="CNC/NRML"):
        await paper.place_gtt(intraday)
    assert await paper.gtts() == []


async def test_a_leg_the_exchange_refuses_leaves_the_gtt_triggered_with_the_reason(paper):
    paper.set_funds("0")
    paper.clear_position("NSE", "RELIANCE", Product.CNC)
    buy = GttRequest(
        GttType.SINGLE,
        "NSE",
        "RELIANCE",
        (D("2500"),),
        D("2450"),
        (GttLeg(OrderSide.BUY, 100, D("2501"), Product.CNC),),
    )
    await paper.place_gtt(buy)
    paper.set_last_price("NSE", "RELIANCE", "2500")
    (gtt,) = await paper.gtts()
    assert gtt.status is GttStatus.TRIGGERED
    result = gtt.legs[0].result
    assert not result.placed and result.status == "failed"
    assert "Insufficient funds" in result.rejection_reason
    assert await paper.orders() == []


async def test_gtts_survive_a_restart_and_fire_after_it(tmp_path, paper):
    first = await paper.place_gtt(oco())
    second = await paper.place_gtt(oco(stop="2420", target="2480"))
    await paper.delete_gtt(second)
    await paper.close()

    reopened = PaperBroker(state_path=tmp_path / "paper.jsonl", seed=1)
    try:
        gtts = {g.gtt_id: g for g in await reopened.gtts()}
        assert gtts[first].status is GttStatus.ACTIVE
        assert gtts[second].status is GttStatus.DELETED
        assert gtts[first].created_at.utcoffset() is not None
        third = await reopened.place_gtt(oco())
        assert third not in (first, second)
        reopened.set_last_price("NSE", "RELIANCE", "2390")
        gtts = {g.gtt_id: g for g in await reopened.gtts()}
        assert gtts[first].status is GttStatus.TRIGGERED
        reopened.compact()
    finally:
        await reopened.close()

    compacted = PaperBroker(state_path=tmp_path / "paper.jsonl", seed=1)
    try:
        after = {g.gtt_id: g for g in await compacted.gtts()}
        assert after == gtts
        assert (await compacted.place_gtt(oco())) > third
    finally:
        await compacted.close()
