"""KiteBroker under fault injection: no duplicate order, no lost order, clear errors."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from desktop_oms.brokers.errors import (
    BrokerOutcomeUnknown,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    SessionExpired,
)
from desktop_oms.brokers.kite.mapping import BrokerDataError, StaticIpRejected
from desktop_oms.domain import OrderStatus

try:
    from kite_server import KiteTestServer
    from kite_server.helpers import make_broker, make_order
except ImportError:
    from tests.kite_server import KiteTestServer
    from tests.kite_server.helpers import make_broker, make_order

PLACE = "/orders/regular"


@pytest.fixture
def server():
    with KiteTestServer() as s:
        yield s


@pytest.fixture
async def broker(server):
    b = make_broker(server, timeout=0.5)
    yield b
    await b.close()


def orders_with_tag(server, tag):
    return server.book.by_tag(tag)


# -- place_order whose answer is lost --------------------------------------------------------


async def test_accepted_but_timed_out_place_is_found_by_tag_not_resent(server, broker):
    order = make_order()
    server.stall_next("POST", PLACE, 1.5, process=True)  # accepted, answer after the timeout
    started = time.monotonic()
    order_id = await broker.place_order(order)
    assert time.monotonic() - started < 1.5
    [at_server] = orders_with_tag(server, order.client_order_id)
    assert order_id == at_server["order_id"]
    assert server.count("POST", PLACE) == 1
    assert len(server.book.orders) == 1


async def test_connection_reset_after_acceptance_is_found_by_tag(server, broker):
    order = make_order()
    server.drop_next("POST", PLACE, process=True)
    order_id = await broker.place_order(order)
    assert [o["order_id"] for o in orders_with_tag(server, order.client_order_id)] == [order_id]
    assert server.count("POST", PLACE) == 1


async def test_lost_request_that_never_arrived_is_unknown_and_never_resent(server, broker):
    order = make_order()
    server.drop_next("POST", PLACE, process=False)
    with pytest.raises(BrokerOutcomeUnknown, match="NOT sent again"):
        await broker.place_order(order)
    assert server.count("POST", PLACE) == 1
    assert server.count("GET", "/orders") == broker.lookup_attempts
    assert orders_with_tag(server, order.client_order_id) == []


async def test_order_reaching_kite_late_is_found_on_a_later_lookup(server):
    broker = make_broker(server, timeout=0.3, lookup_interval=0.3, lookup_attempts=5)
    try:
        order = make_order()
        # Not processed before the client gives up; processed ~0.6 s later.
        server.stall_next("POST", PLACE, 0.6, process=False)
        order_id = await broker.place_order(order)
        assert [o["order_id"] for o in orders_with_tag(server, order.client_order_id)] == [order_id]
        assert server.count("POST", PLACE) == 1
        assert server.count("GET", "/orders") >= 2
    finally:
        await broker.close()


async def test_500_on_place_is_not_retried_blindly(server, broker):
    order = make_order()
    server.fail_next("POST", PLACE, status=500, message="Something went wrong", process=False)
    with pytest.raises(BrokerOutcomeUnknown):
        await broker.place_order(order)
    assert server.count("POST", PLACE) == 1
    assert server.book.orders == {}


async def test_500_after_kite_accepted_the_order_returns_its_id(server, broker):
    order = make_order()
    server.fail_next(
        "POST", PLACE, status=503, error_type="NetworkException", message="OMS busy", process=True
    )
    order_id = await broker.place_order(order)
    assert [o["order_id"] for o in orders_with_tag(server, order.client_order_id)] == [order_id]
    assert server.count("POST", PLACE) == 1


async def test_gateway_html_on_place_is_resolved_by_tag(server, broker):
    order = make_order()
    server.fault(
        "POST",
        PLACE,
        status=502,
        body=b"<html>502 Bad Gateway</html>",
        content_type="text/html",
        process=True,
    )
    order_id = await broker.place_order(order)
    assert orders_with_tag(server, order.client_order_id)[0]["order_id"] == order_id
    assert server.count("POST", PLACE) == 1


async def test_unreadable_success_answer_on_place_is_resolved_by_tag(server, broker):
    order = make_order()
    server.malformed_next("POST", PLACE, b'{"status": "success"}', process=True)
    order_id = await broker.place_order(order)
    assert orders_with_tag(server, order.client_order_id)[0]["order_id"] == order_id


async def test_429_on_place_is_rate_limited_and_not_resent(server, broker):
    server.rate_limit_next("POST", PLACE, times=1)
    with pytest.raises(BrokerRateLimited):
        await broker.place_order(make_order())
    assert server.count("POST", PLACE) == 1
    assert server.count("GET", "/orders") == 0  # a 429 means Kite did nothing: no look-up
    assert server.book.orders == {}


async def test_broker_rejection_carries_kites_message(server, broker):
    server.fail_next(
        "POST",
        PLACE,
        status=400,
        error_type="InputException",
        message="Invalid `tradingsymbol`.",
        process=False,
    )
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(make_order(symbol="NOSUCH"))
    assert caught.value.message == "Invalid `tradingsymbol`."
    server.fail_next(
        "POST", PLACE, status=400, error_type="OrderException", message="Order rejected: RMS block"
    )
    with pytest.raises(BrokerRejected, match="RMS block"):
        await broker.place_order(make_order())
    assert server.count("POST", PLACE) == 2 and server.count("GET", "/orders") == 0


async def test_static_ip_rejection_explains_what_to_do(server, broker):
    server.fail_next(
        "POST",
        PLACE,
        status=403,
        error_type="PermissionException",
        message="Orders from IP 203.0.113.7 are not allowed. Register a static IP.",
    )
    with pytest.raises(StaticIpRejected) as caught:
        await broker.place_order(make_order())
    text = caught.value.message
    assert "203.0.113.7" in text and "IP Whitelist" in text and "developers.kite.trade" in text
    assert not broker.session_expired  # a 403 about the IP is not an expired session
    assert server.count("POST", PLACE) == 1


async def test_connection_refused_is_unavailable(server):
    dead = make_broker(server, root="http://127.0.0.1:9", timeout=0.5)
    try:
        with pytest.raises(BrokerUnavailable) as caught:
            await dead.place_order(make_order())
        assert not isinstance(caught.value, BrokerOutcomeUnknown)
        with pytest.raises(BrokerUnavailable):
            await dead.orders()
    finally:
        await dead.close()


# -- modify / cancel -------------------------------------------------------------------------


async def test_unanswered_modify_is_unknown_and_not_resent(server, broker):
    order_id = await broker.place_order(make_order())
    server.stall_next("PUT", f"{PLACE}/{order_id}", 1.0, process=True)
    with pytest.raises(BrokerOutcomeUnknown, match="not resent"):
        await broker.modify_order(order_id, price=Decimal("1499"))
    assert server.count("PUT", f"{PLACE}/{order_id}") == 1


async def test_unanswered_cancel_is_checked_in_the_order_history(server, broker):
    order_id = await broker.place_order(make_order())
    server.drop_next("DELETE", f"{PLACE}/{order_id}", process=True)
    await broker.cancel_order(order_id)  # the history shows it cancelled: success
    assert server.book.orders[order_id]["status"] == "CANCELLED"
    other = await broker.place_order(make_order())
    server.drop_next("DELETE", f"{PLACE}/{other}", process=False)
    with pytest.raises(BrokerOutcomeUnknown):
        await broker.cancel_order(other)
    assert server.count("DELETE", f"{PLACE}/{other}") == 1


# -- reads -----------------------------------------------------------------------------------


async def test_429_burst_on_reads_is_retried(server, broker):
    await broker.place_order(make_order())
    server.rate_limit_next("GET", "/orders", times=3)
    reports = await broker.orders()
    assert len(reports) == 1
    assert server.count("GET", "/orders") == 4


async def test_500s_on_reads_are_retried_then_reported(server, broker):
    server.fail_next("GET", "/trades", status=500, times=2)
    assert await broker.trades() == []
    assert server.count("GET", "/trades") == 3
    server.fail_next(
        "GET", "/portfolio/positions", status=502, error_type="NetworkException", times=10
    )
    with pytest.raises(BrokerUnavailable, match="positions"):
        await broker.positions()
    assert server.count("GET", "/portfolio/positions") == broker.read_retries + 1


async def test_read_timeouts_are_retried(server, broker):
    server.stall_next("GET", "/orders", 1.0, process=True)
    assert await broker.orders() == []
    assert server.count("GET", "/orders") == 2


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{this is not json", "application/json"),
        (b'{"status": "success"}', "application/json"),  # no data
        (b'{"status": "success", "data": "nonsense"}', "application/json"),
        (
            b'{"status": "success", "data": [{"order_id": "1"}]}',
            "application/json",
        ),  # fields missing
        (b"<html>maintenance</html>", "text/html"),
    ],
)
async def test_malformed_bodies_are_a_clear_error(server, broker, body, content_type):
    server.malformed_next("GET", "/orders", body, content_type=content_type, times=10)
    with pytest.raises(BrokerDataError) as caught:
        await broker.orders()
    assert "could not" in caught.value.message or "not a list" in caught.value.message
    # The broker still works once Kite answers properly.
    server.http.faults.clear()
    assert await broker.orders() == []


# -- session ---------------------------------------------------------------------------------


async def test_token_exception_mid_session(server, broker):
    expired: list[str] = []
    broker.add_session_expired_listener(expired.append)
    order_id = await broker.place_order(make_order())
    server.expire_session()
    with pytest.raises(SessionExpired, match="log in"):
        await broker.orders()
    assert broker.session_expired and len(expired) == 1
    posts = server.count("POST", PLACE)
    requests_before = len(server.http.requests)
    with pytest.raises(SessionExpired):
        await broker.place_order(make_order())
    with pytest.raises(SessionExpired):
        await broker.cancel_order(order_id)
    with pytest.raises(SessionExpired):
        await broker.trades()
    assert server.count("POST", PLACE) == posts
    assert len(server.http.requests) == requests_before  # fail fast: nothing sent
    assert len(expired) == 1

    broker.set_access_token(server.issue_token())  # the trader logged in again
    assert not broker.session_expired
    [report] = await broker.orders()
    assert report.broker_order_id == order_id and report.status is OrderStatus.OPEN


async def test_token_exception_on_place_marks_the_session_expired(server, broker):
    server.expire_session()
    with pytest.raises(SessionExpired):
        await broker.place_order(make_order())
    assert broker.session_expired
    assert server.count("GET", "/orders") == 0  # a 403 is definite: no look-up


# -- client-side rate limiting ---------------------------------------------------------------


async def test_client_limiter_keeps_a_burst_under_kites_limit(server, broker):
    server.http.order_rate_limit = 10  # the server answers 429 above 10 order requests/s
    orders = [make_order() for _ in range(13)]
    started = time.monotonic()
    ids = await asyncio.gather(*(broker.place_order(o) for o in orders))
    elapsed = time.monotonic() - started
    assert len(set(ids)) == 13 and len(server.book.orders) == 13
    assert server.count("POST", PLACE) == 13  # no 429, nothing resent
    assert elapsed >= 0.9  # the last three waited for the window to slide


async def test_a_shared_limiter_is_used(server):
    from desktop_oms.brokers.rate_limit import kite_order_limiter

    shared = kite_order_limiter()
    shared.record(10)
    broker = make_broker(server, rate_limiter=shared, order_wait_limit=0.1)
    try:
        assert broker.order_limiter is shared
        with pytest.raises(BrokerRateLimited):
            await broker.place_order(make_order())
        assert server.count("POST", PLACE) == 0
    finally:
        await broker.close()
