"""The whole app on `--broker kite` against the local Kite server (real kiteconnect client)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from desktop_oms.app import Application
from desktop_oms.brokers.kite.credentials import CredentialStore
from desktop_oms.brokers.kite.factory import KiteLogin, KiteLoginRequired
from desktop_oms.config import Settings
from desktop_oms.domain import OrderStatus
from tests.helpers import MemoryKeyring, limit, until
from tests.kite_server import KiteTestServer

SYMBOL = "EMMBI-BL"  # an NSE equity in Zerodha's mock instruments dump


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", SYMBOL, "100")
        yield s


def _settings(tmp_path, server, **kw):
    return Settings(
        data_dir=tmp_path,
        broker="kite",
        kite_api_key=kw.pop("api_key", server.api_key),
        kite_root=server.root,
        kite_ticker_root=server.ticker_root,
        monitor_interval_s=0.05,
        **kw,
    )


async def _tick(app, server, price="100"):
    """Stream a price for SYMBOL (the ticket subscribes the symbol it shows)."""
    app.subscribe([("NSE", SYMBOL)])
    token = server.tokens[("NSE", SYMBOL)]
    await until(lambda: token in server.ticker.subscribed(), timeout=5)
    server.ticker.push_tick(token, Decimal(price))
    await until(lambda: app.quotes.last_price("NSE", SYMBOL) == Decimal(price), timeout=5)


def _store(server, token=True):
    store = CredentialStore(backend=MemoryKeyring())
    if token:
        store.set_access_token(server.api_key, server.access_token, None)
    return store


async def test_trades_through_kite_with_a_stored_session(tmp_path, server):
    app = Application(_settings(tmp_path, server), with_window=False, credentials=_store(server))
    await app.start()
    try:
        assert app.broker.name == "kite" and app.order_manager.ready
        assert app.instruments.get("NSE", SYMBOL) is not None
        await _tick(app, server)
        result = await app.order_manager.place_order(limit(symbol=SYMBOL, qty=5, price="100"))
        assert result.broker_order_id and len(result.broker_order_id) == 19
        assert server.form_of_last("POST", "/orders/regular")["tag"] == result.client_order_id
        server.book.fill(result.broker_order_id, 5, "100")
        await until(lambda: app.order_manager.sync.current(result.order_id) is None, timeout=5)
        order = await app.order_manager.get_order(result.order_id)
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 5
        assert (await app.position_manager.get_position(SYMBOL)).quantity == 5
    finally:
        await app.stop()


async def test_login_is_asked_when_no_session_is_stored(tmp_path, server):
    asked = []

    async def login(api_key, reason):
        asked.append((api_key, reason))
        return KiteLogin(server.api_key, server.issue_token(), None)

    store = _store(server, token=False)
    app = Application(
        _settings(tmp_path, server), with_window=False, credentials=store, login=login
    )
    await app.start()
    try:
        assert asked and asked[0][0] == server.api_key
        assert store.get_access_token(server.api_key) is not None  # kept for the next start
    finally:
        await app.stop()


async def test_cancelled_login_fails_start_cleanly(tmp_path, server):
    async def login(api_key, reason):
        return None

    app = Application(
        _settings(tmp_path, server),
        with_window=False,
        credentials=_store(server, False),
        login=login,
    )
    with pytest.raises(KiteLoginRequired, match="cancelled"):
        await app.start()
    assert app.db.closed
    # the data dir is free for the next try
    app2 = Application(_settings(tmp_path, server), with_window=False, credentials=_store(server))
    await app2.start()
    await app2.stop()


async def test_headless_start_without_session_says_how_to_log_in(tmp_path, server):
    app = Application(
        _settings(tmp_path, server), with_window=False, credentials=_store(server, False)
    )
    with pytest.raises(KiteLoginRequired, match="log in"):
        await app.start()


async def test_expired_session_halts_then_relogin_resumes(tmp_path, server):
    logins = []
    refused = asyncio.Event()

    async def login(api_key, reason):
        logins.append(reason)
        await refused.wait()  # the trader logs in after seeing the order refused
        return KiteLogin(server.api_key, server.issue_token(), None)

    app = Application(
        _settings(tmp_path, server), with_window=False, credentials=_store(server), login=login
    )
    await app.start()
    try:
        await _tick(app, server)
        server.expire_session()
        from desktop_oms.oms import OrderSubmissionFailed

        with pytest.raises(OrderSubmissionFailed, match="expired"):
            await app.order_manager.place_order(limit(symbol=SYMBOL, qty=1, price="99"))
        refused.set()
        await until(lambda: logins and not app.order_manager.halted, timeout=5)
        assert "expired" in logins[0]
        result = await app.order_manager.place_order(limit(symbol=SYMBOL, qty=1, price="99"))
        assert result.status in (OrderStatus.SUBMITTED, OrderStatus.OPEN)
    finally:
        await app.stop()


async def test_stream_delivers_ticks_for_subscribed_positions(tmp_path, server):
    app = Application(_settings(tmp_path, server), with_window=False, credentials=_store(server))
    await app.start()
    try:
        await _tick(app, server)
        result = await app.order_manager.place_order(limit(symbol=SYMBOL, qty=2, price="100"))
        server.book.fill(result.broker_order_id, 2, "100")
        await until(lambda: app.position_manager.open_positions(), timeout=5)
        assert ("NSE", SYMBOL) in app._subscribed
        server.ticker.push_tick(server.tokens[("NSE", SYMBOL)], Decimal("104.50"))
        await until(lambda: app.quotes.last_price("NSE", SYMBOL) == Decimal("104.50"), timeout=5)
        await until(
            lambda: app.position_manager.open_positions()[0].unrealized_pnl == Decimal("9.00"),
            timeout=5,
        )
    finally:
        await app.stop()


async def test_instruments_are_downloaded_once_a_day(tmp_path, server):
    for _ in range(2):
        app = Application(
            _settings(tmp_path, server), with_window=False, credentials=_store(server)
        )
        await app.start()
        assert app.instruments.get("NSE", SYMBOL) is not None
        await app.stop()
    assert server.count("GET", r"/instruments$") == 1  # the second start used the database's copy


async def test_margin_check_uses_kites_order_margins(tmp_path, server):
    from desktop_oms.oms import OrderRejected

    app = Application(_settings(tmp_path, server), with_window=False, credentials=_store(server))
    await app.start()
    try:
        await _tick(app, server)
        request = limit(symbol=SYMBOL, qty=5, price="100")
        assert (
            await app.validator.check_margin(request) is None
        )  # Kite says 1,498 needed; 99,725 free
        assert server.count("POST", r"/margins/orders$") == 1
        server.margins["equity"]["net"] = 1000  # less than the 1,498 Kite asks for
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(request)
        assert refused.value.failed_check == "margin"
        assert server.count("POST", r"/orders/regular$") == 0  # nothing reached the broker
    finally:
        await app.stop()
