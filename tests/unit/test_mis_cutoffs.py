"""Zerodha's MIS entry cut-off (domain/cutoffs.py): the table's times, MCX's close that
follows US summer time, and exits that still go."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.cutoffs import (
    ZERODHA_MIS_CUTOFFS,
    mis_cutoff_problem,
    mis_window,
    us_summer_time,
)
from desktop_oms.infra.clock import IST


@pytest.mark.parametrize(
    ("day", "summer"),
    [
        (date(2026, 3, 7), False),  # the Saturday before the second Sunday of March
        (date(2026, 3, 8), True),  # the second Sunday of March 2026
        (date(2026, 10, 31), True),
        (date(2026, 11, 1), False),  # the first Sunday of November 2026
        (date(2026, 12, 8), False),
        (date(2027, 3, 14), True),
    ],
)
def test_us_summer_time(day, summer):
    assert us_summer_time(day) is summer


def test_mcx_cut_off_is_25_minutes_before_its_close():
    assert mis_window(ZERODHA_MIS_CUTOFFS, "MCX", date(2026, 12, 8)) == (time(23, 30), time(23, 55))
    assert mis_window(ZERODHA_MIS_CUTOFFS, "MCX", date(2026, 7, 7)) == (time(23, 5), time(23, 30))
    assert mis_window(ZERODHA_MIS_CUTOFFS, "NSE", date(2026, 7, 7)) == (time(15, 20), time(15, 30))
    assert mis_window(ZERODHA_MIS_CUTOFFS, "NFO", date(2026, 7, 7)) == (time(15, 25), time(15, 30))
    assert mis_window(ZERODHA_MIS_CUTOFFS, "CDS", date(2026, 7, 7)) == (time(16, 45), time(17, 0))


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=IST).astimezone(UTC)


def problem(now, *, exchange="NSE", side=OrderSide.BUY, quantity=10, held=0, product=Product.MIS):
    return mis_cutoff_problem(
        product=product,
        exchange=exchange,
        side=side,
        quantity=quantity,
        position_quantity=held,
        now_ist=now.astimezone(IST),
        cutoffs=ZERODHA_MIS_CUTOFFS,
    )


def test_fresh_entries_are_refused_in_the_window_exits_go():
    tue = date(2026, 12, 8)
    assert problem(at(tue, 15, 19)) is None
    assert "15:20 IST for NSE" in problem(at(tue, 15, 20))
    assert problem(at(tue, 15, 30)) is None  # closed: the exchange's hours, not this rule
    assert problem(at(tue, 15, 25), product=Product.CNC) is None
    assert problem(at(tue, 15, 25), side=OrderSide.SELL, quantity=10, held=10) is None
    assert problem(at(tue, 15, 25), side=OrderSide.SELL, quantity=11, held=10) is not None
    assert problem(at(date(2026, 12, 12), 15, 25)) is None  # a Saturday
    # MCX in December closes at 23:55: 23:10 is still open for entries, 23:35 is not
    assert problem(at(tue, 23, 10), exchange="MCX") is None
    assert "23:30 IST for MCX" in problem(at(tue, 23, 35), exchange="MCX")
