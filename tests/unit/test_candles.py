"""Candle aggregation (issue 17): IST buckets from the session open, gaps, the forming
candle, resampling, volume from cumulative volumes, and the indicators."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import numpy as np
import pytest

from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.domain.market import Tick
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.candle_series import CandleSeries, ema, sma, vwap
from desktop_oms.marketdata.candles import (
    CandleBuilder,
    VolumeCounter,
    bucket_start,
    resample,
    session_open_minute,
)
from desktop_oms.marketdata.history import merge_live
from desktop_oms.marketdata.recorder import CandleRecorder


def ist(day: int, hour: int, minute: int, second: int = 0) -> float:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=IST).timestamp()


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, IST)


@pytest.mark.parametrize(
    ("when", "interval", "start"),
    [
        ((7, 9, 15, 0), Interval.M1, (7, 9, 15)),
        ((7, 9, 15, 59), Interval.M1, (7, 9, 15)),
        ((7, 9, 17, 30), Interval.M3, (7, 9, 15)),
        ((7, 9, 18, 0), Interval.M3, (7, 9, 18)),
        ((7, 9, 19, 59), Interval.M5, (7, 9, 15)),
        ((7, 9, 44, 59), Interval.M15, (7, 9, 30)),
        # hourly candles count from 09:15, as Kite's: 09:15, 10:15, ..., 15:15
        ((7, 10, 14, 59), Interval.H1, (7, 9, 15)),
        ((7, 10, 15, 0), Interval.H1, (7, 10, 15)),
        ((7, 15, 29, 0), Interval.H1, (7, 15, 15)),
        # a day candle is the IST day, whatever UTC says (00:10 IST is the day before in UTC)
        ((8, 0, 10, 0), Interval.D1, (8, 0, 0)),
        ((7, 23, 59, 59), Interval.D1, (7, 0, 0)),
    ],
)
def test_buckets_are_ist_and_count_from_the_session_open(when, interval, start):
    assert at(bucket_start(ist(*when), interval)) == datetime(2026, 12, *start, tzinfo=IST)


def test_mcx_and_currency_sessions_open_at_nine():
    assert session_open_minute("MCX") == 540 and session_open_minute("CDS") == 540
    assert session_open_minute("NSE") == session_open_minute("NFO") == 555
    open_minute = session_open_minute("MCX")
    assert at(bucket_start(ist(7, 10, 5), Interval.H1, open_minute)).hour == 10
    assert at(bucket_start(ist(7, 10, 5), Interval.H1, open_minute)).minute == 0


def test_the_forming_candle_and_candles_closing_with_a_gap():
    builder = CandleBuilder(Interval.M1)
    assert builder.forming is None
    assert builder.add(ist(7, 9, 15, 1), D("100"), 5) is None
    assert builder.add(ist(7, 9, 15, 30), D("103"), 1) is None
    assert builder.add(ist(7, 9, 15, 59), D("99"), 2) is None
    forming = builder.forming
    assert (forming.open, forming.high, forming.low, forming.close, forming.volume) == (
        D("100"), D("103"), D("99"), D("99"), 8,
    )  # fmt: skip
    # 09:16 and 09:17 have no trade: the next candle is 09:18, the gap stays a gap
    closed = builder.add(ist(7, 9, 18, 5), D("101"), 3)
    assert closed == forming
    assert at(builder.forming.start) == datetime(2026, 12, 7, 9, 18, tzinfo=IST)
    assert builder.forming.open == D("101") and builder.forming.volume == 3


def test_a_late_tick_never_reopens_a_closed_candle():
    builder = CandleBuilder(Interval.M1)
    builder.add(ist(7, 9, 15, 10), D("100"))
    builder.add(ist(7, 9, 16, 10), D("101"))
    assert builder.add(ist(7, 9, 15, 50), D("90"), 4) is None
    forming = builder.forming
    assert at(forming.start).minute == 16
    assert forming.low == D("101") and forming.close == D("101") and forming.volume == 4


def test_the_clock_closes_a_minute_no_tick_followed():
    builder = CandleBuilder(Interval.M1)
    assert builder.close_by(ist(7, 9, 20)) is None  # nothing forming
    builder.add(ist(7, 9, 15, 10), D("100"), 2)
    builder.add(ist(7, 9, 15, 40), D("102"), 1)
    assert builder.close_by(ist(7, 9, 15, 59)) is None  # its minute is not over
    assert builder.forming.close == D("102")
    closed = builder.close_by(ist(7, 9, 16, 0))
    assert closed == Candle(int(ist(7, 9, 15)), D("100"), D("102"), D("100"), D("102"), 3)
    assert builder.forming is None and builder.close_by(ist(7, 9, 30)) is None
    # a late tick of the closed minute does not reopen it: its volume goes to the next
    assert builder.add(ist(7, 9, 15, 58), D("90"), 4) is None
    assert builder.forming is None
    assert builder.add(ist(7, 9, 17, 5), D("101"), 1) is None  # nothing open to close
    assert builder.forming == Candle(int(ist(7, 9, 17)), D("101"), D("101"), D("101"), D("101"), 5)


def test_history_seeds_the_forming_candle():
    builder = CandleBuilder(Interval.M5)
    start = bucket_start(ist(7, 9, 20), Interval.M5)
    builder.seed(Candle(start, D("10"), D("12"), D("9"), D("11"), 50))
    builder.add(ist(7, 9, 22), D("13"), 5)
    assert builder.forming == Candle(start, D("10"), D("13"), D("9"), D("13"), 55)


def test_resample_keeps_the_boundaries_and_sums_volume():
    minutes = [
        Candle(int(ist(7, 9, 15 + i)), D(100 + i), D(101 + i), D(99 + i), D(100 + i) + D("0.5"), 10)
        for i in range(12)
    ]
    fives = resample(minutes, Interval.M5)
    assert [at(c.start).minute for c in fives] == [15, 20, 25]
    first = fives[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        D(100), D(105), D(99), D("104.5"), 50,
    )  # fmt: skip
    assert fives[-1].volume == 20  # 09:25 and 09:26 only: a forming 5-minute candle
    hours = resample(minutes, Interval.H1)
    assert len(hours) == 1 and at(hours[0].start).minute == 15


def test_volume_from_cumulative_day_volumes():
    counter = VolumeCounter()
    key = ("NSE", "INFY")
    assert counter.traded(key, 1000) == 0  # what traded before the first tick is unknown
    assert counter.traded(key, 1250) == 250
    assert counter.traded(key, 1250) == 0
    assert counter.traded(key, None) == 0
    assert counter.traded(key, 40) == 40  # a new day


def test_a_candle_must_be_one():
    with pytest.raises(ValueError):
        Candle(0, D("10"), D("9"), D("8"), D("9"))
    with pytest.raises(ValueError):
        Candle(0, D("10"), D("11"), D("9"), D("10"), -1)


def test_the_recorder_makes_minutes_of_every_tick_of_what_it_watches():
    recorder = CandleRecorder(persist=True)
    recorder.watch([("NSE", "INFY")])

    def tick(symbol, when, price, volume):
        return Tick("NSE", symbol, D(price), datetime.fromtimestamp(when, IST), volume=volume)

    recorder.on_ticks(
        [
            tick("INFY", ist(7, 9, 15, 1), "1500", 1000),
            tick("TCS", ist(7, 9, 15, 2), "3900", 5),  # not watched
            tick("INFY", ist(7, 9, 15, 40), "1502", 1100),
            tick("INFY", ist(7, 9, 16, 3), "1499", 1160),
        ]
    )
    assert recorder.forming("NSE", "TCS") is None
    minutes = recorder.minutes("NSE", "INFY", 0)
    assert [(c.open, c.high, c.low, c.close, c.volume) for c in minutes] == [
        (D("1500"), D("1502"), D("1500"), D("1502"), 100),
        (D("1499"), D("1499"), D("1499"), D("1499"), 60),
    ]
    assert recorder.take_unsaved() == {("NSE", "INFY"): minutes[:1]}
    assert recorder.take_unsaved() == {}
    fives = recorder.live("NSE", "INFY", Interval.M5, int(ist(7, 9, 15)))
    assert len(fives) == 1 and fives[0].high == D("1502") and fives[0].volume == 160
    # from the cut on only
    assert recorder.minutes("NSE", "INFY", int(ist(7, 9, 16))) == minutes[1:]


def test_the_recorder_closes_the_minutes_the_clock_has_passed():
    recorder = CandleRecorder(persist=True)
    recorder.watch([("NSE", "INFY"), ("NSE", "TCS")])
    recorder.on_ticks(
        [
            Tick("NSE", "INFY", D("1500"), at(int(ist(7, 9, 15, 5))), volume=10),
            Tick("NSE", "TCS", D("3900"), at(int(ist(7, 9, 16, 5))), volume=10),
        ]
    )
    assert recorder.close_minutes(ist(7, 9, 16, 30)) == 1  # INFY's; TCS's is forming
    infy = recorder.minutes("NSE", "INFY", 0)
    assert [(c.start, c.close) for c in infy] == [(int(ist(7, 9, 15)), D("1500"))]
    assert recorder.forming("NSE", "INFY") is None
    assert recorder.take_unsaved() == {("NSE", "INFY"): infy}  # paper mode saves it
    assert recorder.oldest("NSE", "INFY") == int(ist(7, 9, 15))
    assert recorder.forming("NSE", "TCS").close == D("3900")
    # the next tick starts the next minute; the closed one stays as it was
    recorder.on_ticks([Tick("NSE", "INFY", D("1501"), at(int(ist(7, 9, 18, 1))), volume=12)])
    minutes = recorder.minutes("NSE", "INFY", 0)
    assert [c.close for c in minutes] == [D("1500"), D("1501")]
    assert recorder.take_unsaved() == {}


def test_merge_live_continues_the_candle_that_straddles_the_cut():
    start = int(ist(7, 9, 15))
    last = Candle(start, D("100"), D("104"), D("99"), D("103"), 40)
    live = [Candle(start, D("103"), D("106"), D("102"), D("105"), 7),
            Candle(start + 300, D("105"), D("105"), D("104"), D("104"), 1)]  # fmt: skip
    joined = merge_live(last, live)
    assert joined[0] == Candle(start, D("100"), D("106"), D("99"), D("105"), 47)
    assert joined[1] == live[1]
    assert merge_live(None, live) == live
    assert merge_live(last, []) == []


def series_of(closes, volumes=None, start=None):
    start = int(ist(7, 9, 15)) if start is None else start
    volumes = volumes or [1] * len(closes)
    return CandleSeries.from_candles(
        Candle(start + 60 * i, D(str(c)), D(str(c)), D(str(c)), D(str(c)), v)
        for i, (c, v) in enumerate(zip(closes, volumes, strict=True))
    )


def test_moving_averages():
    values = np.array([1.0, 2, 3, 4, 5, 6])
    assert np.allclose(sma(values, 3)[2:], [2, 3, 4, 5]) and np.isnan(sma(values, 3)[:2]).all()
    e = ema(values, 3)
    assert np.isnan(e[:2]).all() and e[2] == 2.0
    assert e[3] == pytest.approx(2 + 0.5 * (4 - 2)) and e[5] == pytest.approx(5.0)


def test_vwap_restarts_each_ist_day():
    day1 = series_of([10, 20], [1, 3], start=int(ist(7, 15, 28)))
    day2 = series_of([30, 40], [2, 2], start=int(ist(8, 9, 15)))
    both = CandleSeries(*(np.concatenate((getattr(day1, f), getattr(day2, f)))
                          for f in ("start", "open", "high", "low", "close", "volume")))  # fmt: skip
    assert np.allclose(vwap(both), [10, 17.5, 30, 35])


def test_an_ist_day_is_not_a_utc_day():
    # 00:30 IST on the 8th is 19:00 UTC on the 7th: a new IST day
    late = series_of([10], [1], start=int(ist(7, 23, 0)))
    early = series_of([20], [1], start=int(ist(8, 0, 30)))
    both = CandleSeries(*(np.concatenate((getattr(late, f), getattr(early, f)))
                          for f in ("start", "open", "high", "low", "close", "volume")))  # fmt: skip
    assert np.allclose(vwap(both), [10, 20])
