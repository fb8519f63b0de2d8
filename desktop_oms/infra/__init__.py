"""Infrastructure shared by every layer, knowing nothing of the others: the clock.

`desktop_oms.infra.clock` is the app's one clock: India Standard Time (NSE's clock) for
every time shown and for the trading day, whatever the machine's time zone.
"""

from desktop_oms.infra.clock import (
    IST,
    IST_OFFSET,
    day_bounds,
    day_start,
    file_stamp,
    format_date_time,
    format_time,
    now_ist,
    to_ist,
    trading_day,
)

__all__ = [
    "IST",
    "IST_OFFSET",
    "day_bounds",
    "day_start",
    "file_stamp",
    "format_date_time",
    "format_time",
    "now_ist",
    "to_ist",
    "trading_day",
]
