"""Kite's historical candles API on the test server: `GET /instruments/historical/
{instrument_token}/{interval}?from=...&to=...` with Kite's rules.

- Intervals: minute, 3minute, 5minute, 10minute, 15minute, 30minute, 60minute, day.
- One request spans at most so many days (minute 60; 3-, 5-, 10-minute 100; 15-, 30-
  minute 200; 60minute 400; day 2,000): more is refused with an InputException
  "interval exceeds max limit: N days", as Kite does.
- At most 3 historical requests a second (sliding window); more are answered 429.
- `from` and `to` are IST wall-clock "YYYY-MM-DD HH:MM:SS", both included.
- Candles are Kite's rows: ["2026-12-07T09:15:00+0530", open, high, low, close, volume],
  for NSE session minutes (09:15 - 15:30) of weekdays, intraday buckets counted from
  09:15. The prices are a deterministic walk per instrument token, so two requests for
  the same candle agree; `holidays` are days with no candles.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.kite_server.book import BookError

IST = ZoneInfo("Asia/Kolkata")
MAX_DAYS = {
    "minute": 60,
    "3minute": 100,
    "5minute": 100,
    "10minute": 100,
    "15minute": 200,
    "30minute": 200,
    "60minute": 400,
    "day": 2000,
}
STEP = {
    "minute": 1,
    "3minute": 3,
    "5minute": 5,
    "10minute": 10,
    "15minute": 15,
    "30minute": 30,
    "60minute": 60,
}
_FORMAT = "%Y-%m-%d %H:%M:%S"


class HistoricalData:
    """The candles side of the test server (thread-safe)."""

    def __init__(self) -> None:
        self.rate_limit: tuple[int, float] | None = (3, 1.0)
        self.requests: list[dict] = []  # every request: token, interval, from, to, answered
        self.holidays: set[date] = set()
        self._times: list[float] = []
        self._lock = threading.Lock()

    def candles(self, token: int, interval: str, query: dict[str, list[str]]) -> list[list]:
        frm = _when((query.get("from") or [""])[-1], "from")
        to = _when((query.get("to") or [""])[-1], "to")
        self._pace()
        record = {"token": token, "interval": interval, "from": frm, "to": to, "answered": False}
        with self._lock:
            self.requests.append(record)
        if interval not in MAX_DAYS:
            raise BookError(400, "InputException", "invalid interval")
        if to < frm:
            raise BookError(400, "InputException", "invalid `to` date")
        limit = MAX_DAYS[interval]
        if to - frm > timedelta(days=limit):
            raise BookError(400, "InputException", f"interval exceeds max limit: {limit} days")
        record["answered"] = True
        return [self._row(token, interval, start) for start in self._starts(interval, frm, to)]

    def _pace(self) -> None:
        if self.rate_limit is None:
            return
        count, period = self.rate_limit
        now = time.monotonic()
        with self._lock:
            self._times = [t for t in self._times if now - t < period]
            if len(self._times) >= count:
                raise BookError(429, "NetworkException", "Too many requests")
            self._times.append(now)

    def _starts(self, interval: str, frm: datetime, to: datetime):
        day = frm.date()
        while day <= to.date():
            if day.weekday() < 5 and day not in self.holidays:
                if interval == "day":
                    start = datetime.combine(day, datetime.min.time(), IST)
                    if frm <= start <= to or (frm.date() <= day <= to.date()):
                        yield start
                else:
                    opens = datetime.combine(day, datetime.min.time(), IST) + timedelta(
                        hours=9, minutes=15
                    )
                    closes = opens + timedelta(minutes=375)
                    start = opens
                    while start < closes:
                        if frm <= start <= to:
                            yield start
                        start += timedelta(minutes=STEP[interval])
            day += timedelta(days=1)

    @staticmethod
    def _row(token: int, interval: str, start: datetime) -> list:
        minute = int(start.timestamp() // 60)
        base = 1000 + (token % 997)
        price = base * (1 + 0.05 * math.sin(minute / 500.0 + token))
        o = round(price, 1)
        c = round(price * (1 + 0.001 * math.sin(minute / 7.0)), 1)
        h = round(max(o, c) + 0.5, 1)
        lo = round(min(o, c) - 0.5, 1)
        volume = 1000 + minute % 500 if interval != "day" else 200_000 + minute % 5000
        return [start.strftime("%Y-%m-%dT%H:%M:%S%z"), o, h, lo, c, volume]


def _when(text: str, name: str) -> datetime:
    try:
        return datetime.strptime(text, _FORMAT).replace(tzinfo=IST)
    except ValueError:
        raise BookError(400, "InputException", f"invalid `{name}` date") from None
