"""Kite wire values <-> domain values: statuses, reports, order parameters, errors.

Pure functions, no I/O. Everything Kite sends is untrusted: numbers are turned into
Decimal through `str` (never through float arithmetic), order ids stay strings (they are
up to 19 digits), naive Kite timestamps are IST and become timezone-aware.

Rows that are well formed but use something the domain does not model (a CO/BO product,
say) raise `UnsupportedKiteRow`, which list readers skip with a warning; rows that are
malformed (missing or garbled fields) raise `BrokerDataError`, which fails the whole
read: a reconciliation must not act on a partial order book.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import (
    Instrument,
    Order,
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionReport,
    Product,
    TradeReport,
    Validity,
    Variety,
    is_valid_client_order_id,
)
from .base import Tick
from .errors import (
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)

log = logging.getLogger(__name__)

IST = ZoneInfo("Asia/Kolkata")

__all__ = [
    "ACTIVE_KITE_STATUSES",
    "IST",
    "KITE_STATUS_MAP",
    "BrokerDataError",
    "Failure",
    "StaticIpRejected",
    "UnsupportedKiteRow",
    "classify_failure",
    "client_order_id_of",
    "has_tag",
    "instrument_from_kite",
    "map_kite_status",
    "order_params",
    "order_report_from_kite",
    "parse_instruments_csv",
    "parse_timestamp",
    "position_report_from_kite",
    "tick_from_quote",
    "to_broker_error",
    "trade_report_from_kite",
]


class BrokerDataError(BrokerUnavailable):
    """Kite answered with something that cannot be understood (not JSON, missing fields).

    For a read this is "nothing usable came back, try later"; a write whose answer could
    not be understood is resolved by tag like any other lost answer.
    """


class StaticIpRejected(BrokerRejected):
    """Kite refused an order request because it did not come from the registered static IP."""


class UnsupportedKiteRow(ValueError):
    """A well-formed Kite row the domain does not model (e.g. product CO/BO): skip it."""


# ---------------------------------------------------------------------------------------
# Status mapping
# ---------------------------------------------------------------------------------------

# Kite status -> domain status, before the filled-quantity rule. Sources: the Kite order
# docs, the statuses in Zerodha's own mocks (orders.json, order_info.json, postback.json)
# and the order-update documentation ("UPDATE" for fills/modifications in postbacks).
KITE_STATUS_MAP: dict[str, OrderStatus] = {
    "OPEN": OrderStatus.OPEN,
    "COMPLETE": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "CANCELLED AMO": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING,
    # Placement in progress: acknowledged by Kite, not yet live at the exchange.
    "PUT ORDER REQ RECEIVED": OrderStatus.SUBMITTED,
    "VALIDATION PENDING": OrderStatus.SUBMITTED,
    "OPEN PENDING": OrderStatus.SUBMITTED,
    "AMO REQ RECEIVED": OrderStatus.SUBMITTED,
}

# Transient states of an order that is already live (a modification or cancellation in
# flight, or a fill notification): the order is still working at the exchange. They map
# to the working state (see `map_kite_status`), never backwards to SUBMITTED.
ACTIVE_KITE_STATUSES = frozenset(
    {
        "MODIFY VALIDATION PENDING",
        "MODIFY PENDING",
        "MODIFIED",
        "CANCEL PENDING",
        "UPDATE",
    }
)

_warned_statuses: set[str] = set()


def map_kite_status(
    kite_status: object,
    *,
    filled_quantity: int = 0,
    quantity: int = 0,
    order_type: OrderType | None = None,
) -> OrderStatus:
    """Map any Kite status onto OrderStatus.

    COMPLETE -> FILLED; an active order with fills -> PARTIALLY_FILLED; transient
    modify/cancel states keep the order working (TRIGGER_PENDING for stop orders, else
    OPEN); an unknown status is treated the same way (still active, never terminal) and
    logged once, so a new Kite status can never make the OMS forget a live order.
    """
    text = str(kite_status or "").strip().upper()
    status = KITE_STATUS_MAP.get(text)
    if status is None:
        if text not in ACTIVE_KITE_STATUSES and text not in _warned_statuses:
            _warned_statuses.add(text)
            log.warning("unknown Kite order status %r: treating the order as still active", text)
        status = (
            OrderStatus.TRIGGER_PENDING
            if order_type in (OrderType.SL, OrderType.SL_M) and text != "UPDATE"
            else OrderStatus.OPEN
        )
    if status.is_active and filled_quantity > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


# ---------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------

_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def parse_timestamp(value: object) -> datetime | None:
    """A Kite timestamp as an aware datetime in IST, or None (null, empty, time-only)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=IST) if value.tzinfo is None else value.astimezone(IST)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
            for fmt in _NAIVE_FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            if parsed is None:
                return None
        return parsed.replace(tzinfo=IST) if parsed.tzinfo is None else parsed.astimezone(IST)
    return None


