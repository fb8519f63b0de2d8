"""Refusals with a knowable reason, in the words both the paper exchange (refusing) and
the pre-trade validator (predicting Kite's refusal on the ticket) use:

- the exchange's circuit limits: no price or trigger outside them (`circuit_problem`);
- Zerodha's MIS entry cut-off: no fresh intraday (MIS) entry from the auto square-off
  time until the segment's close; an order that only reduces the MIS position still goes.

support.zerodha.com, "intraday auto square-off timings" (checked 2026-12-05): equity
3:20 PM, equity derivatives 3:25 PM, currency 4:45 PM, commodities 25 minutes before the
close - MCX closes at 23:55 IST while the US is on winter time and 23:30 while it is on
summer time, so its cut-off is 23:30 or 23:05. "Fresh orders for MIS ... after the auto
square-off time are not allowed."

Pure: the paper broker refuses with it, the pre-trade validator predicts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.margin import reducible_quantity

Window = tuple[time, time]
"""(cut-off, close), IST."""


def us_summer_time(day: date) -> bool:
    """Whether the US is on daylight saving time on `day`: from the second Sunday of
    March to the first Sunday of November (the MCX evening session follows it)."""

    def sunday(month: int, nth: int) -> date:
        first = date(day.year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))

    return sunday(3, 2) <= day < sunday(11, 1)


def mcx_window(day: date) -> Window:
    """MCX: 25 minutes before its close (23:30 in US summer, 23:55 in US winter)."""
    return (time(23, 5), time(23, 30)) if us_summer_time(day) else (time(23, 30), time(23, 55))


ZERODHA_MIS_CUTOFFS: Mapping[str, Window | Callable[[date], Window]] = MappingProxyType(
    {
        "NSE": (time(15, 20), time(15, 30)),
        "BSE": (time(15, 20), time(15, 30)),
        "NFO": (time(15, 25), time(15, 30)),
        "BFO": (time(15, 25), time(15, 30)),
        "CDS": (time(16, 45), time(17, 0)),
        "BCD": (time(16, 45), time(17, 0)),
        "MCX": mcx_window,
    }
)


def default_mis_cutoffs() -> Mapping[str, Window | Callable[[date], Window]]:
    """Zerodha's table, looked up when asked (tests that run on the wall clock turn it
    off for everything but the rule's own tests: tests/conftest.py)."""
    return ZERODHA_MIS_CUTOFFS


def mis_window(
    cutoffs: Mapping[str, Window | Callable[[date], Window]], exchange: str, day: date
) -> Window | None:
    window = cutoffs.get(exchange)
    if callable(window):
        return window(day)
    return window


def mis_cutoff_problem(
    *,
    product: Product,
    exchange: str,
    side: OrderSide,
    quantity: int,
    position_quantity: int,
    now_ist: datetime,
    cutoffs: Mapping[str, Window | Callable[[date], Window]],
) -> str | None:
    """The reason Zerodha refuses this order at `now_ist` (India time: infra.clock's
    `now.astimezone(IST)`), or None (not MIS, outside the window, a weekend, or an order
    that only reduces the MIS position)."""
    if product is not Product.MIS:
        return None
    local = now_ist
    window = mis_window(cutoffs, exchange, local.date())
    if window is None or local.weekday() >= 5:
        return None
    start, close = window
    if not start <= local.time() < close:
        return None
    if quantity <= reducible_quantity(side, position_quantity):
        return None  # an exit
    return (
        f"Fresh MIS orders are not allowed after Zerodha's auto square-off time "
        f"({start:%H:%M} IST for {exchange}, until the {close:%H:%M} close): only orders "
        "that reduce the MIS position go; use CNC/NRML for a new position"
    )


def circuit_problem(
    name: str,
    price: Decimal | None,
    trigger_price: Decimal | None,
    limits: tuple[Decimal, Decimal],
) -> str | None:
    """Why the exchange refuses these prices (outside its circuit limits `limits`, lower
    and upper), or None."""
    low, high = limits
    for what, value in (("Price", price), ("Trigger price", trigger_price)):
        if value is not None and not low <= value <= high:
            return (
                f"{what} {value} is outside the circuit limits of {name} "
                f"({low:.2f} - {high:.2f}): the exchange does not accept it"
            )
    return None
