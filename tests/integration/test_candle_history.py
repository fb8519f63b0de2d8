"""The chart's candle history (issue 17): Kite's historical API within its limits (the
test server enforces them as Kite does), the cache in the database, and paper mode's
generated history joined to what the app recorded."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.kite.broker import HISTORY_MAX_DAYS, history_chunks
from desktop_oms.domain.candles import Interval
from desktop_oms.domain.market import Tick
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.candles import resample
from desktop_oms.marketdata.history import BrokerHistory, CandleHistory
from desktop_oms.marketdata.recorder import CandleRecorder
from desktop_oms.marketdata.synthetic_history import GeneratedHistory, session_minutes
from desktop_oms.storage import Database
from tests.kite_server import KiteTestServer
from tests.kite_server.helpers import make_broker

NOW = datetime(2026, 12, 7, 11, 3, 20, tzinfo=IST)  # a Monday, mid-session
INFY = ("NSE", "INFY")


@pytest.fixture
def server():
    with KiteTestServer() as s:
        yield s


@pytest.fixture
async def kite(server):
    broker = make_broker(server)
    await broker.start()
    yield broker
    await broker.close()


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "oms.db")
    yield database
    await database.close()


# ---- Kite's historical API ------------------------------------------------------------


def test_chunks_stay_within_kites_day_limits():
    since = datetime(2025, 1, 1, tzinfo=IST)
    until = since + timedelta(days=365)
    for interval, days in HISTORY_MAX_DAYS.items():
        chunks = history_chunks(since, until, interval)
        assert chunks[0][0] == since and chunks[-1][1] == until - timedelta(seconds=1)
        assert all(b - a < timedelta(days=days) for a, b in chunks), interval
        assert all(
            b + timedelta(seconds=1) == c
            for (_, b), (c, _) in zip(chunks, chunks[1:], strict=False)
        )
    assert len(history_chunks(since, until, Interval.M1)) == 7  # 365 / 60
    assert len(history_chunks(since, until, Interval.D1)) == 1


async def test_the_test_server_refuses_what_kite_refuses(server, kite):
    """A minute request over 60 days is an InputException; the fourth request in a second
    is a 429 - as Kite answers."""
    from kiteconnect.exceptions import InputException, NetworkException

    client = kite._client()
    with pytest.raises(InputException, match="max limit: 60 days"):
        await asyncio.to_thread(
            client.historical_data, 408065, "2026-01-01 09:15:00", "2026-03-05 15:30:00", "minute"
        )
    server.history.rate_limit = (3, 1.0)
    server.history._times.clear()
    with pytest.raises(NetworkException):
        for _ in range(4):
            await asyncio.to_thread(
                client.historical_data,
                408065,
                "2026-12-07 09:15:00",
                "2026-12-07 09:20:00",
                "minute",
            )


async def test_a_long_range_is_fetched_within_the_limits_and_paced(server, kite):
    """A year of minute candles: seven requests of at most 60 days, never more than 3 in
    a second (the server never had to refuse one), one candle per session minute."""
    since = datetime(2025, 12, 8, tzinfo=IST)
    until = since + timedelta(days=365)
    started = time.monotonic()
    candles = await kite.historical_candles("NSE", "INFY", Interval.M1, since, until)
    elapsed = time.monotonic() - started
    asked = server.history.requests
    assert len(asked) == 7 and all(r["answered"] for r in asked)
    assert all(r["to"] - r["from"] <= timedelta(days=60) for r in asked)
    assert all(r["interval"] == "minute" and r["token"] == 408065 for r in asked)
    assert elapsed >= 2.0  # seven requests at 3 a second
    starts = [c.start for c in candles]
    assert starts == sorted(set(starts))
    days = {datetime.fromtimestamp(s, IST).date() for s in starts}
    assert all(d.weekday() < 5 for d in days)
    first_day = min(days)
    on_first = [s for s in starts if datetime.fromtimestamp(s, IST).date() == first_day]
    assert len(on_first) == 375
    assert all(isinstance(c.open, D) for c in candles[:5])


async def test_kite_history_is_cached_per_day_and_today_asked_again(server, kite, db):
    server.history.holidays = {date(2026, 12, 2)}
    source = BrokerHistory(db.candles, kite.historical_candles)
    history = CandleHistory(db.candles, source, CandleRecorder(), now=lambda: NOW)
    try:
        first = await history.load(*INFY, Interval.M5, days=10)
        asked = len(server.history.requests)
        assert asked >= 1 and first.problem is None
        assert all(c.start < first.cut for c in first.candles)
        days = {datetime.fromtimestamp(c.start, IST).date() for c in first.candles}
        assert date(2026, 12, 2) not in days and date(2026, 12, 5) not in days  # holiday, Saturday
        assert NOW.date() in days
        held = db.candles.covered_days(*INFY, Interval.M5, date(2026, 11, 28), NOW.date())
        assert date(2026, 12, 2) in held  # an empty day is held: not asked again
        assert NOW.date() not in held  # today is still being made
        again = await history.load(*INFY, Interval.M5, days=10)
        new = server.history.requests[asked:]
        assert len(new) == 1
        assert new[0]["from"].date() == NOW.date() == new[0]["to"].date()
        assert [c.start for c in again.candles] == [c.start for c in first.candles]
    finally:
        history.close()


async def test_a_failing_history_still_shows_the_cache(server, kite, db):
    source = BrokerHistory(db.candles, kite.historical_candles)
    history = CandleHistory(db.candles, source, CandleRecorder(), now=lambda: NOW)
    try:
        await history.load(*INFY, Interval.M15, days=5)
        server.expire_session()
        load = await history.load(*INFY, Interval.M15, days=5)
        assert load.problem and "History not available" in load.problem
        assert load.candles  # what the cache held
    finally:
        history.close()


# ---- paper mode: generated history joined to what was recorded --------------------------


def paper_history(db, *, now=NOW, price="1500", recorder=None):
    recorder = recorder or CandleRecorder(persist=True)
    source = GeneratedHistory(db.candles, lambda e, s: D(price), lambda e, s: D("0.05"))
    return CandleHistory(db.candles, source, recorder, now=lambda: now, save_recorded=True), source


async def test_paper_history_is_generated_once_and_ends_at_the_price(db):
    history, source = paper_history(db)
    try:
        load = await history.load(*INFY, Interval.M1, days=7)
        assert source.generated > 0
        last = load.candles[-1]
        assert last.close == D("1500")
        assert datetime.fromtimestamp(last.start, IST) == NOW.replace(minute=2, second=0)
        minutes = {datetime.fromtimestamp(c.start, IST).date() for c in load.candles}
        assert minutes == {date(2026, 12, d) for d in (1, 2, 3, 4, 7)}  # weekdays of 7 days
        made = source.generated
        again = await history.load(*INFY, Interval.M1, days=7)
        assert source.generated == made and again.candles == load.candles
    finally:
        history.close()
    restarted, source2 = paper_history(db, price="1600")  # the next start: kept, not redone
    try:
        load2 = await restarted.load(*INFY, Interval.M1, days=7)
        assert source2.generated == 0
        assert load2.candles == load.candles
    finally:
        restarted.close()


async def test_generated_minutes_join_the_recorded_ones(db):
    recorder = CandleRecorder(persist=True)
    recorder.watch([INFY])
    recorded_at = NOW.replace(hour=10, minute=30, second=5)
    for seconds, price in ((0, "1490"), (20, "1493.5"), (40, "1491")):
        when = recorded_at + timedelta(seconds=seconds)
        recorder.on_ticks([Tick(*INFY, D(price), when, volume=1000 + seconds)])
    recorder.on_ticks([Tick(*INFY, D("1492"), recorded_at + timedelta(minutes=1), volume=1100)])
    history, _ = paper_history(db, recorder=recorder)
    try:
        load = await history.load(*INFY, Interval.M1, days=1)
        by_start = {c.start: c for c in load.candles}
        minute = int(recorded_at.replace(second=0).timestamp())
        recorded = by_start[minute]
        assert (recorded.open, recorded.high, recorded.low, recorded.close) == (
            D("1490"), D("1493.5"), D("1490"), D("1491"),
        )  # fmt: skip
        assert by_start[minute - 60].close == D("1490")  # the bridge ends at the recorded open
        assert load.candles[0].start == int(NOW.replace(hour=9, minute=15, second=0).timestamp())
        session = [m for m in session_minutes("NSE", NOW.date()) if m < load.cut]
        assert [c.start for c in load.candles] == session  # no gap left in the session
        live = history.live(*INFY, Interval.M1, load.cut)
        assert live == []  # nothing recorded since the cut
    finally:
        history.close()


async def test_paper_day_candles_are_their_minutes(db):
    history, _ = paper_history(db)
    try:
        days = await history.load(*INFY, Interval.D1, days=60)
        assert len(days.candles) > 40
        since = int(datetime(2026, 12, 1, tzinfo=IST).timestamp())
        minutes = db.candles.candles(*INFY, Interval.M1, since, days.cut)
        by_day = {c.start: c for c in resample(minutes, Interval.D1)}
        for candle in days.candles:
            if candle.start in by_day:
                assert candle == by_day[candle.start]
        assert days.candles[-1].close == D("1500")
        older = days.candles[0]
        assert datetime.fromtimestamp(older.start, IST).date() < date(2026, 11, 7)
    finally:
        history.close()


@pytest.mark.parametrize(
    "now",
    [
        NOW.replace(hour=10, minute=31, second=20),  # in the session: the minute was made up
        datetime(2026, 12, 5, 10, 31, 20, tzinfo=IST),  # a Saturday: it was not there at all
    ],
    ids=["session", "weekend"],
)
async def test_the_last_recorded_minute_is_charted_once_the_clock_has_passed_it(db, now):
    """The last tick came in the minute before the load's: that minute is over (the clock
    says so, with no tick after it) - the chart ends with it as recorded, not with a
    generated minute, and not without it."""
    recorder = CandleRecorder(persist=True)
    recorder.watch([INFY])
    minute = now.replace(minute=30, second=0)
    for seconds, price in ((5, "1490"), (30, "1497.5"), (50, "1494")):
        recorder.on_ticks([Tick(*INFY, D(price), minute + timedelta(seconds=seconds), volume=1)])
    history, _ = paper_history(db, now=now, recorder=recorder)
    try:
        load = await history.load(*INFY, Interval.M1, days=3)
        assert history.live(*INFY, Interval.M1, load.cut) == []
        last = load.candles[-1]
        assert last.start == int(minute.timestamp()) < load.cut
        assert (last.open, last.high, last.low, last.close) == (
            D("1490"), D("1497.5"), D("1490"), D("1494"),
        )  # fmt: skip
        fives = await history.load(*INFY, Interval.M5, days=3)
        assert fives.candles[-1].close == D("1494")
        days = await history.load(*INFY, Interval.D1, days=10)  # a Saturday's too
        assert days.candles[-1].start == int(minute.replace(hour=0, minute=0).timestamp())
        assert days.candles[-1].close == D("1494")
    finally:
        history.close()
