"""Paper mode's index derivatives (issue 16): what PaperDerivatives lists from the rules
file and an index's spot, how it prices them from the index (only what changed), the
day roll, strikes listed as the index runs, and the rules added to a broker's dump."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import Instrument
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.instruments import COLUMNS, InstrumentStore
from desktop_oms.marketdata.options import (
    FnoRules,
    PaperDerivatives,
    analyse,
    apply_fno_rules,
    forward_price,
    years_to_expiry,
)
from desktop_oms.marketdata.simulated import SimulatedMarket

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=IST)  # Friday
NIFTY = ("NSE", "NIFTY 50")
CSV = (
    ",".join(COLUMNS)
    + """
738561,2885,RELIANCE,RELIANCE INDUSTRIES,1518.40,,0.0,0.05,1,EQ,NSE,NSE
13365762,52210,NIFTY26DECFUT,NIFTY,26410.50,2026-12-29,0.0,0.05,65,FUT,NFO-FUT,NFO
256265,1001,NIFTY 50,NIFTY 50,26292.40,,0.0,0.05,0,EQ,INDICES,NSE
"""
)


@pytest.fixture(scope="module")
def rules() -> FnoRules:
    return FnoRules.bundled()


def listing(rules, now=NOW, **kw) -> tuple[InstrumentStore, PaperDerivatives]:
    store = InstrumentStore.from_csv(io.StringIO(CSV))
    return store, PaperDerivatives(store, rules, now=now, **kw)


def nifty_options(store, expiry, kind="CE"):
    return sorted(
        (
            i
            for i in store
            if i.name == "NIFTY" and i.expiry == expiry and i.instrument_type == kind
        ),
        key=lambda i: i.strike,
    )


def test_only_indices_the_store_lists_get_derivatives(rules):
    store, derivatives = listing(rules)
    assert derivatives.indices == {NIFTY}
    assert not any(i.name == "BANKNIFTY" for i in store)
    assert derivatives.expiries("NIFTY") == [
        date(2026, 12, 8),
        date(2026, 12, 15),
        date(2026, 12, 22),
        date(2026, 12, 29),
        date(2027, 1, 5),
        date(2027, 1, 26),
        date(2027, 2, 23),
    ]
    futures = [i.symbol for i in store if i.is_future]
    assert futures == ["NIFTY26DECFUT", "NIFTY27JANFUT", "NIFTY27FEBFUT"]
    assert store.require("NFO", "NIFTY26DECFUT").instrument_token == 13365762  # kept
    assert all(
        i.freeze_quantity == 1800 and i.underlying == NIFTY for i in store if i.name == "NIFTY"
    )
    assert len(nifty_options(store, date(2026, 12, 8))) == 41


def test_quotes_are_on_the_tick_ordered_and_only_changes_are_sent(rules):
    store, derivatives = listing(rules)
    first = derivatives.derive({NIFTY: D("26292.40")}, NOW)
    assert len(first) == 3 + 7 * 82
    calls = [first[i.key] for i in nifty_options(store, date(2026, 12, 8))]
    puts = [first[i.key] for i in nifty_options(store, date(2026, 12, 8), "PE")]
    for quote in calls + puts:
        assert quote.last_price % D("0.05") == 0 and quote.ask > (quote.bid or 0)
        assert (quote.bid or 0) <= quote.last_price <= quote.ask
        assert quote.oi > 0 and quote.oi % 65 == 0
    assert [q.last_price for q in calls] == sorted((q.last_price for q in calls), reverse=True)
    assert [q.last_price for q in puts] == sorted(q.last_price for q in puts)
    assert derivatives.derive({NIFTY: D("26292.40")}, NOW) == {}  # nothing changed
    moved = derivatives.derive({NIFTY: D("26292.45")}, NOW)  # a 5 paise move
    assert 0 < len(moved) < len(first)  # far strikes did not move


def test_option_prices_give_back_a_smile_that_rises_when_the_index_falls(rules):
    store, derivatives = listing(rules)

    def atm_iv(spot, strike):
        derivatives.derive({NIFTY: spot}, NOW)
        call = store.require("NFO", f"NIFTY26DEC{strike}CE")
        price = float(derivatives.quotes_now(NOW)[call.key].last_price)
        years = years_to_expiry(NOW, call.expiry)
        fwd = float(forward_price(float(spot), years, 0.065))
        return float(analyse(price, fwd, float(strike), years, 0.065, True).iv.vol)

    before = atm_iv(D("26292.40"), 26300)
    after = atm_iv(D("25900"), 25900)  # -1.5%: the ATM level rises (spot-vol correlation)
    assert 0.11 < before < 0.13 and after > before + 0.005


def test_the_day_roll_delists_expired_contracts_and_lists_the_new_expiry(rules):
    store, derivatives = listing(rules)
    derivatives.derive({NIFTY: D("26292.40")}, NOW)
    expiring = store.require("NFO", "NIFTY26D0826300CE")
    assert expiring.expires_on(date(2026, 12, 8)) and not expiring.expired(date(2026, 12, 8))
    next_day = datetime(2026, 12, 9, 9, 15, tzinfo=IST)
    quotes = derivatives.derive({NIFTY: D("26350")}, next_day)
    assert store.get("NFO", "NIFTY26D0826300CE") is None
    assert not any(i.expiry == date(2026, 12, 8) for i in store)
    assert derivatives.expiries("NIFTY")[0] == date(2026, 12, 15)
    assert date(2027, 1, 12) in derivatives.expiries("NIFTY")  # the new weekly is listed
    new = nifty_options(store, date(2027, 1, 12))
    assert len(new) == 41 and new[20].strike == D(26350)  # around the spot at the roll
    assert all(i.key in quotes for i in new)
    # the close of the roll day is the last spot of the day before
    assert quotes[("NFO", "NIFTY26DECFUT")].close > D("26400")


def test_strikes_are_listed_as_the_index_runs_to_the_edge(rules):
    store, derivatives = listing(rules)
    weekly = date(2026, 12, 8)
    assert nifty_options(store, weekly)[-1].strike == D(27300)
    quotes = derivatives.derive({NIFTY: D("27100")}, NOW)  # 4 strikes from the edge
    strikes = [i.strike for i in nifty_options(store, weekly)]
    assert strikes[-1] == D(28100) and strikes[0] == D(25300)  # ATM +/- 20 around 27,100
    assert strikes == sorted(set(strikes))
    added = store.require("NFO", "NIFTY26D0828100PE")
    assert added.freeze_quantity == 1800 and added.underlying == NIFTY
    assert added.key in quotes


def test_apply_fno_rules_adds_freeze_and_index_to_a_dump_keeping_its_lot_size(rules):
    dump = [
        Instrument(
            "NFO",
            "NIFTY26D0826300CE",
            1,
            "NIFTY",
            lot_size=75,
            instrument_type="CE",
            strike=D(26300),
            expiry=date(2026, 12, 8),
        ),
        Instrument("NFO", "BANKNIFTY26DECFUT", 2, "BANKNIFTY", lot_size=30, instrument_type="FUT"),
        Instrument("NFO", "RELIANCE26DECFUT", 3, "RELIANCE", lot_size=500, instrument_type="FUT"),
        Instrument("NSE", "NIFTY 50", 4, "NIFTY 50", segment="INDICES", tradable=False),
        Instrument("BFO", "NIFTY26DECFUT", 5, "NIFTY", instrument_type="FUT"),  # wrong exchange
    ]
    out = apply_fno_rules(dump, rules, date(2026, 12, 4))
    assert (out[0].lot_size, out[0].freeze_quantity, out[0].underlying) == (75, 1800, NIFTY)
    assert (out[1].freeze_quantity, out[1].underlying) == (600, ("NSE", "NIFTY BANK"))
    assert out[2:] == dump[2:]
    # the rules in force that day: BANKNIFTY's freeze was 600 from 2 Mar 2026 too
    assert apply_fno_rules(dump, rules, date(2026, 2, 10))[0].freeze_quantity == 1800


async def test_the_simulated_market_walks_the_index_and_its_options_follow(rules):
    store, derivatives = listing(rules)
    broker = PaperBroker(instruments=store, derivatives=derivatives, clock=lambda: NOW)
    market = SimulatedMarket(broker, seed=4, volatility_bps=20)
    assert set(market.symbols) == {("NSE", "RELIANCE"), NIFTY}  # derivatives follow
    ticks = []
    broker.add_tick_listener(ticks.extend)
    market.step()
    keys = {(t.exchange, t.symbol) for t in ticks}
    assert NIFTY in keys and ("NFO", "NIFTY26DECFUT") in keys
    assert len([k for k in keys if k[1].endswith("CE")]) > 100
    spot = broker.last_price(*NIFTY)
    call = broker.last_price("NFO", "NIFTY26DEC26300CE")
    years = years_to_expiry(NOW, date(2026, 12, 29))
    fwd = float(forward_price(float(spot), years, 0.065))
    intrinsic = max(fwd - 26300, 0)
    assert float(call) > intrinsic  # time value left


def test_prices_on_expiry_day_after_the_close_are_intrinsic(rules):
    store, derivatives = listing(rules)
    after_close = datetime(2026, 12, 8, 15, 45, tzinfo=IST)
    quotes = derivatives.derive({NIFTY: D("26412.35")}, after_close)
    assert quotes[("NFO", "NIFTY26D0826300CE")].last_price == D("112.35")
    assert quotes[("NFO", "NIFTY26D0826300PE")].last_price == D("0.05")  # one tick at least
    ce = np.array(
        [float(quotes[i.key].last_price) for i in nifty_options(store, date(2026, 12, 8))]
    )
    assert np.all(np.diff(ce) <= 0)
    assert timedelta(0) < after_close - NOW
    assert replace(store.require("NFO", "NIFTY26DECFUT")).expiry == date(2026, 12, 29)


def test_a_continuous_feed_sends_the_near_expiries_every_tick_the_far_ones_in_turn(rules):
    store, derivatives = listing(rules)
    derivatives.derive({NIFTY: D("26292.40")}, NOW)  # everything, once
    expiry_of = {i.key: i.expiry for i in store if i.name == "NIFTY" and i.is_option}
    expiries = derivatives.expiries("NIFTY")
    near, far = expiries[:2], expiries[2:]
    seen_far = []
    spot = D("26292.40")
    for _ in range(len(far)):
        spot += 20  # every option moves
        quotes = derivatives.derive({NIFTY: spot}, NOW, coalesce=True)
        sent = {expiry_of[k] for k in quotes if k in expiry_of}
        assert set(near) <= sent and len(sent - set(near)) == 1
        seen_far += sorted(sent - set(near))
        assert ("NFO", "NIFTY26DECFUT") in quotes  # futures at every tick
    assert seen_far == far  # each far chain had its turn
    # a far chain's change is sent at its turn even if the index has not moved since
    derivatives.derive({NIFTY: spot + 50}, NOW, coalesce=True)
    pending = derivatives.derive({NIFTY: spot + 50}, NOW, coalesce=True)
    assert {expiry_of[k] for k in pending if k in expiry_of} == {far[1]}
    # an explicit price (not coalesced) sends every chain that changed
    everything = derivatives.derive({NIFTY: spot + 100}, NOW)
    assert {expiry_of[k] for k in everything if k in expiry_of} == set(expiries)
