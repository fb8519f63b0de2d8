"""Decimal helpers: parsing untrusted numbers, tick arithmetic, Indian digit grouping."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
PAISA = Decimal("0.01")
MAX_PRICE = Decimal("100000000")  # 10 crore per unit: far above any listed price
_WESTERN_GROUPS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_INDIAN_GROUPS = re.compile(r"[+-]?\d{1,2}(,\d{2})*,\d{3}(\.\d*)?")


def to_decimal(value: object, field: str) -> Decimal:
    """Convert a user/broker supplied number to a finite Decimal or raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(float.__repr__(value))
    elif isinstance(value, str):
        text = value.strip()
        if "," in text:
            if not (_WESTERN_GROUPS.fullmatch(text) or _INDIAN_GROUPS.fullmatch(text)):
                raise ValueError(f"{field} {value!r} has misplaced thousands separators")
            text = text.replace(",", "")
        if not text.isascii() or "_" in text:
            raise ValueError(f"{field} {value!r} is not a number")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{field} {value!r} is not a number") from None
    else:
        raise ValueError(f"{field} must be a number, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field} must be a finite number, not {value!r}")
    return result


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    if step <= 0:
        return True
    try:
        return (value % step) == 0
    except InvalidOperation:  # beyond Decimal's precision: certainly not a real price
        return False


def round_to_tick(value: Decimal, tick: Decimal, direction: str = "nearest") -> Decimal:
    """`value` on the tick grid: the nearest tick, or the one "down" / "up" from it."""
    if tick <= 0:
        return value
    rounding = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}[direction]
    return ((value / tick).quantize(Decimal(1), rounding=rounding) * tick).quantize(tick)


def format_inr(value: Decimal, places: int = 2) -> str:
    """Format with Indian digit grouping: 2450500 -> '24,50,500.00'."""
    quant = Decimal(1).scaleb(-places) if places else Decimal(1)
    value = Decimal(value).quantize(quant, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):.{places}f}"
    whole, _, frac = text.partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join(groups + [tail])
    return f"{sign}{whole}.{frac}" if places else f"{sign}{whole}"
