"""Kite parsing primitives: IST timestamps, numbers, ids, enums, statuses and order tags.

The low-level half of the Kite <-> domain mapping (see `kite_mapping`): pure functions,
no I/O. Numbers become Decimal through `str`, ids stay strings, naive Kite timestamps
are IST. Also the two data exceptions (`BrokerDataError`, `UnsupportedKiteRow`) and the
small time/list helpers the broker uses. Everything is re-exported by `kite_mapping`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from desktop_oms.brokers.errors import BrokerUnavailable
from desktop_oms.domain import OrderStatus, OrderType, Variety
from desktop_oms.infra.clock import IST

# Split out of kite_mapping: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.mapping")


class BrokerDataError(BrokerUnavailable):
    """Kite answered with something that cannot be understood (not JSON, missing fields).

    For a read this is "nothing usable came back, try later"; a write whose answer could
    not be understood is resolved by tag like any other lost answer.
    """


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
        # A stop order's modification (UPDATE, MODIFY PENDING, ...) leaves it
        # untriggered unless Kite says OPEN: the guess is TRIGGER_PENDING (the OMS keeps
        # the status a working order already has, see `is_interim_status`).
        status = (
            OrderStatus.TRIGGER_PENDING
            if order_type in (OrderType.SL, OrderType.SL_M)
            else OrderStatus.OPEN
        )
    if status.is_active and filled_quantity > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def is_interim_status(kite_status: object) -> bool:
    """Whether Kite's status only says the order is still working (a modification or
    cancellation in flight, a fill or modification notice, a status this app does not
    know) without saying where it stands: TRIGGER PENDING or OPEN."""
    text = str(kite_status or "").strip().upper()
    return text not in KITE_STATUS_MAP


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


def market_protection_of(row: Mapping[str, Any]) -> tuple[bool, Decimal | None]:
    """Whether Kite made the order a protected LIMIT (tag "mktp"), and its percent
    ("mktp:2.00"), as Kite's order rows and updates say."""
    tags = _tags(row)
    protected = False
    percent = None
    for tag in tags:
        if tag == "mktp":
            protected = True
        elif tag.startswith("mktp:"):
            protected = True
            try:
                percent = Decimal(tag[5:])
            except InvalidOperation:
                percent = None
    return protected, percent if percent is not None and percent.is_finite() else None


def has_tag(row: Mapping[str, Any], client_order_id: str) -> bool:
    return client_order_id in _tags(row)


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
