"""The pre-trade validator predicts the exchange's and Zerodha's refusals with a knowable
reason before sending (issue 14): the circuit limits from the quote (with `price_band`)
and the MIS entry cut-off near the close (with `order_shape`), in `problems` (the
ticket's pre-flight) and `validate` alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from desktop_oms.domain import OrderSide, OrderType, Product, Tick
from desktop_oms.domain.cutoffs import ZERODHA_MIS_CUTOFFS
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.quotes import QuoteCache
from tests.unit.test_risk_checks import long, make, refused, req

D = Decimal
CIRCUITS = {("NSE", "RELIANCE"): (D("2205.00"), D("2695.00"))}


async def test_a_price_outside_the_circuit_limits_is_predicted():
    v = make(circuit_limits=lambda ex, sym: CIRCUITS.get((ex, sym)))
    assert await v.problems(req(price="2700")) == [
        (
            "price_band",
            "Price 2700 is outside the circuit limits of NSE:RELIANCE (2205.00 - 2695.00): "
            "the exchange does not accept it",
        )
    ]
    assert (await refused(v, req(price="2700"))).failed_check == "price_band"
    stop = req(kind=OrderType.SL_M, price=None, trigger_price=D("2200"), side=OrderSide.SELL)
    [(check, reason)] = await v.problems(stop)
    assert check == "price_band" and reason.startswith("Trigger price 2200 is outside")
    assert await v.problems(req(price="2695")) == []  # at the limit: accepted
    assert await v.problems(req(symbol="INFY", price="1500")) == []  # limits not known


async def test_circuit_limits_come_from_the_last_quote_that_carried_them():
    """Kite's /quote gives the day's circuit limits, its stream does not: the quote cache
    keeps them across the stream's ticks."""
    quotes = QuoteCache()
    at = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
    quotes.on_ticks(
        [
            Tick(
                "NSE",
                "RELIANCE",
                D("2450"),
                at,
                extra={"lower_circuit_limit": D("2205"), "upper_circuit_limit": D("2695")},
            )
        ]
    )
    quotes.on_ticks([Tick("NSE", "RELIANCE", D("2451"), at)])  # a streamed tick
    assert quotes.circuit_limits("NSE", "RELIANCE") == (D("2205"), D("2695"))
    v = make(circuit_limits=quotes.circuit_limits)
    assert [c for c, _ in await v.problems(req(price="2696"))] == ["price_band"]


@pytest.mark.mis_cutoff
async def test_a_fresh_mis_entry_after_the_cut_off_is_predicted_an_exit_is_not():
    now = [datetime(2026, 12, 8, 15, 19, tzinfo=IST)]  # a Tuesday
    v = make(
        wall_clock=lambda: now[0],
        positions=[long(qty=10)],
        mis_cutoffs=ZERODHA_MIS_CUTOFFS,
    )
    assert await v.problems(req(price="2450")) == []
    now[0] = datetime(2026, 12, 8, 15, 21, tzinfo=IST)
    [(check, reason)] = await v.problems(req(price="2450"))
    assert check == "order_shape" and "auto square-off time (15:20 IST for NSE" in reason
    assert (await refused(v, req(price="2450"))).failed_check == "order_shape"
    assert await v.problems(req(side=OrderSide.SELL, qty=10, price="2450")) == []  # exit
    assert await v.problems(req(price="2450", product=Product.CNC)) == []


async def test_the_suite_turns_the_cut_off_off_outside_marked_tests():
    """tests/conftest.py: the validator's default table is empty here (a test on the wall
    clock must not fail ten minutes a day); the rule's own tests pass it explicitly."""
    now = datetime(2026, 12, 8, 15, 25, tzinfo=IST)
    assert await make(wall_clock=lambda: now).problems(req(price="2450")) == []
