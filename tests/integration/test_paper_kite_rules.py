"""Issue 14, "The paper broker behaves like Kite": the rules a live order meets at Kite,
met on paper too, so nothing surprises the trader on the first live day.

Kite's side of each rule is pinned by test_kite_server_fidelity.py (the Kite test server).
The modification limit (25 per order) is enforced on paper and tested in
tests/unit/test_paper_broker.py::test_modification_limit; order margin in
tests/unit/test_paper_broker.py too (funds).
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.errors import BrokerRateLimited, BrokerRejected
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from tests.kite_server.book import IST

_ids = itertools.count(1)


@pytest.fixture
def broker() -> PaperBroker:
    b = PaperBroker(seed=1)  # the bundled paper-mode instruments
    b.set_last_price("NSE", "RELIANCE", D("2450"))
    return b


def order(
    side: str = "BUY",
    quantity: int = 5,
    order_type: str = "LIMIT",
    price: str | None = None,
    trigger: str | None = None,
    product: str = "MIS",
) -> Order:
    number = next(_ids)
    now = datetime.now(UTC)
    return Order(
        id=number,
        client_order_id=f"PAPER{number:06d}",
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide(side),
        order_type=OrderType(order_type),
        product=Product(product),
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=quantity,
        price=None if price is None else D(price),
        trigger_price=None if trigger is None else D(trigger),
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def report(broker: PaperBroker, broker_order_id: str):
    return {r.broker_order_id: r for r in await broker.orders()}[broker_order_id]


async def test_market_order_becomes_a_protected_limit():
    thin = PaperBroker(seed=2, max_fill_quantity=1)  # one share per matching pass
    thin.set_last_price("NSE", "RELIANCE", D("2450"))
    order_id = await thin.place_order(order(order_type="MARKET"))
    rest = await report(thin, order_id)
    assert rest.filled_quantity == 1 and rest.status is OrderStatus.PARTIALLY_FILLED
    assert rest.order_type is OrderType.LIMIT
    assert D("2450") < rest.price <= D("2450") * D("1.05")  # protected, above the last
    # The market runs past the band: the protected rest does not chase it.
    thin.set_last_price("NSE", "RELIANCE", D("2700"))
    assert (await report(thin, order_id)).filled_quantity == 1


async def test_stop_market_becomes_a_protected_limit_when_it_triggers():
    thin = PaperBroker(seed=3, max_fill_quantity=1)
    thin.set_last_price("NSE", "RELIANCE", D("2450"))
    order_id = await thin.place_order(order(side="SELL", order_type="SL-M", trigger="2400"))
    thin.set_last_price("NSE", "RELIANCE", D("2395"))  # triggers; one share fills
    rest = await report(thin, order_id)
    assert rest.filled_quantity == 1
    assert rest.order_type is OrderType.LIMIT
    assert D("2395") * D("0.95") <= rest.price < D("2395")


async def test_eleventh_order_request_in_a_second_is_refused_like_a_429(broker):
    results = await asyncio.gather(
        *(broker.place_order(order(price="2000")) for _ in range(11)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, BrokerRateLimited)]
    assert len(refused) == 1, results
    assert len([r for r in results if isinstance(r, str)]) == 10


async def test_limit_outside_the_circuit_is_refused(broker):
    with pytest.raises(BrokerRejected, match="(?i)circuit"):
        await broker.place_order(order(price="4900"))  # twice the last price


@pytest.mark.mis_cutoff  # the paper clock is set here (tests/conftest.py)
async def test_fresh_mis_entry_after_the_square_off_time_is_refused():
    now = [datetime(2026, 12, 8, 10, 0, tzinfo=IST).astimezone(UTC)]  # a Tuesday
    broker = PaperBroker(seed=1, clock=lambda: now[0])
    broker.set_last_price("NSE", "RELIANCE", D("2450"))
    held = await broker.place_order(order(price="2460"))  # marketable: fills at 2450
    assert (await report(broker, held)).status is OrderStatus.FILLED
    now[0] = datetime(2026, 12, 8, 15, 22, tzinfo=IST).astimezone(UTC)
    with pytest.raises(BrokerRejected):
        await broker.place_order(order(price="2000"))  # a fresh MIS entry
    exit_id = await broker.place_order(order(side="SELL", price="2440"))  # closing is allowed
    assert (await report(broker, exit_id)).status is OrderStatus.FILLED
    await broker.place_order(order(price="2000", product="CNC"))  # delivery is not MIS


# -------------------------------------------------- the rules in more detail (issue 14)


async def test_a_protected_order_survives_a_restart(tmp_path):
    path = tmp_path / "paper.jsonl"
    thin = PaperBroker(state_path=path, seed=4, max_fill_quantity=1)
    thin.set_last_price("NSE", "RELIANCE", D("2450"))
    stop = await thin.place_order(order(side="SELL", order_type="SL-M", trigger="2400"))
    thin.set_last_price("NSE", "RELIANCE", D("2395"))  # triggers: a protected LIMIT now
    before = await report(thin, stop)
    await thin.close()
    again = PaperBroker(state_path=path)
    after = await report(again, stop)
    assert (after.order_type, after.price, after.protected) == (
        OrderType.LIMIT,
        before.price,
        True,
    )
    assert after.protection_pct == D("2")
    await again.close()


async def test_a_modify_to_market_becomes_a_protected_limit(broker):
    resting = await broker.place_order(order(price="2400"))
    await broker.modify_order(resting, order_type=OrderType.MARKET)
    done = await report(broker, resting)
    assert (done.status, done.order_type, done.price) == (
        OrderStatus.FILLED,
        OrderType.LIMIT,
        D("2499.00"),  # 2450 + 2%
    )
    assert done.average_price == D("2450") and done.protected


async def test_market_protection_can_be_turned_off():
    plain = PaperBroker(seed=5, market_protection_pct=None)
    plain.set_last_price("NSE", "RELIANCE", D("2450"))
    filled = await report(plain, await plain.place_order(order(order_type="MARKET")))
    assert (filled.order_type, filled.price, filled.protected) == (OrderType.MARKET, None, False)


async def test_a_modify_outside_the_circuit_is_refused(broker):
    resting = await broker.place_order(order(price="2400"))
    with pytest.raises(BrokerRejected, match="circuit"):
        await broker.modify_order(resting, price=D("1900"))  # more than 20% below 2450
    assert (await report(broker, resting)).price == D("2400")


async def test_cancels_wait_their_turn_and_the_apps_pacing_waits_too():
    """Over Kite's rate a cancel waits for a slot (it never goes stale); with a wait
    limit (the app's setting, as its Kite adapter) a place waits instead of a 429."""
    paced = PaperBroker(seed=6, order_wait_limit_s=5.0)
    paced.set_last_price("NSE", "RELIANCE", D("2450"))
    ids = await asyncio.gather(*(paced.place_order(order(price="2000")) for _ in range(12)))
    assert len(set(ids)) == 12  # the last two waited for the window to slide
    await asyncio.gather(*(paced.cancel_order(i) for i in ids[:3]))
    statuses = [(await report(paced, i)).status for i in ids[:3]]
    assert statuses == [OrderStatus.CANCELLED] * 3

    strict = PaperBroker(seed=7)
    strict.set_last_price("NSE", "RELIANCE", D("2450"))
    ids = [await strict.place_order(order(price="2000")) for _ in range(10)]
    with pytest.raises(BrokerRateLimited, match="429"):
        await strict.place_order(order(price="2000"))
    await strict.cancel_order(ids[0])  # the window is full: the cancel waits, then goes
    assert (await report(strict, ids[0])).status is OrderStatus.CANCELLED


def test_the_rules_knobs_are_checked():
    from desktop_oms.brokers.paper import PaperConfig

    for bad in (
        {"market_protection_pct": 0},
        {"market_protection_pct": 150},
        {"price_band_pct": -5},
        {"order_wait_limit_s": -1},
    ):
        with pytest.raises(ValueError):
            PaperConfig(**bad)
    config = PaperConfig(market_protection_pct="2.5", mis_cutoffs={})
    assert config.market_protection_pct == D("2.5") and dict(config.mis_cutoffs) == {}


async def test_a_triggered_stop_made_a_protected_limit_is_still_the_brackets_stop(tmp_path):
    """Kite turns a triggered SL-M into a protected LIMIT. The bracket must still see its
    stop (not a resting target to cancel), and the journal remembers what was sent."""
    from tests.helpers import limit, until
    from tests.integration.test_risk_harness import rig

    r = await rig(tmp_path, max_fill_quantity=10)  # 10 shares per matching pass
    try:
        placed = await r.om.place_order(
            limit(qty=20, price="2450", stop_loss=D("2420"), take_profit=D("2520"))
        )  # marketable: 10 fill at once
        r.broker.set_last_price("NSE", "RELIANCE", D("2449"))  # the other 10
        await until(lambda: r.position() == 20, timeout=5)
        await r.brackets.settle()
        [stop] = [o for o in await r.om.list_orders() if o.parent_order_id == placed.order_id]
        await until(lambda: r.om.order_now(stop.id).quantity == 20, timeout=5)
        assert stop.order_type is OrderType.SL_M
        r.broker.set_last_price("NSE", "RELIANCE", D("2419"))  # triggers: 10 of 20 fill
        # ... and the market runs below the protection band (2419 - 2% = 2370.65)
        r.broker.set_last_price("NSE", "RELIANCE", D("2300"))
        await until(lambda: r.om.order_now(stop.id).order_type is OrderType.LIMIT, timeout=5)
        await until(lambda: r.om.order_now(stop.id).filled_quantity == 10, timeout=5)
        await r.brackets.settle()
        now = r.om.order_now(stop.id)
        assert now.status is OrderStatus.PARTIALLY_FILLED  # not cancelled as a "target"
        assert (now.protected_from, now.sent_type) == (OrderType.SL_M, OrderType.SL_M)
        assert "protected LIMIT" in now.status_message
        await r.restart()  # the journal keeps it
        kept = await r.om.get_order(stop.id)
        assert (kept.order_type, kept.protected_from) == (OrderType.LIMIT, OrderType.SL_M)
        assert kept.status is OrderStatus.PARTIALLY_FILLED
    finally:
        await r.close()


async def test_the_circuit_limits_the_exchange_refuses_outside(broker):
    """`circuit_limits` says what the paper exchange accepts (the validator predicts the
    refusal from it); like Kite's ticker, its ticks do not carry them (Kite's /quote does)."""
    broker.set_last_price("NSE", "RELIANCE", D("2500"))
    limits = (D("2000.00"), D("3000.00"))  # 20% around 2500, on the tick
    assert broker.circuit_limits("NSE", "RELIANCE") == limits
    await broker.place_order(order(price="2000.00"))  # at the lower limit: accepted
    with pytest.raises(BrokerRejected, match="circuit limits"):
        await broker.place_order(order(price="1999.95"))
    assert PaperBroker(seed=9, price_band_pct=None).circuit_limits("NSE", "RELIANCE") is None


async def test_ioc_on_mcx_is_refused_as_kite_refuses_api_orders():
    from desktop_oms.domain import Instrument
    from desktop_oms.marketdata.instruments import InstrumentStore

    store = InstrumentStore(
        [Instrument("MCX", "LEADMINI26DECFUT", 9, tick_size=D("0.05"), instrument_type="FUT")]
    )
    mcx = PaperBroker(seed=8, instruments=store)
    mcx.set_last_price("MCX", "LEADMINI26DECFUT", D("161.05"))
    ioc = order(price="161.05", product="NRML")
    ioc = ioc.copy(exchange="MCX", symbol="LEADMINI26DECFUT", validity=Validity.IOC)
    with pytest.raises(BrokerRejected, match="IOC orders are not allowed for API orders on MCX"):
        await mcx.place_order(ioc)
    day = ioc.copy(validity=Validity.DAY, client_order_id="PAPERMCX1")
    assert (await report(mcx, await mcx.place_order(day))).status is OrderStatus.FILLED
