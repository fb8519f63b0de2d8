"""Time for risk decisions: the IST clock (from `desktop_oms.infra.clock`) and weekdays.

Every component takes a `clock` returning an aware datetime, so tests drive time
explicitly. `IST`, `ist_now`, `to_ist` and `trading_day` are the app's one clock,
re-exported here for the risk layer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from desktop_oms.infra.clock import IST, to_ist, trading_day
from desktop_oms.infra.clock import now_ist as ist_now

__all__ = ["IST", "Clock", "is_weekday", "ist_now", "next_trading_day", "to_ist", "trading_day"]

Clock = Callable[[], datetime]


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_trading_day(day: date) -> date:
    """The next weekday after `day` (exchange holidays are not known here)."""
    nxt = day + timedelta(days=1)
    while not is_weekday(nxt):
        nxt += timedelta(days=1)
    return nxt
