"""Kite's WebSocket ticker on a `websockets` server in its own thread and event loop.

Clients connect to `ws://127.0.0.1:PORT?api_key=...&access_token=...`; a bad token gets
HTTP 403 at the handshake (as Kite does). Clients send `{"a": "subscribe"|"unsubscribe"
|"mode", "v": ...}`; the server sends binary tick frames (only for subscribed tokens, in
the subscribed mode), 1-byte heartbeats, and `{"type": "order", "data": ...}` text.

Faults: `drop_all()` aborts every connection (TCP reset, no close frame);
`silence_all()` keeps connections open (pings are still answered) but sends nothing;
`refuse_handshakes(n)` answers the next n handshakes 403 even for a valid token (Kite's
ticker can refuse while the REST session is fine). Heartbeats go out all session long,
whatever the time of day (MCX trades until 23:30/23:55), as Kite sends them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

from tests.kite_server.packets import HEARTBEAT, frame, packet_for_mode


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    modes: dict[int, str] = field(default_factory=dict)
    silent: bool = False
    received: list[dict] = field(default_factory=list)


class KiteTickerServer:
    def __init__(
        self, token_valid: Callable[[str, str], bool], *, heartbeat_interval: float | None = 0.5
    ) -> None:
        self.token_valid = token_valid
        self.heartbeat_interval = heartbeat_interval
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="kite-ticker-server"
        )
        self.clients: list[_Client] = []
        self.handshakes = 0  # every connection attempt, refused ones included
        self.refused = 0
        self.accepted = 0
        self.messages: list[dict] = []  # every client message, in order
        # Handshakes to refuse whatever the token (Kite's ticker can answer 403 while the
        # REST session, e.g. /user/profile, is still valid): (count left, HTTP status).
        self._refuse_next = 0
        self._refuse_status = 403
        self._server = None
        self._heartbeat_task = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    async def _start(self) -> None:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeats())

    def stop(self) -> None:
        if not self.thread.is_alive():
            if not self.loop.is_closed() and not self.loop.is_running():
                self.loop.close()
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self._close_loop()

    def _close_loop(self) -> None:
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def _stop(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        for client in list(self.clients):
            client.ws.transport.abort()
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except TimeoutError:
                pass

    def _call(self, fn, *args):
        """Run `fn(*args)` on the server loop and wait for it (callable from any thread)."""

        async def run():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    # -- protocol ------------------------------------------------------------------------

    def _process_request(self, connection, request):
        self.handshakes += 1
        if self._refuse_next:
            self._refuse_next -= 1
            self.refused += 1
            return connection.respond(self._refuse_status, "Forbidden\n")
        query = parse_qs(urlsplit(request.path).query)
        api_key = (query.get("api_key") or [""])[0]
        token = (query.get("access_token") or [""])[0]
        if not self.token_valid(api_key, token):
            self.refused += 1
            return connection.respond(403, "Forbidden\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        self.accepted += 1
        self.clients.append(client)
        try:
            async for message in ws:
                try:
                    data = json.loads(message)
                except ValueError:
                    continue
                client.received.append(data)
                self.messages.append(data)
                action, value = data.get("a"), data.get("v")
                if action == "subscribe":
                    for token in value:
                        client.modes.setdefault(int(token), "quote")
                elif action == "unsubscribe":
                    for token in value:
                        client.modes.pop(int(token), None)
                elif action == "mode":
                    mode, tokens = value
                    for token in tokens:
                        client.modes[int(token)] = mode
        except Exception:  # noqa: BLE001 - aborted connections
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval or 3600)
            if not self.heartbeat_interval:
                continue
            for client in list(self.clients):
                if not client.silent:
                    await self._send(client, HEARTBEAT)

    @staticmethod
    async def _send(client: _Client, message) -> None:
        try:
            await client.ws.send(message)
        except Exception:  # noqa: BLE001
            pass

    # -- test hooks (thread-safe) ----------------------------------------------------------

    @property
    def connection_count(self) -> int:
        return len(self.clients)

    def subscribed(self) -> dict[int, str]:
        """Union of every open connection's subscriptions."""
        merged: dict[int, str] = {}
        for client in list(self.clients):
            merged.update(client.modes)
        return merged

    def push_tick(self, token: int, last_price, **fields) -> int:
        """Send a tick to every connection subscribed to `token`; returns how many got it."""

        async def run():
            sent = 0
            for client in list(self.clients):
                mode = client.modes.get(token)
                if mode is None or client.silent:
                    continue
                await self._send(client, frame(packet_for_mode(mode, token, last_price, **fields)))
                sent += 1
            return sent

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def push_binary(self, payload: bytes) -> None:
        async def run():
            for client in list(self.clients):
                if not client.silent:
                    await self._send(client, payload)

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def push_text(self, data: dict | str) -> int:
        text = data if isinstance(data, str) else json.dumps(data)

        async def run():
            sent = 0
            for client in list(self.clients):
                if not client.silent:
                    await self._send(client, text)
                    sent += 1
            return sent

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def push_order_update(self, order: dict) -> int:
        return self.push_text({"type": "order", "data": order})

    def refuse_handshakes(self, times: int = 1, status: int = 403) -> None:
        """Refuse the next `times` handshakes with `status` even for a valid token
        (-1: until told otherwise, `refuse_handshakes(0)`)."""

        def run():
            self._refuse_next = times
            self._refuse_status = status

        self._call(run)

    def drop_all(self) -> int:
        def run():
            clients = list(self.clients)
            for client in clients:
                client.ws.transport.abort()
            return len(clients)

        return self._call(run)

    def silence_all(self) -> int:
        def run():
            for client in self.clients:
                client.silent = True
            return len(self.clients)

        return self._call(run)
