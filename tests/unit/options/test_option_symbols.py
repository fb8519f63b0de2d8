"""Kite tradingsymbols of index options/futures and the expiry calendars behind them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_oms.marketdata.options import (
    ExpiryCalendar,
    FnoRules,
    SymbolError,
    future_symbol,
    option_symbol,
    parse_symbol,
)
from desktop_oms.marketdata.options.symbols import format_strike

TUE, THU = 1, 3
NIFTY = ExpiryCalendar(monthly_weekday=TUE, weekly_weekday=TUE)
SENSEX = ExpiryCalendar(monthly_weekday=THU, weekly_weekday=THU)
BANKNIFTY = ExpiryCalendar(monthly_weekday=TUE)


@pytest.mark.parametrize(
    ("expiry", "code"),
    [
        (date(2026, 1, 6), "1"),
        (date(2026, 2, 3), "2"),
        (date(2026, 3, 3), "3"),
        (date(2026, 4, 7), "4"),
        (date(2026, 5, 5), "5"),
        (date(2026, 6, 2), "6"),
        (date(2026, 7, 7), "7"),
        (date(2026, 8, 4), "8"),
        (date(2026, 9, 1), "9"),
        (date(2026, 10, 6), "O"),
        (date(2026, 11, 3), "N"),
        (date(2026, 12, 8), "D"),
    ],
)
def test_weekly_month_codes(expiry, code):
    symbol = option_symbol("NIFTY", expiry, 26400, "CE", monthly=False)
    assert symbol == f"NIFTY26{code}{expiry.day:02d}26400CE"
    parsed = parse_symbol(symbol)
    assert (parsed.underlying, parsed.expiry, parsed.strike, parsed.instrument_type) == (
        "NIFTY",
        expiry,
        Decimal(26400),
        "CE",
    )
    assert not parsed.monthly


def test_the_issue_examples():
    assert (
        option_symbol("NIFTY", date(2026, 12, 8), 26400, "CE", monthly=False) == "NIFTY26D0826400CE"
    )
    assert (
        option_symbol("NIFTY", date(2026, 12, 29), 26400, "CE", monthly=True) == "NIFTY26DEC26400CE"
    )
    assert future_symbol("NIFTY", date(2026, 12, 29)) == "NIFTY26DECFUT"
    # the bundled paper instruments list the December future expiring on 29 Dec 2026
    assert NIFTY.monthly_expiry(2026, 12) == date(2026, 12, 29)


@pytest.mark.parametrize("month", range(1, 13))
def test_monthly_formats_round_trip(month):
    expiry = NIFTY.monthly_expiry(2026, month)
    symbol = NIFTY.option_symbol("NIFTY", expiry, Decimal("26400"), "PE")
    mmm = ("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split()[month - 1]
    assert symbol == f"NIFTY26{mmm}26400PE"
    parsed = parse_symbol(symbol)
    assert parsed.monthly and parsed.expiry is None
    assert (parsed.year, parsed.month) == (2026, month)
    assert parsed.expiry_on(NIFTY) == expiry
    future = parse_symbol(future_symbol("NIFTY", expiry))
    assert (future.instrument_type, future.strike, future.expiry_on(NIFTY)) == ("FUT", None, expiry)


def test_last_expiry_of_the_month_switches_to_the_monthly_format():
    december = [d for d in NIFTY.weekly_expiries(date(2026, 12, 1), 3)] + [date(2026, 12, 29)]
    symbols = [NIFTY.option_symbol("NIFTY", d, 26000, "CE") for d in december]
    assert symbols == [
        "NIFTY26D0126000CE",
        "NIFTY26D0826000CE",
        "NIFTY26D1526000CE",
        "NIFTY26DEC26000CE",
    ]
    assert NIFTY.option_symbol("NIFTY", date(2026, 12, 22), 26000, "CE") == "NIFTY26D2226000CE"
    # a month with five Tuesdays: only the fifth is monthly
    assert NIFTY.is_monthly(date(2026, 9, 29)) and not NIFTY.is_monthly(date(2026, 9, 22))


def test_a_holiday_moves_the_monthly_expiry_and_its_symbol_stays_monthly():
    holiday = ExpiryCalendar(TUE, TUE, frozenset({date(2026, 12, 29)}))
    assert holiday.monthly_expiry(2026, 12) == date(2026, 12, 28)
    assert holiday.is_monthly(date(2026, 12, 28))
    assert holiday.option_symbol("NIFTY", date(2026, 12, 28), 26000, "CE") == "NIFTY26DEC26000CE"
    assert parse_symbol("NIFTY26DEC26000CE").expiry_on(holiday) == date(2026, 12, 28)
    # two holidays in a row, and the weekend before them
    long_break = ExpiryCalendar(TUE, TUE, frozenset({date(2026, 12, 29), date(2026, 12, 28)}))
    assert long_break.monthly_expiry(2026, 12) == date(2026, 12, 25)


def test_a_holiday_moves_a_weekly_expiry_to_the_previous_trading_day():
    cal = ExpiryCalendar(TUE, TUE, frozenset({date(2026, 12, 8)}))
    weeklies = cal.weekly_expiries(date(2026, 12, 4), 2)
    assert weeklies == [date(2026, 12, 7), date(2026, 12, 15)]
    assert cal.option_symbol("NIFTY", date(2026, 12, 7), 26000, "PE") == "NIFTY26D0726000PE"
    # seen from the Monday itself: it expires today
    assert cal.weekly_expiries(date(2026, 12, 7), 1) == [date(2026, 12, 7)]
    assert cal.weekly_expiries(date(2026, 12, 8), 1) == [date(2026, 12, 15)]


def test_year_boundary():
    # SENSEX: last Thursday of Dec 2026 is the 31st; the next weekly is in 2027
    assert SENSEX.monthly_expiry(2026, 12) == date(2026, 12, 31)
    expiries = SENSEX.listed_expiries(date(2026, 12, 28), weekly_count=2, monthly_count=2)
    assert [(e.day, e.monthly) for e in expiries] == [
        (date(2026, 12, 31), True),
        (date(2027, 1, 7), False),
        (date(2027, 1, 14), False),
        (date(2027, 1, 28), True),
    ]
    assert SENSEX.option_symbol("SENSEX", date(2027, 1, 7), 85000, "CE") == "SENSEX2710785000CE"
    assert SENSEX.option_symbol("SENSEX", date(2026, 12, 31), 85000, "CE") == "SENSEX26DEC85000CE"
    assert parse_symbol("SENSEX2710785000CE").expiry == date(2027, 1, 7)
    assert future_symbol("BANKNIFTY", BANKNIFTY.monthly_expiry(2027, 1)) == "BANKNIFTY27JANFUT"
    assert BANKNIFTY.monthly_expiries(date(2026, 12, 30), 2) == [
        date(2027, 1, 26),
        date(2027, 2, 23),
    ]


def test_todays_expiry_is_listed_until_the_day_is_over():
    assert BANKNIFTY.monthly_expiries(date(2026, 12, 29), 1) == [date(2026, 12, 29)]
    assert NIFTY.weekly_expiries(date(2026, 12, 8), 1) == [date(2026, 12, 8)]
    assert BANKNIFTY.listed_expiries(date(2026, 12, 29), 4, 1)[0].day == date(2026, 12, 29)


def test_weeklies_are_listed_besides_the_monthlies():
    listed = NIFTY.listed_expiries(date(2026, 12, 4), weekly_count=4, monthly_count=3)
    assert [(e.day, e.monthly) for e in listed] == [
        (date(2026, 12, 8), False),
        (date(2026, 12, 15), False),
        (date(2026, 12, 22), False),
        (date(2026, 12, 29), True),
        (date(2027, 1, 5), False),
        (date(2027, 1, 26), True),
        (date(2027, 2, 23), True),
    ]
    assert BANKNIFTY.listed_expiries(date(2026, 12, 4), weekly_count=4, monthly_count=1) == [
        BANKNIFTY.listed_expiries(date(2026, 12, 4), 0, 1)[0]
    ]


def test_every_expiry_of_two_years_round_trips():
    day = date(2026, 1, 1)
    seen = 0
    while day < date(2028, 1, 1):
        for cal, name in ((NIFTY, "NIFTY"), (SENSEX, "SENSEX")):
            for expiry in cal.listed_expiries(day, 4, 3):
                for kind in ("CE", "PE"):
                    symbol = cal.option_symbol(name, expiry.day, 24550, kind)
                    parsed = parse_symbol(symbol)
                    assert parsed.expiry_on(cal) == expiry.day, symbol
                    assert parsed.monthly == expiry.monthly
                    assert parsed.strike == 24550 and parsed.instrument_type == kind
                    seen += 1
        day += timedelta(days=5)
    assert seen > 1000


@pytest.mark.parametrize(
    ("strike", "text"),
    [
        (26400, "26400"),
        (Decimal("26400.00"), "26400"),
        (Decimal("2.64E+4"), "26400"),
        ("152.50", "152.5"),
        (Decimal("23450.5"), "23450.5"),
        (Decimal("83.25"), "83.25"),
        (Decimal("100"), "100"),
    ],
)
def test_strikes_are_written_without_trailing_zeros(strike, text):
    assert format_strike(strike) == text


def test_fractional_strikes_round_trip():
    # index strikes are whole; stock options (ASHOKLEY22APR152.5CE) are not
    symbol = option_symbol("ASHOKLEY", date(2026, 4, 28), Decimal("152.50"), "CE", monthly=True)
    assert symbol == "ASHOKLEY26APR152.5CE"
    assert parse_symbol(symbol).strike == Decimal("152.5")
    weekly = option_symbol("NIFTY", date(2026, 12, 8), Decimal("23450.5"), "PE", monthly=False)
    assert weekly == "NIFTY26D0823450.5PE"
    assert parse_symbol(weekly).strike == Decimal("23450.5")


@pytest.mark.parametrize(
    "symbol",
    [
        "NIFTY 50",
        "NIFTY",
        "NIFTY26DEC",
        "NIFTY26DEC26400",
        "NIFTY26DEC26400XE",
        "NIFTY26DECFUTX",
        "NIFTY26X0826400CE",  # no month X
        "NIFTY26D3226400CE",  # no 32 December
        "NIFTY26N3126400CE",  # no 31 November
        "NIFTY26D08026400CE",  # strike with a leading zero
        "NIFTY26DEC26400.50CE",  # trailing zero
        "RELIANCE",
        "",
    ],
)
def test_not_option_symbols_are_refused(symbol):
    with pytest.raises(SymbolError):
        parse_symbol(symbol)


def test_underlyings_with_digits_need_the_known_names():
    symbol = option_symbol("NIFTYNXT50", date(2026, 12, 29), 67000, "CE", monthly=True)
    assert symbol == "NIFTYNXT5026DEC67000CE"
    parsed = parse_symbol(symbol, underlyings=["NIFTY", "NIFTYNXT50"])
    assert (parsed.underlying, parsed.strike) == ("NIFTYNXT50", Decimal(67000))
    with pytest.raises(SymbolError):
        parse_symbol(symbol, underlyings=["BANKNIFTY"])
    assert (
        parse_symbol(
            "NFO:NIFTY26D0826400CE", FnoRules.bundled().underlyings(date(2026, 12, 4))
        ).underlying
        == "NIFTY"
    )


def test_bad_inputs_to_the_writers():
    with pytest.raises(SymbolError, match="CE or PE"):
        option_symbol("NIFTY", date(2026, 12, 8), 26400, "CALL", monthly=False)
    with pytest.raises(SymbolError, match="positive"):
        option_symbol("NIFTY", date(2026, 12, 8), 0, "CE", monthly=False)
    with pytest.raises(SymbolError, match="not a number"):
        option_symbol("NIFTY", date(2026, 12, 8), "abc", "CE", monthly=False)
    with pytest.raises(SymbolError, match="underlying"):
        future_symbol("NIFTY 50", date(2026, 12, 29))
    with pytest.raises(ValueError, match="weekday"):
        ExpiryCalendar(monthly_weekday=5)
