"""Column types that keep money exact and timestamps timezone-aware in SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator


def decimal_text(value) -> str | None:
    """A Decimal as stored: its exact text (non-finite values refused)."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        raise ValueError(f"refusing to store non-finite decimal {value}")
    return str(value)


# One Decimal per distinct text read back (Decimals are immutable): 100,000 orders at a
# few thousand distinct prices hold a few thousand Decimals (~104 bytes each), not
# 200,000. Bounded: emptied when full (the values already handed out stay valid).
_DECIMALS: dict[str, Decimal] = {}
DECIMALS_KEPT = 16_384


def shared_decimal(text: str) -> Decimal:
    """`Decimal(text)`, the same object for the same text while it is kept."""
    value = _DECIMALS.get(text)
    if value is None:
        if len(_DECIMALS) >= DECIMALS_KEPT:
            _DECIMALS.clear()
        value = _DECIMALS[text] = Decimal(text)
    return value


# The last two datetimes converted and their texts, as one tuple (swapped atomically:
# threads safe). Two: a fill's trade row has its own timestamp next to the group's
# applied-at time, which every row of the group shares; one slot lost the shared one to
# each trade's timestamp.
_last_utc: tuple = (None, None, None, None)


def utc_text(value) -> str | None:
    """An aware datetime as stored: ISO-8601 in UTC, to the microsecond."""
    global _last_utc
    if value is None:
        return None
    last = _last_utc
    if value is last[0]:  # a group of rows shares one timestamp: convert it once
        return last[1]
    if value is last[2]:
        return last[3]
    text = _utc_text(value)
    _last_utc = (value, text, last[0], last[1])
    return text


def _utc_text(value) -> str:
    tz = value.tzinfo
    if tz is None:
        raise ValueError("naive datetime: timestamps must be timezone-aware")
    if tz is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


class DecimalText(TypeDecorator):
    """Decimal stored as its exact text (SQLite's NUMERIC would round-trip through float)."""

    impl = String(64)
    cache_ok = True
    to_driver = staticmethod(decimal_text)  # what the driver gets (storage.driver)

    def process_bind_param(self, value, dialect):
        return decimal_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else shared_decimal(value)


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as ISO-8601 UTC text, returned aware (UTC)."""

    impl = String(40)
    cache_ok = True
    to_driver = staticmethod(utc_text)

    def process_bind_param(self, value, dialect):
        return utc_text(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return datetime.fromisoformat(value)
