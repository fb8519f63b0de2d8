"""QuotedCircuitLimits (Kite mode's circuit source for the pre-flight): answers at once,
fetches an unknown instrument's quote once (not per keystroke), keeps it for the day,
asks again after a failed fetch only a minute later."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from desktop_oms.domain import Tick
from desktop_oms.marketdata.quotes import QuoteCache, QuotedCircuitLimits

D = Decimal
KEY = ("NSE", "INFY")
AT = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)


def quote(low="1250.7", high="1528.6") -> Tick:
    extra = {"lower_circuit_limit": D(low), "upper_circuit_limit": D(high)}
    return Tick("NSE", "INFY", D("1412.95"), AT, extra=extra)


class Fetch:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False
        self.tick = quote()

    async def __call__(self, keys):
        self.calls += 1
        if self.fail:
            raise ConnectionError("Kite unreachable")
        return {KEY: self.tick}


async def test_fetched_once_kept_for_the_day_and_again_the_next():
    fetch, day, clock = Fetch(), [date(2026, 12, 8)], [100.0]
    limits = QuotedCircuitLimits(QuoteCache(), fetch, today=lambda: day[0], clock=lambda: clock[0])
    assert limits("NSE", "INFY") is None  # not known yet: asked
    assert limits("NSE", "INFY") is None  # a second keystroke: not asked again
    await limits.settle()
    assert fetch.calls == 1
    assert limits("NSE", "INFY") == (D("1250.7"), D("1528.6"))
    day[0] = date(2026, 12, 9)  # a new day, new limits
    fetch.tick = quote("1300", "1590")
    clock[0] += 3600
    assert limits("NSE", "INFY") is None
    await limits.settle()
    assert limits("NSE", "INFY") == (D("1300"), D("1590")) and fetch.calls == 2


async def test_a_failed_fetch_is_retried_a_minute_later():
    fetch, clock = Fetch(), [100.0]
    fetch.fail = True
    limits = QuotedCircuitLimits(
        QuoteCache(), fetch, today=lambda: date(2026, 12, 8), clock=lambda: clock[0]
    )
    assert limits("NSE", "INFY") is None
    await limits.settle()
    clock[0] += 30
    assert limits("NSE", "INFY") is None
    await limits.settle()
    assert fetch.calls == 1
    fetch.fail = False
    clock[0] += 31
    limits("NSE", "INFY")
    await limits.settle()
    assert fetch.calls == 2 and limits("NSE", "INFY") == (D("1250.7"), D("1528.6"))


def test_limits_a_quote_in_the_cache_carried_are_used_without_fetching():
    cache = QuoteCache()
    cache.on_ticks([quote()])
    fetch = Fetch()
    limits = QuotedCircuitLimits(cache, fetch, today=lambda: date(2026, 12, 8))
    assert limits("NSE", "INFY") == (D("1250.7"), D("1528.6")) and fetch.calls == 0
