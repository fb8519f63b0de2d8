"""The paper broker: matching, validation, modify/cancel, pushed updates, persistence, faults.

Numbers are hand-computed in the comments. No timing assertions.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from desktop_oms.brokers import (
    Broker,
    BrokerOutcomeUnknown,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
)
from desktop_oms.brokers.paper import PaperBroker, PaperConfig, PaperJournalCorrupt
from desktop_oms.brokers.paper.delivery import RateLimiter
from desktop_oms.brokers.paper.journal import PaperJournal
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from desktop_oms.marketdata.instruments import (
    COLUMNS,
    InstrumentStore,
    UnknownInstrument,
    load_bundled_instruments,
)

CSV = (
    ",".join(COLUMNS)
    + """
738561,2885,RELIANCE,RELIANCE INDUSTRIES,2450,,0,0.05,1,EQ,NSE,NSE
779521,3045,SBIN,STATE BANK OF INDIA,800,,0,0.05,1,EQ,NSE,NSE
895745,3499,TATASTEEL,TATA STEEL,168.42,,0,0.01,1,EQ,NSE,NSE
13365762,52210,NIFTY99DECFUT,NIFTY,26000,2099-12-29,0,0.05,65,FUT,NFO-FUT,NFO
258,1,OLDFUT,OLD,100,2020-01-30,0,0.05,50,FUT,NFO-FUT,NFO
256265,1001,NIFTY 50,NIFTY 50,0,,0,0,0,EQ,INDICES,NSE
"""
)
IST = timezone(timedelta(hours=5, minutes=30))
_ids = itertools.count(1)


def store() -> InstrumentStore:
    return InstrumentStore.from_csv(io.StringIO(CSV))


def make(**kwargs) -> PaperBroker:
    kwargs.setdefault("instruments", store())
    kwargs.setdefault("seed", 1)
    return PaperBroker(**kwargs)


@pytest.fixture
def paper_broker() -> PaperBroker:
    broker = make()
    broker.set_last_price("NSE", "RELIANCE", D("2450"))
    return broker


def order(
    symbol="RELIANCE",
    side="BUY",
    quantity=10,
    order_type="LIMIT",
    price=None,
    trigger=None,
    product="MIS",
    validity="DAY",
    variety="regular",
    tag=None,
) -> Order:
    number = next(_ids)
    now = datetime.now(UTC)
    return Order(
        id=number,
        client_order_id=tag if tag is not None else f"TEST{number:06d}",
        symbol=symbol,
        exchange="NFO" if symbol.endswith("FUT") else "NSE",
        side=OrderSide(side),
        order_type=OrderType(order_type),
        product=Product(product),
        validity=Validity(validity),
        variety=Variety(variety),
        quantity=quantity,
        price=None if price is None else D(str(price)),
        trigger_price=None if trigger is None else D(str(trigger)),
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def report(broker: PaperBroker, broker_order_id: str):
    reports = {r.broker_order_id: r for r in await broker.orders()}
    return reports[broker_order_id]


async def trades_of(broker: PaperBroker, broker_order_id: str):
    return [t for t in await broker.trades() if t.broker_order_id == broker_order_id]


async def position(broker: PaperBroker, symbol="RELIANCE", product=Product.MIS):
    for p in await broker.positions():
        if p.symbol == symbol and p.product is product:
            return p
    return None


# -- the protocol ------------------------------------------------------------------------


async def test_implements_the_broker_protocol(paper_broker):
    assert isinstance(paper_broker, Broker)
    assert paper_broker.name == "paper"
    await paper_broker.start()
    await paper_broker.start()
    assert [i.symbol for i in await paper_broker.instruments()][:2] == ["RELIANCE", "SBIN"]
    paper_broker.subscribe([("nse", "sbin")])
    assert ("NSE", "SBIN") in paper_broker.subscribed
    await paper_broker.close()
    await paper_broker.close()


def test_default_instruments_are_the_bundled_ones():
    broker = PaperBroker()
    assert broker.instrument_store.get("NSE", "RELIANCE").instrument_token == 738561
    assert broker.last_price("NSE", "RELIANCE") is None  # no price until told


# -- market and limit orders ----------------------------------------------------------------


async def test_market_order_fills_at_once_in_full_at_the_last_price(paper_broker):
    oid = await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    r = await report(paper_broker, oid)
    assert (r.status, r.filled_quantity, r.pending_quantity, r.average_price) == (
        OrderStatus.FILLED,
        10,
        0,
        D("2450"),
    )
    # Kite's market protection: the order is a LIMIT 2% beyond the last price (2499),
    # and it filled at the market.
    assert (r.order_type, r.price, r.trigger_price) == (OrderType.LIMIT, D("2499.00"), None)
    assert (r.protected, r.protection_pct) == (True, D("2"))
    (trade,) = await trades_of(paper_broker, oid)
    assert (trade.quantity, trade.price, trade.side, trade.product) == (
        10,
        D("2450"),
        OrderSide.BUY,
        Product.MIS,
    )


@pytest.mark.parametrize(
    ("side", "symbol", "last", "expected"),
    [
        ("BUY", "RELIANCE", "2450", "2451.75"),  # 2450 x 1.0007 = 2451.715 -> up to 2451.75
        ("SELL", "RELIANCE", "2450", "2448.25"),  # 2450 x 0.9993 = 2448.285 -> down to 2448.25
        ("BUY", "TATASTEEL", "168.42", "168.54"),  # 168.537894 -> up to the 0.01 tick
        ("SELL", "TATASTEEL", "168.42", "168.30"),  # 168.302106 -> down
    ],
)
async def test_market_slippage_is_adverse_and_on_tick(side, symbol, last, expected):
    broker = make(slippage_bps=7)
    broker.set_last_price("NSE", symbol, last)
    oid = await broker.place_order(order(symbol=symbol, side=side, order_type="MARKET"))
    (trade,) = await trades_of(broker, oid)
    assert trade.price == D(expected)


async def test_marketable_limit_fills_at_the_last_price(paper_broker):
    buy = await paper_broker.place_order(order(price="2455"))  # buy above the market
    sell = await paper_broker.place_order(order(side="SELL", price="2440"))  # sell below it
    for oid in (buy, sell):
        r = await report(paper_broker, oid)
        assert r.status is OrderStatus.FILLED and r.average_price == D("2450")
    at_market = await paper_broker.place_order(order(price="2450"))
    assert (await report(paper_broker, at_market)).status is OrderStatus.FILLED


async def test_marketable_limit_with_slippage_never_fills_beyond_its_limit():
    broker = make(slippage_bps=7)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    capped = await broker.place_order(order(price="2451"))  # slipped 2451.75, capped at 2451
    inside = await broker.place_order(order(price="2460"))
    assert (await trades_of(broker, capped))[0].price == D("2451")
    assert (await trades_of(broker, inside))[0].price == D("2451.75")


async def test_resting_limits_fill_at_their_limit_when_the_price_crosses(paper_broker):
    buy = await paper_broker.place_order(order(price="2440"))
    sell = await paper_broker.place_order(order(side="SELL", price="2460"))
    assert (await report(paper_broker, buy)).status is OrderStatus.OPEN
    assert (await report(paper_broker, sell)).status is OrderStatus.OPEN
    assert paper_broker.set_last_price("NSE", "RELIANCE", "2440.05") == []
    (trade,) = paper_broker.set_last_price("NSE", "RELIANCE", "2438")  # gapped through 2440
    assert (trade.broker_order_id, trade.price) == (buy, D("2440"))
    assert (await report(paper_broker, sell)).status is OrderStatus.OPEN
    (trade,) = paper_broker.set_last_price("NSE", "RELIANCE", "2462.50")
    assert (trade.broker_order_id, trade.price) == (sell, D("2460"))
    assert (await report(paper_broker, sell)).average_price == D("2460")


async def test_limit_without_a_known_price_rests_until_one_arrives():
    broker = make()
    oid = await broker.place_order(order(symbol="SBIN", price="800"))
    assert (await report(broker, oid)).status is OrderStatus.OPEN
    broker.set_last_price("NSE", "SBIN", "799.50")
    r = await report(broker, oid)
    assert r.status is OrderStatus.FILLED and r.average_price == D("800")


# -- stop orders ----------------------------------------------------------------------------


async def test_sl_buy_waits_for_its_trigger_then_fills_as_a_marketable_limit(paper_broker):
    oid = await paper_broker.place_order(order(order_type="SL", trigger="2460", price="2465"))
    assert (await report(paper_broker, oid)).status is OrderStatus.TRIGGER_PENDING
    paper_broker.set_last_price("NSE", "RELIANCE", "2459.95")
    assert (await report(paper_broker, oid)).status is OrderStatus.TRIGGER_PENDING
    (trade,) = paper_broker.set_last_price("NSE", "RELIANCE", "2462")
    assert trade.price == D("2462")  # triggered and marketable: the last price
    assert (await report(paper_broker, oid)).status is OrderStatus.FILLED


async def test_sl_sell_that_gaps_past_its_limit_rests_as_a_limit(paper_broker):
    oid = await paper_broker.place_order(
        order(side="SELL", order_type="SL", trigger="2440", price="2435")
    )
    assert paper_broker.set_last_price("NSE", "RELIANCE", "2430") == []  # triggered, 2430 < 2435
    r = await report(paper_broker, oid)
    assert r.status is OrderStatus.OPEN and r.filled_quantity == 0
    assert paper_broker.set_last_price("NSE", "RELIANCE", "2434.95") == []
    (trade,) = paper_broker.set_last_price("NSE", "RELIANCE", "2436")
    assert trade.price == D("2435")  # resting limit: its own price


async def test_sl_m_triggers_then_fills_like_market():
    broker = make(slippage_bps=7)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(side="SELL", order_type="SL-M", trigger="2440"))
    assert (await report(broker, oid)).status is OrderStatus.TRIGGER_PENDING
    assert broker.set_last_price("NSE", "RELIANCE", "2440.05") == []
    (trade,) = broker.set_last_price("NSE", "RELIANCE", "2439")
    assert trade.price == D("2437.25")  # 2439 x 0.9993 = 2437.2927 -> down to 2437.25
    buy = await broker.place_order(order(order_type="SL-M", trigger="2445"))
    (trade,) = broker.set_last_price("NSE", "RELIANCE", "2445")
    assert trade.broker_order_id == buy and trade.price == D("2446.75")  # 2446.7115 -> up


# -- partial fills and IOC --------------------------------------------------------------------


async def test_max_fill_quantity_gives_partial_fills_over_matching_passes():
    broker = make(max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(order_type="MARKET", quantity=10))
    r = await report(broker, oid)
    assert (r.status, r.filled_quantity, r.pending_quantity) == (OrderStatus.PARTIALLY_FILLED, 4, 6)
    assert [t.quantity for t in broker.match("NSE", "RELIANCE")] == [4]
    assert [(t.quantity, t.price) for t in broker.set_last_price("NSE", "RELIANCE", "2460")] == [
        (2, D("2460"))
    ]
    r = await report(broker, oid)
    # (4 x 2450 + 4 x 2450 + 2 x 2460) / 10 = 24520 / 10
    assert (r.status, r.filled_quantity, r.average_price) == (OrderStatus.FILLED, 10, D("2452"))
    assert broker.match("NSE", "RELIANCE") == []


async def test_partial_fills_of_a_resting_limit_are_at_the_limit():
    broker = make(max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(price="2450"))
    broker.set_last_price("NSE", "RELIANCE", "2449")
    broker.set_last_price("NSE", "RELIANCE", "2448")
    assert [(t.quantity, t.price) for t in await trades_of(broker, oid)] == [(4, D("2450"))] * 2 + [
        (2, D("2450"))
    ]
    assert (await position(broker)).average_price == D("2450")


@pytest.mark.parametrize(("max_fill", "fills"), [(100, [65, 65]), (10, [65, 65]), (130, [130])])
async def test_partial_fills_are_whole_lots(max_fill, fills):
    broker = make(max_fill_quantity=max_fill)
    broker.set_last_price("NFO", "NIFTY99DECFUT", "26000")
    oid = await broker.place_order(
        order(symbol="NIFTY99DECFUT", order_type="MARKET", quantity=130, product="NRML")
    )
    broker.match("NFO", "NIFTY99DECFUT")
    assert [t.quantity for t in await trades_of(broker, oid)] == fills
    assert (await report(broker, oid)).status is OrderStatus.FILLED


async def test_ioc_cancels_what_does_not_fill_at_once():
    broker = make(max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    partly = await broker.place_order(order(order_type="MARKET", validity="IOC"))
    r = await report(broker, partly)
    assert (r.status, r.filled_quantity, r.pending_quantity) == (OrderStatus.CANCELLED, 4, 0)
    assert r.status_message == "IOC order: unfilled quantity 6 cancelled"
    away = await broker.place_order(order(price="2400", validity="IOC"))
    r = await report(broker, away)
    assert (r.status, r.filled_quantity) == (OrderStatus.CANCELLED, 0)
    broker.set_last_price("NSE", "RELIANCE", "2390")
    assert await trades_of(broker, away) == []


async def test_ioc_that_fills_in_full_is_filled(paper_broker):
    oid = await paper_broker.place_order(order(price="2450", validity="IOC"))
    assert (await report(paper_broker, oid)).status is OrderStatus.FILLED


async def test_ioc_stop_waits_for_its_trigger_then_cancels_the_rest(paper_broker):
    oid = await paper_broker.place_order(
        order(order_type="SL", trigger="2460", price="2462", validity="IOC")
    )
    assert (await report(paper_broker, oid)).status is OrderStatus.TRIGGER_PENDING
    paper_broker.set_last_price("NSE", "RELIANCE", "2470")  # triggered, limit 2462 not reachable
    r = await report(paper_broker, oid)
    assert (r.status, r.filled_quantity) == (OrderStatus.CANCELLED, 0)


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(symbol="FOOBAR", price="10"), "Unknown instrument NSE:FOOBAR"),
        (
            dict(symbol="NIFTY99DECFUT", quantity=10, price="26000", product="NRML"),
            "not a multiple of the lot size 65",
        ),
        (dict(quantity=0, price="2450"), "Quantity must be a positive whole number"),
        (
            dict(price="2450.03"),
            "Price 2450.03 is not a multiple of the tick size 0.05 for NSE:RELIANCE",
        ),
        (
            dict(side="SELL", order_type="SL", trigger="2440.02", price="2440"),
            "Trigger price 2440.02 is not a multiple of the tick size 0.05",
        ),
        (dict(symbol="TATASTEEL", price="168.425"), "tick size 0.01"),
        (dict(order_type="LIMIT"), "Price is required for a LIMIT order"),
        (dict(order_type="SL", price="2460"), "Trigger price is required for an SL order"),
        (dict(order_type="SL-M"), "Trigger price is required for an SL-M order"),
        (dict(order_type="MARKET", price="2450"), "A MARKET order takes no price"),
        (
            dict(order_type="SL", trigger="2470", price="2465"),
            "Trigger price for stoploss buy orders",
        ),
        (
            dict(side="SELL", order_type="SL", trigger="2430", price="2435"),
            "Trigger price for stoploss sell orders",
        ),
        (dict(symbol="SBIN", order_type="MARKET"), "No market price for NSE:SBIN"),
        (dict(symbol="SBIN", order_type="SL-M", trigger="800"), "No market price for NSE:SBIN"),
        (
            dict(symbol="NIFTY99DECFUT", quantity=65, price="26000", product="CNC"),
            "Product CNC is not allowed for NFO",
        ),
        (dict(symbol="OLDFUT", quantity=50, price="100", product="NRML"), "expired on 2020-01-30"),
        (dict(symbol="NIFTY 50", price="26000"), "not a tradable instrument"),
        (dict(price="2450", variety="amo"), "Variety amo is not supported"),
        (dict(price="2450", tag="not a tag!"), "Tag 'not a tag!' is invalid"),
        (dict(price="2450", tag="A" * 21), "at most 20 letters and digits"),
        (
            dict(quantity=500, price="2450", product="CNC"),
            "Insufficient funds. Required margin is 1225000.00 but available margin is 1000000.00.",
        ),
    ],
)
async def test_exchange_like_rejections_leave_nothing_behind(paper_broker, kwargs, message):
    with pytest.raises(BrokerRejected) as exc:
        await paper_broker.place_order(order(**kwargs))
    assert message in exc.value.message
    assert await paper_broker.orders() == []
    assert await paper_broker.trades() == []


async def test_margin_by_product_and_segment(paper_broker):
    # MIS: 500 x 2450 / 5 = 2,45,000 fits in 10,00,000
    await paper_broker.place_order(order(quantity=500, price="2400"))
    funds = await paper_broker.funds()
    assert funds.used == D("240000") and funds.available == D("760000")  # 500 x 2400 / 5
    broker = make()
    broker.set_last_price("NFO", "NIFTY99DECFUT", "26000")
    await broker.place_order(
        order(symbol="NIFTY99DECFUT", quantity=130, order_type="MARKET", product="NRML")
    )
    funds = await broker.funds()
    assert funds.used == D("507000")  # 130 x 26000 x 15%
    with pytest.raises(
        BrokerRejected, match="Required margin is 507000.00 but available margin is 493000.00"
    ):
        await broker.place_order(
            order(symbol="NIFTY99DECFUT", quantity=130, order_type="MARKET", product="NRML")
        )


async def test_orders_that_reduce_a_position_need_no_margin(paper_broker):
    await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    paper_broker.set_funds(0)  # cash 0, 4,900 blocked by the long position
    assert (await paper_broker.funds()).available == D("-4900")
    exit_id = await paper_broker.place_order(order(side="SELL", order_type="MARKET", quantity=10))
    assert (await report(paper_broker, exit_id)).status is OrderStatus.FILLED
    with pytest.raises(BrokerRejected, match="Insufficient funds"):
        await paper_broker.place_order(order(side="SELL", order_type="MARKET", quantity=10))


async def test_funds_follow_realized_pnl(paper_broker):
    await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    funds = await paper_broker.funds()
    assert (funds.available, funds.used) == (D("995100"), D("4900"))  # 10 x 2450 / 5
    paper_broker.set_last_price("NSE", "RELIANCE", "2460")
    await paper_broker.place_order(order(side="SELL", order_type="MARKET", quantity=10))
    funds = await paper_broker.funds()
    assert (funds.available, funds.used) == (D("1000100"), D("0"))  # + 10 x (2460 - 2450)


# -- ids and reports ----------------------------------------------------------------------------


async def test_order_and_trade_ids_look_like_kites(paper_broker):
    ids = [await paper_broker.place_order(order(order_type="MARKET", quantity=1)) for _ in range(3)]
    assert all(len(i) == 19 and i.isdigit() for i in ids)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids) and len(set(ids)) == 3
    day = int(datetime.now(IST).strftime("%y%m%d"))
    assert int(ids[0]) == day * 10**13 + 1  # seeded book: deterministic ids
    trade_ids = [t.trade_id for t in await paper_broker.trades()]
    assert trade_ids == ["10000001", "10000002", "10000003"]


async def test_unseeded_books_do_not_reuse_ids():
    first, second = PaperBroker(instruments=store()), PaperBroker(instruments=store())
    for broker in (first, second):
        broker.set_last_price("NSE", "RELIANCE", "2450")
    a = await first.place_order(order(order_type="MARKET"))
    b = await second.place_order(order(order_type="MARKET"))
    assert a != b and len(a) == len(b) == 19
    assert (await first.trades())[0].trade_id != (await second.trades())[0].trade_id
    assert len((await first.trades())[0].trade_id) >= 8


async def test_order_report_fields(paper_broker):
    oid = await paper_broker.place_order(
        order(side="SELL", order_type="SL", trigger="2440", price="2435", tag="ABC123")
    )
    r = await report(paper_broker, oid)
    assert r.client_order_id == "ABC123"
    assert (r.symbol, r.exchange, r.side, r.order_type, r.product) == (
        "RELIANCE",
        "NSE",
        OrderSide.SELL,
        OrderType.SL,
        Product.MIS,
    )
    assert (r.quantity, r.filled_quantity, r.pending_quantity) == (10, 0, 10)
    assert (r.price, r.trigger_price, r.average_price) == (D("2435"), D("2440"), None)
    assert r.timestamp.tzinfo is not None and r.status_message is None


async def test_positions_are_net_per_product_and_keep_flat_ones(paper_broker):
    await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    paper_broker.set_last_price("NSE", "RELIANCE", "2460")
    await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    p = await position(paper_broker)
    assert (p.quantity, p.average_price, p.multiplier, p.last_price) == (
        20,
        D("2455"),
        D(1),
        D("2460"),
    )
    paper_broker.set_last_price("NSE", "RELIANCE", "2470")
    await paper_broker.place_order(order(side="SELL", order_type="MARKET", quantity=30))
    p = await position(paper_broker)
    assert (p.quantity, p.average_price) == (-10, D("2470"))  # reversed: rest opened at the fill
    await paper_broker.place_order(order(order_type="MARKET", quantity=5, product="CNC"))
    assert (await position(paper_broker, product=Product.CNC)).quantity == 5
    await paper_broker.place_order(order(order_type="MARKET", quantity=10))
    p = await position(paper_broker)
    assert (p.quantity, p.average_price) == (0, D("0"))  # flat, still reported
    assert len(await paper_broker.positions()) == 2


# -- modify -----------------------------------------------------------------------------------


async def test_modify_price_and_quantity_of_a_resting_order(paper_broker):
    oid = await paper_broker.place_order(order(price="2400"))
    await paper_broker.modify_order(oid, price=D("2405.05"), quantity=20)
    r = await report(paper_broker, oid)
    assert (r.price, r.quantity, r.status, r.pending_quantity) == (
        D("2405.05"),
        20,
        OrderStatus.OPEN,
        20,
    )
    await paper_broker.modify_order(oid, price=D("2455"))  # now marketable: fills at the last price
    r = await report(paper_broker, oid)
    assert (r.status, r.average_price, r.filled_quantity) == (OrderStatus.FILLED, D("2450"), 20)


async def test_modify_refusals(paper_broker):
    oid = await paper_broker.place_order(order(price="2400"))
    with pytest.raises(BrokerRejected, match="not a multiple of the tick size"):
        await paper_broker.modify_order(oid, price=D("2405.03"))
    with pytest.raises(BrokerRejected, match="Quantity must be a positive"):
        await paper_broker.modify_order(oid, quantity=0)
    with pytest.raises(
        BrokerRejected, match="An open LIMIT order cannot be changed into an SL order"
    ):
        await paper_broker.modify_order(oid, order_type=OrderType.SL, trigger_price=D("2390"))
    with pytest.raises(BrokerRejected, match="A MARKET order takes no price"):
        await paper_broker.modify_order(oid, order_type=OrderType.MARKET, price=D("2400"))
    with pytest.raises(OrderNotFoundAtBroker):
        await paper_broker.modify_order("1234", price=D("2400"))
    assert (await report(paper_broker, oid)).price == D("2400")  # untouched
    filled = await paper_broker.place_order(order(order_type="MARKET"))
    with pytest.raises(BrokerRejected, match="Order cannot be modified as it is already complete"):
        await paper_broker.modify_order(filled, quantity=5)


async def test_modify_quantity_not_below_filled():
    broker = make(max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(price="2440"))
    broker.set_last_price("NSE", "RELIANCE", "2440")
    with pytest.raises(BrokerRejected, match=r"less than the filled quantity \(4\)"):
        await broker.modify_order(oid, quantity=3)
    await broker.modify_order(oid, quantity=4)  # nothing left to fill
    r = await report(broker, oid)
    assert (r.status, r.quantity, r.filled_quantity) == (OrderStatus.FILLED, 4, 4)


async def test_modify_stop_orders(paper_broker):
    oid = await paper_broker.place_order(
        order(side="SELL", order_type="SL", trigger="2440", price="2435")
    )
    await paper_broker.modify_order(oid, trigger_price=D("2445"), price=D("2440"))
    r = await report(paper_broker, oid)
    assert (r.status, r.trigger_price, r.price) == (
        OrderStatus.TRIGGER_PENDING,
        D("2445"),
        D("2440"),
    )
    await paper_broker.modify_order(
        oid, trigger_price=D("2450"), price=D("2445")
    )  # already crossed
    r = await report(paper_broker, oid)
    assert (r.status, r.average_price) == (OrderStatus.FILLED, D("2450"))
    other = await paper_broker.place_order(
        order(side="SELL", order_type="SL", trigger="2440", price="2435")
    )
    await paper_broker.modify_order(other, order_type=OrderType.LIMIT, price=D("2470"))
    r = await report(paper_broker, other)
    assert (r.status, r.order_type, r.trigger_price, r.price) == (
        OrderStatus.OPEN,
        OrderType.LIMIT,
        None,
        D("2470"),
    )
    with pytest.raises(BrokerRejected, match="Price is required for a LIMIT order"):
        slm = await paper_broker.place_order(order(side="SELL", order_type="SL-M", trigger="2440"))
        await paper_broker.modify_order(slm, order_type=OrderType.LIMIT)


async def test_modification_limit():
    paper_broker = make(order_rate_limits=())  # 26 in a row: only the count matters here
    paper_broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await paper_broker.place_order(order(price="2400"))
    for step in range(25):
        await paper_broker.modify_order(oid, price=D("2300") + step)
    with pytest.raises(BrokerRejected, match="Maximum allowed order modifications"):
        await paper_broker.modify_order(oid, price=D("2300"))


# -- cancel -------------------------------------------------------------------------------------


async def test_cancel_rules(paper_broker):
    oid = await paper_broker.place_order(order(price="2400"))
    await paper_broker.cancel_order(oid)
    r = await report(paper_broker, oid)
    assert (r.status, r.pending_quantity) == (OrderStatus.CANCELLED, 0)
    with pytest.raises(
        BrokerRejected, match="Order cannot be cancelled as it is already cancelled"
    ):
        await paper_broker.cancel_order(oid)
    filled = await paper_broker.place_order(order(order_type="MARKET"))
    with pytest.raises(BrokerRejected, match="Order cannot be cancelled as it is already complete"):
        await paper_broker.cancel_order(filled)
    with pytest.raises(OrderNotFoundAtBroker, match="Couldn't find order 42"):
        await paper_broker.cancel_order("42")
    paper_broker.set_last_price("NSE", "RELIANCE", "2390")
    assert await trades_of(paper_broker, oid) == []  # a cancelled order never fills


async def test_cancel_partly_filled_keeps_the_fills():
    broker = make(max_fill_quantity=4)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(order_type="MARKET"))
    await broker.cancel_order(oid)
    r = await report(broker, oid)
    assert (r.status, r.filled_quantity, r.pending_quantity, r.average_price) == (
        OrderStatus.CANCELLED,
        4,
        0,
        D("2450"),
    )
    assert broker.match("NSE", "RELIANCE") == []
    assert (await position(broker)).quantity == 4


async def test_cancel_stop_order(paper_broker):
    oid = await paper_broker.place_order(order(side="SELL", order_type="SL-M", trigger="2400"))
    await paper_broker.cancel_order(oid)
    paper_broker.set_last_price("NSE", "RELIANCE", "2300")
    assert (await report(paper_broker, oid)).status is OrderStatus.CANCELLED


# -- pushed updates -------------------------------------------------------------------------------


async def test_updates_are_pushed_after_the_call_returns_and_carry_trades(paper_broker):
    updates = []
    paper_broker.add_update_listener(updates.append)
    oid = await paper_broker.place_order(order(order_type="MARKET"))
    assert updates == []  # not from inside place_order
    await asyncio.sleep(0)
    assert [u.orders[0].status for u in updates] == [OrderStatus.OPEN, OrderStatus.FILLED]
    assert all(u.orders[0].broker_order_id == oid for u in updates)
    assert updates[0].trades == ()
    (trade,) = updates[1].trades
    assert (trade.broker_order_id, trade.quantity, trade.price) == (oid, 10, D("2450"))


async def test_every_state_change_is_pushed(paper_broker):
    updates = []
    paper_broker.add_update_listener(updates.append)
    stop = await paper_broker.place_order(order(order_type="SL", trigger="2460", price="2470"))
    limit = await paper_broker.place_order(order(price="2400"))
    await paper_broker.modify_order(limit, price=D("2405"))
    await paper_broker.cancel_order(limit)
    assert updates == []
    await asyncio.sleep(0)
    assert [(u.orders[0].broker_order_id, u.orders[0].status) for u in updates] == [
        (stop, OrderStatus.TRIGGER_PENDING),
        (limit, OrderStatus.OPEN),
        (limit, OrderStatus.OPEN),
        (limit, OrderStatus.CANCELLED),
    ]
    assert updates[2].orders[0].price == D("2405")
    updates.clear()
    paper_broker.set_last_price("NSE", "RELIANCE", "2465")  # trigger, then fill at 2465
    assert updates == []  # a loop is running: delivered by call_soon
    await asyncio.sleep(0)
    assert [u.orders[0].status for u in updates] == [OrderStatus.OPEN, OrderStatus.FILLED]
    assert updates[1].trades[0].price == D("2465")


def test_without_a_running_loop_price_updates_are_delivered_at_once():
    broker = make()
    oid = asyncio.run(broker.place_order(order(symbol="SBIN", price="800")))
    updates = []
    broker.add_update_listener(updates.append)
    broker.set_last_price("NSE", "SBIN", "799")
    assert [u.orders[0].status for u in updates] == [OrderStatus.FILLED]
    assert updates[0].trades[0].broker_order_id == oid


async def test_a_failing_listener_is_logged_and_breaks_nothing(paper_broker, caplog):
    def broken(update):
        raise RuntimeError("listener bug")

    updates = []
    paper_broker.add_update_listener(broken)
    paper_broker.add_update_listener(updates.append)
    paper_broker.add_tick_listener(broken)
    with caplog.at_level(logging.ERROR):
        await paper_broker.place_order(order(order_type="MARKET"))
        paper_broker.set_last_price("NSE", "RELIANCE", "2451")
        await asyncio.sleep(0)
    assert len(updates) == 2
    assert "update listener" in caplog.text and "tick listener" in caplog.text
    assert len(await paper_broker.orders()) == 1
    paper_broker.remove_update_listener(broken)
    paper_broker.remove_tick_listener(broken)


async def test_updates_from_another_thread_are_delivered_on_the_loop(paper_broker):
    await paper_broker.start()
    await paper_broker.place_order(order(price="2400"))
    delivered = asyncio.Event()
    seen = []

    def listener(update):
        seen.append((threading.get_ident(), update.orders[0].status))
        delivered.set()

    paper_broker.add_update_listener(listener)
    await asyncio.to_thread(paper_broker.set_last_price, "NSE", "RELIANCE", "2399")
    await asyncio.wait_for(delivered.wait(), 10)
    assert seen == [(threading.get_ident(), OrderStatus.FILLED)]


def test_ticks_are_pushed_in_batches():
    broker = make()
    batches = []
    broker.add_tick_listener(batches.append)
    broker.set_last_prices({("NSE", "RELIANCE"): D("2460"), "NSE:SBIN": 801})
    broker.set_last_price("NSE", "RELIANCE", "2440")
    first, second = batches
    assert [(t.symbol, t.last_price, t.close) for t in first] == [
        ("RELIANCE", D("2460"), D("2450")),
        ("SBIN", D("801"), D("800")),
    ]
    (tick,) = second
    assert (tick.open, tick.high, tick.low, tick.last_price) == (
        D("2460"),
        D("2460"),
        D("2440"),
        D("2440"),
    )


def test_bad_prices_are_refused_and_change_nothing():
    broker = make()
    with pytest.raises(UnknownInstrument, match="Unknown instrument NSE:FOO"):
        broker.set_last_prices({("NSE", "RELIANCE"): 2450, ("NSE", "FOO"): 1})
    with pytest.raises(ValueError, match="must be positive"):
        broker.set_last_price("NSE", "RELIANCE", 0)
    with pytest.raises(ValueError, match="not a number"):
        broker.set_last_price("NSE", "RELIANCE", "abc")
    assert broker.last_prices() == {}


# -- faults and broker-side changes ------------------------------------------------------------------


async def test_injected_rejection(paper_broker):
    paper_broker.inject_rejection("RMS: blocked", count=2)
    for _ in range(2):
        with pytest.raises(BrokerRejected, match="RMS: blocked"):
            await paper_broker.place_order(order(order_type="MARKET"))
    assert await paper_broker.orders() == []
    await paper_broker.place_order(order(order_type="MARKET"))
    assert len(await paper_broker.orders()) == 1


async def test_injected_unavailable(paper_broker):
    paper_broker.inject_unavailable()
    with pytest.raises(BrokerUnavailable):
        await paper_broker.place_order(order(order_type="MARKET"))
    assert await paper_broker.orders() == [] and await paper_broker.trades() == []


async def test_injected_outcome_unknown_after_acceptance(paper_broker):
    updates = []
    paper_broker.add_update_listener(updates.append)
    paper_broker.inject_outcome_unknown(accept=True)
    with pytest.raises(BrokerOutcomeUnknown):
        await paper_broker.place_order(order(order_type="MARKET", tag="LOSTREPLY1"))
    (r,) = await paper_broker.orders()
    assert (r.client_order_id, r.status) == ("LOSTREPLY1", OrderStatus.FILLED)
    await asyncio.sleep(0)
    assert [u.orders[0].status for u in updates] == [OrderStatus.OPEN, OrderStatus.FILLED]


async def test_injected_outcome_unknown_silent_or_without_acceptance(paper_broker):
    updates = []
    paper_broker.add_update_listener(updates.append)
    paper_broker.inject_outcome_unknown(accept=True, push_updates=False)
    paper_broker.inject_outcome_unknown(accept=False)
    with pytest.raises(BrokerOutcomeUnknown):
        await paper_broker.place_order(order(price="2400"))
    with pytest.raises(BrokerOutcomeUnknown):
        await paper_broker.place_order(order(price="2400"))
    await asyncio.sleep(0)
    assert updates == [] and len(await paper_broker.orders()) == 1
    with pytest.raises(ValueError):
        paper_broker.inject_rejection("x", count=0)


async def test_a_lost_rejection_is_an_unknown_outcome(paper_broker):
    paper_broker.inject_outcome_unknown(accept=True)
    with pytest.raises(BrokerOutcomeUnknown):
        await paper_broker.place_order(order(price="2450.01"))  # off tick: refused, reply lost
    assert await paper_broker.orders() == []


async def test_manual_fill(paper_broker):
    oid = await paper_broker.place_order(order(price="2400"))
    trade = paper_broker.fill(oid, 3)
    assert (trade.quantity, trade.price) == (3, D("2400"))
    assert (await report(paper_broker, oid)).status is OrderStatus.PARTIALLY_FILLED
    with pytest.raises(ValueError, match="between 1 and 7"):
        paper_broker.fill(oid, 8)
    paper_broker.fill(oid, price="2399")
    r = await report(paper_broker, oid)
    assert (r.status, r.average_price) == (OrderStatus.FILLED, D("2399.3"))  # (3x2400 + 7x2399)/10
    with pytest.raises(BrokerRejected):
        paper_broker.fill(oid)
    with pytest.raises(OrderNotFoundAtBroker):
        paper_broker.fill("99")
    stop = await paper_broker.place_order(order(side="SELL", order_type="SL-M", trigger="2400"))
    paper_broker.fill(stop, price=2401)
    assert (await report(paper_broker, stop)).status is OrderStatus.FILLED


async def test_reject_open_order(paper_broker):
    oid = await paper_broker.place_order(order(price="2400"))
    paper_broker.reject_open_order(oid, "Circuit limit breached")
    r = await report(paper_broker, oid)
    assert (r.status, r.status_message) == (OrderStatus.REJECTED, "Circuit limit breached")
    partly = await paper_broker.place_order(order(price="2400"))
    paper_broker.fill(partly, 1)
    with pytest.raises(ValueError, match="has fills"):
        paper_broker.reject_open_order(partly, "no")


async def test_set_and_clear_position(paper_broker):
    paper_broker.set_position("NSE", "INFY", "CNC", 7, "1490")
    paper_broker.set_position("NSE", "SBIN", Product.MIS, -5, D("801.5"))
    p = await position(paper_broker, "INFY", Product.CNC)
    assert (p.quantity, p.average_price, p.multiplier) == (7, D("1490"), D(1))
    assert (await position(paper_broker, "SBIN")).quantity == -5
    paper_broker.clear_position("NSE", "INFY", Product.CNC)
    p = await position(paper_broker, "INFY", Product.CNC)
    assert (p.quantity, p.average_price) == (0, D(0))
    with pytest.raises(ValueError):
        paper_broker.set_position("NSE", "INFY", "CNC", 3, 0)


# -- latency and rate limits --------------------------------------------------------------------------


async def test_latency_and_rate_limit_still_complete_requests():
    broker = make(latency_s=0.002, requests_per_second=1000)
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(order_type="MARKET"))
    await broker.modify_order(await broker.place_order(order(price="2400")), price=D("2401"))
    await broker.cancel_order((await broker.orders())[1].broker_order_id)
    assert (await report(broker, oid)).status is OrderStatus.FILLED
    assert len(await broker.trades()) == 1 and len(await broker.positions()) == 1


def test_rate_limiter_allows_a_burst_then_spaces_requests():
    now = [100.0]
    limiter = RateLimiter(10, clock=lambda: now[0])
    assert [limiter.reserve() for _ in range(10)] == [0.0] * 10
    assert limiter.reserve() == pytest.approx(0.1)
    assert limiter.reserve() == pytest.approx(0.2)
    now[0] += 1.0  # a second later: 10 tokens back, 2 of them owed
    assert limiter.reserve() == 0.0
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_by_default_the_paper_exchange_lists_the_bundled_instruments():
    listed = PaperBroker(seed=1).instrument_store
    bundled = load_bundled_instruments()  # what the app hands it in paper mode
    assert list(listed) == list(bundled) and listed.last_prices() == bundled.last_prices()
    assert listed.get("NSE", "RELIANCE") is not None


def test_constructor_checks_its_arguments():
    with pytest.raises(ValueError):
        make(slippage_bps=-1)
    with pytest.raises(ValueError):
        make(latency_s=-1)
    with pytest.raises(ValueError):
        make(max_fill_quantity=0)


# -- persistence ----------------------------------------------------------------------------------


async def build_history(broker: PaperBroker) -> dict:
    broker.set_last_price("NSE", "RELIANCE", "2450")
    filled = await broker.place_order(order(order_type="MARKET", quantity=10, tag="KEEP1"))
    resting = await broker.place_order(order(price="2400", tag="KEEP2"))
    stop = await broker.place_order(
        order(side="SELL", order_type="SL", trigger="2400", price="2395")
    )
    await broker.modify_order(resting, price=D("2405"))
    broker.set_last_price("NSE", "SBIN", "801")  # no fill: saved with the next event
    cancelled = await broker.place_order(order(price="2300"))
    await broker.cancel_order(cancelled)
    broker.set_position("NSE", "INFY", Product.CNC, 7, "1490")
    broker.set_funds("2000000")
    return {"filled": filled, "resting": resting, "stop": stop, "cancelled": cancelled}


async def snapshot(broker: PaperBroker):
    return (
        await broker.orders(),
        await broker.trades(),
        await broker.positions(),
        await broker.funds(),
        broker.last_prices(),
    )


async def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "paper" / "state.jsonl"
    broker = make(state_path=path)
    ids = await build_history(broker)
    before = await snapshot(broker)
    again = make(state_path=path)  # no close(): as if the process had been killed
    assert await snapshot(again) == before
    # matching and ids carry on where they were
    (trade,) = again.set_last_price("NSE", "RELIANCE", "2405")
    assert trade.broker_order_id == ids["resting"] and trade.price == D("2405")
    assert int(trade.trade_id) > max(int(t.trade_id) for t in before[1])
    new = await again.place_order(order(price="2300"))
    assert int(new) > max(int(i) for i in ids.values())
    assert (await report(make(state_path=path), ids["resting"])).status is OrderStatus.FILLED


async def test_funds_argument_only_seeds_a_new_account(tmp_path):
    path = tmp_path / "state.jsonl"
    make(state_path=path, funds=D("50000"))
    assert (await make(state_path=path, funds=D("999")).funds()).available == D("50000")


async def test_prices_are_saved_on_close(tmp_path):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    broker.set_last_price("NSE", "SBIN", "812.35")  # no fill: saved lazily
    await broker.close()
    assert make(state_path=path).last_price("NSE", "SBIN") == D("812.35")


def _records(path) -> list[str]:
    return [json.loads(line)["type"] for line in path.read_bytes().splitlines()]


def test_prices_alone_are_written_at_most_every_price_save_interval(tmp_path):
    path = tmp_path / "state.jsonl"
    lazy = make(state_path=path)  # PaperConfig's 10 s: no price-only write yet
    lazy.set_last_price("NSE", "SBIN", "812.35")
    assert _records(path) == ["init"]
    eager = make(state_path=tmp_path / "eager.jsonl", price_save_interval_s=0)
    eager.set_last_price("NSE", "SBIN", "812.35")
    eager.set_last_price("NSE", "SBIN", "812.40")
    assert _records(tmp_path / "eager.jsonl") == ["init", "prices", "prices"]
    assert make(state_path=tmp_path / "eager.jsonl").last_price("NSE", "SBIN") == D("812.40")


async def test_the_configured_clock_dates_the_book():
    now = [datetime(2026, 3, 2, 4, 0, tzinfo=UTC)]  # 09:30 IST on 2 March 2026
    broker = make(config=PaperConfig(clock=lambda: now[0]))
    broker.set_last_price("NSE", "RELIANCE", "2450")
    oid = await broker.place_order(order(price="2400"))
    assert oid.startswith("260302")  # the ids of the IST day of the clock
    now[0] += timedelta(minutes=5)
    await broker.modify_order(oid, price=D("2460"))  # marketable now: fills at 2450
    (placed,) = await broker.orders()
    (trade,) = await broker.trades()
    assert placed.timestamp == trade.timestamp == now[0]
    assert trade.price == D("2450")
    now[0] = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 00:30 IST on 3 March: a new day
    assert (await broker.place_order(order(price="2400"))).startswith("260303")


def test_config_fields_are_checked_and_keywords_override_the_config():
    with pytest.raises(ValueError, match="compact_after_lines"):
        PaperConfig(compact_after_lines=0)
    with pytest.raises(ValueError, match="price_save_interval_s"):
        PaperConfig(price_save_interval_s=-1)
    with pytest.raises(TypeError):
        make(no_such_setting=1)
    broker = make(config=PaperConfig(max_fill_quantity=5, seed=3), max_fill_quantity=2)
    assert (broker.config.max_fill_quantity, broker.config.seed) == (2, 1)  # make: seed=1
    assert broker.config.slippage_bps == D(0) and isinstance(broker.config.funds, D)


async def test_an_accepted_order_is_on_disk_before_place_order_returns(tmp_path, monkeypatch):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    synced = []
    from desktop_oms.infra import files as file_sync

    real_fsync = file_sync._sync

    def spy(fd):
        synced.append(path.read_text(encoding="utf-8"))
        return real_fsync(fd)

    monkeypatch.setattr(file_sync, "_sync", spy)
    await broker.place_order(order(price="2400", tag="DURABLE1"))
    assert synced and '"tag":"DURABLE1"' in synced[-1]


@pytest.mark.parametrize(
    "torn",
    [
        b'{"seq":3,"type":"accepted","order":{"broker_order_id":"26',  # killed mid-write
        b'{"seq":3,"type":"prices","prices":{}}',  # complete JSON, but no newline: not committed
        b"\x00" * 64,  # power loss: the file grew but the data never reached the disk
    ],
)
async def test_a_torn_last_line_is_dropped_and_writing_continues(tmp_path, caplog, torn):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    first = await broker.place_order(order(price="2400"))
    with path.open("ab") as handle:
        handle.write(torn)
    with caplog.at_level(logging.WARNING):
        reopened = make(state_path=path)
    assert "incomplete last record" in caplog.text
    assert [r.broker_order_id for r in await reopened.orders()] == [first]
    assert path.read_bytes().endswith(b"\n")
    second = await reopened.place_order(order(price="2401"))
    assert [r.broker_order_id for r in await make(state_path=path).orders()] == [first, second]


async def test_damage_in_the_middle_is_an_error_never_a_silent_loss(tmp_path):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    await broker.place_order(order(price="2400"))
    await broker.place_order(order(price="2401"))
    lines = path.read_bytes().splitlines(keepends=True)
    original = path.read_bytes()

    path.write_bytes(lines[0] + b"garbage\n" + b"".join(lines[2:]))
    with pytest.raises(PaperJournalCorrupt, match="line 2: not a JSON record"):
        make(state_path=path)
    path.write_bytes(lines[0] + b"".join(lines[2:]))
    with pytest.raises(PaperJournalCorrupt, match="line 2: sequence number 3 where 2 was expected"):
        make(state_path=path)
    bad_trade = json.dumps(
        {
            "seq": 4,
            "type": "trade",
            "trade_id": "1",
            "order_id": "404",
            "quantity": 1,
            "price": "1",
            "at": "2026-01-01T00:00:00+00:00",
        }
    )
    path.write_bytes(original + bad_trade.encode() + b"\n")
    with pytest.raises(PaperJournalCorrupt, match="line 4: 'trade' event for unknown order 404"):
        make(state_path=path)
    assert path.read_bytes() == original + bad_trade.encode() + b"\n"  # left for inspection


async def test_a_foreign_or_newer_file_is_refused(tmp_path):
    path = tmp_path / "state.jsonl"
    path.write_text('{"seq":1,"type":"init","format":"desktop-oms-paper-broker","version":99}\n')
    with pytest.raises(PaperJournalCorrupt, match="version 99 is not supported"):
        make(state_path=path)
    path.write_text('{"seq":1,"type":"accepted","order":{}}\n')
    with pytest.raises(PaperJournalCorrupt, match="before the journal's init record"):
        make(state_path=path)


async def test_large_journals_are_compacted_on_load(tmp_path):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    await build_history(broker)
    await broker.close()
    before = await snapshot(broker)
    lines = len(path.read_bytes().splitlines())
    assert lines > 3
    kept = make(state_path=path, config=PaperConfig(compact_after_lines=lines))
    assert len(path.read_bytes().splitlines()) == lines  # not over the limit: left alone
    assert await snapshot(kept) == before
    compacted = make(state_path=path, compact_after_lines=3)
    assert len(path.read_bytes().splitlines()) == 1
    assert await snapshot(compacted) == before
    await compacted.place_order(order(price="2300"))
    assert len(await make(state_path=path).orders()) == len(before[0]) + 1


async def test_a_journal_over_its_byte_limit_is_compacted_on_load(tmp_path):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    await build_history(broker)
    await broker.close()
    before = await snapshot(broker)
    size = path.stat().st_size
    make(state_path=path, compact_after_bytes=size)
    assert path.stat().st_size == size  # at the limit: left alone
    compacted = make(state_path=path, compact_after_bytes=size - 1)
    assert len(path.read_bytes().splitlines()) == 1
    assert await snapshot(compacted) == before


async def test_a_failed_write_is_an_unknown_outcome_then_the_broker_stops(tmp_path, monkeypatch):
    path = tmp_path / "state.jsonl"
    broker = make(state_path=path)
    broker.set_last_price("NSE", "RELIANCE", "2450")

    def disk_full(self, events, durable=True):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PaperJournal, "append", disk_full)
    with pytest.raises(BrokerOutcomeUnknown, match="could not save its state"):
        await broker.place_order(order(price="2400"))
    assert await broker.orders() == []
    with pytest.raises(BrokerUnavailable, match="restart"):
        await broker.place_order(order(price="2400"))
