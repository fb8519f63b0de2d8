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

Layout: one class in banner sections - lifecycle and session; order entry (place,
modify, cancel); account reads (orders, trades, positions, margins, funds); quotes,
instruments, the token index and subscriptions; historical candles; GTTs; and the
plumbing that runs `KiteConnect` calls off the loop (clients, thread pools, read
retries). Parsing is in `parsing/`, order parameters in `mapping.py`, failures in
`failures.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRejected,
    BrokerUnavailable,
    SessionExpired,
)
from desktop_oms.brokers.kite.contracts import bundled_contract_multipliers
from desktop_oms.brokers.kite.failures import (
    Classified,
    Failure,
    StaleSessionRefusal,
    classify_failure,
    to_broker_error,
)
from desktop_oms.brokers.kite.mapping import order_params, plain_decimal
from desktop_oms.brokers.kite.parsing.gtt import gtt_from_kite, gtt_params, trigger_id_of
from desktop_oms.brokers.kite.parsing.reports import (
    instrument_from_kite,
    order_report_from_kite,
    position_report_from_kite,
    tick_from_quote,
    trade_report_from_kite,
)
from desktop_oms.brokers.kite.parsing.ticks import MODE_FULL, MODE_QUOTE
from desktop_oms.brokers.kite.parsing.values import (
    IST,
    BrokerDataError,
    UnsupportedKiteRow,
    _id,
    _int,
    _req_dec,
    has_tag,
    instruments_day,
    iter_rows,
    parse_timestamp,
)
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
    RateLimit,
    RateLimiter,
    kite_order_limiter,
    kite_other_limiter,
    kite_quote_limiter,
)
from desktop_oms.domain import (
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    TradeReport,
    Variety,
)
from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.domain.contracts import ContractMultipliers
from desktop_oms.domain.gtt import Gtt, GttRequest, gtt_problem
from desktop_oms.domain.market import Funds, Tick

log = logging.getLogger(__name__)

__all__ = ["InstrumentsCache", "KiteBroker"]


class InstrumentsCache(Protocol):
    """Where the daily instruments dump is kept (the storage layer implements it)."""

    async def load(self, day: date) -> Sequence[Instrument] | None: ...

    async def save(self, day: date, instruments: Sequence[Instrument]) -> None: ...


CatchUpListener = Callable[[], None]


_AMBIGUOUS_WRITE = frozenset({Failure.SERVER_ERROR, Failure.RESPONSE_LOST, Failure.MALFORMED})


COMMODITY_SEGMENT = "commodity"


COMMODITY_EXCHANGES = frozenset({"MCX", "NCO"})


HISTORY_MAX_DAYS = {
    Interval.M1: 60,
    Interval.M3: 100,
    Interval.M5: 100,
    Interval.M15: 200,
    Interval.H1: 400,
    Interval.D1: 2000,
}


KITE_HISTORY_LIMITS = (RateLimit(3, 1.0),)


_KITE_TIME = "%Y-%m-%d %H:%M:%S"


_SECOND = timedelta(seconds=1)


def history_chunks(
    since: datetime, until: datetime, interval: Interval
) -> list[tuple[datetime, datetime]]:
    """[since, until) as (from, to) pairs, both ends included as Kite reads them, none
    spanning more than the interval's day limit."""
    span = timedelta(days=HISTORY_MAX_DAYS[interval])
    chunks = []
    start = since
    while start < until:
        end = min(start + span, until)
        chunks.append((start, end - _SECOND))
        start = end
    return chunks


def candle_from_kite(row: object) -> Candle:
    """One row of historical_data (kiteconnect's dict, or Kite's raw list) as a Candle."""
    if isinstance(row, Mapping):
        at, o, h, lo, c, v = (
            row.get(k) for k in ("date", "open", "high", "low", "close", "volume")
        )
    elif isinstance(row, list | tuple) and len(row) >= 6:
        at, o, h, lo, c, v = row[:6]
    else:
        raise BrokerDataError(f"Kite sent a candle that is not a row: {row!r}")
    when = parse_timestamp(at)
    if when is None:
        raise BrokerDataError(f"Kite sent a candle without a time: {row!r}")
    try:
        return Candle(
            int(when.timestamp()),
            _price(o, "open"),
            _price(h, "high"),
            _price(lo, "low"),
            _price(c, "close"),
            _int(v, "volume", default=0),
        )
    except ValueError as exc:
        raise BrokerDataError(f"Kite sent an impossible candle: {exc}") from exc


def _price(value: object, field: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # Kite's JSON numbers: their shortest text, not the binary float
    return _req_dec(value, f"candle {field}")


_RETRYABLE_READ = frozenset(
    {
        Failure.SERVER_ERROR,
        Failure.RESPONSE_LOST,
        Failure.NOT_SENT,
        Failure.RATE_LIMITED,
        Failure.MALFORMED,
    }
)


_WRITES = frozenset({"place_order", "modify_order", "cancel_order"})


class KiteBroker:
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

    # ==================================================================
    # Order entry: place (resolved by tag when unanswered), modify, cancel.
    # ==================================================================

    async def place_order(self, order: Order) -> str:
        """Send the journaled order once; return Kite's order id (a string).

        BrokerRejected: Kite refused it (StaticIpRejected for the static-IP rule).
        BrokerOutcomeUnknown: it may exist at Kite but could not be found by its tag.
        BrokerUnavailable / BrokerRateLimited: it certainly did not reach Kite.
        SessionExpired: log in again (nothing was sent).
        """
        self._check_session()
        params = order_params(order)
        tag = params["tag"]
        await self.order_limiter.acquire(max_wait=self.order_wait_limit)
        self._check_session()
        log.info(
            "placing Kite order %s: %s %s %s:%s x%s",
            tag,
            params["order_type"],
            params["transaction_type"],
            params["exchange"],
            params["tradingsymbol"],
            params["quantity"],
        )
        try:
            result = await self._call("place_order", **params)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                return await self._resolve_by_tag(tag, classified)
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            if classified.failure is Failure.NOT_FOUND:  # e.g. "instrument not found"
                classified = Classified(Failure.REJECTED, classified.message, classified.code)
            error = to_broker_error(classified, action=f"place order {tag}")
            log.warning("Kite order %s not placed: %s", tag, error)
            raise error from exc
        try:
            broker_order_id = _id(result, "order_id")
        except BrokerDataError as exc:
            return await self._resolve_by_tag(tag, Classified(Failure.MALFORMED, str(exc)))
        log.info("Kite order %s placed: order id %s", tag, broker_order_id)
        return broker_order_id

    async def _resolve_by_tag(self, tag: str, cause: Classified) -> str:
        """The place request may have reached Kite: find the order by its tag, never resend."""
        log.warning(
            "Kite did not confirm order %s (%s: %s); looking it up by its tag (it is NOT resent)",
            tag,
            cause.failure.value,
            cause.message,
        )
        last_error: BrokerError | None = None
        for attempt in range(self.lookup_attempts):
            if attempt:
                await self._sleep(self.lookup_interval)
            try:
                rows = await self._read("look up the order by its tag", "orders", retries=0)
                rows = list(iter_rows(rows, "an order list"))
            except SessionExpired as exc:
                last_error = exc
                break
            except BrokerError as exc:
                last_error = exc
                continue
            matches = []
            for row in rows:
                if isinstance(row, Mapping) and has_tag(row, tag):
                    try:
                        matches.append(_id(row.get("order_id"), "order_id"))
                    except BrokerDataError:
                        continue
            if matches:
                unique = list(dict.fromkeys(matches))
                if len(unique) > 1:
                    log.error(
                        "several Kite orders carry tag %s: %s (returning the first)", tag, unique
                    )
                log.warning("Kite order %s found by its tag: order id %s", tag, unique[0])
                return unique[0]
        detail = f"; the last look-up failed: {last_error.message}" if last_error else ""
        raise BrokerOutcomeUnknown(
            f"Kite did not confirm order {tag} ({cause.message}) and it was not found in the "
            f"order book after {self.lookup_attempts} look-ups{detail}. It was NOT sent again; "
            f"check the Kite order book - reconciliation will match it by its tag."
        )

    async def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
        variety: Variety = Variety.REGULAR,
    ) -> None:
        """Modify an open order. Never retried; an unanswered modify is BrokerOutcomeUnknown."""
        self._check_session()
        params: dict[str, Any] = {
            "variety": Variety(variety).value,
            "order_id": str(broker_order_id),
        }
        if quantity is not None:
            params["quantity"] = int(quantity)
        if price is not None:
            params["price"] = plain_decimal(price)
        if trigger_price is not None:
            params["trigger_price"] = plain_decimal(trigger_price)
        if order_type is not None:
            order_type = OrderType(order_type)
            params["order_type"] = order_type.value
            if order_type in (OrderType.MARKET, OrderType.SL_M):
                params["market_protection"] = -1
        if len(params) == 2:
            raise BrokerRejected("nothing to modify")
        await self.order_limiter.acquire(max_wait=self.order_wait_limit)
        self._check_session()
        try:
            await self._call("modify_order", **params)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the modification of order {broker_order_id} "
                    f"({classified.message}); it was not resent - refresh the order to see its state"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            raise to_broker_error(classified, action=f"modify order {broker_order_id}") from exc

    async def cancel_order(
        self, broker_order_id: str, *, variety: Variety = Variety.REGULAR
    ) -> None:
        """Cancel an order. An unanswered cancel is checked against the order's history.

        A cancel waits its turn at the rate limiter however long that takes: unlike a new
        order or a new price, it never goes stale (it only takes risk off)."""
        self._check_session()
        await self.order_limiter.acquire()
        self._check_session()
        try:
            await self._call("cancel_order", Variety(variety).value, str(broker_order_id))
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                if await self._is_cancelled(str(broker_order_id)):
                    log.warning(
                        "cancel of Kite order %s unconfirmed, but the order is cancelled",
                        broker_order_id,
                    )
                    return
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the cancellation of order {broker_order_id} "
                    f"({classified.message}); it was not resent - refresh the order to see its state"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            raise to_broker_error(classified, action=f"cancel order {broker_order_id}") from exc

    async def _is_cancelled(self, broker_order_id: str) -> bool:
        try:
            history = await self.order_history(broker_order_id)
        except BrokerError:
            return False
        return bool(history) and history[-1].status is OrderStatus.CANCELLED

    # ==================================================================
    # Reads of the account: orders, trades, positions, margins, funds, profile.
    # ==================================================================

    async def orders(self) -> list[OrderReport]:
        rows = await self._read("fetch the order book", "orders")
        now = self._now()
        return self._map_rows(rows, lambda row: order_report_from_kite(row, now=now), "order")

    async def order_history(self, broker_order_id: str) -> list[OrderReport]:
        """Every state the order went through, oldest first."""
        rows = await self._read(
            f"fetch the history of order {broker_order_id}", "order_history", str(broker_order_id)
        )
        now = self._now()
        return self._map_rows(rows, lambda row: order_report_from_kite(row, now=now), "order")

    async def order_trades(self, broker_order_id: str) -> list[TradeReport]:
        rows = await self._read(
            f"fetch the trades of order {broker_order_id}", "order_trades", str(broker_order_id)
        )
        now = self._now()
        return self._map_rows(rows, lambda row: trade_report_from_kite(row, now=now), "trade")

    async def trades(self) -> list[TradeReport]:
        rows = await self._read("fetch the trade book", "trades")
        now = self._now()
        return self._map_rows(rows, lambda row: trade_report_from_kite(row, now=now), "trade")

    async def positions(self, *, include_closed: bool = False) -> list[PositionReport]:
        """Net positions (signed quantity, Kite's multiplier); closed (0) rows only on request."""
        data = await self._read("fetch positions", "positions")
        if not isinstance(data, Mapping) or "net" not in data:
            raise BrokerDataError("Kite sent positions without a 'net' list")
        reports = self._map_rows(data["net"], position_report_from_kite, "position")
        self.learn_multipliers(reports)  # closed rows too: Kite's multiplier is the truth
        return [r for r in reports if include_closed or r.quantity != 0]

    async def margins(self) -> dict:
        """Kite's raw margins (equity and commodity segments)."""
        data = await self._read("fetch margins", "margins")
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent margins that are not an object")
        return dict(data)

    async def funds(self, exchange: str | None = None) -> Funds | None:
        """The segment's margin that an order on `exchange` draws on (Kite keeps MCX in
        its commodity segment, everything else in equity): available = net margin, used =
        utilised debits. Without an exchange: the equity segment."""
        data = await self.margins()
        segment = COMMODITY_SEGMENT if (exchange or "").upper() in COMMODITY_EXCHANGES else "equity"
        equity = data.get(segment)
        if not isinstance(equity, Mapping):
            return None
        try:
            available = Decimal(str(equity["net"]))
            utilised = equity.get("utilised") or {}
            used = (
                Decimal(str(utilised.get("debits", 0)))
                if isinstance(utilised, Mapping)
                else Decimal(0)
            )
        except Exception as exc:  # noqa: BLE001
            raise BrokerDataError(
                f"Kite sent {segment} margins that could not be read: {exc}"
            ) from exc
        return Funds(available=available, used=used)

    async def order_margins(self, order: Order) -> Decimal:
        """Margin Kite requires for this order (given current positions and orders)."""
        leg = {
            "exchange": order.exchange,
            "tradingsymbol": order.symbol,
            "transaction_type": order.side.value,
            "variety": order.variety.value,
            "product": order.product.value,
            "order_type": order.order_type.value,
            "quantity": int(order.quantity),
            "price": float(order.price) if order.price is not None else 0,
            "trigger_price": float(order.trigger_price) if order.trigger_price is not None else 0,
        }
        rows = await self._read("compute order margins", "order_margins", [leg])
        total = Decimal(0)
        for row in iter_rows(rows, "an order margin list"):
            if not isinstance(row, Mapping) or "total" not in row:
                raise BrokerDataError("Kite sent an order margin without a total")
            try:
                total += Decimal(str(row["total"]))
            except Exception as exc:  # noqa: BLE001
                raise BrokerDataError(
                    f"Kite sent an unreadable margin total: {row['total']!r}"
                ) from exc
        return total

    async def verify_session(self) -> dict:
        """The user's profile; raises SessionExpired if the token is not valid."""
        data = await self._read("check the session", "profile")
        return dict(data) if isinstance(data, Mapping) else {}

    # ==================================================================
    # Quotes, instruments, the token index and stream subscriptions.
    # ==================================================================

    @staticmethod
    def _keys(instruments: Sequence[tuple[str, str]]) -> list[str]:
        return [f"{exchange.upper()}:{symbol}" for exchange, symbol in instruments]

    async def ltp(self, instruments: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Last traded prices keyed by (exchange, symbol)."""
        if not instruments:
            return {}
        data = await self._read(
            "fetch last prices", "ltp", self._keys(instruments), limiter=self.quote_limiter
        )
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent last prices that are not an object")
        now = self._now()
        result = {}
        for key, row in data.items():
            tick = tick_from_quote(key, row, now=now)
            self._remember_token(tick)
            result[(tick.exchange, tick.symbol)] = tick.last_price
        return result

    async def quote(self, instruments: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Tick]:
        """Full quotes (last price, OHLC, best bid/ask, volume) keyed by (exchange, symbol)."""
        if not instruments:
            return {}
        data = await self._read(
            "fetch quotes", "quote", self._keys(instruments), limiter=self.quote_limiter
        )
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent quotes that are not an object")
        now = self._now()
        result = {}
        for key, row in data.items():
            tick = tick_from_quote(key, row, now=now)
            self._remember_token(tick)
            result[(tick.exchange, tick.symbol)] = tick
        return result

    def _remember_token(self, tick: Tick) -> None:
        token = tick.extra.get("instrument_token")
        if token:
            self._index_token(tick.exchange, tick.symbol, int(token))

    def _index_token(self, exchange: str, symbol: str, token: int) -> None:
        self._tokens[(exchange, symbol)] = token
        self._names[token] = (exchange, symbol)
        if self._stream is not None:
            self._stream.register(token, exchange, symbol)

    async def instruments(self, exchange: str | None = None) -> list[Instrument]:
        """The day's instruments dump (from the cache hook when it has today's copy)."""
        day = instruments_day(self._now())
        cache = self._instruments_cache if exchange is None else None
        if cache is not None:
            try:
                cached = await cache.load(day)
            except Exception:  # noqa: BLE001 - a broken cache only costs a download
                log.exception("instruments cache load failed")
                cached = None
            if cached:
                cached = self._with_contract_multipliers(cached, day)  # older copies say 1
                self._index_instruments(cached)
                return cached
        args = (exchange.upper(),) if exchange else ()
        rows = await self._read("download the instruments list", "instruments", *args)
        instruments: list[Instrument] = []
        bad = 0
        for row in iter_rows(rows, "an instruments list"):
            try:
                instruments.append(instrument_from_kite(row))
            except Exception:  # noqa: BLE001
                bad += 1
        if bad:
            log.warning("skipped %d unreadable instruments", bad)
        instruments = self._with_contract_multipliers(instruments, day)
        self._index_instruments(instruments)
        if cache is not None:
            try:
                await cache.save(day, instruments)
            except Exception:  # noqa: BLE001
                log.exception("instruments cache save failed")
        return instruments

    def _with_contract_multipliers(
        self, instruments: Sequence[Instrument], day: date
    ) -> list[Instrument]:
        """MCX/CDS/BCD contracts with the bundled table's multiplier (Kite's dump says
        lot_size 1 and has no multiplier); a contract the table does not know is logged
        once and keeps 1 until a position shows Kite's."""
        table = self.contract_multipliers
        if table is None:
            return list(instruments)
        applied, unknown = table.apply(instruments, day)
        new = unknown - self._unknown_contracts
        if new:
            self._unknown_contracts |= new
            log.warning(
                "no contract multiplier for %s: P&L, order value and margin of these "
                "contracts count 1 unit per lot until a Kite position shows the multiplier "
                "(add them to resources/contract_multipliers.toml)",
                ", ".join(sorted(f"{e}:{n}" for e, n in new)),
            )
        return applied

    def learn_multipliers(self, reports: Sequence[PositionReport]) -> None:
        """Kite's positions carry each contract's multiplier: the instrument takes it
        (order value, margin and risk checks then use it before the next fill)."""
        store = self.instrument_store
        if store is None:
            return
        for report in reports:
            if report.multiplier is None or report.multiplier <= 0:
                continue
            instrument = store.get(report.exchange, report.symbol)
            if instrument is None or instrument.multiplier == report.multiplier:
                continue
            if report.multiplier == 1 and instrument.multiplier != 1:
                continue  # never trade a known multiplier for 1
            log.info(
                "Kite reports multiplier %s for %s:%s (was %s): using Kite's",
                report.multiplier,
                report.exchange,
                report.symbol,
                instrument.multiplier,
            )
            store.set_multiplier(report.exchange, report.symbol, report.multiplier)

    def _index_instruments(self, instruments: Sequence[Instrument]) -> None:
        for instrument in instruments:
            if instrument.instrument_token:
                self._index_token(
                    instrument.exchange, instrument.symbol, instrument.instrument_token
                )

    # ------------------------------------------------------------------------------------
    # Streaming subscriptions
    # ------------------------------------------------------------------------------------

    def subscribe(
        self, instruments: Sequence[tuple[str, str]], *, mode: str = MODE_QUOTE, depth: bool = False
    ) -> None:
        """Stream ticks for these (exchange, symbol) pairs; unknown tokens are looked up via
        LTP. With `depth`, in full mode (the five best levels each side)."""
        if not self._stream_enabled:
            return
        if depth:
            mode = MODE_FULL
        known: list[int] = []
        missing: list[tuple[str, str]] = []
        for exchange, symbol in instruments:
            key = (exchange.upper(), symbol)
            token = self._tokens.get(key)
            if token is None:
                missing.append(key)
            else:
                self.stream.register(token, *key)
                known.append(token)
        if known:
            self.stream.subscribe(known, mode)
        if missing:
            self._spawn(self._subscribe_missing(missing, mode), "kite-resolve-tokens")

    async def _subscribe_missing(self, instruments: list[tuple[str, str]], mode: str) -> None:
        try:
            await self.ltp(instruments)
        except BrokerError as exc:
            log.warning("could not look up instrument tokens for %s: %s", instruments, exc)
            return
        tokens = []
        for key in instruments:
            token = self._tokens.get(key)
            if token is None:
                log.warning("Kite knows no instrument %s:%s; not subscribed", *key)
                continue
            self.stream.register(token, *key)
            tokens.append(token)
        if tokens:
            self.stream.subscribe(tokens, mode)

    def unsubscribe(self, instruments: Sequence[tuple[str, str]]) -> None:
        if self._stream is None:
            return
        tokens = [
            self._tokens[(e.upper(), s)] for e, s in instruments if (e.upper(), s) in self._tokens
        ]
        self._stream.unsubscribe(tokens)

    def subscribe_tokens(self, tokens: Sequence[int], *, mode: str = MODE_QUOTE) -> None:
        """Subscribe raw instrument tokens (named ones produce ticks)."""
        if self._stream_enabled:
            self.stream.subscribe(tokens, mode)

    # ==================================================================
    # Historical candles (`historical_data`), within Kite's limits: one request covers
    # at most so many days by interval (minute 60, 3-/5-minute 100, 15-minute 200,
    # hourly 400, day 2,000), at most 3 requests a second (their own limiter; a 429 is
    # retried by `_read`). Times go as IST wall clock "YYYY-MM-DD HH:MM:SS", both ends
    # included; domain Candles come back oldest first.
    # ==================================================================

    _history_pacer: RateLimiter | None = None

    @property
    def history_limiter(self) -> RateLimiter:
        """Historical requests: 3 a second (their own limit at Kite)."""
        if self._history_pacer is None:
            self._history_pacer = RateLimiter(
                KITE_HISTORY_LIMITS, name="historical data", sleep=self._sleep
            )
        return self._history_pacer

    async def historical_candles(
        self, exchange: str, symbol: str, interval: Interval, since: datetime, until: datetime
    ) -> list[Candle]:
        """The instrument's candles of `interval` starting in [since, until), oldest first."""
        token = await self._history_token(exchange, symbol)
        by_start: dict[int, Candle] = {}
        for start, end in history_chunks(since, until, interval):
            rows = await self._read(
                f"fetch {interval.label} candles of {exchange}:{symbol}",
                "historical_data",
                token,
                start.astimezone(IST).strftime(_KITE_TIME),
                end.astimezone(IST).strftime(_KITE_TIME),
                interval.kite_name,
                limiter=self.history_limiter,
            )
            for row in iter_rows(rows, "a candles list"):
                candle = candle_from_kite(row)
                by_start[candle.start] = candle
        low, high = since.timestamp(), until.timestamp()
        return [by_start[s] for s in sorted(by_start) if low <= s < high]

    async def _history_token(self, exchange: str, symbol: str) -> int:
        key = (exchange.upper(), symbol)
        token = self._tokens.get(key)
        if token is None:
            await self.ltp([key])  # indexes the token of what it quotes
            token = self._tokens.get(key)
        if token is None:
            raise BrokerError(f"Kite knows no instrument {exchange}:{symbol}")
        return token

    # ==================================================================
    # GTTs (never resent: a GTT has no tag to find it by).
    # ==================================================================

    async def place_gtt(self, request: GttRequest) -> int:
        problem = gtt_problem(request)
        if problem:
            raise BrokerRejected(problem)
        params = gtt_params(request)
        log.info(
            "placing Kite GTT %s %s:%s triggers %s",
            request.gtt_type.value,
            request.exchange,
            request.symbol,
            params["trigger_values"],
        )
        data = await self._gtt_write("place", "place_gtt", **params)
        try:
            return trigger_id_of(data)
        except BrokerDataError as exc:
            raise BrokerOutcomeUnknown(
                f"Kite's answer to the GTT could not be read ({exc}); it was not sent again - "
                "refresh the GTT list to see whether it exists"
            ) from exc

    async def modify_gtt(self, gtt_id: int, request: GttRequest) -> None:
        problem = gtt_problem(request)
        if problem:
            raise BrokerRejected(problem)
        await self._gtt_write(
            f"modify GTT {gtt_id}", "modify_gtt", int(gtt_id), **gtt_params(request)
        )

    async def delete_gtt(self, gtt_id: int) -> None:
        await self._gtt_write(f"delete GTT {gtt_id}", "delete_gtt", int(gtt_id))

    async def gtts(self) -> list[Gtt]:
        rows = await self._read("fetch the GTTs", "get_gtts")
        return self._map_rows(rows, gtt_from_kite, "GTT")

    async def _gtt_write(self, action: str, method: str, *args, **kwargs):
        self._check_session()
        await self.api_limiter.acquire()
        self._check_session()
        try:
            return await self._call(method, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the request to {action} ({classified.message}); "
                    "it was not sent again - refresh the GTT list to see where it stands"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            error = to_broker_error(classified, action=action)
            log.warning("Kite GTT request to %s failed: %s", action, error)
            raise error from exc

    # ==================================================================
    # Running `KiteConnect` calls off the loop: clients, executors, retried reads.
    # ==================================================================

    def _client(self):
        """This worker thread's KiteConnect (created on first use, token kept current)."""
        from kiteconnect import KiteConnect

        client = getattr(self._local, "client", None)
        if client is None:
            client = KiteConnect(
                self.api_key, access_token=self._access_token, root=self.root, timeout=self.timeout
            )
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        elif client.access_token != self._access_token:
            client.set_access_token(self._access_token)
        return client

    def _invoke(self, method: str, args: tuple, kwargs: dict):
        return getattr(self._client(), method)(*args, **kwargs)

    async def _call(self, method: str, *args, **kwargs):
        loop = asyncio.get_running_loop()
        executor = self._order_executor if method in _WRITES else self._executor
        token = self._access_token
        try:
            return await loop.run_in_executor(
                executor, functools.partial(self._invoke, method, args, kwargs)
            )
        except Exception as exc:
            if token != self._access_token and (
                classify_failure(exc).failure is Failure.SESSION_EXPIRED
            ):
                # the old token's refusal, come back after a re-login: the new session is
                # not expired by it (it once halted trading again right after the login)
                raise StaleSessionRefusal(
                    f"refused for the session replaced by a new login meanwhile ({exc})"
                ) from exc
            raise

    def _retry_delay(self, attempt: int, failure: Failure) -> float:
        base = self.retry_base_delay * (2**attempt)
        if failure is Failure.RATE_LIMITED:
            base = max(base, self.retry_base_delay * 4)  # a 429 needs a real pause
        return min(base, self.retry_max_delay)

    async def _read(
        self,
        action: str,
        method: str,
        *args,
        limiter: RateLimiter | None = None,
        retries: int | None = None,
        **kwargs,
    ):
        """A read-only call with retries on transient failures."""
        retries = self.read_retries if retries is None else retries
        attempt = 0
        while True:
            self._check_session()
            await (limiter or self.api_limiter).acquire()
            try:
                return await self._call(method, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified below
                classified = classify_failure(exc)
                if classified.failure is Failure.SESSION_EXPIRED:
                    self._mark_session_expired(classified.message)
                    raise to_broker_error(classified, action=action) from exc
                if classified.failure not in _RETRYABLE_READ or attempt >= retries:
                    raise to_broker_error(classified, action=action) from exc
                delay = self._retry_delay(attempt, classified.failure)
                attempt += 1
                log.info(
                    "Kite %s failed (%s: %s); retry %d/%d in %.2f s",
                    method,
                    classified.failure.value,
                    classified.message,
                    attempt,
                    retries,
                    delay,
                )
                await self._sleep(delay)

    def _map_rows(self, rows: object, mapper: Callable, what: str) -> list:
        result = []
        for row in iter_rows(rows, f"a {what} list"):
            try:
                result.append(mapper(row))
            except UnsupportedKiteRow as exc:
                log.warning("skipping a Kite %s this app does not model: %s", what, exc)
            except BrokerDataError as exc:
                raise BrokerDataError(
                    f"Kite sent a {what} that could not be read: {exc.message}"
                ) from exc
            except Exception as exc:  # noqa: BLE001 - garbled rows are a data error
                raise BrokerDataError(f"Kite sent a {what} that could not be read: {exc}") from exc
        return result
