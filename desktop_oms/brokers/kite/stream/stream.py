"""Kite's live stream (ticks + order updates) as asyncio, on the application's loop.

Design choice: an asyncio WebSocket client (`websockets`) speaking Kite's documented
wire format, instead of `KiteTicker(threaded=True)`.

* Twisted's reactor is process-global and cannot be restarted: once stopped (app
  shutdown in a test, a re-login that recreates the ticker, a second broker) no ticker
  can ever connect again in that process, and each test would share one reactor thread.
* Reconnect control: KiteTicker's ReconnectingClientFactory retries on its own schedule
  (minimum max-delay 5 s, up to 300 tries) and keeps retrying a handshake refused with
  403, i.e. an expired token produces a reconnect storm unless callbacks race to call
  `stop_retry()` from the reactor thread. Here one coroutine owns the connection: on a
  401/403 it asks REST (`verify_session`) and stops for good only when REST confirms the
  expiry (state EXPIRED); otherwise it backs off exponentially and tries again.
* Dead-socket detection: KiteTicker's ping loop cannot see a socket that is open and
  answering pings but sends no data; our watchdog (no frame for N seconds while a Kite
  segment is in session, MCX's evening included) aborts the connection and reconnects,
  and every reconnect asks for a REST catch-up (orders, trades) so nothing missed while
  disconnected is lost.
* Thread handoff: with KiteTicker every callback runs on the reactor thread and must be
  marshalled with `loop.call_soon_threadsafe`; subscribe/unsubscribe from the GUI would
  have to go the other way with `reactor.callFromThread`. Here there is no second
  thread: frames are parsed and dispatched on the loop, listeners run on the loop thread.
* Testability: a local `websockets` server, short timeouts and no global state.

The binary format is the one `kiteconnect.ticker.KiteTicker._parse_binary` decodes (the
tests check our parser against it on Zerodha's own packets), but prices become exact
Decimals (integer paise / divisor) and timestamps aware IST datetimes, not floats and
naive local times. Text frames carry `{"type": "order", "data": {...}}` order updates
(postback format), `{"type": "error"}` and `{"type": "message"}`.

Requires the `websockets` package (>= 13, the new asyncio implementation) at run time.

The binary tick format is decoded in `parsing/`; `KiteStream` is one class in banner
sections: subscriptions, lifecycle, listeners, message handling and the connection loop
(connect, watchdog, reconnect with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from datetime import time as dtime
from typing import Any
from urllib.parse import urlencode

from desktop_oms.brokers.kite.mapping import (
    IST,
    BrokerDataError,
    UnsupportedKiteRow,
    order_report_from_kite,
)
from desktop_oms.brokers.kite.parsing.ticks import (
    _MODES,
    MODE_FULL,
    MODE_LTP,
    MODE_QUOTE,
    parse_binary,
    tick_from_packet,
)
from desktop_oms.brokers.port import BrokerUpdate, StreamState, StreamStatus
from desktop_oms.domain.market import Tick

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TICKER_ROOT",
    "MODE_FULL",
    "MODE_LTP",
    "MODE_QUOTE",
    "KiteStream",
    "StreamState",
    "StreamStatus",
    "is_kite_session_hours",
    "is_nse_market_hours",
    "parse_binary",
    "tick_from_packet",
]

DEFAULT_TICKER_ROOT = "wss://ws.kite.trade"

TickListener = Callable[[Sequence[Tick]], None]
UpdateListener = Callable[[BrokerUpdate], None]
CatchUpListener = Callable[[], None]
StateListener = Callable[[StreamStatus], None]
ExpiredListener = Callable[[str], None]


_MARKET_OPEN = dtime(9, 15)


_MARKET_CLOSE = dtime(15, 30)


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


class KiteStream:
    """One Kite WebSocket connection with subscriptions, watchdog and reconnects.

    All methods must be called on the event loop thread; listeners are called there too.
    """

    def __init__(
        self,
        api_key: str,
        access_token: str,
        root: str | None = None,
        *,
        watchdog_timeout: float = 15.0,
        watchdog_active: Callable[[], bool] | None = None,
        coalesce_interval: float = 0.05,
        reconnect_initial_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
        stable_after: float = 10.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 10.0,
        resolve: Callable[[int], tuple[str, str] | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        jitter: Callable[[], float] = random.random,
        verify_session: Callable[[], Awaitable[bool | None]] | None = None,
    ) -> None:
        self.api_key = api_key
        self._access_token = access_token
        self.root = (root or DEFAULT_TICKER_ROOT).rstrip("/")
        self.watchdog_timeout = watchdog_timeout
        self._watchdog_active = watchdog_active or (lambda: is_kite_session_hours(self._now()))
        self.coalesce_interval = coalesce_interval
        self.reconnect_initial_delay = reconnect_initial_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.stable_after = stable_after
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._resolve_external = resolve
        self._clock = clock
        self._now = now or (lambda: datetime.now(IST))
        self._jitter = jitter
        # Asked after a 401/403 handshake: True (valid), False (expired), None (unknown).
        self._verify_session = verify_session

        self._names: dict[int, tuple[str, str]] = {}
        self._modes: dict[int, str] = {}
        self._tick_listeners: list[TickListener] = []
        self._update_listeners: list[UpdateListener] = []
        self._catch_up_listeners: list[CatchUpListener] = []
        self._state_listeners: list[StateListener] = []
        self._expired_listeners: list[ExpiredListener] = []

        self._task: asyncio.Task | None = None
        self._ws: Any = None
        self._outbox: asyncio.Queue | None = None
        self._pending_ticks: dict[int, Tick] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._unknown_tokens: set[int] = set()

        self._state = StreamState.IDLE
        self._error: str | None = None
        self._last_tick_at: datetime | None = None
        self._last_message_at: datetime | None = None
        self.connection_attempts = 0
        self.reconnects = 0
        self._has_connected = False
        self._generation = 0

    # -- observation ---------------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def status(self) -> StreamStatus:
        return StreamStatus(
            state=self._state,
            last_tick_at=self._last_tick_at,
            last_message_at=self._last_message_at,
            connection_attempts=self.connection_attempts,
            reconnects=self.reconnects,
            error=self._error,
        )

    @property
    def subscriptions(self) -> dict[int, str]:
        return dict(self._modes)

    def add_tick_listener(self, listener: TickListener) -> None:
        self._tick_listeners.append(listener)

    def add_update_listener(self, listener: UpdateListener) -> None:
        self._update_listeners.append(listener)

    def add_catch_up_listener(self, listener: CatchUpListener) -> None:
        """Called after every reconnect (and after an order update that could not be read)."""
        self._catch_up_listeners.append(listener)

    def add_state_listener(self, listener: StateListener) -> None:
        self._state_listeners.append(listener)

    def add_session_expired_listener(self, listener: ExpiredListener) -> None:
        self._expired_listeners.append(listener)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background (idempotent)."""
        if self._task is not None and not self._task.done():
            return
        self._generation += 1
        self._task = asyncio.get_running_loop().create_task(
            self._run(self._generation), name="kite-stream"
        )

    async def stop(self) -> None:
        """Close the connection and stop reconnecting (idempotent)."""
        task, self._task = self._task, None
        self._generation += 1  # a run that missed its cancellation still ends by itself
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)
        if task is not None and not task.cancelled():
            with contextlib.suppress(BaseException):
                task.exception()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._flush()
        if self._state is not StreamState.EXPIRED:
            self._set_state(StreamState.STOPPED)

    def set_access_token(self, access_token: str) -> None:
        """Use a new token from the next connection on; restarts a stream stopped as EXPIRED."""
        self._access_token = access_token
        if self._state is StreamState.EXPIRED:
            # Reconnecting after a re-login also asks for a catch-up: things happened
            # while the session was dead.
            self._error = None
            self.start()

    def expire(self, reason: str = "session expired") -> None:
        """The REST side saw the token die: stop reconnecting until a new token arrives."""
        task, self._task = self._task, None
        self._generation += 1
        if task is not None and not task.done():
            task.cancel()
        self._error = reason
        self._set_state(StreamState.EXPIRED)

    # -- subscriptions -------------------------------------------------------------------

    def register(self, token: int, exchange: str, symbol: str) -> None:
        """Name an instrument token so its ticks carry exchange and symbol."""
        self._names[int(token)] = (exchange, symbol)

    def subscribe(self, tokens: Iterable[int], mode: str = MODE_QUOTE) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}")
        tokens = [int(t) for t in tokens]
        if not tokens:
            return
        for token in tokens:
            self._modes[token] = mode
        self._send({"a": "subscribe", "v": tokens})
        self._send({"a": "mode", "v": [mode, tokens]})

    def unsubscribe(self, tokens: Iterable[int]) -> None:
        tokens = [int(t) for t in tokens if int(t) in self._modes]
        if not tokens:
            return
        for token in tokens:
            self._modes.pop(token, None)
        self._send({"a": "unsubscribe", "v": tokens})

    def _send(self, message: dict) -> None:
        if self._outbox is not None:
            self._outbox.put_nowait(json.dumps(message))

    def _resubscribe(self) -> None:
        by_mode: dict[str, list[int]] = {}
        for token, mode in self._modes.items():
            by_mode.setdefault(mode, []).append(token)
        for mode, tokens in by_mode.items():
            self._send({"a": "subscribe", "v": tokens})
            self._send({"a": "mode", "v": [mode, tokens]})

    # -- state and listeners -------------------------------------------------------------

    def _set_state(self, state: StreamState) -> None:
        if state is self._state and state is not StreamState.CONNECTED:
            return
        self._state = state
        self._notify(self._state_listeners, self.status)

    def _notify(self, listeners: list, *args) -> None:
        for listener in tuple(listeners):
            try:
                listener(*args)
            except Exception:  # noqa: BLE001 - a listener never breaks the stream
                log.exception("Kite stream listener %r failed", listener)

    # -- messages ------------------------------------------------------------------------

    def _handle(self, message: bytes | str) -> None:
        if isinstance(message, bytes | bytearray):
            if len(message) < 2:
                return  # heartbeat
            try:
                packets = parse_binary(bytes(message))
            except (ValueError, struct.error) as exc:
                log.warning("Kite stream: unreadable tick frame (%d bytes): %s", len(message), exc)
                return
            self._queue_ticks(packets)
            return
        try:
            data = json.loads(message)
        except ValueError:
            log.warning("Kite stream: unreadable text message %.200r", message)
            return
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if kind == "order":
            self._handle_order(data.get("data"))
        elif kind == "error":
            log.warning("Kite stream error message: %s", data.get("data"))
        elif kind == "message":
            log.info("Kite stream message: %s", data.get("data"))

    def _handle_order(self, payload: object) -> None:
        try:
            report = order_report_from_kite(payload, now=self._now())
        except UnsupportedKiteRow as exc:
            log.info("Kite order update for an unsupported order skipped: %s", exc)
            return
        except BrokerDataError as exc:
            log.warning("Kite order update could not be read (%s): asking for a catch-up", exc)
            self._notify(self._catch_up_listeners)
            return
        self._notify(self._update_listeners, BrokerUpdate(orders=(report,)))

    def _name(self, token: int) -> tuple[str, str] | None:
        name = self._names.get(token)
        if name is None and self._resolve_external is not None:
            name = self._resolve_external(token)
            if name is not None:
                self._names[token] = name
        return name

    def _queue_ticks(self, packets: list[dict[str, Any]]) -> None:
        if not packets:
            return
        now = self._now()
        for packet in packets:
            token = packet["instrument_token"]
            name = self._name(token)
            if name is None:
                if token not in self._unknown_tokens:
                    self._unknown_tokens.add(token)
                    log.debug("ticks for unnamed instrument token %s ignored", token)
                continue
            self._pending_ticks[token] = tick_from_packet(packet, name[0], name[1], now=now)
        self._last_tick_at = now
        if self._pending_ticks and self._flush_handle is None:
            loop = asyncio.get_running_loop()
            if self.coalesce_interval > 0:
                self._flush_handle = loop.call_later(self.coalesce_interval, self._flush)
            else:
                self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if not self._pending_ticks:
            return
        batch = list(self._pending_ticks.values())
        self._pending_ticks.clear()
        self._notify(self._tick_listeners, batch)

    # ==================================================================
    # The connection: one coroutine (`_run`) owns it. It stops for good on a 401/403
    # handshake only when REST confirms the session is dead (EXPIRED; a refused
    # handshake alone proves nothing), backs off exponentially otherwise, and aborts a
    # socket silent for `watchdog_timeout` s while the watchdog is armed (whenever a
    # Kite segment is in session, MCX's evening included).
    # ==================================================================

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
