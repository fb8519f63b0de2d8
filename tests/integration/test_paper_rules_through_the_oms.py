"""Issue 14, the paper broker's Kite rules as the OMS meets them (the risk rig: journal,
validator, OrderManager on the paper broker): what the trader sees for a market order
made a protected LIMIT, a price outside the circuit, Kite's 429 and the MIS cut-off."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest

from desktop_oms.brokers.rate_limit import KITE_ORDER_LIMITS
from desktop_oms.domain import OrderSide, OrderStatus, OrderType
from desktop_oms.domain.cutoffs import ZERODHA_MIS_CUTOFFS
from desktop_oms.infra.clock import IST
from desktop_oms.oms import OrderRejected
from desktop_oms.oms.errors import OrderSubmissionFailed
from desktop_oms.risk import RiskLimits
from tests.helpers import limit, market, until
from tests.integration.test_risk_harness import rig

D = Decimal
WIDE = RiskLimits(price_band_pct=D("50"))  # the trader's band wider than the exchange's


async def test_a_market_order_is_journaled_as_the_protected_limit_it_became(tmp_path):
    r = await rig(tmp_path)
    try:
        result = await r.om.place_order(market(qty=10))
        await until(lambda: r.om.order_now(result.order_id).status is OrderStatus.FILLED)
        order = await r.om.get_order(result.order_id)
        assert (order.order_type, order.price, order.protected_from, order.sent_type) == (
            OrderType.LIMIT,
            D("2499.00"),  # 2450 + 2%, on the tick
            OrderType.MARKET,
            OrderType.MARKET,
        )
        assert order.average_price == D("2450")  # it traded at the market
        assert "protected LIMIT at 2499" in order.status_message
    finally:
        await r.close()


async def test_a_price_outside_the_circuit_is_refused_before_sending_when_predicted(tmp_path):
    r = await rig(tmp_path, limits=WIDE)
    try:
        # Without the prediction the paper exchange refuses it, with the rule's reason.
        with pytest.raises(OrderRejected, match="outside the circuit limits of NSE:RELIANCE"):
            await r.om.place_order(limit(qty=1, price="2950"))
        [journaled] = await r.om.list_orders()
        assert journaled.status is OrderStatus.REJECTED  # the broker's refusal, journaled
        # As the app wires it, the validator knows the circuit: nothing is sent.
        r.validator.circuit_limits = r.broker.circuit_limits
        before = len(await r.broker.orders())
        with pytest.raises(OrderRejected) as refused:
            await r.om.place_order(limit(qty=1, price="2955"))
        assert refused.value.failed_check == "price_band"
        assert "(1960.00 - 2940.00)" in str(refused.value)
        assert len(await r.broker.orders()) == before
    finally:
        await r.close()


async def test_past_kites_order_rate_the_broker_answers_like_a_429(tmp_path):
    """The validator's own rate window is off here (a fake monotonic clock that never
    moves lets it pass): the paper broker's is what refuses, as Kite would, and the OMS
    says so without leaving the order working."""
    clock = [1000.0]
    r = await rig(
        tmp_path,
        monotonic=lambda: clock[0],
        order_rate_limits=KITE_ORDER_LIMITS,
        order_wait_limit_s=None,  # answered at once, as Kite answers
    )
    try:
        for n in range(10):
            clock[0] += 60  # the validator sees them a minute apart
            result = await r.om.place_order(limit(qty=1, price=str(2300 + n)))
            assert result.status is OrderStatus.OPEN
        clock[0] += 60
        with pytest.raises(OrderSubmissionFailed, match="Order not sent: Too many requests"):
            await asyncio.wait_for(r.om.place_order(limit(qty=1, price="2310")), timeout=5)
        assert len(await r.broker.orders()) == 10
        eleventh = (await r.om.list_orders())[-1]
        assert eleventh.status is OrderStatus.REJECTED and "429" in eleventh.status_message
        assert not eleventh.status.is_active  # nothing left working that does not exist
    finally:
        await r.close()


@pytest.mark.mis_cutoff
async def test_a_fresh_mis_entry_after_the_cut_off_never_reaches_the_broker(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(limit(qty=10, price="2450"))  # a MIS long, before the cut-off
        await until(lambda: r.position() == 10)
        r.validator.mis_cutoffs = ZERODHA_MIS_CUTOFFS
        r.validator.wall_clock = lambda: datetime(2026, 12, 8, 15, 24, tzinfo=IST)  # Tuesday
        sent = len(await r.broker.orders())
        with pytest.raises(OrderRejected) as refused:
            await r.om.place_order(limit(qty=5, price="2450"))
        assert refused.value.failed_check == "order_shape"
        assert "auto square-off time (15:20 IST for NSE" in str(refused.value)
        assert len(await r.broker.orders()) == sent
        # Closing the MIS position still goes.
        exit_result = await r.om.place_order(limit(side=OrderSide.SELL, qty=10, price="2450"))
        await until(lambda: r.om.order_now(exit_result.order_id).status is OrderStatus.FILLED)
        assert r.position() == 0
    finally:
        await r.close()
