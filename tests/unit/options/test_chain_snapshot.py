"""The option chain the window shows (issue 16): rows of strikes with quotes, IV and
Greeks from each option's price, ATM marked, spot/future, days to expiry, ATM IV, PCR;
the same from Kite-like ticks as from the paper exchange's."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import Instrument, Tick
from desktop_oms.domain.catalog import InstrumentStore
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.options import (
    FnoRules,
    OptionChainService,
    expires_today,
    paper_market,
)
from desktop_oms.marketdata.quotes import QuoteCache

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=IST)
NIFTY = ("NSE", "NIFTY 50")


@pytest.fixture(scope="module")
def rules():
    return FnoRules.bundled()


@pytest.fixture
def paper(rules):
    store, derivatives = paper_market(NOW, rules)
    broker = PaperBroker(instruments=store, derivatives=derivatives, clock=lambda: NOW)
    quotes = QuoteCache()
    broker.add_tick_listener(quotes.on_ticks)
    broker.set_last_prices(store.last_prices())
    service = OptionChainService(store, quotes.tick, rules, clock=lambda: NOW)
    return broker, quotes, service


def test_the_chain_of_the_nearest_expiry_around_the_money(paper):
    broker, _, service = paper
    assert service.underlyings() == ["BANKNIFTY", "FINNIFTY", "NIFTY", "SENSEX"]
    assert service.expiries("NIFTY")[:2] == [date(2026, 12, 8), date(2026, 12, 15)]
    snap = service.snapshot("NIFTY")
    assert (snap.expiry, snap.monthly, snap.exchange, snap.lot_size) == (
        date(2026, 12, 8),
        False,
        "NFO",
        65,
    )
    assert snap.freeze_quantity == 1800 and snap.index == NIFTY
    assert snap.spot == D("26292.40") and snap.future is None  # no future for a weekly
    assert len(snap.rows) == 41 and snap.atm_strike == D(26300)
    atm = snap.rows[snap.atm_index]
    assert atm.atm and atm.strike == D(26300) and snap.atm_index == 20
    assert snap.days_to_expiry == pytest.approx(4.23, abs=0.01)  # to 15:30 on Tuesday
    assert not snap.expires_today
    # IV from the price gives back the model's ATM volatility; the smile has a skew
    assert 0.11 < snap.atm_iv < 0.13
    low, high = snap.rows[5], snap.rows[35]
    assert low.put.iv > atm.put.iv  # puts below the money: higher IV (index skew)
    call = atm.call
    assert 0.45 < call.delta < 0.6 and -0.55 < atm.put.delta < -0.4
    assert call.gamma > 0 and call.theta < 0 and call.vega > 0
    assert call.bid < call.ltp < call.ask and call.oi > 0 and call.change is not None
    assert high.call.delta < 0.1 and low.put.delta > -0.1
    assert snap.pcr == pytest.approx(
        sum(r.put.oi for r in snap.rows) / sum(r.call.oi for r in snap.rows)
    )
    assert snap.forward == pytest.approx(26292.40 * 1.00072, abs=2.0)  # implied by parity


def test_a_monthly_shows_its_future_and_the_window_follows_the_spot(paper):
    broker, _, service = paper
    monthly = service.snapshot("NIFTY", date(2026, 12, 29), strikes_each_side=5)
    assert monthly.monthly and monthly.future == broker.last_price("NFO", "NIFTY26DECFUT")
    assert len(monthly.rows) == 11
    broker.set_last_price(*NIFTY, D("26555"))
    moved = service.snapshot("NIFTY", date(2026, 12, 29), strikes_each_side=5)
    assert moved.atm_strike == D(26550) and moved.rows[5].strike == D(26550)
    keys = service.subscriptions("NIFTY", date(2026, 12, 29), strikes_each_side=5)
    assert keys[:2] == [NIFTY, ("NFO", "NIFTY26DECFUT")] and len(keys) == 2 + 22
    with pytest.raises(ValueError, match="no options expiring"):
        service.snapshot("NIFTY", date(2026, 12, 9))


def test_kite_like_ticks_without_quotes_still_give_ivs_from_the_last_price(rules):
    call = Instrument("NFO", "NIFTY26D0826300CE", 1, "NIFTY", lot_size=65, instrument_type="CE",
                      expiry=date(2026, 12, 8), strike=D(26300))  # fmt: skip
    put = replace(call, symbol="NIFTY26D0826300PE", instrument_type="PE", instrument_token=2)
    index = Instrument("NSE", "NIFTY 50", 3, segment="INDICES", tradable=False)
    store = InstrumentStore([call, put, index])
    ticks = {
        NIFTY: Tick("NSE", "NIFTY 50", D("26300"), NOW),
        call.key: Tick("NFO", call.symbol, D("150"), NOW, close=D("140"), extra={"oi": 650}),
        put.key: Tick("NFO", put.symbol, D("130"), NOW, extra={"oi": 1300}),
    }
    service = OptionChainService(store, lambda e, s: ticks.get((e, s)), rules, clock=lambda: NOW)
    snap = service.snapshot("NIFTY")
    row = snap.rows[0]
    assert row.call.change == D("10") and row.call.change_pct == pytest.approx(7.142857)
    assert row.call.iv is not None and row.put.iv is not None and snap.pcr == 2.0
    assert snap.freeze_quantity is None  # Kite's dump has none unless the rules add it
    del ticks[put.key]
    assert service.snapshot("NIFTY").rows[0].put.ltp is None


def test_expires_today_flags_a_contract_on_its_expiry_day():
    option = Instrument("NFO", "X", expiry=date(2026, 12, 8), instrument_type="CE")
    assert expires_today(option, datetime(2026, 12, 8, 9, 0, tzinfo=IST))
    assert not expires_today(option, datetime(2026, 12, 7, 23, 0, tzinfo=IST))
    assert not expires_today(None, NOW)
