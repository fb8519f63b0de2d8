"""The live stream against the local ticker: ticks, order updates, reconnects, watchdog."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from decimal import Decimal

import pytest

from desktop_oms.brokers.errors import SessionExpired
from desktop_oms.brokers.kite.mapping import IST
from desktop_oms.brokers.kite.stream.stream import KiteStream, StreamState
from desktop_oms.domain import OrderStatus

try:
    from kite_server import KiteTestServer, fixture_packet, frame, wait_until
    from kite_server.helpers import make_broker, make_order
except ImportError:
    from tests.kite_server import KiteTestServer, fixture_packet, frame, wait_until
    from tests.kite_server.helpers import make_broker, make_order

INFY = 408065  # not in the mock instruments dump: resolved through /quote/ltp
CENTRALBK = 3813889  # in the dump


@pytest.fixture
def server():
    with KiteTestServer(heartbeat_interval=0.05) as s:
        yield s


class Recorder:
    def __init__(self, broker) -> None:
        self.ticks: list[list] = []
        self.updates: list = []
        self.catch_ups = 0
        self.states: list[StreamState] = []
        self.expired: list[str] = []
        self.threads: set[int] = set()
        broker.add_tick_listener(self._ticks)
        broker.add_update_listener(self._update)
        broker.add_catch_up_listener(self._catch_up)
        broker.add_stream_state_listener(self._state)
        broker.add_session_expired_listener(self.expired.append)

    def _ticks(self, batch):
        self.threads.add(threading.get_ident())
        self.ticks.append(list(batch))

    def _update(self, update):
        self.threads.add(threading.get_ident())
        self.updates.append(update)

    def _catch_up(self):
        self.catch_ups += 1

    def _state(self, status):
        if not self.states or self.states[-1] is not status.state:
            self.states.append(status.state)

    def all_ticks(self):
        return [tick for batch in self.ticks for tick in batch]


async def started(server, **stream_options):
    broker = make_broker(server, stream=True, stream_options=stream_options)
    recorder = Recorder(broker)
    await broker.start()
    await wait_until(lambda: broker.stream.state is StreamState.CONNECTED)
    return broker, recorder


async def test_ticks_become_decimal_ticks_on_the_loop_thread(server):
    broker, rec = await started(server)
    try:
        await broker.instruments()
        broker.subscribe([("NSE", "INFY")], mode="full")
        broker.subscribe([("NSE", "CENTRALBK-BE")])
        await wait_until(lambda: server.ticker.subscribed() == {INFY: "full", CENTRALBK: "quote"})
        server.ticker.push_binary(frame(fixture_packet("ticker_full")))
        await wait_until(lambda: rec.ticks)
        [tick] = rec.all_ticks()
        assert (tick.exchange, tick.symbol) == ("NSE", "INFY")
        assert tick.last_price == Decimal("1573.7") and isinstance(tick.last_price, Decimal)
        assert (tick.bid, tick.bid_quantity, tick.ask, tick.ask_quantity) == (
            Decimal("1573.4"),
            5,
            Decimal("1573.7"),
            172,
        )
        assert tick.timestamp == datetime(2021, 7, 5, 10, 41, 27, tzinfo=IST)
        assert server.ticker.push_tick(CENTRALBK, "23.45") == 1
        await wait_until(lambda: len(rec.all_ticks()) == 2)
        quote = rec.all_ticks()[-1]
        assert (quote.symbol, quote.last_price) == ("CENTRALBK-BE", Decimal("23.45"))
        assert rec.threads == {threading.get_ident()}
        status = broker.stream_status
        assert status.state is StreamState.CONNECTED and status.last_tick_at is not None
    finally:
        await broker.close()
    assert broker.stream.state is StreamState.STOPPED


async def test_ticks_are_coalesced_into_batches(server):
    broker, rec = await started(server, coalesce_interval=0.15)
    try:
        await broker.instruments()
        broker.subscribe([("NSE", "CENTRALBK-BE"), ("NSE", "EMMBI-BL")], mode="ltp")
        await wait_until(lambda: len(server.ticker.subscribed()) == 2)
        for price in ("23.10", "23.15", "23.20", "23.25"):
            server.ticker.push_tick(CENTRALBK, price)
        server.ticker.push_tick(4645121, "101.5")
        await wait_until(lambda: rec.ticks)
        await asyncio.sleep(0.2)
        assert len(rec.ticks) == 1  # one batch, latest price per instrument
        prices = {t.symbol: t.last_price for t in rec.ticks[0]}
        assert prices == {"CENTRALBK-BE": Decimal("23.25"), "EMMBI-BL": Decimal("101.5")}
    finally:
        await broker.close()


async def test_order_updates_are_pushed_as_broker_updates(server):
    broker, rec = await started(server)
    try:
        order = make_order(quantity=10)
        order_id = await broker.place_order(order)
        server.book.fill(order_id, 4, "1500")
        await wait_until(lambda: rec.updates)
        [report] = rec.updates[0].orders
        assert (
            report.broker_order_id == order_id and report.client_order_id == order.client_order_id
        )
        assert report.status is OrderStatus.PARTIALLY_FILLED and report.filled_quantity == 4
        await broker.cancel_order(order_id)
        await wait_until(lambda: len(rec.updates) == 2)
        assert rec.updates[1].orders[0].status is OrderStatus.CANCELLED
        assert rec.threads == {threading.get_ident()}
    finally:
        await broker.close()


async def test_dropped_socket_reconnects_resubscribes_and_catches_up(server):
    broker, rec = await started(server)
    try:
        await broker.instruments()
        broker.subscribe([("NSE", "CENTRALBK-BE")])
        await wait_until(lambda: server.ticker.subscribed())
        order_id = await broker.place_order(make_order(quantity=5))
        server.push_order_updates = False  # the fill's push is lost while we are away
        assert server.ticker.drop_all() == 1
        server.book.fill(order_id, 5, "1500.5")
        await wait_until(lambda: rec.catch_ups == 1)
        # The catch-up re-reads orders and trades: the missed fill arrives as an update.
        await wait_until(lambda: any(u.trades for u in rec.updates))
        update = next(u for u in rec.updates if u.trades)
        assert [o.status for o in update.orders] == [OrderStatus.FILLED]
        assert [(t.broker_order_id, t.quantity) for t in update.trades] == [(order_id, 5)]
        await wait_until(lambda: server.ticker.subscribed() == {CENTRALBK: "quote"})
        assert server.ticker.accepted == 2
        assert rec.states == [
            StreamState.CONNECTING,
            StreamState.CONNECTED,
            StreamState.RECONNECTING,
            StreamState.CONNECTED,
        ]
        assert broker.stream_status.reconnects == 1
        server.ticker.push_tick(CENTRALBK, "24")
        await wait_until(lambda: rec.ticks)
    finally:
        await broker.close()


async def test_watchdog_reconnects_a_silent_socket(server):
    broker, rec = await started(server, watchdog_timeout=0.3, watchdog_active=lambda: True)
    try:
        await asyncio.sleep(0.6)  # heartbeats keep a healthy connection alive
        assert server.ticker.accepted == 1 and rec.catch_ups == 0
        assert server.ticker.silence_all() == 1  # open, answers pings, sends nothing
        await wait_until(lambda: server.ticker.accepted == 2, timeout=2)
        await wait_until(lambda: rec.catch_ups == 1)
        await wait_until(lambda: broker.stream.state is StreamState.CONNECTED)
        assert "no data" in (rec_error := broker.stream.status.error or "no data") and rec_error
    finally:
        await broker.close()


async def test_watchdog_sleeps_outside_market_hours(server):
    broker, rec = await started(server, watchdog_timeout=0.2, watchdog_active=lambda: False)
    try:
        server.ticker.silence_all()
        await asyncio.sleep(0.6)
        assert server.ticker.accepted == 1 and broker.stream.state is StreamState.CONNECTED
    finally:
        await broker.close()


async def test_expired_token_on_connect_stops_without_a_storm(server):
    broker = make_broker(server, access_token="expiredtoken", stream=True)
    rec = Recorder(broker)
    await broker.start()
    try:
        await wait_until(lambda: broker.stream.state is StreamState.EXPIRED)
        await asyncio.sleep(0.5)
        assert server.ticker.handshakes == 1 and server.ticker.refused == 1
        assert len(rec.expired) == 1 and broker.session_expired
        with pytest.raises(SessionExpired):
            await broker.place_order(make_order())
        assert server.count("POST", "/orders/regular") == 0
    finally:
        await broker.close()
    assert broker.stream.state is StreamState.EXPIRED


async def test_token_expiring_mid_session_stops_reconnects_until_relogin(server):
    broker, rec = await started(server)
    try:
        await broker.instruments()
        broker.subscribe([("NSE", "CENTRALBK-BE")])
        await wait_until(lambda: server.ticker.subscribed())
        server.expire_session()
        server.ticker.drop_all()
        await wait_until(lambda: broker.stream.state is StreamState.EXPIRED)
        await asyncio.sleep(0.5)
        assert server.ticker.handshakes == 2  # one refused attempt, then silence
        assert len(rec.expired) == 1

        broker.set_access_token(server.issue_token())
        await wait_until(lambda: broker.stream.state is StreamState.CONNECTED)
        await wait_until(lambda: server.ticker.subscribed() == {CENTRALBK: "quote"})
        assert not broker.session_expired
    finally:
        await broker.close()


async def test_rest_token_exception_also_stops_the_stream(server):
    broker, rec = await started(server)
    try:
        server.expire_session()
        with pytest.raises(SessionExpired):
            await broker.orders()
        assert broker.stream.state is StreamState.EXPIRED
        server.ticker.drop_all()
        await asyncio.sleep(0.3)
        assert server.ticker.handshakes == 1  # no reconnect attempt with a dead token
        assert len(rec.expired) == 1
    finally:
        await broker.close()


async def test_garbage_on_the_socket_does_not_break_the_stream(server):
    broker, rec = await started(server)
    try:
        await broker.instruments()
        broker.subscribe([("NSE", "CENTRALBK-BE")], mode="ltp")
        await wait_until(lambda: server.ticker.subscribed())
        server.ticker.push_text("not json at all")
        server.ticker.push_text({"type": "error", "data": "something odd"})
        server.ticker.push_binary(b"\x00\x01\x00\x2c\x00\x00")  # truncated frame
        server.ticker.push_order_update({"order_id": "1"})  # unreadable: ask for a catch-up
        await wait_until(lambda: rec.catch_ups == 1)
        server.ticker.push_tick(CENTRALBK, "25.05")
        await wait_until(lambda: rec.ticks)
        assert rec.all_ticks()[0].last_price == Decimal("25.05")
        assert broker.stream.state is StreamState.CONNECTED and server.ticker.accepted == 1
    finally:
        await broker.close()


async def test_unsubscribe_and_stop(server):
    broker, rec = await started(server)
    await broker.instruments()
    broker.subscribe([("NSE", "CENTRALBK-BE")])
    await wait_until(lambda: server.ticker.subscribed())
    broker.unsubscribe([("NSE", "CENTRALBK-BE")])
    await wait_until(lambda: server.ticker.subscribed() == {})
    assert {"a": "unsubscribe", "v": [CENTRALBK]} in server.ticker.messages
    await broker.close()
    await broker.close()  # idempotent
    assert broker.stream.state is StreamState.STOPPED
    await asyncio.sleep(0.2)
    assert server.ticker.accepted == 1 and server.ticker.connection_count == 0


async def test_stream_alone_with_a_server_that_is_down():
    stream = KiteStream(
        "key",
        "token",
        "ws://127.0.0.1:9",
        reconnect_initial_delay=0.02,
        reconnect_max_delay=0.05,
        open_timeout=0.5,
    )
    states = []
    stream.add_state_listener(lambda s: states.append(s.state))
    stream.start()
    await wait_until(lambda: stream.connection_attempts >= 3)
    await stream.stop()
    assert StreamState.CONNECTED not in states and states[-1] is StreamState.STOPPED
    assert "refused" in (stream.status.error or "").lower() or stream.status.error
