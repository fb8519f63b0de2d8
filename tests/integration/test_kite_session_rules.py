"""Issue 14 items 3 and 7: the session, the stream and Kite's smaller rules, through the
real `kiteconnect` client (and our WebSocket client) against the Kite test server.

Item 3: a 403 on the ticker's handshake while the REST session is valid. Item 7: stale
order updates (exchange_update_timestamp), UPDATE for an untriggered SL, cover orders,
IOC on MCX, the watchdog in MCX's evening session, the static-IP refusal.

A test marked xfail(strict=True) fails today for the reason in its marker.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from desktop_oms.brokers.errors import BrokerRejected, BrokerUnavailable
from desktop_oms.brokers.kite.stream import stream as kite_stream
from desktop_oms.brokers.kite.stream.stream import StreamState
from desktop_oms.domain import (
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.oms import OrderNotCancellable, OrderRejected
from tests.helpers import limit, until
from tests.kite_server import KiteTestServer
from tests.kite_server.apps import KiteOms, start_kite_app, stream_price
from tests.kite_server.book import IST
from tests.kite_server.helpers import make_broker, make_order
from tests.kite_server.http_api import error_body

PLACE = "/orders/regular"
D = Decimal
EQ = "EMMBI-BL"  # an NSE equity in Zerodha's mock instruments dump (tick 0.05)


@pytest.fixture
def server():
    with KiteTestServer(heartbeat_interval=0.05) as s:
        s.set_price("NSE", EQ, "100")
        yield s


async def streaming_broker(server, **stream_options):
    broker = make_broker(server, stream=True, stream_options=stream_options)
    await broker.start()
    await until(lambda: broker.stream.state is StreamState.CONNECTED, timeout=5)
    return broker


def stop_buy(qty: int = 5, trigger: str = "101", price: str = "101.50") -> OrderRequest:
    return OrderRequest(
        symbol=EQ,
        exchange="NSE",
        side=OrderSide.BUY,
        quantity=qty,
        order_type=OrderType.SL,
        price=D(price),
        trigger_price=D(trigger),
        product=Product.MIS,
        validity=Validity.DAY,
    )


# ============================================================= item 3: a refused handshake


async def test_a_refused_handshake_with_a_valid_session_locks_out_nothing(server):
    broker = await streaming_broker(server)
    try:
        order_id = await broker.place_order(make_order(symbol=EQ, price="99"))
        server.ticker.refuse_handshakes(1)  # the token is fine: /user/profile answers
        server.ticker.drop_all()
        await until(lambda: server.ticker.refused == 1, timeout=5)
        await until(
            lambda: broker.session_expired or server.ticker.connection_count == 1, timeout=5
        )
        assert not broker.session_expired
        await broker.cancel_order(order_id)  # never refused locally because of the stream
        assert server.book.orders[order_id]["status"] == "CANCELLED"
        await until(lambda: broker.stream.state is StreamState.CONNECTED, timeout=5)
        assert server.count("GET", "/user/profile") >= 1  # the expiry was checked with REST
    finally:
        await broker.close()


async def test_cancel_during_a_refused_socket_works_in_the_app(tmp_path, server):
    asked: list[str] = []

    async def login(api_key, reason):
        asked.append(reason)
        return None

    app = await start_kite_app(tmp_path, server, login=login)
    try:
        await stream_price(app, server, "NSE", EQ, "100")  # the stream is up
        result = await app.order_manager.place_order(limit(EQ, qty=5, price="99"))
        server.ticker.refuse_handshakes(1)
        server.ticker.drop_all()
        await until(lambda: server.ticker.refused == 1, timeout=5)
        await until(
            lambda: app.order_manager.halted or server.ticker.connection_count == 1, timeout=5
        )
        cancelled = await app.order_manager.cancel_order(result.order_id)
        assert cancelled.status is OrderStatus.CANCELLED
        assert server.book.orders[result.broker_order_id]["status"] == "CANCELLED"
        assert not app.order_manager.halted and asked == []
    finally:
        await app.stop()


async def test_a_refused_handshake_with_no_answer_from_rest_keeps_retrying(server):
    """When the session check itself fails (Kite's REST side answers 503), nothing is
    proven: the stream backs off and tries again, and the session stays usable."""
    broker = await streaming_broker(server)
    try:
        server.fail_next("GET", "/user/profile", status=503, error_type="NetworkException")
        server.ticker.refuse_handshakes(2)
        server.ticker.drop_all()
        await until(lambda: server.ticker.refused == 2, timeout=5)
        await until(lambda: broker.stream.state is StreamState.CONNECTED, timeout=5)
        assert not broker.session_expired
        assert server.count("GET", "/user/profile") == 2  # asked after each refusal
    finally:
        await broker.close()


async def test_a_refused_handshake_with_a_dead_token_still_expires_the_session(server):
    """Already right (and must stay so): a token Kite refuses on REST too is expired."""
    broker = await streaming_broker(server)
    try:
        server.expire_session()
        server.ticker.drop_all()
        await until(lambda: broker.session_expired, timeout=5)
        assert broker.stream.state is StreamState.EXPIRED
    finally:
        await broker.close()


# ================================================================ item 7: stale updates


@pytest.fixture
async def oms(tmp_path, server):
    h = await KiteOms.open(tmp_path, server, stream=True)
    h.seen = []  # every order report the broker delivered (pushed updates)
    h.broker.add_update_listener(lambda update: h.seen.extend(update.orders))
    await until(lambda: h.broker.stream.state is StreamState.CONNECTED, timeout=5)
    yield h
    await h.close()


def stepping_clock(server) -> list[datetime]:
    """Kite's timestamps are whole seconds: the server's clock is stepped by the test."""
    clock = [datetime(2026, 12, 8, 10, 0, 0, tzinfo=IST)]
    server.book.clock = lambda: clock[0]
    return clock


async def test_a_stale_trigger_pending_update_does_not_revert_an_open_order(oms, server):
    clock = stepping_clock(server)
    result = await oms.om.place_order(stop_buy())
    await until(
        lambda: oms.om.sync.current(result.order_id).status is OrderStatus.TRIGGER_PENDING,
        timeout=5,
    )
    clock[0] += timedelta(seconds=2)
    server.book.trigger(result.broker_order_id)  # pushed: OPEN at 10:00:02
    await until(lambda: oms.om.sync.current(result.order_id).status is OrderStatus.OPEN)
    server.book.replay(result.broker_order_id, "TRIGGER PENDING")  # late: 10:00:00
    await until(lambda: len(oms.seen) >= 2, timeout=5)
    await oms.om.sync.drain()
    after_open = oms.statuses(result.order_id)
    after_open = after_open[after_open.index(OrderStatus.OPEN) :]
    assert OrderStatus.TRIGGER_PENDING not in after_open, after_open
    assert (await oms.om.get_order(result.order_id)).status is OrderStatus.OPEN


async def test_modifying_an_untriggered_stop_keeps_it_trigger_pending(oms, server):
    stepping_clock(server)
    result = await oms.om.place_order(stop_buy())
    await until(
        lambda: oms.om.sync.current(result.order_id).status is OrderStatus.TRIGGER_PENDING,
        timeout=5,
    )
    await oms.om.modify_order(result.order_id, price=D("102"), trigger_price=D("101.50"))
    # Kite pushes the modification with status UPDATE.
    await until(lambda: any(r.trigger_price == D("101.5") for r in oms.seen), timeout=5)
    await oms.om.sync.drain()
    assert OrderStatus.OPEN not in oms.statuses(result.order_id), oms.statuses(result.order_id)
    assert (await oms.om.get_order(result.order_id)).status is OrderStatus.TRIGGER_PENDING


# ===================================================================== item 7: cover orders


async def test_a_cover_order_without_its_trigger_never_reaches_kite(server):
    broker = make_broker(server)
    try:
        with pytest.raises(BrokerRejected):
            await broker.place_order(make_order(variety=Variety.CO, symbol=EQ, price="100"))
        assert server.count("POST", "/orders/co") == 0
    finally:
        await broker.close()


async def test_a_cover_order_is_supported_or_refused_never_lost(server):
    broker = make_broker(server)
    try:
        order = make_order(variety=Variety.CO, symbol=EQ, price="100", trigger_price="98")
        try:
            order_id = await broker.place_order(order)
        except BrokerRejected:  # refused locally, like iceberg: fine if nothing was sent
            assert server.count("POST", "/orders/co") == 0
            return
        reports = {r.broker_order_id: r for r in await broker.orders()}
        assert order_id in reports
        assert reports[order_id].client_order_id == order.client_order_id
    finally:
        await broker.close()


# ======================================================================== item 7: IOC on MCX


async def test_ioc_on_mcx_is_refused_before_sending(tmp_path, server):
    crude = server.add_contract("CRUDEOIL", price="6000")
    h = await KiteOms.open(tmp_path, server)
    try:
        request = OrderRequest(
            symbol=crude,
            exchange="MCX",
            side=OrderSide.BUY,
            quantity=1,
            order_type=OrderType.LIMIT,
            price=D("6000"),
            product=Product.NRML,
            validity=Validity.IOC,
        )
        with pytest.raises(OrderRejected) as refused:
            await h.om.place_order(request)
        assert refused.value.failed_check != "broker", refused.value.reason
        assert "IOC" in refused.value.reason
        assert server.count("POST", PLACE) == 0
    finally:
        await h.close()


# ============================================================ item 7: the MCX evening watchdog


def _frozen(moment: datetime):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    return Frozen


async def test_watchdog_guards_the_mcx_evening_session(server, monkeypatch):
    evening = datetime(2026, 12, 8, 21, 0, tzinfo=IST)  # a Tuesday; MCX trades until 23:30
    monkeypatch.setattr(kite_stream, "datetime", _frozen(evening))  # the stream and its watchdog
    broker = await streaming_broker(
        server, watchdog_timeout=0.3, watchdog_active=None, now=lambda: evening
    )
    try:
        assert server.ticker.silence_all() == 1  # open, answers pings, sends nothing
        await until(lambda: server.ticker.accepted == 2, timeout=3)  # reconnected
    finally:
        await broker.close()


# ======================================================================= item 7: static IP


async def test_static_ip_refusal_explains_and_never_asks_to_log_in(tmp_path, server):
    """Already right on placement: Kite's explanation, no re-login, no session halt."""
    asked: list[str] = []

    async def login(api_key, reason):
        asked.append(reason)
        return None

    app = await start_kite_app(tmp_path, server, login=login)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        server.refuse_orders_from_ip("203.0.113.7")
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(limit(EQ, qty=5, price="99"))
        assert refused.value.failed_check == "broker"
        assert "203.0.113.7" in refused.value.reason and "IP Whitelist" in refused.value.reason
        await asyncio.sleep(0)
        assert asked == [] and not app.order_manager.halted
        assert not app.broker.session_expired
    finally:
        await app.stop()


async def test_static_ip_refusal_on_cancel_says_why(tmp_path, server):
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        resting = await app.order_manager.place_order(limit(EQ, qty=5, price="99"))
        server.refuse_orders_from_ip("203.0.113.7")
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the message is the point
            await app.order_manager.cancel_order(resting.order_id)
        assert "IP Whitelist" in str(refused.value), str(refused.value)
        assert not isinstance(refused.value, OrderNotCancellable) or "IP" in str(refused.value)
        assert not app.broker.session_expired and not app.order_manager.halted
    finally:
        await app.stop()


# ============================================ a refusal for a token a re-login replaced


TOKEN_REFUSAL = error_body("Incorrect `api_key` or `access_token`.", "TokenException")


async def _replace_token_while_in_flight(server, broker, call):
    """Start `call` (Kite holds its answer 0.4 s, then refuses the token), log in anew
    meanwhile; the call's outcome."""
    task = asyncio.ensure_future(call)
    await until(lambda: server.http.requests, timeout=2)  # it has reached Kite
    await asyncio.sleep(0.05)
    server.expire_session()
    broker.set_access_token(server.issue_token())  # the trader logged in again
    return await asyncio.gather(task, return_exceptions=True)


async def test_a_read_refused_for_the_old_token_is_asked_again_with_the_new_one(server):
    """CI once saw trading halted again right after a re-login: a read sent before it
    came back refused for the old token and marked the new session expired."""
    broker = make_broker(server)
    expired: list[str] = []
    broker.add_session_expired_listener(expired.append)
    await broker.start()
    try:
        server.http.requests.clear()
        server.fault("GET", "/portfolio/positions", stall=0.4, status=403, body=TOKEN_REFUSAL)
        (positions,) = await _replace_token_while_in_flight(server, broker, broker.positions())
        assert positions == []  # asked again with the new token, answered
        assert [r.path for r in server.http.requests].count("/portfolio/positions") == 2
        assert not broker.session_expired and expired == []
    finally:
        await broker.close()


async def test_an_order_refused_for_the_old_token_is_not_sent_and_halts_nothing(server):
    broker = make_broker(server)
    await broker.start()
    try:
        server.http.requests.clear()
        server.fault("POST", PLACE, stall=0.4, status=403, body=TOKEN_REFUSAL)
        order = make_order(symbol=EQ, quantity=5, price="99")
        (outcome,) = await _replace_token_while_in_flight(server, broker, broker.place_order(order))
        assert isinstance(outcome, BrokerUnavailable), outcome  # not placed: said so
        assert "new login" in str(outcome)
        assert not broker.session_expired
        assert await broker.orders() == []  # Kite has nothing; sent again, it is placed
        assert await broker.place_order(make_order(symbol=EQ, quantity=5, price="99"))
    finally:
        await broker.close()
