"""Market depth (issue 17): the paper exchange's five-level book around the last price
(its invariants over any price path, sizes that move, ticks carrying it), fills against
it when the app turns that on, the default of filling at the last price kept; and
Kite's full-mode ticks carrying their five levels."""

from __future__ import annotations

import base64
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.brokers.kite.parsing.ticks import parse_binary, tick_from_packet
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from desktop_oms.domain.orders import OrderRequest
from tests.kite_server import load_mock, mock_path

RELIANCE = ("NSE", "RELIANCE")


def ticks_of(broker: PaperBroker, depth=(RELIANCE,)) -> list:
    """The broker's ticks; `depth`: instruments streamed with their five levels."""
    seen: list = []
    broker.add_tick_listener(seen.extend)
    broker.subscribe(list(depth), depth=True)
    return seen


def check_book(tick, tick_size=D("0.05"), lot=1) -> None:
    depth = tick.depth
    assert depth is not None
    bids, asks = depth.bids, depth.asks
    assert len(bids) == 5 and len(asks) == 5
    bid_prices = [level.price for level in bids]
    ask_prices = [level.price for level in asks]
    assert all(a - b == tick_size for a, b in zip(bid_prices, bid_prices[1:], strict=False))
    assert all(b - a == tick_size for a, b in zip(ask_prices, ask_prices[1:], strict=False))
    assert ask_prices[0] - bid_prices[0] == tick_size  # a one-tick spread
    assert tick.last_price in (bid_prices[0], ask_prices[0])
    for level in (*bids, *asks):
        assert level.price > 0 and level.price % tick_size == 0
        assert level.quantity > 0 and level.quantity % lot == 0 and level.orders >= 1
    assert (tick.bid, tick.bid_quantity) == (bids[0].price, bids[0].quantity)
    assert (tick.ask, tick.ask_quantity) == (asks[0].price, asks[0].quantity)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-40, max_value=40), min_size=1, max_size=40))
def test_the_book_keeps_its_shape_on_any_price_path(moves):
    broker = PaperBroker(seed=7)
    seen = ticks_of(broker)
    price = D("2450")
    volumes = []
    for move in moves:
        price = max(price + D(move) * D("0.05"), D("100"))
        broker.set_last_price(*RELIANCE, price)
        tick = seen[-1]
        check_book(tick)
        volumes.append(tick.volume)
    assert volumes == sorted(volumes)  # the day's cumulative volume


def test_the_last_trade_is_at_the_ask_on_an_uptick_and_the_bid_on_a_downtick():
    broker = PaperBroker(seed=1)
    seen = ticks_of(broker)
    broker.set_last_price(*RELIANCE, "2450")
    broker.set_last_price(*RELIANCE, "2450.50")
    assert seen[-1].ask == D("2450.50") and seen[-1].bid == D("2450.45")
    broker.set_last_price(*RELIANCE, "2450.50")  # unchanged: still at the ask
    assert seen[-1].ask == D("2450.50")
    broker.set_last_price(*RELIANCE, "2449")
    assert seen[-1].bid == D("2449") and seen[-1].ask == D("2449.05")


def test_sizes_move_and_follow_the_lot():
    broker = PaperBroker(seed=3)
    seen = ticks_of(broker)
    for _ in range(10):
        broker.set_last_price(*RELIANCE, "2450")
    sizes = {tuple(level.quantity for level in t.depth.bids) for t in seen}
    assert len(sizes) > 5  # the book is alive
    future = next(i for i in broker.instrument_store if i.lot_size > 1 and i.tradable)
    broker.subscribe([future.key], depth=True)
    broker.set_last_price(future.exchange, future.symbol, "1000")
    check_book(seen[-1], future.tick_size, future.lot_size)


def test_other_instruments_tick_with_the_best_bid_and_ask_only():
    """Like Kite's quote mode: no levels, the best of each side with its size; the book
    behind it is made when read, consistent with that best."""
    broker = PaperBroker(seed=2)
    seen = ticks_of(broker, depth=())
    for price in ("2450", "2450.05", "2450.05", "2449.90"):
        broker.set_last_price(*RELIANCE, price)
        tick = seen[-1]
        assert tick.depth is None
        assert tick.ask - tick.bid == D("0.05") and tick.last_price in (tick.bid, tick.ask)
        assert tick.bid_quantity > 0 and tick.ask_quantity > 0
    book = broker._exchange.book.depth(RELIANCE)
    assert len(book.bids) == 5 and len(book.asks) == 5
    assert (book.bids[0].price, book.bids[0].quantity) == (seen[-1].bid, seen[-1].bid_quantity)
    assert (book.asks[0].price, book.asks[0].quantity) == (seen[-1].ask, seen[-1].ask_quantity)


def test_asking_for_the_depth_sends_the_book_at_once_then_with_every_tick():
    broker = PaperBroker(seed=4)
    seen = ticks_of(broker, depth=())
    broker.set_last_price(*RELIANCE, "2450")
    assert seen[-1].depth is None
    volume = seen[-1].volume
    broker.subscribe([RELIANCE], depth=True)
    snapshot = seen[-1]
    check_book(snapshot)
    assert snapshot.last_price == D("2450") and snapshot.volume == volume  # no trade made
    broker.subscribe([RELIANCE], depth=True)  # already streamed: nothing new
    assert seen[-1] is snapshot
    broker.set_last_price(*RELIANCE, "2450.10")
    check_book(seen[-1])


