"""Login pieces without a UI: URL, pasted redirect, token expiry, the one-shot catcher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from desktop_oms.brokers.kite.login import (
    LoginError,
    LoginTimeout,
    RedirectCatcher,
    is_token_expired,
    login_url,
    parse_redirect_url,
    token_expiry,
)
from desktop_oms.brokers.kite.mapping import IST


def test_login_url():
    url = login_url("myapikey")
    assert url == "https://kite.zerodha.com/connect/login?api_key=myapikey&v=3"
    with_state = login_url("myapikey", redirect_params={"state": "abc"})
    query = parse_qs(urlsplit(with_state).query)
    assert query["redirect_params"] == ["state=abc"]
    with pytest.raises(ValueError):
        login_url("")


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:5000/?action=login&type=login&status=success&request_token=Abc123XYZ",
        "  https://example.com/kite/callback?request_token=Abc123XYZ&action=login&status=success  ",
        "127.0.0.1:5000/?request_token=Abc123XYZ&status=success",
        "?request_token=Abc123XYZ",
        "request_token=Abc123XYZ&status=success",
        "Abc123XYZ",
    ],
)
def test_parse_redirect_url(text):
    assert parse_redirect_url(text) == "Abc123XYZ"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "Paste"),
        ("http://127.0.0.1:5000/?action=login&status=cancelled", "cancelled"),
        ("http://127.0.0.1:5000/?action=login&status=success", "no request_token"),
        ("http://127.0.0.1:5000/?request_token=bad<script>", "not valid"),
    ],
)
def test_parse_redirect_url_errors(text, match):
    with pytest.raises(LoginError, match=match):
        parse_redirect_url(text)


@pytest.mark.parametrize(
    ("login", "expiry"),
    [
        (datetime(2026, 11, 24, 10, 0, tzinfo=IST), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 5, 59, tzinfo=IST), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 6, 0, tzinfo=IST), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 23, 59, tzinfo=IST), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 10, 0), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),  # naive = IST
        # 01:00 UTC is 06:30 IST: the token lives until 06:00 IST the next day.
        (datetime(2026, 11, 24, 1, 0, tzinfo=UTC), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 31, 20, 0, tzinfo=IST), datetime(2027, 1, 1, 6, 0, tzinfo=IST)),
    ],
)
def test_token_expiry_is_six_am_ist_next(login, expiry):
    result = token_expiry(login)
    assert result == expiry
    assert result.tzinfo is not None


def test_is_token_expired():
    expiry = datetime(2026, 11, 25, 6, 0, tzinfo=IST)
    assert not is_token_expired(expiry, now=datetime(2026, 11, 25, 5, 59, tzinfo=IST))
    assert is_token_expired(expiry, now=expiry)
    assert not is_token_expired(None)


async def _get(port: int, target: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), body


def test_catcher_only_binds_loopback():
    with pytest.raises(ValueError):
        RedirectCatcher(host="0.0.0.0")
    with pytest.raises(ValueError):
        RedirectCatcher(host="192.168.1.10")


async def test_catcher_returns_the_token_once_and_closes():
    catcher = RedirectCatcher(port=0)
    url = await catcher.start()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    assert catcher._server.sockets[0].getsockname()[0] == "127.0.0.1"
    waiter = asyncio.create_task(catcher.wait(timeout=3))
    status, _ = await _get(catcher.port, "/favicon.ico")
    assert status == 404 and not waiter.done()  # unrelated requests do not consume it
    status, body = await _get(
        catcher.port, "/?action=login&status=success&request_token=Tok12345678"
    )
    assert status == 200 and "close this tab" in body
    assert await waiter == "Tok12345678"
    assert catcher.closed
    with pytest.raises(OSError):
        await _get(catcher.port, "/?request_token=Second123456")


async def test_catcher_reports_a_failed_login():
    async with RedirectCatcher() as catcher:
        waiter = asyncio.create_task(catcher.wait(timeout=3))
        status, _ = await _get(catcher.port, "/?action=login&status=error")
        assert status == 400
        with pytest.raises(LoginError, match="error"):
            await waiter


async def test_catcher_times_out_and_stops_listening():
    catcher = RedirectCatcher()
    await catcher.start()
    port = catcher.port
    with pytest.raises(LoginTimeout):
        await catcher.wait(timeout=0.1)
    assert catcher.closed
    with pytest.raises(OSError):
        await _get(port, "/?request_token=Late12345678")


async def test_catcher_checks_the_state_when_asked():
    catcher = RedirectCatcher(expected_state="nonce42")
    await catcher.start()
    waiter = asyncio.create_task(catcher.wait(timeout=3))
    status, _ = await _get(catcher.port, "/?request_token=Forged123456&status=success&state=other")
    assert status == 400 and not waiter.done()
    status, _ = await _get(
        catcher.port, "/?request_token=Good12345678&status=success&state=nonce42"
    )
    assert status == 200
    assert await waiter == "Good12345678"


async def test_catcher_port_in_use_is_a_login_error():
    first = RedirectCatcher()
    await first.start()
    try:
        second = RedirectCatcher(port=first.port)
        with pytest.raises(LoginError, match="paste"):
            await second.start()
    finally:
        await first.close()
