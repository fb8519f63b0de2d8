"""GTTs: Kite's trigger rows parsed (Zerodha's own mocks), the request Kite is sent, the
rules Kite refuses a GTT by, which leg a price fires, and the OCO that protects a position."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.kite.parsing.gtt import gtt_from_kite, gtt_params, trigger_id_of
from desktop_oms.brokers.kite.parsing.values import BrokerDataError, UnsupportedKiteRow
from desktop_oms.domain import OrderSide, OrderType, Product
from desktop_oms.domain.gtt import (
    GttLeg,
    GttRequest,
    GttStatus,
    GttType,
    fired_leg,
    gtt_problem,
)
from desktop_oms.infra.clock import IST
from desktop_oms.risk.gtt import GttManager, GttRefused, protective_oco
from tests.kite_server.mocks import mock_data


def oco(stop="95", target="110", last="100", quantity=10, product=Product.CNC) -> GttRequest:
    return GttRequest(
        GttType.OCO,
        "NSE",
        "INFY",
        (D(stop), D(target)),
        D(last),
        (
            GttLeg(OrderSide.SELL, quantity, D(stop), product),
            GttLeg(OrderSide.SELL, quantity, D(target), product),
        ),
    )


def test_zerodha_gtt_list_is_parsed_exactly():
    single, two_leg = (gtt_from_kite(row) for row in mock_data("gtt_get_orders.json"))
    assert single.gtt_id == 112127 and isinstance(single.gtt_id, int)
    assert single.gtt_type is GttType.SINGLE and single.status is GttStatus.ACTIVE
    assert (single.exchange, single.symbol) == ("NSE", "INFY")
    assert single.trigger_values == (D("702"),) and single.last_price == D("798")
    (leg,) = single.legs
    assert (leg.side, leg.quantity, leg.price, leg.product, leg.order_type) == (
        OrderSide.BUY,
        1,
        D("702.5"),
        Product.CNC,
        OrderType.LIMIT,
    )
    assert leg.result is None
    assert single.created_at == datetime(2019, 9, 12, 13, 25, 16, tzinfo=IST)
    assert single.expires_at == datetime(2020, 9, 12, 13, 25, 16, tzinfo=IST)

    assert two_leg.gtt_type is GttType.OCO and two_leg.status is GttStatus.TRIGGERED
    assert two_leg.trigger_values == (D("102.0"), D("103.7"))
    assert two_leg.legs[0].result is None
    result = two_leg.legs[1].result
    assert two_leg.fired_leg == 1
    assert result.triggered_at == D("103.7") and result.status == "failed"
    assert result.order_id is None and not result.placed
    assert "lower circuit limit" in result.rejection_reason
    assert result.at == datetime(2019, 9, 9, 15, 15, 8, tzinfo=IST)


def test_single_gtt_info_and_trigger_ids():
    gtt = gtt_from_kite(mock_data("gtt_get_order.json"))
    assert gtt.gtt_id == 123 and gtt.symbol == "RAIN"
    for name in ("gtt_place_order.json", "gtt_modify_order.json", "gtt_delete_order.json"):
        assert trigger_id_of(mock_data(name)) == 123


def test_garbled_and_unknown_rows():
    row = mock_data("gtt_get_order.json")
    with pytest.raises(BrokerDataError):
        gtt_from_kite({**row, "condition": None})
    with pytest.raises(BrokerDataError):
        gtt_from_kite({**row, "orders": []})
    with pytest.raises(UnsupportedKiteRow):
        gtt_from_kite({**row, "status": "frozen"})
    with pytest.raises(BrokerDataError):
        trigger_id_of({"trigger_id": "x"})


def test_params_are_what_kiteconnect_json_encodes():
    params = gtt_params(oco(stop="1499.95", target="1600.05", last="1550"))
    assert params["trigger_type"] == "two-leg"
    assert json.dumps(params["trigger_values"]) == "[1499.95, 1600.05]"
    assert params["orders"][0] == {
        "transaction_type": "SELL",
        "quantity": 10,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": 1499.95,
    }


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (oco(), None),
        (oco(stop="101"), "first trigger price more than the last price"),
        (oco(target="99"), "second trigger price less than the last price"),
        (oco(stop="100"), "equal to the last price"),
        (oco(quantity=0), "quantity"),
        (oco(product=Product.MIS), "CNC/NRML"),
    ],
)
def test_what_kite_refuses(request_, problem):
    found = gtt_problem(request_)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_oco_fires_the_first_trigger_reached():
    gtt = oco()
    assert fired_leg(gtt, D("100")) is None
    assert fired_leg(gtt, D("95.05")) is None
    assert fired_leg(gtt, D("95")) == 0
    assert fired_leg(gtt, D("90")) == 0
    assert fired_leg(gtt, D("110")) == 1


def test_single_direction_comes_from_the_last_price():
    below = GttRequest(
        GttType.SINGLE, "NSE", "INFY", (D("90"),), D("100"),
        (GttLeg(OrderSide.SELL, 1, D("89"), Product.CNC),),
    )  # fmt: skip
    above = GttRequest(
        GttType.SINGLE, "NSE", "INFY", (D("110"),), D("100"),
        (GttLeg(OrderSide.BUY, 1, D("111"), Product.CNC),),
    )  # fmt: skip
    assert fired_leg(below, D("95")) is None and fired_leg(below, D("90")) == 0
    assert fired_leg(below, D("120")) is None
    assert fired_leg(above, D("105")) is None and fired_leg(above, D("110.5")) == 0
    assert fired_leg(above, D("80")) is None


# ---- the protective OCO the risk layer builds (risk/gtt.py) ----------------------------

LONG = ("NSE", "INFY", Product.CNC)


def test_protective_oco_of_a_long_and_a_short():
    long = protective_oco(LONG, 20, D("1500"), D("1450"), D("1600"))
    assert long.trigger_values == (D("1450"), D("1600"))
    assert [(leg.side, leg.quantity, leg.price) for leg in long.legs] == [
        (OrderSide.SELL, 20, D("1435.50")),  # 1 % below the trigger, on the tick, down
        (OrderSide.SELL, 20, D("1600")),
    ]
    short = protective_oco(
        ("NFO", "NIFTY25JANFUT", Product.NRML), -75, D("23500"), D("23700"), D("23000")
    )
    assert short.trigger_values == (D("23000"), D("23700"))  # Kite's order: lower first
    assert [(leg.side, leg.price) for leg in short.legs] == [
        (OrderSide.BUY, D("23000")),
        (OrderSide.BUY, D("23937.00")),
    ]
    assert protective_oco(LONG, 5, D("1500"), D("1450"), D("1600"), stop_limit=D("1440")).legs[
        0
    ].price == D("1440")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stop": D("1510")}, "stop must be below"),
        ({"target": D("1490")}, "target above"),
        ({"quantity": 0}, "no open"),
        ({"key": ("NSE", "INFY", Product.MIS)}, "intraday"),
        ({"stop_limit": D("1455")}, "at or beyond its trigger"),
        ({"target": D("1600.03")}, "tick size"),
    ],
)
def test_protective_oco_refusals(kwargs, message):
    args = {"key": LONG, "quantity": 10, "stop": D("1450"), "target": D("1600")} | kwargs
    with pytest.raises(GttRefused, match=message):
        protective_oco(
            args["key"],
            args["quantity"],
            D("1500"),
            args["stop"],
            args["target"],
            stop_limit=args.get("stop_limit"),
        )


class _Store:
    def __init__(self, saved):
        self.saved = saved

    def get_json(self, key):
        return self.saved


def test_unreadable_protection_records_are_not_followed():
    store = _Store(
        {
            "7": {"exchange": "NSE", "symbol": "INFY", "product": "CNC", "side": "SELL"},
            "8": {"exchange": "NSE", "symbol": "INFY", "product": "XYZ", "side": "SELL"},
            "9": {"symbol": "INFY"},
        }
    )
    manager = GttManager(None, None, store, last_price=lambda e, s: None)
    assert manager.protected_keys() == {("NSE", "INFY", Product.CNC)}
