"""KiteStream's connection: the WebSocket connect/serve loop, watchdog and reconnects.

`KiteStreamConnectionMixin` is a mixin of `KiteStream` (stream.py), not a helper
object: one coroutine (`_run`) owns the connection, stops for good on a 401/403
handshake when REST confirms the session is dead (state EXPIRED; a refused handshake
alone proves nothing), backs off exponentially otherwise, and aborts a socket that
sends nothing for `watchdog_timeout` seconds while the watchdog is armed (by default
whenever a Kite segment is in session, MCX's evening included). The state it keeps (`_generation`, `_ws`, `_outbox`, counters) is set
up in `KiteStream.__init__`; subscriptions, message handling and listeners
(`_resubscribe`, `_handle`, `_set_state`, `_notify`) live on `KiteStream`. The
connection states (`StreamState`, `StreamStatus`) are the Broker port's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from datetime import time as dtime
from urllib.parse import urlencode

from desktop_oms.brokers.kite.parsing.values import IST
from desktop_oms.brokers.port import StreamState

# Split out of kite_stream: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.stream.stream")


_MARKET_OPEN = dtime(9, 15)
_MARKET_CLOSE = dtime(15, 30)


# Some Kite segment trades from 09:00 (MCX, CDS; NSE's pre-open) until MCX's evening
# session ends (23:30, 23:55 while the US is on winter time); Kite's ticker sends
# heartbeats all that time, so a silent socket is a dead one.
_SESSION_OPEN = dtime(9, 0)
_SESSION_CLOSE = dtime(23, 55)


def is_nse_market_hours(now: datetime | None = None) -> bool:
    """Mon-Fri 09:15-15:30 IST (exchange holidays are not known here)."""
    current = (now or datetime.now(IST)).astimezone(IST)
    return current.weekday() < 5 and _MARKET_OPEN <= current.time() <= _MARKET_CLOSE


def is_kite_session_hours(now: datetime | None = None) -> bool:
    """Whether any Kite segment is in session: Mon-Fri 09:00-23:55 IST (NSE, BSE, CDS
    and MCX's evening session; exchange holidays are not known here). The dead-socket
    watchdog is armed then."""
    current = (now or datetime.now(IST)).astimezone(IST)
    return current.weekday() < 5 and _SESSION_OPEN <= current.time() <= _SESSION_CLOSE


class _WatchdogExpired(Exception):
    pass


class _SessionRejected(Exception):
    pass


class KiteStreamConnectionMixin:
    """The connection loop of `KiteStream`: connect, serve, watchdog, back off, reconnect."""

    def _url(self) -> str:
        query = urlencode({"api_key": self.api_key, "access_token": self._access_token})
        return f"{self.root}?{query}"

    def _backoff(self, failures: int) -> float:
        base = min(
            self.reconnect_initial_delay * (2 ** min(failures, 30)), self.reconnect_max_delay
        )
        return base * (0.75 + 0.5 * self._jitter())

    async def _run(self, generation: int) -> None:
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus
        except ImportError as exc:  # pragma: no cover - packaging problem
            self._error = "the 'websockets' package is not installed"
            self._set_state(StreamState.STOPPED)
            raise RuntimeError("Kite streaming needs the 'websockets' package") from exc

        failures = 0
        while generation == self._generation:
            self._set_state(
                StreamState.RECONNECTING if self._has_connected else StreamState.CONNECTING
            )
            self.connection_attempts += 1
            opened_at: float | None = None
            try:
                async with connect(
                    self._url(),
                    additional_headers={"X-Kite-Version": "3"},
                    open_timeout=self.open_timeout,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_timeout,
                    close_timeout=1.0,
                    max_size=2**22,
                ) as ws:
                    opened_at = self._clock()
                    await self._serve(ws, generation)
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    # Not proof of an expired session: Kite's ticker refuses handshakes
                    # now and then while REST takes the token. Only REST decides.
                    valid = await self._session_valid()
                    if generation != self._generation:
                        return  # stopped (or expired by REST) meanwhile
                    if valid is False:
                        reason = (
                            f"Kite refused the stream connection (HTTP {status}) and the "
                            "session check confirms it: the session has expired"
                        )
                        log.warning(reason)
                        self._error = reason
                        self._set_state(StreamState.EXPIRED)
                        self._notify(self._expired_listeners, reason)
                        return
                    self._error = f"Kite refused the stream connection (HTTP {status}) " + (
                        "though the session is valid (REST answers); retrying"
                        if valid
                        else "and the session could not be checked; retrying"
                    )
                    log.warning("Kite stream: %s", self._error)
                else:
                    self._error = f"stream handshake refused with HTTP {status}"
                    log.warning("Kite stream: %s", self._error)
            except _WatchdogExpired:
                self._error = f"no data for {self.watchdog_timeout:g} s: connection treated as dead"
                log.warning("Kite stream: %s; reconnecting", self._error)
            except Exception as exc:  # noqa: BLE001 - OSError, ConnectionClosed, timeouts...
                self._error = f"{type(exc).__name__}: {exc}"
                log.warning("Kite stream connection lost: %s", self._error)
            finally:
                self._ws = None
                self._outbox = None
            if generation != self._generation:
                return  # stopped (or expired) meanwhile
            if opened_at is not None and self._clock() - opened_at >= self.stable_after:
                failures = 0
            delay = self._backoff(failures)
            failures += 1
            self._set_state(StreamState.RECONNECTING)
            await asyncio.sleep(delay)

    async def _session_valid(self) -> bool | None:
        """Ask REST whether the session is alive: True, False (expired), None (could not
        tell). Without a way to ask, a refused handshake is taken as an expiry."""
        if self._verify_session is None:
            return False
        try:
            return await self._verify_session()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an unanswered check proves nothing
            log.exception("Kite stream: the session check failed")
            return None

    async def _serve(self, ws, generation: int) -> None:
        self._ws = ws
        self._outbox = asyncio.Queue()
        reconnected = self._has_connected
        self._has_connected = True
        self._error = None
        if reconnected:
            self.reconnects += 1
        self._set_state(StreamState.CONNECTED)
        self._resubscribe()
        if reconnected:
            log.info("Kite stream reconnected: requesting a catch-up of orders and trades")
            self._notify(self._catch_up_listeners)
        writer = asyncio.get_running_loop().create_task(self._write(ws, self._outbox))
        try:
            await self._read(ws, generation)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    async def _write(self, ws, outbox: asyncio.Queue) -> None:
        while True:
            message = await outbox.get()
            await ws.send(message)

    async def _read(self, ws, generation: int) -> None:
        last = self._clock()
        armed_since: float | None = None
        poll = max(min(self.watchdog_timeout / 4, 1.0), 0.01)
        while generation == self._generation:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                # cancellation that races with a message arriving.
                async with asyncio.timeout(poll):
                    message = await ws.recv()
            except TimeoutError:
                now = self._clock()
                if self._watchdog_active():
                    if armed_since is None:
                        armed_since = now
                    if now - max(last, armed_since) >= self.watchdog_timeout:
                        transport = getattr(ws, "transport", None)
                        if transport is not None:
                            transport.abort()
                        raise _WatchdogExpired() from None
                else:
                    armed_since = None
                continue
            last = self._clock()
            self._last_message_at = self._now()
            self._handle(message)
