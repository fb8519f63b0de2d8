"""Display helpers for the GUI: Indian grouping, prices, quantities, IST times.

Pure functions (no Qt) so models can precompute display strings cheaply.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from desktop_oms.domain.money import format_inr
from desktop_oms.infra import clock

RUPEE = "\u20b9"
DASH = "\u2014"
NEG_INF = float("-inf")


def money(value: Decimal | int | None, places: int = 2) -> str:
    """24,50,500.00 (no currency sign); empty for None."""
    if value is None:
        return ""
    return format_inr(Decimal(value), places)


def rupees(value: Decimal | int | None, places: int = 2) -> str:
    """₹24,50,500.00, with the sign in front of the rupee sign: -₹1,840.00."""
    if value is None:
        return DASH
    text = format_inr(Decimal(value), places)
    if text.startswith("-"):
        return f"-{RUPEE}{text[1:]}"
    return f"{RUPEE}{text}"


def signed_money(value: Decimal | None, places: int = 2) -> str:
    """+1,840.00 / -1,840.00 / 0.00: PnL cells show the sign explicitly."""
    if value is None:
        return ""
    text = format_inr(Decimal(value), places)
    if Decimal(value) > 0:
        return "+" + text
    return text


def price(value: Decimal | None) -> str:
    """A price with at least two decimals (more if the instrument's tick needs them)."""
    if value is None:
        return ""
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return format_inr(value, min(places, 4))


def quantity(value: int | None) -> str:
    if value is None:
        return ""
    return format_inr(Decimal(value), 0)


def percent(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return ""
    return f"{float(value):.{places}f}%"


def ist_time(value: datetime | None) -> str:
    """HH:MM:SS in IST (NSE's clock), whatever the machine's zone; "" for None."""
    return clock.format_time(value)


def ist_time_ms(value: datetime | None) -> str:
    """HH:MM:SS.mmm in IST; "" for None."""
    return clock.format_time(value, millis=True)


def ist_datetime(value: datetime | None) -> str:
    """YYYY-MM-DD HH:MM:SS in IST; "" for None."""
    return clock.format_date_time(value)


# The names these had when they showed the machine's local time; they show IST now
# (kept so code written against the old names shows the one clock too).
local_time = ist_time
local_datetime = ist_datetime


def enum_text(value: object) -> str:
    """The wire value of an enum (OrderStatus.TRIGGER_PENDING -> 'TRIGGER PENDING')."""
    if value is None:
        return ""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


# Sort keys: Qt compares these natively (float / str), never Python objects.


def num_key(value: object) -> float:
    """Numbers, Decimals, bools as float; None (and junk) sorts first ascending."""
    if value is None:
        return NEG_INF
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, InvalidOperation):
        return NEG_INF


def time_key(value: datetime | None) -> float:
    if value is None:
        return NEG_INF
    return value.timestamp()


def text_key(value: object) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))
