"""Numbers as a trader reads them in a refusal: Indian digit grouping, short percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from desktop_oms.domain.money import format_inr


def rupees(value: Decimal) -> str:
    return "₹" + format_inr(value)


def price(value: Decimal) -> str:
    return format_inr(value)


def count(value: int) -> str:
    return format_inr(Decimal(value), 0)


def plain(value: Decimal) -> str:
    """10 -> '10', 7.50 -> '7.5' (a limit as the trader typed it)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def beyond(value: Decimal, limit: Decimal, places: int = 1, more_than: bool = True) -> str:
    """`value` with `places` decimals, or more when rounding would hide that it is beyond
    `limit` (10.04 against 10 shows '10.04', not '10.0')."""
    for p in range(places, 7):
        q = Decimal(1).scaleb(-p)
        shown = value.quantize(q, rounding=ROUND_HALF_UP)
        if (shown > limit) if more_than else (shown < limit):
            return f"{shown:.{p}f}"
    return f"{value:.6f}"