def _dec(value: object, field: str, *, zero_is_none: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BrokerDataError(f"Kite sent a boolean for {field}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise BrokerDataError(f"Kite sent a non-numeric {field}: {value!r}") from exc
    if not number.is_finite():
        raise BrokerDataError(f"Kite sent a non-finite {field}: {value!r}")
    if zero_is_none and number == 0:
        return None
    return number


def _req_dec(value: object, field: str) -> Decimal:
    number = _dec(value, field)
    if number is None:
        raise BrokerDataError(f"Kite sent no {field}")
    return number


def _int(value: object, field: str, *, default: int | None = None) -> int:
    if value is None or value == "":
        if default is not None:
            return default
        raise BrokerDataError(f"Kite sent no {field}")
    if isinstance(value, bool):
        raise BrokerDataError(f"Kite sent a boolean for {field}")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise BrokerDataError(f"Kite sent a non-numeric {field}: {value!r}") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise BrokerDataError(f"Kite sent a fractional {field}: {value!r}")
    return int(number)


def _id(value: object, field: str) -> str:
    """Order/trade ids stay strings; an int is exact, a float has already lost digits."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BrokerDataError(f"Kite sent an unusable {field}: {value!r}")


def _text(row: Mapping[str, Any], field: str) -> str:
    value = row.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BrokerDataError(f"Kite sent no {field}")
    return value.strip()


def _enum(enum_type, row: Mapping[str, Any], field: str):
    text = _text(row, field)
    try:
        return enum_type(text.upper() if enum_type is not Variety else text.lower())
    except ValueError:
        raise UnsupportedKiteRow(f"{field} {text!r} is not supported") from None


# ---------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------

# Tags Kite adds by itself (market protection, autoslice) alongside the user's tag.
_SYSTEM_TAGS = frozenset({"mktp", "autoslice"})


def _tags(row: Mapping[str, Any]) -> list[str]:
    tags: list[str] = []
    tag = row.get("tag")
    if isinstance(tag, str) and tag:
        tags.append(tag)
    many = row.get("tags")
    if isinstance(many, list):
        tags.extend(t for t in many if isinstance(t, str) and t and t not in tags)
    return tags


def client_order_id_of(row: Mapping[str, Any]) -> str | None:
    """The order's user tag (our client order id), ignoring Kite's own system tags."""
    tag = row.get("tag")
    if isinstance(tag, str) and tag:
        return tag
    for candidate in _tags(row):
        if candidate in _SYSTEM_TAGS or ":" in candidate:
            continue
        return candidate
    return None


def has_tag(row: Mapping[str, Any], client_order_id: str) -> bool:
    return client_order_id in _tags(row)


# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------


def _require_mapping(row: object, what: str) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise BrokerDataError(f"Kite sent a {what} that is not an object: {type(row).__name__}")
    return row


def order_report_from_kite(row: object, *, now: datetime | None = None) -> OrderReport:
    """An order book / order history / order-update row as an OrderReport."""
    row = _require_mapping(row, "order")
    broker_order_id = _id(row.get("order_id"), "order_id")
    if not isinstance(row.get("status"), str) or not row["status"].strip():
        raise BrokerDataError(f"Kite sent order {broker_order_id} without a status")
    symbol = _text(row, "tradingsymbol")
    exchange = _text(row, "exchange").upper()
    side = _enum(OrderSide, row, "transaction_type")
    order_type = _enum(OrderType, row, "order_type")
    product = _enum(Product, row, "product")
    quantity = _int(row.get("quantity"), "quantity")
    filled = _int(row.get("filled_quantity"), "filled_quantity", default=0)
    status = map_kite_status(
        row["status"], filled_quantity=filled, quantity=quantity, order_type=order_type
    )
    if status.is_terminal:
        pending = 0
    else:
        pending = _int(
            row.get("pending_quantity"), "pending_quantity", default=max(quantity - filled, 0)
        )
    timestamp = (
        parse_timestamp(row.get("exchange_update_timestamp"))
        or parse_timestamp(row.get("order_timestamp"))
        or parse_timestamp(row.get("exchange_timestamp"))
        or now
        or datetime.now(IST)
    )
    message = row.get("status_message")
    return OrderReport(
        broker_order_id=broker_order_id,
        client_order_id=client_order_id_of(row),
        symbol=symbol,
        exchange=exchange,
        side=side,
        order_type=order_type,
        product=product,
        quantity=quantity,
        filled_quantity=filled,
        pending_quantity=pending,
        price=_dec(row.get("price"), "price", zero_is_none=True),
        trigger_price=_dec(row.get("trigger_price"), "trigger_price", zero_is_none=True),
        average_price=_dec(row.get("average_price"), "average_price", zero_is_none=True),
        status=status,
        status_message=message if isinstance(message, str) and message else None,
        timestamp=timestamp,
    )


def trade_report_from_kite(row: object, *, now: datetime | None = None) -> TradeReport:
    row = _require_mapping(row, "trade")
    product_text = row.get("product")
    product = None
    if isinstance(product_text, str) and product_text:
        product = _enum(Product, row, "product")
    timestamp = (
        parse_timestamp(row.get("fill_timestamp"))
        or parse_timestamp(row.get("exchange_timestamp"))
        or parse_timestamp(row.get("order_timestamp"))
        or now
        or datetime.now(IST)
    )
    return TradeReport(
        trade_id=_id(row.get("trade_id"), "trade_id"),
        broker_order_id=_id(row.get("order_id"), "order_id"),
        symbol=_text(row, "tradingsymbol"),
        exchange=_text(row, "exchange").upper(),
        side=_enum(OrderSide, row, "transaction_type"),
        quantity=_int(row.get("quantity"), "quantity"),
        price=_req_dec(row.get("average_price", row.get("price")), "average_price"),
        timestamp=timestamp,
        product=product,
    )


def position_report_from_kite(row: object) -> PositionReport:
    row = _require_mapping(row, "position")
    multiplier = _dec(row.get("multiplier"), "multiplier") or Decimal("1")
    return PositionReport(
        symbol=_text(row, "tradingsymbol"),
        exchange=_text(row, "exchange").upper(),
        product=_enum(Product, row, "product"),
        quantity=_int(row.get("quantity"), "quantity"),
        average_price=_dec(row.get("average_price"), "average_price") or Decimal("0"),
        multiplier=multiplier,
        last_price=_dec(row.get("last_price"), "last_price", zero_is_none=True),
    )


def tick_from_quote(key: str, row: object, *, now: datetime | None = None) -> Tick:
    """A /quote (or /quote/ltp) entry keyed "EXCHANGE:SYMBOL" as a Tick."""
    row = _require_mapping(row, "quote")
    exchange, _, symbol = key.partition(":")
    if not symbol:
        raise BrokerDataError(f"Kite sent a quote key without an exchange: {key!r}")
    ohlc = row.get("ohlc") if isinstance(row.get("ohlc"), Mapping) else {}
    depth = row.get("depth") if isinstance(row.get("depth"), Mapping) else {}

    def best(side: str) -> tuple[Decimal | None, int | None]:
        levels = depth.get(side) if isinstance(depth, Mapping) else None
        if isinstance(levels, list) and levels and isinstance(levels[0], Mapping):
            price = _dec(levels[0].get("price"), f"{side} price", zero_is_none=True)
            qty = levels[0].get("quantity")
            if price is not None:
                return price, _int(qty, f"{side} quantity", default=0)
        return None, None

    bid, bid_qty = best("buy")
    ask, ask_qty = best("sell")
    extra: dict[str, Any] = {}
    if row.get("instrument_token") is not None:
        extra["instrument_token"] = _int(row.get("instrument_token"), "instrument_token")
    for name in ("lower_circuit_limit", "upper_circuit_limit", "average_price"):
        if row.get(name) is not None:
            extra[name] = _dec(row.get(name), name)
    volume = row.get("volume")
    return Tick(
        exchange=exchange.upper(),
        symbol=symbol,
        last_price=_req_dec(row.get("last_price"), "last_price"),
        timestamp=parse_timestamp(row.get("timestamp")) or now or datetime.now(IST),
        volume=_int(volume, "volume") if volume is not None else None,
        bid=bid,
        ask=ask,
        bid_quantity=bid_qty,
        ask_quantity=ask_qty,
        open=_dec(ohlc.get("open"), "open", zero_is_none=True),
        high=_dec(ohlc.get("high"), "high", zero_is_none=True),
        low=_dec(ohlc.get("low"), "low", zero_is_none=True),
        close=_dec(ohlc.get("close"), "close", zero_is_none=True),
        extra=extra,
    )


# ---------------------------------------------------------------------------------------
# Instruments (the daily CSV dump)
# ---------------------------------------------------------------------------------------


def instrument_from_kite(row: Mapping[str, Any]) -> Instrument:
    """One instruments-dump row (raw CSV strings or kiteconnect's parsed values).

    Same conventions as `marketdata.instruments`: symbols upper-case, multiplier 1 (the
    dump has none; positions carry Kite's multiplier), indices kept but not tradable.
    """
    expiry = row.get("expiry")
    if isinstance(expiry, datetime):
        expiry = expiry.date()
    elif isinstance(expiry, str):
        expiry = date.fromisoformat(expiry) if len(expiry) == 10 else None
    elif not isinstance(expiry, date):
        expiry = None
    segment = str(row.get("segment") or "").upper()
    tradable = segment != "INDICES"
    tick = _dec(row.get("tick_size"), "tick_size") or Decimal("0")
    lot = _int(row.get("lot_size"), "lot_size", default=0)
    if tradable and (tick <= 0 or lot < 1):
        raise BrokerDataError(f"instrument {row.get('tradingsymbol')!r} has no tick or lot size")
    return Instrument(
        exchange=_text(row, "exchange").upper(),
        symbol=_text(row, "tradingsymbol").upper(),
        instrument_token=_int(row.get("instrument_token"), "instrument_token"),
        name=str(row.get("name") or ""),
        tick_size=tick,
        lot_size=max(lot, 1),
        multiplier=Decimal("1"),
        instrument_type=str(row.get("instrument_type") or "").upper(),
        segment=segment,
        expiry=expiry,
        tradable=tradable,
    )


def parse_instruments_csv(data: bytes | str) -> list[Instrument]:
    """Parse Kite's instruments CSV dump (bytes or text) with the shared marketdata parser."""
    from ..marketdata.instruments import load_instruments_csv

    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        return load_instruments_csv(io.StringIO(text))
    except ValueError as exc:
        raise BrokerDataError(f"Kite's instruments dump could not be read: {exc}") from exc


# ---------------------------------------------------------------------------------------
# Order parameters
# ---------------------------------------------------------------------------------------

MARKET_PROTECTION_AUTO = -1


def order_params(order: Order) -> dict[str, Any]:
    """Keyword arguments for `KiteConnect.place_order` (kiteconnect 5.2 signature).

    Raises BrokerRejected (nothing sent) for an order Kite would certainly refuse or that
    this adapter cannot express.
    """
    tag = order.client_order_id
    if not is_valid_client_order_id(tag):
        raise BrokerRejected(f"client order id {tag!r} cannot be a Kite tag (<= 20 letters/digits)")
    if order.variety in (Variety.ICEBERG, Variety.AUCTION):
        raise BrokerRejected(f"{order.variety.value} orders are not supported by this app")
    if order.validity is Validity.TTL:
        raise BrokerRejected(
            "TTL validity needs a duration in minutes, which this app does not send"
        )
    params: dict[str, Any] = {
        "variety": order.variety.value,
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "transaction_type": order.side.value,
        "quantity": int(order.quantity),
        "product": order.product.value,
        "order_type": order.order_type.value,
        "validity": order.validity.value,
        "tag": tag,
    }
    if order.order_type.needs_price:
        if order.price is None:
            raise BrokerRejected(f"a {order.order_type.value} order needs a price")
        params["price"] = str(order.price)
    if order.order_type.needs_trigger:
        if order.trigger_price is None:
            raise BrokerRejected(f"a {order.order_type.value} order needs a trigger price")
        params["trigger_price"] = str(order.trigger_price)
    if order.order_type in (OrderType.MARKET, OrderType.SL_M):
        # Mandatory since April 2026 (0 is rejected); -1 lets Kite apply its default band.
        params["market_protection"] = MARKET_PROTECTION_AUTO
    return params


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class Failure(Enum):
    """What a failed request means for the caller."""

    REJECTED = "rejected"  # Kite refused it: nothing happened
    SESSION_EXPIRED = "session_expired"
    RATE_LIMITED = "rate_limited"  # 429: nothing happened
    NOT_FOUND = "not_found"  # the order id is unknown to Kite
    NOT_SENT = "not_sent"  # never reached Kite (connection refused, connect timeout)
    SERVER_ERROR = "server_error"  # 5xx / Network / General: may or may not have happened
    RESPONSE_LOST = "response_lost"  # sent, answer lost (read timeout, reset)
    MALFORMED = "malformed"  # an answer came but could not be understood


@dataclass(frozen=True, slots=True)
class Classified:
    failure: Failure
    message: str
    code: int | None = None


_IP_PATTERN = re.compile(
    r"\bIPs?\b|ip\s*address|static\s*ip|white\s*-?\s*list|whitelist|unregistered\s+ip",
    re.IGNORECASE,
)
_NOT_FOUND_PATTERN = re.compile(
    r"(couldn'?t|could not|cannot|can't|unable to) find|not found|does not exist|doesn'?t exist|invalid\W+order[_ ]?id",
    re.IGNORECASE,
)

STATIC_IP_HELP = (
    "Kite accepts order requests only from a static IP registered for your account "
    "(SEBI/NSE rules since April 2026). Register this machine's public IP on the Kite "
    "Connect developer console (developers.kite.trade -> Profile -> IP Whitelist), or trade "
    "from the network whose IP is registered. The exchange allows one IP change per week."
)
SESSION_HELP = (
    "The Kite session has expired or was revoked (access tokens end at 6 AM IST each day, "
    "and on logout): log in to Kite again."
)


def is_static_ip_message(message: str) -> bool:
    return bool(_IP_PATTERN.search(message or ""))


def _requests_failure(exc: BaseException) -> Failure | None:
    try:
        import requests
        from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    except ImportError:  # pragma: no cover - both come with kiteconnect
        return None
    if not isinstance(exc, requests.exceptions.RequestException):
        return None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.NOT_SENT
    if isinstance(exc, requests.exceptions.ConnectionError):
        # Was the connection never made (refused, DNS, connect timeout, TLS handshake)?
        seen: set[int] = set()
        stack: list[object] = [exc]
        while stack:
            item = stack.pop()
            if item is None or id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, NewConnectionError | ConnectTimeoutError):
                return Failure.NOT_SENT
            if isinstance(item, requests.exceptions.SSLError):
                return Failure.NOT_SENT
            if isinstance(item, BaseException):
                stack.extend(item.args)
                stack.append(getattr(item, "reason", None))
                stack.append(item.__cause__)
                stack.append(item.__context__)
        return Failure.RESPONSE_LOST
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return Failure.NOT_SENT
    # ReadTimeout, ChunkedEncodingError, ContentDecodingError, ...: sent, answer lost.
    return Failure.RESPONSE_LOST


def classify_failure(exc: BaseException) -> Classified:
    """Classify anything `KiteConnect` raised."""
    from kiteconnect import exceptions as kex

    if isinstance(exc, kex.KiteException):
        message = str(exc) or type(exc).__name__
        code = getattr(exc, "code", None)
        code = code if isinstance(code, int) else None
        if isinstance(exc, kex.TokenException):
            if is_static_ip_message(message):  # an IP refusal is not an expired session
                return Classified(Failure.REJECTED, message, code)
            return Classified(Failure.SESSION_EXPIRED, message, code)
        if code == 429:
            return Classified(Failure.RATE_LIMITED, message, code)
        if isinstance(exc, kex.InputException | kex.OrderException | kex.PermissionException):
            if code == 404 or _NOT_FOUND_PATTERN.search(message):
                return Classified(Failure.NOT_FOUND, message, code)
            return Classified(Failure.REJECTED, message, code)
        if isinstance(exc, kex.DataException):
            return Classified(Failure.MALFORMED, message, code)
        # NetworkException, GeneralException (and error types the library does not know).
        if code == 404:
            return Classified(Failure.NOT_FOUND, message, code)
        if code is not None and 400 <= code < 500:
            return Classified(Failure.REJECTED, message, code)
        return Classified(Failure.SERVER_ERROR, message, code)
    network = _requests_failure(exc)
    if network is not None:
        return Classified(network, f"{type(exc).__name__}: {exc}")
    # Anything else escaping the library (KeyError on a body without "data", a
    # missing Content-Type header, ...) means the answer could not be understood.
    return Classified(Failure.MALFORMED, f"{type(exc).__name__}: {exc}")


def to_broker_error(classified: Classified, *, action: str) -> BrokerError:
    """The domain exception for a classified failure (for reads, or writes that are final)."""
    message = classified.message
    if classified.failure is Failure.SESSION_EXPIRED:
        return SessionExpired(f"{SESSION_HELP} (Kite: {message})")
    if classified.failure is Failure.REJECTED:
        if is_static_ip_message(message):
            return StaticIpRejected(f"Kite refused to {action}: {message}. {STATIC_IP_HELP}")
        return BrokerRejected(message)
    if classified.failure is Failure.RATE_LIMITED:
        return BrokerRateLimited(f"Kite's rate limit was hit while trying to {action}: {message}")
    if classified.failure is Failure.NOT_FOUND:
        return OrderNotFoundAtBroker(message)
    if classified.failure is Failure.MALFORMED:
        return BrokerDataError(
            f"Kite sent an answer that could not be understood while trying to {action}: {message}"
        )
    if classified.failure is Failure.NOT_SENT:
        return BrokerUnavailable(f"Kite could not be reached to {action}: {message}")
    return BrokerUnavailable(f"Kite failed to {action}: {message}")


# ---------------------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------------------


def now_ist() -> datetime:
    return datetime.now(IST)


def instruments_day(now: datetime | None = None) -> date:
    """The date of the instruments dump valid at `now` (Kite regenerates it around 08:30 IST)."""
    current = (now or now_ist()).astimezone(IST)
    if current.hour < 8 or (current.hour == 8 and current.minute < 30):
        return (current - timedelta(days=1)).date()
    return current.date()


def iter_rows(data: object, what: str) -> Iterable[object]:
    """Kite list payloads; anything else is a malformed answer."""
    if isinstance(data, list):
        return data
    raise BrokerDataError(f"Kite sent {what} that is not a list: {type(data).__name__}")
