"""Paper-mode option chains generated from the rules file and a spot."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from desktop_oms.marketdata.instruments import InstrumentStore
from desktop_oms.marketdata.options import (
    FnoRules,
    atm_strike,
    future_contracts,
    index_instrument,
    listed_expiries,
    option_chain,
    paper_contracts,
    paper_token,
    parse_symbol,
    price_option_chain,
    strikes_around,
)
from desktop_oms.marketdata.options.pricing import IST, Smile

DAY = date(2026, 12, 4)  # a Friday


@pytest.fixture(scope="module")
def rules() -> FnoRules:
    return FnoRules.bundled()


def test_nifty_chain_around_the_spot(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    chain = option_chain(nifty, Decimal("26412.35"), DAY)
    assert chain.expiry.day == date(2026, 12, 8) and not chain.expiry.monthly
    assert chain.atm_strike == Decimal(26400) and chain.strikes[chain.atm_index] == 26400
    assert len(chain.rows) == 41
    assert chain.strikes[0] == 25400 and chain.strikes[-1] == 27400
    assert all(b - a == 50 for a, b in zip(chain.strikes, chain.strikes[1:], strict=False))
    row = chain.rows[chain.atm_index]
    assert (row.call.tradingsymbol, row.put.tradingsymbol) == (
        "NIFTY26D0826400CE",
        "NIFTY26D0826400PE",
    )
    call = row.call
    assert (call.exchange, call.segment, call.instrument_type, call.underlying) == (
        "NFO",
        "NFO-OPT",
        "CE",
        "NIFTY",
    )
    assert (call.lot_size, call.tick_size, call.freeze_quantity) == (65, Decimal("0.05"), 1800)
    assert call.strike == Decimal(26400) and call.expiry == date(2026, 12, 8)


def test_monthly_expiry_uses_the_monthly_symbols(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    chain = option_chain(
        nifty, Decimal("26412.35"), DAY, expiry=date(2026, 12, 29), strikes_each_side=1
    )
    assert chain.expiry.monthly
    assert [r.call.tradingsymbol for r in chain.rows] == [
        "NIFTY26DEC26350CE",
        "NIFTY26DEC26400CE",
        "NIFTY26DEC26450CE",
    ]
    with pytest.raises(ValueError, match=r"no expiry on 2026-12-30 .* \(open: 2026-12-08, "):
        option_chain(nifty, Decimal("26412.35"), DAY, expiry=date(2026, 12, 30))


def test_banknifty_is_monthly_with_100_point_strikes(rules):
    bank = rules.for_underlying("BANKNIFTY", DAY)
    assert [e.day for e in listed_expiries(bank, DAY)] == [
        date(2026, 12, 29),
        date(2027, 1, 26),
        date(2027, 2, 23),
    ]
    chain = option_chain(bank, Decimal("59870"), DAY, strikes_each_side=2)
    assert chain.strikes == (59700, 59800, 59900, 60000, 60100)
    assert chain.rows[2].put.tradingsymbol == "BANKNIFTY26DEC59900PE"
    assert chain.rows[2].put.lot_size == 30 and chain.rows[2].put.freeze_quantity == 600


def test_sensex_weeklies_on_bfo_expire_on_thursdays(rules):
    sensex = rules.for_underlying("SENSEX", DAY)
    chain = option_chain(sensex, Decimal("85123.4"), DAY, strikes_each_side=0)
    assert chain.expiry.day == date(2026, 12, 10)
    row = chain.rows[0]
    assert row.call.tradingsymbol == "SENSEX26D1085100CE"
    assert (row.call.exchange, row.call.segment, row.call.lot_size) == ("BFO", "BFO-OPT", 20)
    assert [f.tradingsymbol for f in future_contracts(sensex, DAY)] == [
        "SENSEX26DECFUT",
        "SENSEX27JANFUT",
        "SENSEX27FEBFUT",
    ]
    assert future_contracts(sensex, DAY)[0].expiry == date(2026, 12, 31)


def test_atm_and_strike_ranges():
    assert atm_strike(Decimal("26424.99"), Decimal(50)) == 26400
    assert atm_strike(Decimal("26425"), Decimal(50)) == 26450  # half way rounds up
    assert atm_strike(Decimal("10"), Decimal(50)) == 50  # never a zero strike
    assert strikes_around(Decimal("120"), Decimal(50), 3) == (
        Decimal(50),
        Decimal(100),
        Decimal(150),
        Decimal(200),
        Decimal(250),
    )
    with pytest.raises(ValueError, match="spot"):
        atm_strike(Decimal("-1"), Decimal(50))


def test_paper_contracts_are_unique_and_read_back(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    contracts = paper_contracts(nifty, Decimal("26412.35"), DAY)
    assert len(contracts) == 3 + 7 * 41 * 2
    assert len({c.key for c in contracts}) == len(contracts)
    assert len({paper_token(*c.key) for c in contracts}) == len(contracts)
    calendar = nifty.calendar()
    for contract in contracts:
        parsed = parse_symbol(contract.tradingsymbol)
        assert parsed.expiry_on(calendar) == contract.expiry
        assert parsed.instrument_type == contract.instrument_type
        assert parsed.strike == contract.strike
        assert rules.for_tradingsymbol(contract.tradingsymbol, DAY) is nifty
    store = InstrumentStore([c.instrument() for c in contracts] + [index_instrument(nifty)])
    future = store.require("NFO", "NIFTY26DECFUT")
    assert (future.lot_size, future.segment, future.expiry, future.name) == (
        65,
        "NFO-FUT",
        date(2026, 12, 29),
        "NIFTY",
    )
    option = store.require("NFO", "NIFTY26D0826400CE")
    assert option.tradable and option.quantity_in_lots(130) and not option.quantity_in_lots(100)
    assert store.by_token(option.instrument_token) is option
    index = store.require("NSE", "NIFTY 50")
    assert not index.tradable and index.segment == "INDICES"


def test_paper_tokens_are_stable_and_clear_of_kite_tokens():
    token = paper_token("NFO", "NIFTY26D0826400CE")
    assert token == paper_token("NFO", "NIFTY26D0826400CE")
    assert 2**40 <= token < 2**41
    assert token != paper_token("NFO", "NIFTY26D0826400PE")


def test_todays_expiry_is_open_and_flagged_and_gone_the_next_day(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    expiry_day = date(2026, 12, 8)
    chain = option_chain(nifty, Decimal("26400"), expiry_day, strikes_each_side=0)
    contract = chain.rows[0].call
    assert chain.expiry.day == expiry_day and contract.expires_on(expiry_day)
    assert not contract.expired(expiry_day) and contract.expired(date(2026, 12, 9))
    later = paper_contracts(nifty, Decimal("26400"), date(2026, 12, 9), strikes_each_side=0)
    assert all(c.expiry > expiry_day for c in later)


def test_a_holiday_moves_the_weekly_expiry(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    chain = option_chain(
        nifty, Decimal("26400"), DAY, strikes_each_side=0, holidays={date(2026, 12, 8)}
    )
    assert chain.expiry.day == date(2026, 12, 7)
    assert chain.rows[0].call.tradingsymbol == "NIFTY26D0726400CE"


def test_pricing_a_generated_chain(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    chain = option_chain(nifty, Decimal("26412.35"), DAY)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=IST)
    prices = price_option_chain(chain, Decimal("26412.35"), now, 0.065, Smile(0.13))
    atm = chain.atm_index
    call, put = prices.call_quote(atm), prices.put_quote(atm)
    assert Decimal(50) < call.ltp < Decimal(400) and Decimal(50) < put.ltp < Decimal(400)
    assert prices.strikes == chain.strikes
    # after the close on expiry day: intrinsic value only
    done = price_option_chain(
        option_chain(nifty, Decimal("26412.35"), date(2026, 12, 8), strikes_each_side=1),
        Decimal("26412.35"),
        datetime(2026, 12, 8, 15, 30, tzinfo=IST),
        0.065,
        Smile(0.13),
    )
    assert [done.call_quote(i).ltp for i in range(3)] == [
        Decimal("62.35"),
        Decimal("12.35"),
        Decimal("0.05"),
    ]
    assert [done.put_quote(i).ltp for i in range(3)] == [
        Decimal("0.05"),
        Decimal("0.05"),
        Decimal("37.65"),
    ]
