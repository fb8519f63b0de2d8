"""The Kite test server behaves as Kite documents (issue 14), seen through the official
`kiteconnect` client alone: no adapter code is involved, so these pin the server's rules
that the adapter tests (test_kite_money.py, test_kite_session_rules.py) rely on."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from tests.kite_server import KiteTestServer
from tests.kite_server.book import IST, NO_PROTECTION, TOO_MANY_MODIFICATIONS


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", "INFY", "1500")
        yield s


@pytest.fixture
def kite(server):
    client = KiteConnect(server.api_key, access_token=server.access_token, root=server.root)
    yield client
    client.reqsession.close()


def _place(kite, **kw):
    params = {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 1,
        "product": "MIS",
        "order_type": "LIMIT",
        "price": "1500",
    }
    params.update(kw)
    return kite.place_order(**params)


def _row(kite, order_id: str) -> dict:
    return next(o for o in kite.orders() if o["order_id"] == order_id)


# -- 1. MCX/CDS: lots in orders, the multiplier only in positions ---------------------------


def test_mcx_dump_says_lot_size_1_and_positions_carry_the_multiplier(server, kite):
    symbol = server.add_contract("LEADMINI", price="150")
    rows = [r for r in kite.instruments("MCX") if r["tradingsymbol"] == symbol]
    assert [(r["lot_size"], r["segment"], r["instrument_type"]) for r in rows] == [
        (1, "MCX-FUT", "FUT")
    ]
    assert "multiplier" not in rows[0]
    assert any(r["tradingsymbol"] == symbol for r in kite.instruments())

    buy = _place(kite, exchange="MCX", tradingsymbol=symbol, product="NRML", price="161.05")
    server.book.fill(buy)
    [row] = [p for p in kite.positions()["net"] if p["tradingsymbol"] == symbol]
    # Zerodha's positions.json: 1 LEADMINI @161.05 -> value -161050 (marked here at 150).
    assert (row["quantity"], row["multiplier"], row["average_price"]) == (1, 1000, 161.05)
    assert row["value"] == -161050 and row["buy_value"] == 161050
    assert row["pnl"] == pytest.approx(-11050) and row["unrealised"] == pytest.approx(-11050)

    sell = _place(
        kite,
        exchange="MCX",
        tradingsymbol=symbol,
        product="NRML",
        transaction_type="SELL",
        price="150",
    )
    server.book.fill(sell)
    [row] = [p for p in kite.positions()["net"] if p["tradingsymbol"] == symbol]
    assert row["quantity"] == 0 and row["value"] == pytest.approx(-11050)
    assert row["realised"] == pytest.approx(-11050) and row["m2m"] == pytest.approx(-11050)


def test_cds_contract_has_lot_size_1_and_multiplier_1000(server, kite):
    symbol = server.add_contract("USDINR", price="83.2500")
    [row] = [r for r in kite.instruments("CDS") if r["tradingsymbol"] == symbol]
    assert row["lot_size"] == 1 and row["tick_size"] == 0.0025
    assert server.instrument_info("CDS", symbol)["multiplier"] == 1000


# -- 2. market protection ------------------------------------------------------------------


def test_market_without_protection_is_refused(kite):
    for protection in (None, 0):
        with pytest.raises(kex.InputException, match="market protection") as caught:
            _place(kite, order_type="MARKET", price=None, market_protection=protection)
        assert str(caught.value) == NO_PROTECTION
    with pytest.raises(kex.InputException, match="market_protection"):
        _place(kite, order_type="MARKET", price=None, market_protection=101)


def test_market_becomes_a_protected_limit_with_mktp_tags(server, kite):
    buy = _place(kite, order_type="MARKET", price=None, market_protection=-1, tag="T1")
    row = _row(kite, buy)
    # 1500 + 2% (the automatic band Zerodha's converted row shows: "mktp:2.00")
    assert (row["order_type"], row["price"], row["status"]) == ("LIMIT", 1530, "OPEN")
    assert row["tag"] == "T1" and row["tags"] == ["T1", "mktp", "mktp:2.00"]
    sell = _place(
        kite, order_type="MARKET", price=None, market_protection=3, transaction_type="SELL"
    )
    row = _row(kite, sell)
    assert (row["order_type"], row["price"]) == ("LIMIT", 1455)
    assert row["tags"] == ["mktp", "mktp:3.00"]
    # It is a LIMIT now: its price can be modified.
    kite.modify_order("regular", buy, price="1525.50")
    assert _row(kite, buy)["price"] == 1525.5


def test_protection_price_stays_on_the_tick_inside_the_band(server, kite):
    server.set_price("NSE", "INFY", "1074.35")
    buy = _place(kite, order_type="MARKET", price=None, market_protection=-1)
    sell = _place(
        kite, order_type="MARKET", price=None, market_protection=-1, transaction_type="SELL"
    )
    assert _row(kite, buy)["price"] == 1095.8  # 1095.837 rounded down to the 0.05 tick
    assert _row(kite, sell)["price"] == 1052.9  # 1052.863 rounded up


def test_sl_m_turns_into_a_protected_limit_when_it_triggers(server, kite):
    stop = _place(
        kite,
        order_type="SL-M",
        price=None,
        trigger_price="1450",
        market_protection=-1,
        transaction_type="SELL",
    )
    row = _row(kite, stop)
    assert (row["order_type"], row["status"], row["trigger_price"]) == (
        "SL-M",
        "TRIGGER PENDING",
        1450,
    )
    server.set_price("NSE", "INFY", "1449")
    server.book.trigger(stop)
    row = _row(kite, stop)
    assert (row["order_type"], row["price"], row["status"]) == ("LIMIT", 1420.05, "OPEN")
    assert row["tags"] == ["mktp", "mktp:2.00"]


# -- 3. a refused ticker handshake while REST works ------------------------------------------


async def test_ticker_refuses_a_handshake_while_the_rest_session_is_valid(server, kite):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    server.ticker.refuse_handshakes(1)
    url = f"{server.ticker_root}?api_key={server.api_key}&access_token={server.access_token}"
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url):
            pass
    assert caught.value.response.status_code == 403
    assert (await asyncio.to_thread(kite.profile))["user_id"] == "AB1234"  # REST says valid
    async with connect(url) as ws:  # the next handshake is accepted
        assert await asyncio.wait_for(ws.recv(), 3) == b"\x00"  # heartbeat


# -- 4. an OrderException 500 for an order that was placed; a book that lags ----------------


def test_order_exception_500_with_the_order_placed(server, kite):
    server.order_exception_next()
    with pytest.raises(kex.OrderException) as caught:
        _place(kite, tag="LOST1")
    assert caught.value.code == 500
    [row] = server.book.by_tag("LOST1")
    assert row["status"] == "OPEN" and _row(kite, row["order_id"])["tag"] == "LOST1"


def test_an_order_appears_in_the_book_only_after_the_delay(server, kite):
    server.book.visibility_delay = 0.4
    order_id = _place(kite, tag="LATE1")
    assert kite.orders() == [] and server.book.by_tag("LATE1")
    with pytest.raises(kex.GeneralException):
        kite.order_history(order_id)
    deadline = time.monotonic() + 3
    while not kite.orders():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert kite.orders()[0]["tag"] == "LATE1"


# -- 5. rate limits, modifications ---------------------------------------------------------


def test_eleventh_order_request_in_a_second_is_429(server, kite):
    for _ in range(10):
        _place(kite)
    with pytest.raises(kex.NetworkException) as caught:
        _place(kite)
    assert caught.value.code == 429 and server.http.rate_limited == 1
    assert len(server.book.orders) == 10


def test_minute_and_day_limits(server, kite):
    server.http.order_limits = [(1000, 1.0), (3, 60.0), (5000, 86_400.0)]
    for _ in range(3):
        _place(kite)
    with pytest.raises(kex.NetworkException):
        _place(kite)
    server.http.order_limits = [(1000, 1.0), (1000, 60.0), (3, 86_400.0)]
    with pytest.raises(kex.NetworkException):
        kite.cancel_order("regular", next(iter(server.book.orders)))  # cancels count too


def test_twenty_sixth_modification_is_refused(server, kite):
    server.http.order_limits = []  # only the modification count matters here
    order_id = _place(kite)
    for n in range(25):
        kite.modify_order("regular", order_id, price=str(1400 + n))
    with pytest.raises(kex.InputException) as caught:
        kite.modify_order("regular", order_id, price="1300")
    assert str(caught.value) == TOO_MANY_MODIFICATIONS
    assert server.book.modifications(order_id) == 25 and _row(kite, order_id)["price"] == 1424


# -- 6. plain decimals only ---------------------------------------------------------------


def test_exponent_prices_are_refused_and_recorded(server, kite):
    with pytest.raises(kex.InputException, match="price"):
        _place(kite, price="1E+3")
    assert server.form_of_last("POST", "/orders/regular")["price"] == "1E+3"
    order_id = _place(kite, price="1000")
    with pytest.raises(kex.InputException, match="trigger_price"):
        kite.modify_order("regular", order_id, trigger_price="1.5E+3")
    with pytest.raises(kex.InputException, match="quantity"):
        _place(kite, quantity="1e1")


# -- 7. smaller rules ----------------------------------------------------------------------


def test_order_updates_carry_exchange_update_timestamp_from_the_server_clock(server, kite):
    clock = [datetime(2026, 12, 8, 10, 0, 0, tzinfo=IST)]
    server.book.clock = lambda: clock[0]
    pushed: list[dict] = []
    server.book.on_update = pushed.append
    stop = _place(kite, order_type="SL", price="1449", trigger_price="1450")
    clock[0] += timedelta(seconds=2)
    server.book.trigger(stop)
    assert pushed[-1]["status"] == "OPEN"
    assert pushed[-1]["exchange_update_timestamp"] == "2026-12-08 10:00:02"
    stale = server.book.replay(stop, "TRIGGER PENDING")
    assert pushed[-1]["status"] == "TRIGGER PENDING"
    assert stale["exchange_update_timestamp"] == "2026-12-08 10:00:00"
    clock[0] += timedelta(seconds=1)
    kite.modify_order("regular", stop, price="1448")
    assert pushed[-1]["status"] == "UPDATE"  # what Kite's postbacks say for a modification
    assert _row(kite, stop)["status"] == "OPEN"


def test_cover_order_needs_a_trigger_and_gets_its_stop_leg(server, kite):
    with pytest.raises(kex.InputException, match="[Tt]rigger"):
        _place(kite, variety="co", order_type="LIMIT")
    main = _place(kite, variety="co", order_type="LIMIT", trigger_price="1480")
    assert _row(kite, main)["product"] == "CO"
    server.book.fill(main)
    [leg] = [o for o in kite.orders() if o["parent_order_id"] == main]
    assert (leg["order_type"], leg["transaction_type"], leg["trigger_price"]) == (
        "SL-M",
        "SELL",
        1480,
    )
    assert leg["status"] == "TRIGGER PENDING" and leg["product"] == "CO"


def test_ioc_is_refused_on_mcx(server, kite):
    symbol = server.add_contract("CRUDEOIL", price="6000")
    with pytest.raises(kex.InputException, match="IOC"):
        _place(
            kite, exchange="MCX", tradingsymbol=symbol, product="NRML", validity="IOC", price="6000"
        )
    _place(kite, validity="IOC")  # NSE keeps IOC


def test_static_ip_refusal_on_every_order_request(server, kite):
    order_id = _place(kite)
    server.refuse_orders_from_ip("203.0.113.7")
    for call in (
        lambda: _place(kite),
        lambda: kite.modify_order("regular", order_id, price="1400"),
        lambda: kite.cancel_order("regular", order_id),
    ):
        with pytest.raises(kex.PermissionException, match="203.0.113.7") as caught:
            call()
        assert caught.value.code == 403
    assert kite.orders() and kite.profile()  # reads work from any IP
    server.refuse_orders_from_ip(None)
    kite.cancel_order("regular", order_id)


def test_heartbeats_flow_whatever_the_hour(server):
    """Kite heartbeats all session: the server's are not tied to NSE hours."""
    from websockets.sync.client import connect

    url = f"{server.ticker_root}?api_key={server.api_key}&access_token={server.access_token}"
    seen = []

    def listen():
        with connect(url) as ws:
            seen.extend(ws.recv(timeout=3) for _ in range(2))

    thread = threading.Thread(target=listen)
    thread.start()
    thread.join(10)
    assert seen == [b"\x00", b"\x00"]


def test_market_protection_mock_row_is_zerodhas():
    """The converted-order shape is the one in Zerodha's orders.json."""
    from tests.kite_server import mock_data

    [row] = [o for o in mock_data("orders.json") if "mktp" in (o.get("tags") or [])]
    assert row["order_type"] == "LIMIT" and row["tags"] == ["mktp", "mktp:2.00"]
    assert Decimal(str(row["price"])) > Decimal(str(row["average_price"]))