async def test_a_market_order_walks_the_whole_book_of_an_instrument_not_streamed():
    broker = PaperBroker(seed=6, book_fills=True)
    seen = ticks_of(broker, depth=())
    broker.set_last_price(*RELIANCE, "2450.05")
    asks = broker._exchange.book.depth(RELIANCE).asks
    assert (asks[0].price, asks[0].quantity) == (seen[-1].ask, seen[-1].ask_quantity)
    trades = []
    broker.add_update_listener(lambda u: trades.extend(u.trades))
    await broker.place_order(order(OrderSide.BUY, OrderType.MARKET, asks[0].quantity + 1))
    await broker.settle()
    assert [(t.price, t.quantity) for t in trades] == [
        (asks[0].price, asks[0].quantity),
        (asks[1].price, 1),
    ]


def test_a_book_can_be_turned_off():
    broker = PaperBroker(seed=1, depth_levels=0)
    seen = ticks_of(broker)
    broker.set_last_price(*RELIANCE, "2450")
    assert seen[-1].depth is None and seen[-1].bid is None


def order(side, kind, quantity, price=None, oid=1) -> Order:
    request = OrderRequest(
        symbol="RELIANCE", exchange="NSE", side=side, quantity=quantity, order_type=kind,
        price=price, product=Product.MIS,
    )  # fmt: skip
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return Order(
        id=oid, client_order_id=f"TEST{oid:08d}", symbol=request.symbol, exchange="NSE",
        side=side, order_type=kind, product=Product.MIS, validity=Validity.DAY,
        variety=Variety.REGULAR, quantity=quantity, price=price, trigger_price=None,
        status=OrderStatus.PENDING, created_at=now, updated_at=now,
    )  # fmt: skip


async def test_a_market_order_walks_the_book_when_the_exchange_fills_against_it():
    broker = PaperBroker(seed=5, book_fills=True)
    seen = ticks_of(broker)
    broker.set_last_price(*RELIANCE, "2450")
    broker.set_last_price(*RELIANCE, "2450.05")  # an uptick: the best ask is the last price
    asks = seen[-1].depth.asks
    wanted = asks[0].quantity + asks[1].quantity + 1
    trades = []
    broker.add_update_listener(lambda u: trades.extend(u.trades))
    await broker.place_order(order(OrderSide.BUY, OrderType.MARKET, wanted))
    await broker.settle()
    assert [(t.price, t.quantity) for t in trades] == [
        (asks[0].price, asks[0].quantity),
        (asks[1].price, asks[1].quantity),
        (asks[2].price, 1),
    ]
    book = broker._exchange.book.depth(RELIANCE)  # what it took is gone until the next update
    assert book.asks[0].price == asks[2].price and book.asks[0].quantity == asks[2].quantity - 1


async def test_a_marketable_limit_takes_only_the_levels_within_its_limit():
    broker = PaperBroker(seed=5, book_fills=True)
    seen = ticks_of(broker)
    broker.set_last_price(*RELIANCE, "2450.05")
    asks = seen[-1].depth.asks
    limit = asks[1].price
    big = asks[0].quantity + asks[1].quantity + 50
    oid = await broker.place_order(order(OrderSide.BUY, OrderType.LIMIT, big, limit))
    await broker.settle()
    report = next(r for r in await broker.orders() if r.broker_order_id == oid)
    assert report.filled_quantity == asks[0].quantity + asks[1].quantity
    assert report.status is OrderStatus.PARTIALLY_FILLED and report.pending_quantity == 50
    assert D(report.average_price) <= limit


async def test_by_default_orders_fill_in_full_at_the_last_price():
    """The contract: PaperBroker() fills MARKET and marketable LIMIT orders at once, in
    full, at the last price - whatever its book shows."""
    broker = PaperBroker(seed=5)
    seen = ticks_of(broker)
    broker.set_last_price(*RELIANCE, "2450")
    assert seen[-1].depth is not None
    trades = []
    broker.add_update_listener(lambda u: trades.extend(u.trades))
    level = seen[-1].depth.asks[0].quantity
    await broker.place_order(order(OrderSide.BUY, OrderType.MARKET, 5 * level + 1))
    await broker.settle()
    assert [(t.price, t.quantity) for t in trades] == [(D("2450"), 5 * level + 1)]


def test_kite_full_mode_ticks_carry_five_levels():
    packet = base64.b64decode(mock_path("ticker_full.packet").read_text().strip())
    import struct

    frame = struct.pack(">HH", 1, len(packet)) + packet
    tick = tick_from_packet(parse_binary(frame)[0], "NSE", "INFY")
    expected = load_mock("ticker_full.json")["depth"]
    assert [(level.price, level.quantity, level.orders) for level in tick.depth.bids] == [
        (D(str(d["price"])), d["quantity"], d["orders"]) for d in expected["buy"]
    ]
    assert [(level.price, level.quantity, level.orders) for level in tick.depth.asks] == [
        (D(str(d["price"])), d["quantity"], d["orders"]) for d in expected["sell"]
    ]
    assert tick.depth.best_bid.price == tick.bid and tick.depth.best_ask.price == tick.ask


async def test_kite_streams_the_depth_ladders_instrument_in_full_mode():
    from desktop_oms.brokers.kite import KiteBroker

    broker = KiteBroker(api_key="key", access_token="token", root="http://127.0.0.1:9")
    try:
        broker._index_token("NSE", "INFY", 408065)
        broker._index_token("NSE", "TCS", 2953217)
        broker.subscribe([("NSE", "TCS")])
        broker.subscribe([("NSE", "INFY")], depth=True)
        assert broker.stream.subscriptions == {2953217: "quote", 408065: "full"}
    finally:
        await broker.close()
