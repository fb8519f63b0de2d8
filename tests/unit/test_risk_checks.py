"""Every named pre-trade check: a passing case, a failing case with the right failed_check,
and the values exactly at the limit. The validator runs on fakes (no database, no loop
timing); the monotonic clock is a number the tests move."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from desktop_oms.domain import (
    Instrument,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
)
from desktop_oms.marketdata.instruments import InstrumentStore
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.risk import CHECK_NAMES, PreTradeValidator, RiskLimits
from desktop_oms.risk.checks.margin import paper_margin_estimator

D = Decimal
NOW = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)

INSTRUMENTS = InstrumentStore(
    [
        Instrument("NSE", "RELIANCE", 1, tick_size=D("0.05")),
        Instrument("NSE", "INFY", 2, tick_size=D("0.05")),
        Instrument("NSE", "TCS", 3, tick_size=D("0.05")),
        Instrument("NSE", "SBIN", 4, tick_size=D("0.05")),
        Instrument("NSE", "ITC", 5, tick_size=D("0.05")),
        Instrument("NSE", "LT", 6, tick_size=D("0.05")),
        Instrument(
            "NFO", "NIFTY26DECFUT", 7, tick_size=D("0.05"), lot_size=65, instrument_type="FUT"
        ),
        Instrument(
            "MCX",
            "CRUDEOIL26DECFUT",
            8,
            tick_size=D("1"),
            multiplier=D("100"),
            instrument_type="FUT",
        ),
        Instrument("NSE", "HALTED", 9, tradable=False),
    ]
)
PRICES = {
    ("NSE", "RELIANCE"): D("2450"),
    ("NSE", "INFY"): D("1500"),
    ("NSE", "TCS"): D("3100"),
    ("NSE", "SBIN"): D("800"),
    ("NSE", "ITC"): D("400"),
    ("NSE", "LT"): D("3500"),
    ("NFO", "NIFTY26DECFUT"): D("26400"),
    ("MCX", "CRUDEOIL26DECFUT"): D("5000"),
}
# Generous limits, so a test trips only the check it is about.
LOOSE = RiskLimits(
    capital=D("100000000"),
    max_order_value=D("100000000"),
    max_quantity=1_000_000,
    max_open_positions=50,
    min_risk_reward=D("0.1"),
)


class FakePositions:
    def __init__(self, *positions: Position) -> None:
        self.by_key = {p.key: p for p in positions}

    def peek(self, exchange, symbol, product):
        return self.by_key.get((exchange, symbol, product)) or Position(symbol, exchange, product)

    def open_positions(self):
        return [p for p in self.by_key.values() if p.is_open]


class FakeOrders:
    def __init__(self) -> None:
        self.active: list[Order] = []
        self.halted = False
        self.halt_reason = None

    def live_orders(self):
        return list(self.active)

    def live_orders_on(self, exchange, symbol, product):
        return [
            o
            for o in self.active
            if (o.exchange, o.symbol, o.product) == (exchange, symbol, product)
        ]

    def live_keys(self):
        return {(o.exchange, o.symbol, o.product) for o in self.active}

    def open_quantity(self, exchange, symbol, product, side):
        return sum(
            max(o.quantity - o.filled_quantity, 0)
            for o in self.active
            if (o.exchange, o.symbol, o.product, o.side) == (exchange, symbol, product, side)
            and o.source != "bracket"
        )

    def inflight_orders(self):
        from desktop_oms.domain import OrderStatus

        return [o for o in self.active if o.status is OrderStatus.PENDING]

    def order_now(self, order_id):
        return next((o for o in self.active if o.id == order_id), None)


class FakeKillSwitch:
    engaged = True
    reason = "manual"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Funds:
    def __init__(self, available) -> None:
        self.available = D(available)


def req(
    symbol="RELIANCE", side=OrderSide.BUY, qty=10, kind=OrderType.LIMIT, price="2450", **kw
) -> OrderRequest:
    exchange = kw.pop(
        "exchange", "NFO" if symbol.endswith("FUT") and "CRUDE" not in symbol else "NSE"
    )
    if "CRUDE" in symbol:
        exchange = "MCX"
    return OrderRequest(
        symbol=symbol,
        exchange=exchange,
        side=side,
        quantity=qty,
        order_type=kind,
        price=D(price) if price is not None else None,
        product=kw.pop("product", Product.MIS),
        validity=Validity.DAY,
        **kw,
    )


def order_from(
    request: OrderRequest, order_id: int, status=OrderStatus.OPEN, filled=0, source=None
) -> Order:
    return Order(
        id=order_id,
        client_order_id=f"T{order_id}",
        symbol=request.symbol,
        exchange=request.exchange,
        side=request.side,
        order_type=request.order_type,
        product=request.product,
        validity=request.validity,
        variety=request.variety,
        quantity=request.quantity,
        price=request.price,
        trigger_price=request.trigger_price,
        status=status,
        created_at=NOW,
        updated_at=NOW,
        broker_order_id=None if status is OrderStatus.PENDING else str(order_id),
        filled_quantity=filled,
        source=source or request.source,
        parent_order_id=request.parent_order_id,
    )


def make(limits=LOOSE, positions=(), prices=None, **kw) -> PreTradeValidator:
    prices = dict(PRICES if prices is None else prices)
    v = PreTradeValidator(
        limits,
        instruments=INSTRUMENTS,
        last_price=lambda ex, sym: prices.get((ex, sym)),
        positions=FakePositions(*positions),
        orders=kw.pop("orders", FakeOrders()),
        clock=kw.pop("clock", Clock()),
        **kw,
    )
    v.prices = prices  # tests move prices through this dict (the "live quote source")
    return v


async def refused(v: PreTradeValidator, request: OrderRequest) -> OrderRejected:
    with pytest.raises(OrderRejected) as exc:
        await v.validate(request)
    return exc.value


def long(symbol="RELIANCE", qty=10, avg="2450", product=Product.MIS) -> Position:
    return Position(symbol, "NSE", product, quantity=qty, average_price=D(avg))


# ---------------------------------------------------------------------- vocabulary
def test_check_names_are_the_contract():
    assert CHECK_NAMES == (
        "kill_switch", "instrument", "order_shape", "price_band", "max_quantity", "max_order_value",
        "risk_per_trade", "risk_reward", "daily_loss_limit", "max_open_positions", "duplicate_order",
        "order_rate", "margin",
    )  # fmt: skip
    v = make()
    for name in CHECK_NAMES:
        if name != "margin":
            assert v.run_check(name, req()) is None
    with pytest.raises(ValueError):
        v.run_check("nonsense", req())


# ---------------------------------------------------------------------- kill_switch
async def test_kill_switch_refuses_everything_but_its_own_reducing_orders():
    v = make(positions=[long(qty=10)], kill_switch=FakeKillSwitch())
    exc = await refused(v, req())
    assert exc.failed_check == "kill_switch" and "Kill switch is engaged (manual)" in exc.reason
    # A manual exit is refused too; so is a bracket's.
    assert (await refused(v, req(side=OrderSide.SELL))).failed_check == "kill_switch"
    bracket = req(
        side=OrderSide.SELL, qty=10, reduce_only=True, source="bracket", parent_order_id=1
    )
    assert (await refused(v, bracket)).failed_check == "kill_switch"
    # The kill switch's own flatten order passes: exactly the position (the edge) ...
    flat = req(
        side=OrderSide.SELL,
        qty=10,
        kind=OrderType.MARKET,
        price=None,
        reduce_only=True,
        source="kill_switch",
    )
    await v.validate(flat)
    # ... but one unit more would not only reduce it.
    more = replace(flat, quantity=11)
    assert (await refused(v, more)).failed_check == "kill_switch"
    # The trader's Exit from the positions grid is an exit: it always goes (issue 13).
    await v.validate(replace(flat, source="exit"))
    assert (await refused(v, replace(flat, source="exit", quantity=11))).failed_check == (
        "kill_switch"
    )


async def test_kill_switch_armed_passes_and_an_om_halt_refuses():
    orders = FakeOrders()
    v = make(orders=orders)
    await v.validate(req())
    orders.halted, orders.halt_reason = True, "Kite session expired"
    exc = await refused(v, req(price="2450.05"))
    assert exc.failed_check == "kill_switch" and "Kite session expired" in exc.reason


# ---------------------------------------------------------------------- instrument
@pytest.mark.parametrize(
    "request_, ok",
    [
        (req("NIFTY26DECFUT", qty=65, price="26400"), True),  # exactly one lot
        (req("NIFTY26DECFUT", qty=130, price="26400"), True),
        (req("NIFTY26DECFUT", qty=64, price="26400"), False),
        (req("NIFTY26DECFUT", qty=66, price="26400"), False),
        (req(price="2450.05"), True),  # on the tick
        (req(price="2450.03"), False),
        (req("UNKNOWNCO"), False),
        (req("HALTED"), False),
    ],
)
async def test_instrument(request_, ok):
    v = make(prices={**PRICES, ("NSE", "UNKNOWNCO"): D("2450"), ("NSE", "HALTED"): D("2450")})
    if ok:
        await v.validate(request_)
    else:
        assert (await refused(v, request_)).failed_check == "instrument"


# ---------------------------------------------------------------------- order_shape
async def test_order_shape_types_and_trigger_side():
    v = make()
    assert (await refused(v, req(price=None))).failed_check == "order_shape"  # LIMIT without price
    assert (
        await refused(v, req(kind=OrderType.MARKET))
    ).failed_check == "order_shape"  # with a price
    # Buy stop: trigger strictly above the last price (2450).
    await v.validate(req(kind=OrderType.SL_M, price=None, trigger_price=D("2450.05")))
    exc = await refused(v, req(kind=OrderType.SL_M, price=None, trigger_price=D("2450")))
    assert (
        exc.failed_check == "order_shape" and "must be above the last price 2,450.00" in exc.reason
    )
    assert (
        await refused(v, req(kind=OrderType.SL, price="2440", trigger_price=D("2440")))
    ).failed_check == "order_shape"
    # Sell stop: strictly below.
    await v.validate(
        req(side=OrderSide.SELL, kind=OrderType.SL_M, price=None, trigger_price=D("2449.95"))
    )
    exc = await refused(
        v, req(side=OrderSide.SELL, kind=OrderType.SL_M, price=None, trigger_price=D("2450"))
    )
    assert exc.failed_check == "order_shape" and "below the last price" in exc.reason


# ---------------------------------------------------------------------- price_band
async def test_price_band_edges_and_message():
    v = make()  # last 2450, band 10%: 2205.00 .. 2695.00
    await v.validate(req(price="2695"))
    await v.validate(req(price="2205"))
    exc = await refused(v, req(price="2695.05"))
    assert exc.failed_check == "price_band"
    assert exc.reason == "Price 2,695.05 is 10.002% above last price 2,450.00; band is 10%"
    assert (await refused(v, req(price="2204.95"))).failed_check == "price_band"
    exc = await refused(v, req(price="2700"))
    assert exc.reason == "Price 2,700.00 is 10.2% above last price 2,450.00; band is 10%"
    # Triggers are banded too.
    exc = await refused(v, req(kind=OrderType.SL_M, price=None, trigger_price=D("2700")))
    assert exc.failed_check == "price_band" and exc.reason.startswith("Trigger price 2,700.00")
    # MARKET orders have nothing to band.
    await v.validate(req(kind=OrderType.MARKET, price=None))


async def test_price_band_reads_the_live_price_and_needs_one():
    v = make()
    assert (await refused(v, req(price="2800"))).failed_check == "price_band"
    v.prices[("NSE", "RELIANCE")] = D("2790")  # a new tick: the next order sees it
    await v.validate(req(price="2800"))
    del v.prices[("NSE", "RELIANCE")]
    exc = await refused(v, req(price="2800.05"))
    assert exc.failed_check == "price_band" and "No last price" in exc.reason


async def test_price_band_is_configurable():
    v = make(limits=replace(LOOSE, price_band_pct=D("2")))
    await v.validate(req(price="2499"))  # 1.99%
    assert (await refused(v, req(price="2499.05"))).failed_check == "price_band"


# ---------------------------------------------------------------------- max_quantity
async def test_max_quantity():
    v = make(limits=replace(LOOSE, max_quantity=5000))
    await v.validate(req("ITC", qty=5000, price="400"))
    exc = await refused(v, req("ITC", qty=5001, price="400"))
    assert (
        exc.failed_check == "max_quantity"
        and exc.reason == "Quantity 5,001 exceeds your limit of 5,000"
    )


# ---------------------------------------------------------------------- max_order_value
async def test_max_order_value_edges_and_message():
    v = make(limits=replace(LOOSE, max_order_value=D("500000")))
    await v.validate(req(qty=200, price="2500"))  # exactly ₹5,00,000
    assert (await refused(v, req(qty=200, price="2500.05"))).failed_check == "max_order_value"
    exc = await refused(v, req(qty=1000, price="2450.50"))
    assert exc.reason == "Order value ₹24,50,500.00 exceeds your limit of ₹5,00,000.00"


async def test_max_order_value_of_market_orders_uses_the_live_price_and_the_multiplier():
    v = make(limits=replace(LOOSE, max_order_value=D("500000")))
    await v.validate(req(qty=204, kind=OrderType.MARKET, price=None))  # 4,99,800
    assert (
        await refused(v, req(qty=205, kind=OrderType.MARKET, price=None))
    ).failed_check == "max_order_value"
    v.prices[("NSE", "RELIANCE")] = D("2000")
    await v.validate(req(qty=205, kind=OrderType.MARKET, price=None))  # 4,10,000 at the new price
    # Multiplier 100: 1 x 5000 x 100 = 5,00,000 passes, 5001 does not.
    await v.validate(req("CRUDEOIL26DECFUT", qty=1, price="5000", product=Product.NRML))
    exc = await refused(v, req("CRUDEOIL26DECFUT", qty=1, price="5001", product=Product.NRML))
    assert exc.failed_check == "max_order_value" and "₹5,00,100.00" in exc.reason
    del v.prices[("NSE", "RELIANCE")]
    assert (
        await refused(v, req(kind=OrderType.MARKET, price=None))
    ).failed_check == "max_order_value"


# ---------------------------------------------------------------------- risk_per_trade
async def test_risk_per_trade_edges():
    limits = replace(LOOSE, capital=D("1000000"))  # 2% = ₹20,000
    v = make(limits=limits)
    await v.validate(req(qty=1000, stop_loss=D("2430")))  # 20 x 1000 = 20,000 exactly
    exc = await refused(v, req(qty=1001, stop_loss=D("2430")))
    assert exc.failed_check == "risk_per_trade"
    assert exc.reason == (
        "Risk ₹20,020.00 (2.002% of capital) to the stop-loss exceeds your limit of ₹20,000.00 (2% of capital)"
    )
    # MARKET: the entry is the live last price.
    await v.validate(req(qty=1000, kind=OrderType.MARKET, price=None, stop_loss=D("2430")))
    v.prices[("NSE", "RELIANCE")] = D("2450.05")
    assert (
        await refused(v, req(qty=1000, kind=OrderType.MARKET, price=None, stop_loss=D("2430")))
    ).failed_check == "risk_per_trade"
    # SL-M entry: the trigger.
    await v.validate(
        req(qty=1000, kind=OrderType.SL_M, price=None, trigger_price=D("2460"), stop_loss=D("2440"))
    )


async def test_require_stop_loss():
    v = make(limits=replace(LOOSE, require_stop_loss=True), positions=[long(qty=10)])
    exc = await refused(v, req())
    assert exc.failed_check == "risk_per_trade" and "stop-loss is required" in exc.reason
    await v.validate(req(stop_loss=D("2440")))
    # Closing (part of) a position needs no stop-loss.
    await v.validate(req(side=OrderSide.SELL, qty=10))
    assert (await refused(v, req(side=OrderSide.SELL, qty=11))).failed_check == "risk_per_trade"


# ---------------------------------------------------------------------- risk_reward
async def test_risk_reward_edges():
    v = make(limits=replace(LOOSE, min_risk_reward=D("2")))
    await v.validate(req(stop_loss=D("2440"), take_profit=D("2470")))  # 20 / 10 = 2 exactly
    exc = await refused(v, req(stop_loss=D("2440"), take_profit=D("2469.95")))
    assert exc.failed_check == "risk_reward"
    assert exc.reason.startswith("Reward:risk 1.995 is below your minimum of 2")
    # Only with both levels; short side mirrored.
    await v.validate(req(stop_loss=D("2440")))
    await v.validate(req(side=OrderSide.SELL, stop_loss=D("2460"), take_profit=D("2430")))
    assert (
        await refused(v, req(side=OrderSide.SELL, stop_loss=D("2460"), take_profit=D("2430.05")))
    ).failed_check == "risk_reward"


# ---------------------------------------------------------------------- daily_loss_limit
async def test_daily_loss_limit_edges_and_reducing_orders():
    limits = replace(LOOSE, capital=D("1000000"))  # 6% = ₹60,000
    day = {"net": D("-60000")}
    v = make(limits=limits, positions=[long(qty=10)], day_pnl=lambda: day["net"])
    await v.validate(req(price="2450.05"))  # exactly at the limit is not beyond it
    day["net"] = D("-60000.01")
    exc = await refused(v, req(price="2450.10"))
    assert exc.failed_check == "daily_loss_limit"
    assert "₹60,000.01" in exc.reason and "₹60,000.00 (6% of capital)" in exc.reason
    await v.validate(req(side=OrderSide.SELL, qty=10))  # reduces: allowed
    assert (
        await refused(v, req(side=OrderSide.SELL, qty=11))
    ).failed_check == "daily_loss_limit"  # would reverse
    day["net"] = D("5000")
    await v.validate(req(price="2450.15"))


async def test_daily_loss_limit_fails_closed_when_pnl_is_unknown():
    def broken():
        raise RuntimeError("ledger broken")

    exc = await refused(make(day_pnl=broken), req())
    assert exc.failed_check == "daily_loss_limit" and "cannot be computed" in exc.reason


# ---------------------------------------------------------------------- max_open_positions
async def test_max_open_positions_counts_held_and_in_flight():
    limits = replace(LOOSE, max_open_positions=5)
    held = [long(s, 1, "100") for s in ("RELIANCE", "INFY", "TCS", "SBIN")]
    orders = FakeOrders()
    v = make(limits=limits, positions=held, orders=orders)
    await v.validate(req("ITC", qty=1, price="400"))  # the 5th: allowed
    orders.active.append(
        order_from(req("ITC", qty=1, price="400"), 1, OrderStatus.PENDING)
    )  # in flight
    exc = await refused(v, req("LT", qty=1, price="3500"))  # would be the 6th
    assert (
        exc.failed_check == "max_open_positions"
        and "1 more from orders not filled yet" in exc.reason
    )
    await v.validate(req("ITC", qty=2, price="400.05"))  # same instrument as the order in flight
    await v.validate(req("RELIANCE", qty=1, price="2450.05"))  # adds to a held position
    # System exits do not count as positions to come.
    orders.active = [
        order_from(
            req("LT", side=OrderSide.SELL, qty=1, price="3500", reduce_only=True, source="bracket"),
            2,
        )
    ]
    await v.validate(req("ITC", qty=1, price="400.10"))


async def test_max_open_positions_with_five_held():
    held = [long(s, 1, "100") for s in ("RELIANCE", "INFY", "TCS", "SBIN", "ITC")]
    v = make(limits=replace(LOOSE, max_open_positions=5), positions=held)
    assert (await refused(v, req("LT", qty=1, price="3500"))).failed_check == "max_open_positions"
    await v.validate(req("INFY", qty=1, price="1500"))
    await v.validate(req("ITC", side=OrderSide.SELL, qty=1, price="400"))  # closes one


# ---------------------------------------------------------------------- duplicate_order
async def test_duplicate_order_window_edges():
    clock = Clock()
    v = make(clock=clock)
    first = req(qty=100)
    await v.validate(first)
    v.order_journaled(order_from(first, 7, OrderStatus.PENDING))  # in flight: counts at once
    clock.t += 1.999
    exc = await refused(v, req(qty=100))
    assert exc.failed_check == "duplicate_order" and "#7" in exc.reason
    await v.validate(req(qty=101))  # another quantity
    await v.validate(req(qty=100, price="2450.05"))  # another price
    await v.validate(req(qty=100, side=OrderSide.SELL))  # another side
    clock.t += 0.001  # exactly 2 s later: no longer within the window
    await v.validate(req(qty=100))


async def test_duplicate_of_a_rejected_order_is_allowed():
    clock = Clock()
    v = make(clock=clock)
    v.order_journaled(order_from(req(qty=5), 9, OrderStatus.PENDING))
    assert (await refused(v, req(qty=5))).failed_check == "duplicate_order"
    v.status_of = lambda order_id: OrderStatus.REJECTED
    await v.validate(req(qty=5))


# ---------------------------------------------------------------------- order_rate
async def test_order_rate_per_second_edges_and_refusals_do_not_count():
    clock = Clock()
    v = make(clock=clock)
    for i in range(10):
        r = req(price=str(2400 + i))
        await v.validate(r)
        v.order_journaled(order_from(r, i + 1, OrderStatus.PENDING))
    clock.t += 0.999
    for _ in range(3):  # refused attempts are never counted
        exc = await refused(v, req(price="2430"))
        assert exc.failed_check == "order_rate"
    assert "10 orders sent in the last second" in exc.reason and "10 per second" in exc.reason
    clock.t += 0.001  # the first ten leave the 1 s window exactly now
    await v.validate(req(price="2430"))


async def test_order_rate_per_minute_and_per_day():
    clock = Clock()
    v = make(clock=clock)
    start = clock.t
    for i in range(400):  # 10 per second for 40 s
        v.rate.record(start + i * 0.1)
    clock.t = start + 40
    exc = await refused(v, req())
    assert exc.failed_check == "order_rate" and "400 orders sent in the last minute" in exc.reason
    clock.t = start + 60 - 0.001
    assert (await refused(v, req())).failed_check == "order_rate"
    clock.t = start + 60  # the first one left the minute
    await v.validate(req())
    day = make(clock=clock)
    for i in range(5000):
        day.rate.record(start + i * 15.0)  # 4 a minute, 5000 in 20h50m
    clock.t = start + 5000 * 15.0
    exc = await refused(day, req())
    assert exc.failed_check == "order_rate" and "5,000 per day" in exc.reason
    clock.t = start + 86_400
    await day.validate(req())


async def test_system_exits_wait_for_the_rate_window_instead_of_failing():
    clock = Clock()
    slept = []

    async def sleep(seconds):
        slept.append(seconds)
        clock.t += seconds

    v = make(clock=clock, sleep=sleep, positions=[long(qty=10)])
    for _ in range(10):
        v.rate.record(clock.t)
    exit_ = req(
        side=OrderSide.SELL,
        qty=10,
        kind=OrderType.MARKET,
        price=None,
        reduce_only=True,
        source="kill_switch",
    )
    await v.validate(exit_)
    assert slept and sum(slept) == pytest.approx(1.0)
    assert v.rate.delay(clock.t)[0] == 0


# ---------------------------------------------------------------------- margin
async def test_margin_edges_and_in_flight_orders():
    funds = {"value": Funds("98000")}

    async def get_funds():
        return funds["value"]

    orders = FakeOrders()
    v = make(funds=get_funds, margin=paper_margin_estimator(INSTRUMENTS), orders=orders)
    await v.validate(req(qty=200, price="2450"))  # MIS 20%: 98,000 needed, 98,000 available
    exc = await refused(v, req(qty=201, price="2450"))
    assert exc.failed_check == "margin" and "needs ₹98,490.00" in exc.reason
    funds["value"] = Funds("100000")
    orders.active.append(
        order_from(req("INFY", qty=10, price="1000"), 1, OrderStatus.PENDING)
    )  # 2,000 in flight
    await v.validate(req(qty=200, price="2450"))  # 98,000 <= 1,00,000 - 2,000
    exc = await refused(v, req(qty=201, price="2450"))
    assert "held for orders in flight" in exc.reason
    # Acknowledged orders are the broker's business (its funds already count them).
    orders.active[0] = replace(orders.active[0], status=OrderStatus.OPEN, broker_order_id="1")
    await v.validate(req(qty=201, price="2450"))


async def test_margin_passes_when_the_broker_cannot_say():
    async def none():
        return None

    async def boom():
        raise ConnectionError("down")

    est = paper_margin_estimator(INSTRUMENTS)
    await make(funds=none, margin=est).validate(req(qty=10000, price="2450"))
    await make(funds=boom, margin=est).validate(req(qty=10000, price="2450"))

    # Reducing orders need no margin.
    async def zero():
        return Funds("0")

    await make(funds=zero, margin=est, positions=[long(qty=10)]).validate(
        req(side=OrderSide.SELL, qty=10)
    )


# ---------------------------------------------------------------------- the whole validator
async def test_problems_lists_every_failing_check_without_recording():
    clock = Clock()
    v = make(limits=replace(LOOSE, max_quantity=10, max_order_value=D("1000")), clock=clock)
    found = await v.problems(req(qty=11, price="2700"))
    assert [name for name, _ in found] == ["price_band", "max_quantity", "max_order_value"]
    assert v.rate.count(clock.t, 1) == 0


async def test_limits_are_replaceable_and_typed():
    v = make()
    await v.validate(req(qty=100))
    v.limits = replace(v.limits, max_quantity=50)
    assert (await refused(v, req(qty=100, price="2450.05"))).failed_check == "max_quantity"
    with pytest.raises(TypeError):
        v.limits = {"max_quantity": 1}


async def test_checks_run_in_contract_order():
    # Fails price_band and max_quantity: the first in CHECK_NAMES order is reported.
    v = make(limits=replace(LOOSE, max_quantity=1))
    assert (await refused(v, req(qty=2, price="3000"))).failed_check == "price_band"


async def test_duplicate_stops_are_told_apart_by_their_trigger():
    clock = Clock()
    v = make(clock=clock)
    stop = req(kind=OrderType.SL_M, price=None, trigger_price=D("2460"))
    v.order_journaled(order_from(stop, 3, OrderStatus.PENDING))
    await v.validate(replace(stop, trigger_price=D("2461")))
    exc = await refused(v, stop)
    assert exc.failed_check == "duplicate_order" and "trigger 2,460.00" in exc.reason
