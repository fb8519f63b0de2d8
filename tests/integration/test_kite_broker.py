"""KiteBroker through the real kiteconnect client against the local Kite server: lifecycle."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from desktop_oms.brokers.errors import BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.brokers.port import Broker
from desktop_oms.domain import Instrument, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.market import Funds

try:
    from kite_server import KiteTestServer
    from kite_server.helpers import make_broker, make_order
except ImportError:  # tests/ is a package in some layouts
    from tests.kite_server import KiteTestServer
    from tests.kite_server.helpers import make_broker, make_order


@pytest.fixture
def server():
    with KiteTestServer() as s:
        yield s


@pytest.fixture
async def broker(server):
    b = make_broker(server)
    await b.start()
    yield b
    await b.close()


async def test_is_a_broker(broker):
    assert isinstance(broker, Broker)
    assert broker.name == "kite"


async def test_full_lifecycle(server, broker):
    order = make_order(quantity=10, price="1500.50")
    order_id = await broker.place_order(order)
    assert isinstance(order_id, str) and len(order_id) == 19
    sent = server.form_of_last("POST", "/orders/regular")
    assert sent == {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "10",
        "product": "MIS",
        "order_type": "LIMIT",
        "validity": "DAY",
        "tag": order.client_order_id,
        "price": "1500.50",
    }
    [report] = await broker.orders()
    assert report.broker_order_id == order_id
    assert report.client_order_id == order.client_order_id
    assert report.status is OrderStatus.OPEN and report.pending_quantity == 10
    assert report.price == Decimal("1500.5") and report.timestamp.tzinfo is not None

    server.book.fill(order_id, 4, "1500.25")
    [report] = await broker.orders()
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert (report.filled_quantity, report.pending_quantity) == (4, 6)
    assert report.average_price == Decimal("1500.25")

    await broker.modify_order(order_id, quantity=12, price=Decimal("1501.00"))
    modified = server.form_of_last("PUT", f"/orders/regular/{order_id}")
    assert modified == {
        "variety": "regular",
        "order_id": order_id,
        "quantity": "12",
        "price": "1501.00",
    }
    [report] = await broker.orders()
    assert report.quantity == 12 and report.price == Decimal("1501")
    assert report.status is OrderStatus.PARTIALLY_FILLED

    server.book.fill(order_id, 8, "1501")
    [report] = await broker.orders()
    assert report.status is OrderStatus.FILLED and report.pending_quantity == 0
    assert report.average_price == Decimal("1500.75")

    trades = await broker.trades()
    assert [(t.quantity, t.price) for t in trades] == [
        (4, Decimal("1500.25")),
        (8, Decimal("1501")),
    ]
    assert {t.broker_order_id for t in trades} == {order_id}
    assert len({t.trade_id for t in trades}) == 2
    assert await broker.order_trades(order_id) == trades

    [position] = await broker.positions()
    assert (position.symbol, position.product, position.quantity) == ("INFY", Product.MIS, 12)
    assert position.multiplier == Decimal("1")

    # A second order is cancelled, a third rejected by the exchange.
    cancel_me = await broker.place_order(make_order(side=OrderSide.SELL, price="1600"))
    await broker.cancel_order(cancel_me)
    reject_me = await broker.place_order(make_order(quantity=5000))
    server.book.reject(reject_me, "RMS:Margin Exceeds,Required:7502500, Available:99725")
    by_id = {r.broker_order_id: r for r in await broker.orders()}
    assert by_id[cancel_me].status is OrderStatus.CANCELLED
    assert by_id[reject_me].status is OrderStatus.REJECTED
    assert by_id[reject_me].status_message.startswith("RMS:Margin Exceeds")

    # Terminal orders: Kite refuses, we say so with Kite's words.
    with pytest.raises(BrokerRejected, match="cannot be cancelled"):
        await broker.cancel_order(order_id)
    with pytest.raises(BrokerRejected, match="cannot be modified"):
        await broker.modify_order(cancel_me, price=Decimal("1601"))


async def test_market_and_stop_orders(server, broker):
    market = await broker.place_order(make_order(order_type=OrderType.MARKET, price=None))
    sent = server.form_of_last("POST", "/orders/regular")
    assert sent["market_protection"] == "-1" and "price" not in sent and "trigger_price" not in sent
    stop = await broker.place_order(
        make_order(side=OrderSide.SELL, order_type=OrderType.SL_M, price=None, trigger_price="1450")
    )
    sent = server.form_of_last("POST", "/orders/regular")
    assert sent["order_type"] == "SL-M" and sent["market_protection"] == "-1"
    assert sent["trigger_price"] == "1450" and "price" not in sent
    stop_limit = await broker.place_order(
        make_order(side=OrderSide.SELL, order_type=OrderType.SL, price="1449", trigger_price="1450")
    )
    assert "market_protection" not in server.form_of_last("POST", "/orders/regular")
    by_id = {r.broker_order_id: r for r in await broker.orders()}
    assert by_id[market].status is OrderStatus.OPEN
    assert by_id[stop].status is OrderStatus.TRIGGER_PENDING
    assert by_id[stop].trigger_price == Decimal("1450") and by_id[stop].price is None
    assert by_id[stop_limit].status is OrderStatus.TRIGGER_PENDING
    server.book.trigger(stop_limit)
    by_id = {r.broker_order_id: r for r in await broker.orders()}
    assert by_id[stop_limit].status is OrderStatus.OPEN
    # Modifying to a market type sends market protection again.
    await broker.modify_order(stop_limit, order_type=OrderType.MARKET)
    assert server.form_of_last("PUT", f"/orders/regular/{stop_limit}") == {
        "variety": "regular",
        "order_id": stop_limit,
        "order_type": "MARKET",
        "market_protection": "-1",
    }


async def test_order_history_maps_every_transient_status(server, broker):
    order_id = await broker.place_order(make_order())
    await broker.modify_order(order_id, price=Decimal("1499"))
    await broker.cancel_order(order_id)
    history = await broker.order_history(order_id)
    assert [h.status for h in history] == [
        OrderStatus.SUBMITTED,  # PUT ORDER REQ RECEIVED
        OrderStatus.SUBMITTED,  # VALIDATION PENDING
        OrderStatus.SUBMITTED,  # OPEN PENDING
        OrderStatus.OPEN,
        OrderStatus.OPEN,  # MODIFY VALIDATION PENDING
        OrderStatus.OPEN,  # MODIFY PENDING
        OrderStatus.OPEN,  # MODIFIED
        OrderStatus.OPEN,
        OrderStatus.OPEN,  # CANCEL PENDING
        OrderStatus.CANCELLED,
    ]
    with pytest.raises(OrderNotFoundAtBroker):
        await broker.order_history("123")
    with pytest.raises(OrderNotFoundAtBroker):
        await broker.cancel_order("123")
    with pytest.raises(OrderNotFoundAtBroker):
        await broker.modify_order("123", price=Decimal("1"))


async def test_every_status_in_zerodhas_mocks_through_the_wire(server, broker):
    server.seed_fixture_orders()
    reports = await broker.orders()
    statuses = {r.broker_order_id: r.status for r in reports}
    assert statuses["100000000000000"] is OrderStatus.CANCELLED
    assert statuses["300000000000000"] is OrderStatus.FILLED
    assert statuses["220524001859672"] is OrderStatus.REJECTED
    assert statuses["1953367517686685697"] is OrderStatus.FILLED
    assert statuses["171229000724687"] is OrderStatus.OPEN
    history = await broker.order_history("171229000724687")
    assert [h.status for h in history] == [OrderStatus.SUBMITTED] * 3 + [OrderStatus.OPEN] * 5
    trades = await broker.trades()
    assert {t.trade_id for t in trades} == {"10000000", "40000000", "70000000", "90000000"}
    # Net rows: the book's (from trades.json) plus positions.json's; the CO row is skipped
    # (not modelled), the closed GOLDGUINEA row only appears on request.
    positions = {(p.symbol, p.product): p for p in await broker.positions()}
    lead = positions[("LEADMINI17DECFUT", Product.NRML)]
    assert (lead.quantity, lead.multiplier, lead.average_price) == (
        1,
        Decimal("1000"),
        Decimal("161.05"),
    )
    assert ("GOLDGUINEA17DECFUT", Product.NRML) not in positions
    assert not any(p.product.value == "CO" for p in positions.values())
    everything = await broker.positions(include_closed=True)
    assert any(p.symbol == "GOLDGUINEA17DECFUT" and p.quantity == 0 for p in everything)


async def test_funds_margins_quotes_profile(server, broker):
    assert await broker.funds() == Funds(
        available=Decimal("99725.05000000002"), used=Decimal("145706.55")
    )
    margin = await broker.order_margins(make_order(symbol="INFY", quantity=1, price="1498"))
    assert margin == Decimal("1498")
    assert server.http.requests[-1].json_body[0]["tradingsymbol"] == "INFY"
    assert await broker.ltp([("NSE", "INFY")]) == {("NSE", "INFY"): Decimal("1074.35")}
    quotes = await broker.quote([("NSE", "INFY")])
    assert quotes[("NSE", "INFY")].last_price == Decimal("1412.95")
    assert quotes[("NSE", "INFY")].ask == Decimal("1412.95")
    profile = await broker.verify_session()
    assert profile["user_id"] == "AB1234"


async def test_instruments_and_the_cache_hook(server, broker):
    class Cache:
        def __init__(self):
            self.saved: dict[date, list[Instrument]] = {}
            self.loads = 0

        async def load(self, day):
            self.loads += 1
            return self.saved.get(day)

        async def save(self, day, instruments):
            self.saved[day] = list(instruments)

    instruments = await broker.instruments()
    assert len(instruments) == 99
    option = next(i for i in instruments if i.symbol == "BANKNIFTY18JAN23500CE")
    assert option.lot_size == 40 and option.tick_size == Decimal("0.05")
    assert len(await broker.instruments("NSE")) == 99

    cache = Cache()
    cached_broker = make_broker(server, instruments_cache=cache)
    try:
        first = await cached_broker.instruments()
        downloads = server.count("GET", "/instruments")
        second = await cached_broker.instruments()
        assert second == first and cache.loads == 2
        assert server.count("GET", "/instruments") == downloads  # served from the cache
    finally:
        await cached_broker.close()


async def test_the_loop_never_blocks_on_a_slow_kite(server, broker):
    server.stall_next("GET", "/orders", 0.6, process=True)
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat():
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    loop_thread = threading.get_ident()
    await broker.orders()
    done.set()
    await beat
    assert len(gaps) > 20 and max(gaps) < 0.2
    assert threading.get_ident() == loop_thread
