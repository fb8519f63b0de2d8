"""GTTs through KiteBroker and the real kiteconnect client against the local Kite server:
place, list, modify, delete, firing (one leg of an OCO placed, the other never), Kite's
refusals and a lost answer (never resent)."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.gtt import GttLeg, GttRequest, GttStatus, GttType
from tests.kite_server import KiteTestServer
from tests.kite_server.helpers import make_broker


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", "INFY", D("1500"))
        yield s


@pytest.fixture
async def broker(server):
    b = make_broker(server)
    await b.start()
    yield b
    await b.close()


def oco(stop="1450", target="1600", quantity=10, last="1500") -> GttRequest:
    return GttRequest(
        GttType.OCO,
        "NSE",
        "INFY",
        (D(stop), D(target)),
        D(last),
        (
            GttLeg(OrderSide.SELL, quantity, D(stop) - D("0.5"), Product.CNC),
            GttLeg(OrderSide.SELL, quantity, D(target), Product.CNC),
        ),
    )


async def test_round_trip_place_list_modify_delete(server, broker):
    gtt_id = await broker.place_gtt(oco())
    assert isinstance(gtt_id, int)
    sent = server.form_of_last("POST", "/gtt/triggers")
    assert sent["type"] == "two-leg"
    assert json.loads(sent["condition"])["trigger_values"] == [1450.0, 1600.0]
    assert json.loads(sent["orders"])[0]["price"] == 1449.5

    (gtt,) = await broker.gtts()
    assert (gtt.gtt_id, gtt.status, gtt.gtt_type) == (gtt_id, GttStatus.ACTIVE, GttType.OCO)
    assert gtt.trigger_values == (D("1450"), D("1600"))
    assert [leg.quantity for leg in gtt.legs] == [10, 10]
    assert gtt.created_at.utcoffset().total_seconds() == 5.5 * 3600

    await broker.modify_gtt(gtt_id, oco(stop="1400", target="1650", quantity=5))
    (gtt,) = await broker.gtts()
    assert gtt.trigger_values == (D("1400"), D("1650"))
    assert [leg.quantity for leg in gtt.legs] == [5, 5]

    await broker.delete_gtt(gtt_id)
    (gtt,) = await broker.gtts()
    assert gtt.status is GttStatus.DELETED
    with pytest.raises(BrokerRejected, match="not active"):
        await broker.modify_gtt(gtt_id, oco())
    with pytest.raises(OrderNotFoundAtBroker):
        await broker.delete_gtt(999)


async def test_stop_fires_its_leg_and_never_the_target(server, broker):
    gtt_id = await broker.place_gtt(oco())
    server.set_price("NSE", "INFY", D("1460"))
    assert server.book.order_list() == []
    server.set_price("NSE", "INFY", D("1449"))
    (gtt,) = await broker.gtts()
    assert gtt.gtt_id == gtt_id and gtt.status is GttStatus.TRIGGERED
    assert gtt.fired_leg == 0 and gtt.legs[1].result is None
    result = gtt.legs[0].result
    assert result.placed and result.triggered_at == D("1450")
    (order,) = await broker.orders()
    assert order.broker_order_id == result.order_id
    assert (order.side, order.order_type, order.quantity, order.price, order.product) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        10,
        D("1449.5"),
        Product.CNC,
    )
    assert order.status in (OrderStatus.OPEN, OrderStatus.SUBMITTED)
    server.set_price("NSE", "INFY", D("1700"))  # the target's price: nothing more is placed
    assert len(await broker.orders()) == 1


async def test_kite_refusals_are_rejections(server, broker):
    with pytest.raises(BrokerRejected, match="first trigger price"):
        await broker.place_gtt(oco(stop="1510"))
    assert server.count("POST", "/gtt/triggers") == 0  # refused before sending
    server.fault(
        "POST",
        "/gtt/triggers",
        status=400,
        body=json.dumps(
            {"status": "error", "message": "Invalid trigger data.", "error_type": "InputException"}
        ).encode(),
    )
    with pytest.raises(BrokerRejected, match="Invalid trigger data"):
        await broker.place_gtt(oco())


async def test_a_lost_answer_is_unknown_and_not_resent(server, broker):
    server.drop_next("POST", "/gtt/triggers", process=True)
    with pytest.raises(BrokerOutcomeUnknown, match="not sent again"):
        await broker.place_gtt(oco())
    assert server.count("POST", "/gtt/triggers") == 1
    (gtt,) = await broker.gtts()  # it was made: the list shows it
    assert gtt.status is GttStatus.ACTIVE
