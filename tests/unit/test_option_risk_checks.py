"""Pre-trade checks that understand options (issue 16): premium x quantity is an option
buy's value, a short option is valued at the margin it blocks; SL-M on an option is an
order_shape refusal; an order sent as slices needs room for every slice in the order
rate and counts once as a duplicate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from desktop_oms.domain import Instrument, OrderRequest, OrderSide, OrderType, Position, Product
from desktop_oms.marketdata.instruments import InstrumentStore
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.risk import PreTradeValidator, RiskLimits
from desktop_oms.risk.checks.rate import OrderRateWindow, RateLimit
from tests.unit.test_risk_checks import Clock, FakeOrders, FakePositions, order_from

NIFTY = ("NSE", "NIFTY 50")
CALL = "NIFTY26D0826300CE"
INSTRUMENTS = InstrumentStore(
    [
        Instrument("NSE", "NIFTY 50", 1, segment="INDICES", tradable=False),
        Instrument(
            "NFO",
            CALL,
            2,
            "NIFTY",
            lot_size=65,
            instrument_type="CE",
            segment="NFO-OPT",
            expiry=date(2026, 12, 8),
            strike=D(26300),
            underlying=NIFTY,
            freeze_quantity=1800,
        ),
    ]
)
PRICES = {NIFTY: D("26300"), ("NFO", CALL): D("120")}
LIMITS = RiskLimits(
    capital=D("100000000"),
    max_order_value=D("500000"),
    max_quantity=1_000_000,
    max_open_positions=50,
    min_risk_reward=D("0.1"),
)


def validator(positions=(), clock=None, orders=None) -> PreTradeValidator:
    return PreTradeValidator(
        LIMITS,
        instruments=INSTRUMENTS,
        last_price=lambda ex, sym: PRICES.get((ex, sym)),
        positions=FakePositions(*positions),
        orders=orders or FakeOrders(),
        clock=clock or Clock(),
    )


def option(side=OrderSide.BUY, qty=650, kind=OrderType.LIMIT, price="120", **kw) -> OrderRequest:
    return OrderRequest(
        symbol=CALL,
        exchange="NFO",
        side=side,
        quantity=qty,
        order_type=kind,
        price=None if price is None else D(price),
        product=kw.pop("product", Product.NRML),
        **kw,
    )


async def test_buying_an_option_is_valued_at_its_premium():
    v = validator()
    await v.validate(option(qty=65 * 64))  # 4,160 x 120 = 4,99,200: inside 5,00,000
    with pytest.raises(OrderRejected) as refused:
        await v.validate(option(qty=65 * 65))  # 5,07,000
    assert refused.value.failed_check == "max_order_value"
    assert refused.value.reason == "Order value ₹5,07,000.00 exceeds your limit of ₹5,00,000.00"


async def test_selling_an_option_is_valued_at_the_margin_it_blocks_not_its_premium():
    v = validator()
    # 4 lots: premium 31,200 but margin 4 x 65 x 8% x 26,300 = 5,47,040
    with pytest.raises(OrderRejected) as refused:
        await v.validate(option(OrderSide.SELL, qty=260))
    assert refused.value.failed_check == "max_order_value"
    assert refused.value.reason.startswith(
        "Selling 260 NFO:" + CALL + " blocks margin ₹5,47,040.00"
    )
    assert "its premium ₹31,200.00" in refused.value.reason
    await v.validate(option(OrderSide.SELL, qty=195))  # 3 lots: 4,10,280
    # selling what is held is an exit, whatever its margin would be
    held = Position(CALL, "NFO", Product.NRML, quantity=650, average_price=D("100"))
    await validator(positions=[held]).validate(option(OrderSide.SELL, qty=650))


async def test_sl_m_on_an_option_is_an_order_shape_refusal_the_ticket_sees():
    v = validator()
    stop = option(OrderSide.SELL, qty=65, kind=OrderType.SL_M, price=None, trigger_price=D("100"))
    problems = await v.problems(stop)
    assert ("order_shape", problems[0][1]) == problems[0]
    assert "SL-M orders are not allowed on options" in problems[0][1]
    sl = option(OrderSide.SELL, qty=65, kind=OrderType.SL, price="95", trigger_price=D("100"))
    assert not [p for p in await v.problems(sl) if p[0] == "order_shape"]


def test_the_rate_window_makes_room_for_every_slice():
    window = OrderRateWindow((RateLimit(10, 1.0), RateLimit(400, 60.0)))
    for i in range(8):
        window.record(100.0 + i * 0.01)
    assert window.check(100.5, 2) is None
    reason = window.check(100.5, 3)
    assert reason.startswith(
        "Order rate limit: 8 orders sent in the last second; this order goes as 3 orders"
    )
    assert window.delay(100.5, 3)[0] == pytest.approx(0.5)  # the oldest leaves first
    assert window.check(100.5, 11) == (
        "Order rate limit: this order goes as 11 orders; the broker allows 10 per second"
    )


async def test_a_sliced_order_needs_room_for_its_slices_and_counts_once_as_a_duplicate():
    clock = Clock()
    v = validator(clock=clock)
    big = option(qty=65 * 40)  # 2 slices (27 + 13 lots), 3,12,000
    assert v.context(big).slices == 2 and v.context(option()).slices == 1
    assert v.context(option(qty=1755 * 3 + 65)).slices == 4
    for _ in range(9):
        v.rate.record(clock.t)
    with pytest.raises(OrderRejected) as refused:
        await v.validate(big)
    assert refused.value.failed_check == "order_rate"
    clock.t += 1.5
    await v.validate(big)
    first, second = order_from(big, 1), order_from(big, 2)
    v.slices_journaled(big, [first, second])
    assert v.rate.count(clock.t, 1.0) == 2
    with pytest.raises(OrderRejected) as again:
        await v.validate(big)
    assert again.value.failed_check == "duplicate_order" and "#1" in again.value.reason
