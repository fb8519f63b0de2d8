"""The login flow end to end: redirect catcher -> generate_session (real client) -> broker."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime

import pytest

from desktop_oms.brokers.kite.credentials import CredentialStore
from desktop_oms.brokers.kite.login import (
    LoginError,
    RedirectCatcher,
    generate_session,
    login_url,
)
from desktop_oms.brokers.kite.mapping import IST
from desktop_oms.infra.redaction import install_redaction

try:
    from kite_server import KiteTestServer
    from kite_server.helpers import make_broker
except ImportError:
    from tests.kite_server import KiteTestServer
    from tests.kite_server.helpers import make_broker


@pytest.fixture
def server():
    with KiteTestServer() as s:
        yield s


class MemoryBackend:
    """Duck-typed keyring backend kept in a dict (never the OS keyring)."""

    priority = 1

    def __init__(self):
        self.items = {}

    def get_password(self, service, name):
        return self.items.get((service, name))

    def set_password(self, service, name, value):
        self.items[(service, name)] = value

    def delete_password(self, service, name):
        self.items.pop((service, name), None)


async def browser_redirect(url: str) -> int:
    """What the browser does after the Kite login: GET the registered redirect URL."""
    host_port, _, target = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /{target} HTTP/1.1\r\nHost: {host_port}\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data.split(b" ")[1])


async def test_login_end_to_end(server):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    install_redaction(root)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        credentials = CredentialStore(backend=MemoryBackend())
        credentials.set_api_secret(server.api_key, server.api_secret)

        catcher = RedirectCatcher()
        redirect = await catcher.start()
        assert login_url(server.api_key).endswith(f"api_key={server.api_key}&v=3")
        request_token = server.new_request_token()
        waiter = asyncio.create_task(catcher.wait(timeout=5))
        status = await browser_redirect(
            f"{redirect}?action=login&type=login&status=success&request_token={request_token}"
        )
        assert status == 200
        assert await waiter == request_token

        session = await generate_session(
            server.api_key,
            credentials.get_api_secret(server.api_key),
            request_token,
            root=server.root,
            now=datetime(2026, 11, 24, 9, 0, tzinfo=IST),
        )
        assert server.token_valid(server.api_key, session.access_token)
        assert session.user_id == "XX0000"
        # login_time in the mock is 2021-01-01 16:15:14 IST: the token ends at 06:00 next day.
        assert session.expires_at == datetime(2021, 1, 2, 6, 0, tzinfo=IST)
        assert session.access_token not in repr(session)
        credentials.set_access_token(server.api_key, session.access_token, session.expires_at)

        broker = make_broker(server, access_token=session.access_token)
        try:
            profile = await broker.verify_session()
            assert profile["user_id"] == "AB1234"
        finally:
            await broker.close()
        logging.getLogger("desktop_oms.test").info("token is %s", session.access_token)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    output = stream.getvalue()
    assert session.access_token not in output
    assert server.api_secret not in output and request_token not in output


async def test_request_tokens_are_single_use_and_secrets_must_match(server):
    request_token = server.new_request_token()
    with pytest.raises(LoginError, match="refused"):
        await generate_session(server.api_key, "wrongsecret", request_token, root=server.root)
    session = await generate_session(
        server.api_key, server.api_secret, request_token, root=server.root
    )
    assert session.access_token
    with pytest.raises(LoginError, match="works once"):
        await generate_session(server.api_key, server.api_secret, request_token, root=server.root)


async def test_login_against_an_unreachable_kite_is_a_clear_error():
    with pytest.raises(LoginError, match="could not be reached"):
        await generate_session(
            "key", "secret", "Token123456", root="http://127.0.0.1:9", timeout=0.5
        )
