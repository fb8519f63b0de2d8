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

The binary tick format is decoded in `kite_ticks`; the connection loop (connect,
watchdog, reconnect with backoff) is `KiteStreamConnectionMixin` in
`kite_stream_connection`. This module keeps `KiteStream` itself (subscriptions,
lifecycle, listeners, message handling) and re-exports the public names of both.
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
from typing import Any

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
from desktop_oms.brokers.kite.stream.connection import (
    KiteStreamConnectionMixin,
    is_kite_session_hours,
    is_nse_market_hours,
)
from desktop_oms.brokers.kite.stream.connection import _SessionRejected as _SessionRejected
from desktop_oms.brokers.kite.stream.connection import _WatchdogExpired as _WatchdogExpired
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


class KiteStream(KiteStreamConnectionMixin):
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
