"""KiteBroker: the Broker port over Zerodha Kite Connect (the official `kiteconnect` client).

Every `KiteConnect` call runs in a dedicated thread pool (one client per worker thread,
so no `requests.Session` is shared between threads); the event loop never blocks.

Safety rules (a duplicated or lost order is the worst possible bug):

* Writes (place, modify, cancel) are never retried. A place request whose answer is lost
  (read timeout, connection reset after sending, 5xx, an answer that cannot be read) is
  resolved by looking its tag (= client order id) up in the order book a few times over
  a couple of seconds: found -> its order id is returned; not found -> BrokerOutcomeUnknown
  (the OMS keeps the order unresolved and reconciliation settles it by tag). A request
  that certainly never reached Kite (connection refused) is BrokerUnavailable.
* Reads (order book, trades, positions, margins, quotes) retry with exponential backoff
  on 5xx, 429, network errors and unreadable answers.
* A TokenException marks the session expired (a 401/403 on the stream's handshake only
  when REST confirms it): new requests fail fast with SessionExpired
  (no request is sent) until `set_access_token()` installs a new token, the stream stops
  reconnecting, and session-expired listeners are told (the GUI offers a re-login).
* Order requests pass through one shared client-side RateLimiter at Kite's limits.

Layout: this module holds `KiteBroker` itself (construction, lifecycle, session state,
listeners, the stream); its calls are mixins - `kite_orders` (place, modify, cancel),
`kite_account` (orders, trades, positions, margins, funds), `kite_market_data` (quotes,
instruments, token index, subscriptions), `history` (historical candles), `gtt` (GTTs) and `kite_calls`
(clients, thread pools, read retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from desktop_oms.brokers.errors import BrokerError, BrokerUnavailable, SessionExpired
from desktop_oms.brokers.kite.account import KiteAccountMixin
from desktop_oms.brokers.kite.calls import _RETRYABLE_READ as _RETRYABLE_READ
from desktop_oms.brokers.kite.calls import _WRITES as _WRITES
from desktop_oms.brokers.kite.calls import KiteCallsMixin
from desktop_oms.brokers.kite.contracts import bundled_contract_multipliers
from desktop_oms.brokers.kite.failures import Failure, classify_failure
from desktop_oms.brokers.kite.gtt import KiteGttMixin
from desktop_oms.brokers.kite.history import KiteHistoryMixin
from desktop_oms.brokers.kite.market_data import KiteMarketDataMixin
from desktop_oms.brokers.kite.orders import _AMBIGUOUS_WRITE as _AMBIGUOUS_WRITE
from desktop_oms.brokers.kite.orders import KiteOrdersMixin
from desktop_oms.brokers.kite.parsing.values import IST
from desktop_oms.brokers.kite.stream.stream import KiteStream
from desktop_oms.brokers.port import (
    BrokerUpdate,
    InstrumentCatalog,
    SessionExpiredListener,
    StreamStateListener,
    StreamStatus,
    TickListener,
    UpdateListener,
)
from desktop_oms.brokers.rate_limit import (
    RateLimiter,
    kite_order_limiter,
    kite_other_limiter,
    kite_quote_limiter,
)
from desktop_oms.domain import Instrument
from desktop_oms.domain.contracts import ContractMultipliers
from desktop_oms.domain.market import Tick

log = logging.getLogger(__name__)

__all__ = ["InstrumentsCache", "KiteBroker"]


class InstrumentsCache(Protocol):
    """Where the daily instruments dump is kept (the storage layer implements it)."""

    async def load(self, day: date) -> Sequence[Instrument] | None: ...

    async def save(self, day: date, instruments: Sequence[Instrument]) -> None: ...


CatchUpListener = Callable[[], None]


class KiteBroker(
    KiteOrdersMixin,
    KiteAccountMixin,
    KiteMarketDataMixin,
    KiteHistoryMixin,
    KiteGttMixin,
    KiteCallsMixin,
):
    """The Broker port over Kite Connect. See the module docstring for the safety rules."""

    name = "kite"

    def __init__(
        self,
        api_key: str,
        access_token: str,
        root: str | None = None,
        ticker_root: str | None = None,
        *,
        instruments_cache: InstrumentsCache | None = None,
        executor: Executor | None = None,
        timeout: float = 7,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        now: Callable[[], datetime] | None = None,
        stream: bool = True,
        stream_options: Mapping[str, Any] | None = None,
        read_retries: int = 3,
        retry_base_delay: float = 0.25,
        retry_max_delay: float = 4.0,
        order_wait_limit: float = 5.0,
        lookup_attempts: int = 4,
        lookup_interval: float = 0.5,
        catch_up_on_reconnect: bool = True,
        contract_multipliers: ContractMultipliers | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a Kite API key is required")
        self.api_key = api_key
        self._access_token = access_token
        self.root = root
        self.ticker_root = ticker_root
        self.timeout = timeout
        self._instruments_cache = instruments_cache
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="kite-rest"
        )
        # Order requests get their own threads so they never queue behind slow reads
        # (a queued request would reach Kite later than the rate limiter counted it).
        self._order_executor = executor or ThreadPoolExecutor(
            max_workers=10, thread_name_prefix="kite-orders"
        )
        self._sleep = sleep or asyncio.sleep
        self._now = now or (lambda: datetime.now(IST))
        self.order_limiter = rate_limiter or kite_order_limiter(clock=clock, sleep=sleep)
        self.quote_limiter = kite_quote_limiter(clock=clock, sleep=sleep)
        self.api_limiter = kite_other_limiter(clock=clock, sleep=sleep)
        self.read_retries = read_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.order_wait_limit = order_wait_limit
        self.lookup_attempts = max(1, lookup_attempts)
        self.lookup_interval = lookup_interval
        self.catch_up_on_reconnect = catch_up_on_reconnect

        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

        self._stream_enabled = stream
        self._stream_options = dict(stream_options or {})
        self._stream: KiteStream | None = None

        self._update_listeners: list[UpdateListener] = []
        self._tick_listeners: list[TickListener] = []
        self._expired_listeners: list[SessionExpiredListener] = []
        self._catch_up_listeners: list[CatchUpListener] = []
        self._stream_state_listeners: list[StreamStateListener] = []

        self._session_expired = False
        self._started = False
        self._closed = False
        self._tasks: set[asyncio.Task] = set()
        self._tokens: dict[tuple[str, str], int] = {}
        self._names: dict[int, tuple[str, str]] = {}
        self._last_prices: dict[tuple[str, str], Decimal] = {}  # of the ticks streamed
        # The instruments Kite lists: the app sets it once it has read the day's dump.
        self.instrument_store: InstrumentCatalog | None = None
        # MCX/CDS/BCD multipliers (Kite's dump has none): the bundled dated table.
        self.contract_multipliers = contract_multipliers or bundled_contract_multipliers()
        self._unknown_contracts: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------------------------
    # Lifecycle, session, listeners
    # ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the live stream (idempotent). REST calls need no start."""
        if self._closed:
            raise BrokerUnavailable("this Kite broker has been closed")
        if self._started:
            return
        self._started = True
        if self._stream_enabled:
            self.stream.start()

    async def close(self) -> None:
        """Stop the stream, cancel background work, release the thread pool (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._stream is not None:
            await self._stream.stop()
        for task in tuple(self._tasks):
            task.cancel()
        for task in tuple(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._order_executor.shutdown(wait=False, cancel_futures=True)
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.reqsession.close()

    @property
    def stream(self) -> KiteStream:
        """The live stream (created on first use; started by `start()`)."""
        if self._stream is None:
            options = dict(self._stream_options)
            stream = KiteStream(
                self.api_key,
                self._access_token,
                self.ticker_root,
                resolve=self._names.get,
                verify_session=self._session_alive,
                **options,
            )
            stream.add_tick_listener(self._dispatch_ticks)
            stream.add_update_listener(self._dispatch_update)
            stream.add_catch_up_listener(self._on_stream_catch_up)
            stream.add_state_listener(self._dispatch_stream_state)
            stream.add_session_expired_listener(self._session_expired_from_stream)
            self._stream = stream
        return self._stream

    @property
    def stream_status(self) -> StreamStatus | None:
        return self._stream.status if self._stream is not None else None

    @property
    def session_expired(self) -> bool:
        return self._session_expired

    def set_access_token(self, access_token: str) -> None:
        """Install a new access token (after a re-login): clears the expired state."""
        self._access_token = access_token
        self._session_expired = False
        if self._stream is not None:
            self._stream.set_access_token(access_token)

    async def settle(self) -> None:
        """Kite holds no update back (the stream hands each to the listeners as it comes):
        one loop turn lets those already scheduled on the loop arrive."""
        await asyncio.sleep(0)

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        """The last price of each instrument streamed so far ({} before the first tick)."""
        return dict(self._last_prices)

    def add_update_listener(self, listener: UpdateListener) -> None:
        self._update_listeners.append(listener)

    def add_tick_listener(self, listener: TickListener) -> None:
        self._tick_listeners.append(listener)

    def add_session_expired_listener(self, listener: SessionExpiredListener) -> None:
        """Called once (on the loop) when the session is found expired (REST or stream)."""
        self._expired_listeners.append(listener)

    def add_catch_up_listener(self, listener: CatchUpListener) -> None:
        """Called after each stream reconnect: re-fetch orders and trades."""
        self._catch_up_listeners.append(listener)

    def add_stream_state_listener(self, listener: StreamStateListener) -> None:
        """Connection state for the status bar (connected/reconnecting/stopped/expired)."""
        self._stream_state_listeners.append(listener)

    def _notify(self, listeners: Sequence[Callable], *args) -> None:
        for listener in tuple(listeners):
            try:
                listener(*args)
            except Exception:  # noqa: BLE001 - a listener never breaks the broker
                log.exception("Kite broker listener %r failed", listener)

    def _dispatch_ticks(self, ticks: Sequence[Tick]) -> None:
        for tick in ticks:
            self._last_prices[(tick.exchange, tick.symbol)] = tick.last_price
        self._notify(self._tick_listeners, ticks)

    def _dispatch_update(self, update: BrokerUpdate) -> None:
        self._notify(self._update_listeners, update)

    def _dispatch_stream_state(self, status: StreamStatus) -> None:
        self._notify(self._stream_state_listeners, status)

    async def _session_alive(self) -> bool | None:
        """The stream's question after a refused handshake: does REST still take the
        token? True / False (Kite says the token is dead) / None (no answer). It marks
        nothing itself: the stream reports a confirmed expiry."""
        if self._closed:
            return None
        if self._session_expired:
            return False
        await self.api_limiter.acquire()
        try:
            await self._call("profile")
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify_failure(exc).failure
            if failure is Failure.SESSION_EXPIRED:
                return False
            log.warning("Kite session check after a refused stream handshake failed: %s", exc)
            return None
        return True

    def _session_expired_from_stream(self, reason: str) -> None:
        self._mark_session_expired(reason, from_stream=True)

    def _mark_session_expired(self, reason: str, *, from_stream: bool = False) -> None:
        if self._session_expired:
            return
        self._session_expired = True
        log.warning("Kite session expired: %s", reason)
        if self._stream is not None and not from_stream:
            self._stream.expire(reason)
        self._notify(self._expired_listeners, reason)

    def _check_session(self) -> None:
        if self._closed:
            raise BrokerUnavailable("the Kite connection has been closed")
        if self._session_expired:
            raise SessionExpired("The Kite session has expired: log in again before trading.")

    def _on_stream_catch_up(self) -> None:
        self._notify(self._catch_up_listeners)
        if self.catch_up_on_reconnect and not self._closed:
            self._spawn(self._catch_up(), "kite-catch-up")

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _catch_up(self) -> None:
        """Re-read orders and trades after a reconnect and push them as one update."""
        try:
            orders = await self.orders()
            trades = await self.trades()
        except BrokerError as exc:
            log.warning(
                "Kite catch-up after reconnect failed (%s); the polling loop will recover", exc
            )
            return
        self._dispatch_update(BrokerUpdate(orders=tuple(orders), trades=tuple(trades)))
