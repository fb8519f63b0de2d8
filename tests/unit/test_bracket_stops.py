"""A bracket's stop order (issue 18): SL-M where allowed; an SL with a limit beyond the
trigger on NSE/BSE options (SL-M refused there since 2021), on the tick."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from desktop_oms.domain import Instrument, OrderSide, OrderType, Product
from desktop_oms.risk.brackets.manager import BracketManager, stop_order_terms
from desktop_oms.storage.risk_store import BracketLink

D = Decimal


@pytest.mark.parametrize(
    ("side", "trigger", "expected"),
    [
        (OrderSide.SELL, D("100.00"), D("95.00")),  # a long's stop: limit 5% below
        (OrderSide.BUY, D("100.00"), D("105.00")),  # a short's: 5% above
        (OrderSide.SELL, D("0.50"), D("0.45")),  # at least one tick
        (OrderSide.SELL, D("0.05"), D("0.05")),  # never below the smallest price
        (OrderSide.SELL, D("123.45"), D("117.25")),  # rounded down onto the tick
        (OrderSide.BUY, D("123.45"), D("129.65")),  # rounded up onto the tick
    ],
)
def test_an_sl_stops_limit_is_beyond_its_trigger_on_the_tick(side, trigger, expected):
    kind, price, trig = stop_order_terms(side, trigger, D("0.05"), sl_m_allowed=False)
    assert (kind, price, trig) == (OrderType.SL, expected, trigger)


def test_sl_m_where_the_exchange_allows_it():
    assert stop_order_terms(OrderSide.SELL, D("2420"), D("0.05"), sl_m_allowed=True) == (
        OrderType.SL_M, None, D("2420"),
    )  # fmt: skip


class _Instruments:
    def __init__(self, *items):
        self.items = {(i.exchange, i.symbol): i for i in items}

    def get(self, exchange, symbol):
        return self.items.get((exchange, symbol))


def _manager(instruments):
    om = SimpleNamespace(events=SimpleNamespace(), instruments=instruments)
    return BracketManager(om, store=None)


def _link(exchange, symbol):
    return BracketLink(1, exchange, symbol, Product.MIS, OrderSide.BUY, D("100"), None)


def test_options_get_sl_stops_futures_and_stocks_sl_m():
    call = Instrument("NFO", "NIFTY26D0826400CE", 1, "NIFTY", D("0.05"), 65, instrument_type="CE")
    fut = Instrument("NFO", "NIFTY26DECFUT", 2, "NIFTY", D("0.05"), 65, instrument_type="FUT")
    sensex_put = Instrument("BFO", "SENSEX26D0381000PE", 3, "SENSEX", D("0.05"), 20, instrument_type="PE")  # fmt: skip
    manager = _manager(_Instruments(call, fut, sensex_put))
    assert not manager._sl_m_allowed(_link("NFO", call.symbol))
    assert not manager._sl_m_allowed(_link("BFO", sensex_put.symbol))
    assert manager._sl_m_allowed(_link("NFO", fut.symbol))
    assert manager._sl_m_allowed(_link("NSE", "RELIANCE"))
    # an option the instrument list does not know yet: judged by its symbol
    assert not manager._sl_m_allowed(_link("NFO", "BANKNIFTY26DEC52000PE"))
