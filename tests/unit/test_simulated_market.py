"""The simulated market: a seedable random walk on tick sizes that drives the paper broker."""

from __future__ import annotations

import asyncio
import io
import logging
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.marketdata.instruments import COLUMNS, InstrumentStore
from desktop_oms.marketdata.simulated import SimulatedMarket

CSV = (
    ",".join(COLUMNS)
    + """
738561,2885,RELIANCE,RELIANCE INDUSTRIES,2450,,0,0.05,1,EQ,NSE,NSE
895745,3499,TATASTEEL,TATA STEEL,168.42,,0,0.01,1,EQ,NSE,NSE
1,1,PENNY,PENNY STOCK,1.00,,0,0.05,1,EQ,NSE,NSE
2,2,UNPRICED,NO PRICE,0,,0,0.05,1,EQ,NSE,NSE
256265,1001,NIFTY 50,NIFTY 50,26000,,0,0,0,EQ,INDICES,NSE
"""
)


def paper_market_broker() -> PaperBroker:
    return PaperBroker(instruments=InstrumentStore.from_csv(io.StringIO(CSV)), seed=1)


def path(seed, steps=30, **kwargs):
    market = SimulatedMarket(paper_market_broker(), seed=seed, **kwargs)
    return [market.step() for _ in range(steps)]


def test_default_symbols_are_the_tradable_priced_instruments_and_the_indices():
    market = SimulatedMarket(paper_market_broker(), seed=1)
    assert market.symbols == [
        ("NSE", "RELIANCE"),
        ("NSE", "TATASTEEL"),
        ("NSE", "PENNY"),
        ("NSE", "NIFTY 50"),  # not tradable, but its spot drives its futures and options
    ]
    assert market.prices() == {
        ("NSE", "RELIANCE"): D("2450.00"),
        ("NSE", "TATASTEEL"): D("168.42"),
        ("NSE", "PENNY"): D("1.00"),
        ("NSE", "NIFTY 50"): D("26000.00"),
    }


def test_same_seed_same_path_other_seed_other_path():
    assert path(7) == path(7)
    assert path(7) != path(8)


def test_prices_stay_on_tick_and_positive():
    market = SimulatedMarket(paper_market_broker(), seed=3, volatility_bps=500)
    ticks = {
        ("NSE", "RELIANCE"): D("0.05"),
        ("NSE", "TATASTEEL"): D("0.01"),
        ("NSE", "PENNY"): D("0.05"),
        ("NSE", "NIFTY 50"): D("0.01"),  # Kite lists an index with no tick: 2 decimals
    }
    for _ in range(300):
        for key, price in market.step().items():
            assert price > 0
            assert price % ticks[key] == 0, (key, price)
            assert price == price.quantize(ticks[key])


def test_moves_are_a_few_basis_points():
    market = SimulatedMarket(paper_market_broker(), seed=11, volatility_bps=3)
    previous = market.prices()[("NSE", "RELIANCE")]
    for _ in range(200):
        price = market.step()[("NSE", "RELIANCE")]
        assert abs(price - previous) / previous < D("0.003")  # 3 bps sigma: 10 sigma bound
        previous = price


def test_small_moves_accumulate_instead_of_rounding_away():
    # On a 1.00 stock a 10 bps move is far below half a tick; rounding each step would
    # freeze it. The hidden fair price keeps walking, so the published price moves.
    market = SimulatedMarket(
        paper_market_broker(), symbols=[("NSE", "PENNY")], seed=5, volatility_bps=10
    )
    seen = {market.step()[("NSE", "PENNY")] for _ in range(3000)}
    assert len(seen) > 1


def test_each_step_sends_one_batch_to_the_broker():
    broker = paper_market_broker()
    batches = []
    broker.add_tick_listener(batches.append)
    market = SimulatedMarket(broker, symbols=[("NSE", "RELIANCE"), ("NSE", "TATASTEEL")], seed=2)
    moved = market.step()
    assert len(batches) == 1
    assert {(t.exchange, t.symbol): t.last_price for t in batches[0]} == moved
    assert broker.last_prices() == moved


def test_starts_from_the_brokers_known_price():
    broker = paper_market_broker()
    broker.set_last_price("NSE", "RELIANCE", "2600")
    market = SimulatedMarket(broker, symbols=[("NSE", "RELIANCE")], seed=1)
    assert market.prices() == {("NSE", "RELIANCE"): D("2600")}


def test_unknown_symbols_are_refused():
    with pytest.raises(KeyError, match="Unknown instrument NSE:FOO"):
        SimulatedMarket(paper_market_broker(), symbols=[("NSE", "FOO")])
    with pytest.raises(ValueError):
        SimulatedMarket(paper_market_broker(), interval_s=0)


def test_an_instrument_without_any_price_is_left_out():
    market = SimulatedMarket(paper_market_broker(), symbols=[("NSE", "UNPRICED")], seed=1)
    assert market.symbols == [] and market.step() == {}


async def test_start_publishes_then_steps_until_stopped():
    broker = paper_market_broker()
    batches = []
    two = asyncio.Event()

    def on_ticks(ticks):
        batches.append(ticks)
        if len(batches) >= 3:
            two.set()

    broker.add_tick_listener(on_ticks)
    market = SimulatedMarket(broker, seed=4, interval_s=0.001)
    await market.start()
    assert market.running and market.task is not None
    await market.start()  # idempotent
    await asyncio.wait_for(two.wait(), 10)
    await market.stop()
    assert not market.running and market.task is None
    await market.stop()
    count = len(batches)
    await asyncio.sleep(0.01)
    assert len(batches) == count  # nothing after stop
    first = {(t.exchange, t.symbol): t.last_price for t in batches[0]}
    assert first[("NSE", "RELIANCE")] == D("2450.00")  # the starting prices, published at start


async def test_a_failing_step_is_logged_and_kept_on_the_task(caplog):
    broker = paper_market_broker()
    market = SimulatedMarket(broker, seed=4, interval_s=0.001)
    await market.start()

    def explode(prices, **options):
        raise RuntimeError("broker is gone")

    broker.set_last_prices = explode  # type: ignore[method-assign]
    task = market.task
    with caplog.at_level(logging.ERROR):
        with pytest.raises(RuntimeError, match="broker is gone"):
            await asyncio.wait_for(asyncio.shield(task), 10)
    assert "simulated market stopped" in caplog.text
    assert isinstance(market.error, RuntimeError) and task.exception() is market.error
    assert not market.running
    await market.stop()  # does not raise again: it was logged when it happened
