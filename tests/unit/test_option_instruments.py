"""What the domain knows of index derivatives (issue 16): an Instrument's option fields,
the catalogue reading strikes and changing its listing, and the margin model of buying
(the premium) and selling (SPAN-like on the index's notional) options."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from desktop_oms.domain import Instrument, OrderSide, Product, Tick
from desktop_oms.domain.catalog import InstrumentStore
from desktop_oms.domain.margin import order_margin, position_margin, short_option_margin
from desktop_oms.marketdata.instruments import COLUMNS

NIFTY = ("NSE", "NIFTY 50")


def nifty_option(strike="26300", kind="CE", **kw) -> Instrument:
    return Instrument(
        "NFO",
        f"NIFTY26D08{strike}{kind}",
        1,
        "NIFTY",
        lot_size=65,
        instrument_type=kind,
        segment="NFO-OPT",
        expiry=date(2026, 12, 8),
        strike=D(strike),
        underlying=NIFTY,
        freeze_quantity=1800,
        **kw,
    )


def test_an_option_knows_what_it_is_and_when_it_expires():
    call = nifty_option()
    assert call.is_option and not call.is_future and not call.is_index
    assert not call.sl_m_allowed  # NSE refuses SL-M on options
    assert call.expires_on(date(2026, 12, 8)) and not call.expired(date(2026, 12, 8))
    assert call.expired(date(2026, 12, 9)) and not call.expires_on(date(2026, 12, 7))
    assert call.lots(2600) == 40
    future = Instrument("NFO", "NIFTY26DECFUT", instrument_type="FUT", lot_size=65)
    assert future.is_future and future.sl_m_allowed
    stock = Instrument("NSE", "RELIANCE")
    assert stock.sl_m_allowed and not stock.expires_on(date(2026, 12, 8))
    assert not stock.expired(date(2030, 1, 1))
    mcx = Instrument("MCX", "CRUDEOIL26DEC5000CE", instrument_type="CE")
    assert mcx.sl_m_allowed  # the rule is NSE's and BSE's


def test_the_catalogue_reads_strikes_and_lists_and_delists():
    text = ",".join(COLUMNS) + (
        "\n1,1,NIFTY26D0826300CE,NIFTY,120.5,2026-12-08,26300.0,0.05,65,CE,NFO-OPT,NFO"
        "\n2,2,NIFTY26DECFUT,NIFTY,26410.5,2026-12-29,0.0,0.05,65,FUT,NFO-FUT,NFO"
        "\n256265,1001,NIFTY 50,NIFTY 50,26292.4,,0.0,0.05,0,EQ,INDICES,NSE\n"
    )
    store = InstrumentStore.from_csv_text(text)
    assert store.require("NFO", "NIFTY26D0826300CE").strike == D(26300)
    assert store.require("NFO", "NIFTY26DECFUT").strike is None
    index = store.require(*NIFTY)
    assert index.is_index and not index.tradable and index.lot_size == 1
    version = len(store)
    store.put([nifty_option("26400")])
    enriched = Instrument(
        "NFO",
        "NIFTY26DECFUT",
        2,
        "NIFTY",
        lot_size=65,
        instrument_type="FUT",
        freeze_quantity=1800,
        underlying=NIFTY,
    )
    store.put([enriched])  # replaced in place, not listed twice
    assert len(store) == version + 1
    assert store.require("NFO", "NIFTY26DECFUT").freeze_quantity == 1800
    assert store.by_token(2) is enriched
    gone = store.remove([("NFO", "NIFTY26D0826300CE"), ("NFO", "UNKNOWN")])
    assert [i.symbol for i in gone] == ["NIFTY26D0826300CE"]
    assert store.get("NFO", "NIFTY26D0826300CE") is None and store.by_token(1) is None
    assert ("NFO", "NIFTY26D0826300CE") not in store.last_prices()
    assert [i.symbol for i in store.search("NFO:NIFTY")] == ["NIFTY26DECFUT", "NIFTY26D0826400CE"]


def test_a_tick_carries_open_interest_where_the_feed_gives_it():
    tick = Tick("NFO", "X", D("1"), None, extra={"oi": 1300})
    assert tick.oi == 1300 and Tick("NSE", "Y", D("1"), None).oi is None


def test_buying_an_option_blocks_its_premium():
    call = nifty_option()
    assert order_margin(call, Product.NRML, OrderSide.BUY, 650, D("120.50"), 0) == D("78325.00")
    assert order_margin(call, Product.MIS, OrderSide.BUY, 650, D("120.50"), 0) == D("78325.00")
    # closing a short needs nothing
    assert order_margin(call, Product.NRML, OrderSide.BUY, 650, D("120.50"), -650) == 0


def test_selling_an_option_blocks_span_like_margin_on_the_index_not_the_premium():
    spot = D("26300")
    atm = nifty_option("26300")
    per_unit = short_option_margin(atm, spot)
    assert per_unit == D("0.08") * spot  # 6% scan + 2% exposure at the money
    lot = order_margin(atm, Product.NRML, OrderSide.SELL, 65, D("120"), 0, spot)
    assert lot == per_unit * 65 and D("130000") < lot < D("140000")
    otm = short_option_margin(nifty_option("27300"), spot)  # 1,000 points out of the money
    assert otm == D("0.06") * spot - D("500") + D("0.02") * spot
    far = short_option_margin(nifty_option("29300"), spot)  # the floor: 3% + 2%
    assert far == D("0.05") * spot
    itm_put = short_option_margin(nifty_option("27300", "PE"), spot)
    assert itm_put == per_unit  # in the money: no credit
    otm_put = short_option_margin(nifty_option("25300", "PE"), spot)
    assert otm_put == otm
    # without the index's price the strike stands in (at the money)
    assert short_option_margin(atm, None) == D("0.08") * 26300
    # selling what is held needs nothing; selling more than held blocks the rest
    assert order_margin(atm, Product.NRML, OrderSide.SELL, 65, D("120"), 65, spot) == 0
    assert order_margin(atm, Product.NRML, OrderSide.SELL, 130, D("120"), 65, spot) == lot
    assert position_margin(atm, Product.NRML, -65, D("120"), spot) == lot
    assert position_margin(atm, Product.NRML, 65, D("120"), spot) == D("7800")


def test_futures_and_equity_margins_are_unchanged():
    future = Instrument("NFO", "NIFTY26DECFUT", instrument_type="FUT", lot_size=65)
    assert order_margin(future, Product.NRML, OrderSide.SELL, 65, D("26400"), 0) == D("257400.00")
    stock = Instrument("NSE", "RELIANCE")
    assert order_margin(stock, Product.MIS, OrderSide.BUY, 10, D("2450"), 0) == D("4900.0")
    assert order_margin(stock, Product.CNC, OrderSide.BUY, 10, D("2450"), 0) == D("24500")


def test_an_option_without_a_strike_or_index_price_cannot_be_margined():
    odd = Instrument("NFO", "ODD", instrument_type="PE")
    with pytest.raises(ValueError, match="needs a strike"):
        short_option_margin(odd, None)
