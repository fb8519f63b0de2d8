"""Index options on the paper broker (issue 16): the instruments paper mode lists, prices
derived from the index, the exchange's refusals (freeze quantity, SL-M) and margins."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.errors import BrokerRejected
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import (
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.options import paper_market

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=IST)  # a Friday, the market open
NIFTY = ("NSE", "NIFTY 50")
WEEKLY_ATM_CE = "NIFTY26D0826300CE"  # the 8 Dec weekly, at the money at 26,292.40
WEEKLY_ATM_PE = "NIFTY26D0826300PE"


def clock():
    return NOW


def paper_fno_broker(tmp_path=None, **settings) -> PaperBroker:
    store, derivatives = paper_market(NOW)
    broker = PaperBroker(
        state_path=None if tmp_path is None else tmp_path / "paper.jsonl",
        instruments=store,
        derivatives=derivatives,
        clock=clock,
        **settings,
    )
    broker.set_last_prices(store.last_prices())  # the indices' previous closes
    return broker


def option(side=OrderSide.BUY, qty=65, symbol=WEEKLY_ATM_CE, **kw) -> OrderRequest:
    kind = kw.pop("order_type", OrderType.MARKET)
    return OrderRequest(
        symbol=symbol,
        exchange=kw.pop("exchange", "NFO"),
        side=side,
        quantity=qty,
        order_type=kind,
        product=kw.pop("product", Product.NRML),
        **kw,
    )


def paper_order(symbol, qty, kind=OrderType.MARKET, **kw) -> Order:
    return Order(
        id=0,
        client_order_id=kw.pop("tag", "T1"),
        symbol=symbol,
        exchange=kw.pop("exchange", "NFO"),
        side=kw.pop("side", OrderSide.BUY),
        order_type=kind,
        product=Product.NRML,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=qty,
        price=kw.pop("price", None),
        trigger_price=kw.pop("trigger_price", None),
        status=OrderStatus.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )


# ------------------------------------------------------------------ the listing and prices
def test_paper_mode_lists_the_indices_their_futures_and_chains():
    broker = paper_fno_broker()
    store = broker.instrument_store
    for exchange, symbol in (
        NIFTY,
        ("NSE", "NIFTY BANK"),
        ("NSE", "NIFTY FIN SERVICE"),
        ("BSE", "SENSEX"),
    ):
        index = store.require(exchange, symbol)
        assert index.is_index and not index.tradable
    future = store.require("NFO", "NIFTY26DECFUT")  # the bundled row, not listed twice
    assert future.instrument_token == 13365762
    assert (future.underlying, future.freeze_quantity, future.lot_size) == (NIFTY, 1800, 65)
    assert sum(1 for i in store if i.symbol == "NIFTY26DECFUT") == 1
    call = store.require("NFO", WEEKLY_ATM_CE)
    assert call.is_option and call.strike == D(26300) and call.expiry == date(2026, 12, 8)
    assert (call.lot_size, call.freeze_quantity, call.underlying) == (65, 1800, NIFTY)
    assert not call.sl_m_allowed and not call.expires_on(date(2026, 12, 4))
    assert store.require("NFO", "NIFTY26DEC26300CE").expiry == date(2026, 12, 29)  # monthly
    bank = store.require("NFO", "BANKNIFTY26DEC59600PE")
    assert (bank.lot_size, bank.freeze_quantity) == (30, 600)
    assert store.require("NFO", "FINNIFTY26DEC28500CE").freeze_quantity == 1200
    sensex = store.require("BFO", "SENSEX26D1086200CE")  # SENSEX weeklies: Thursdays, on BFO
    assert sensex.underlying == ("BSE", "SENSEX") and sensex.lot_size == 20
    assert store.get("NFO", "BANKNIFTY26D0859600CE") is None  # no BANKNIFTY weeklies
    nifty_weeklies = {i.expiry for i in store if i.name == "NIFTY" and i.is_option}
    assert len(nifty_weeklies) == 7  # 4 weeklies + 3 monthlies
    atm = [
        i.strike
        for i in store
        if i.name == "NIFTY" and i.expiry == date(2026, 12, 8) and i.instrument_type == "CE"
    ]
    assert len(atm) == 41 and min(atm) == 25300 and max(atm) == 27300


def test_a_new_index_price_moves_its_futures_and_options_with_quotes():
    broker = paper_fno_broker()
    ticks = []
    broker.add_tick_listener(ticks.extend)
    call_before = broker.last_price("NFO", WEEKLY_ATM_CE)
    put_before = broker.last_price("NFO", WEEKLY_ATM_PE)
    future_before = broker.last_price("NFO", "NIFTY26DECFUT")
    bank_before = broker.last_price("NFO", "BANKNIFTY26DEC59600CE")
    broker.set_last_price(*NIFTY, D("26400"))
    assert broker.last_price("NFO", WEEKLY_ATM_CE) > call_before + 50  # delta ~0.5 x 108
    assert broker.last_price("NFO", WEEKLY_ATM_PE) < put_before - 40
    assert broker.last_price("NFO", "NIFTY26DECFUT") > future_before + 100
    assert broker.last_price("NFO", "BANKNIFTY26DEC59600CE") == bank_before  # another index
    by_key = {(t.exchange, t.symbol): t for t in ticks}
    tick = by_key[("NFO", WEEKLY_ATM_CE)]
    assert tick.bid < tick.last_price < tick.ask and tick.ask - tick.bid <= D("1")
    assert tick.oi > 0 and tick.close is not None
    assert ("NFO", "BANKNIFTY26DEC59600CE") not in by_key
    quote = broker.quote("NFO", WEEKLY_ATM_CE)
    assert (quote.bid, quote.ask, quote.last_price) == (tick.bid, tick.ask, tick.last_price)
    # put-call parity at the ATM strike within a couple of ticks of the forward's worth
    call, put = (
        broker.last_price("NFO", "NIFTY26D0826400CE"),
        broker.last_price("NFO", "NIFTY26D0826400PE"),
    )
    assert abs((call - put) - (D("26400") * D("1.00072") - D("26400"))) < D("1")


async def test_a_reopened_paper_account_prices_its_options_again(tmp_path):
    broker = paper_fno_broker(tmp_path)
    broker.set_last_price(*NIFTY, D("26500"))
    price = broker.last_price("NFO", WEEKLY_ATM_CE)
    await broker.close()
    store, derivatives = paper_market(NOW)
    again = PaperBroker(
        state_path=tmp_path / "paper.jsonl", instruments=store, derivatives=derivatives, clock=clock
    )
    assert again.last_price(*NIFTY) == D("26500")
    assert again.last_price("NFO", WEEKLY_ATM_CE) == price
    await again.close()


# ------------------------------------------------------------------ the exchange's refusals
async def test_the_paper_exchange_refuses_an_order_above_the_freeze_quantity():
    broker = paper_fno_broker()
    with pytest.raises(
        BrokerRejected, match="17070: Order quantity 1820 is more than the freeze quantity 1800"
    ):
        await broker.place_order(paper_order(WEEKLY_ATM_CE, 1820))
    await broker.place_order(paper_order(WEEKLY_ATM_CE, 1755, tag="T2"))  # 27 lots: fine
    assert [o.quantity for o in await broker.orders()] == [1755]


async def test_the_paper_exchange_refuses_sl_m_on_options_and_a_modify_above_the_freeze():
    broker = paper_fno_broker()
    last = broker.last_price("NFO", WEEKLY_ATM_CE)
    with pytest.raises(
        BrokerRejected,
        match="16052: Function not available. SL-M orders are not allowed for options",
    ):
        await broker.place_order(
            paper_order(
                WEEKLY_ATM_CE, 65, OrderType.SL_M, side=OrderSide.SELL, trigger_price=last - 20
            )
        )
    # SL-M stays allowed on the future; an SL on the option is fine
    await broker.place_order(
        paper_order(
            "NIFTY26DECFUT",
            65,
            OrderType.SL_M,
            side=OrderSide.SELL,
            tag="T2",
            trigger_price=D("26000"),
        )
    )
    stop = await broker.place_order(
        paper_order(
            WEEKLY_ATM_CE,
            65,
            OrderType.SL,
            side=OrderSide.SELL,
            tag="T3",
            trigger_price=last - 20,
            price=last - 25,
        )
    )
    with pytest.raises(BrokerRejected, match="17070"):
        await broker.modify_order(stop, quantity=1820)


async def test_paper_margins_buying_blocks_the_premium_selling_blocks_span_like_margin():
    broker = paper_fno_broker()
    premium = broker.last_price("NFO", WEEKLY_ATM_CE)
    bought = await broker.order_margins(paper_order(WEEKLY_ATM_CE, 65))
    assert bought == premium * 65
    sold = await broker.order_margins(paper_order(WEEKLY_ATM_CE, 65, side=OrderSide.SELL))
    # 7.60 out of the money at 26,292.40: (6% scan - half the 7.60 + 2% exposure) x 65
    spot = D("26292.40")
    assert sold == (D("0.06") * spot - D("3.80") + D("0.02") * spot) * 65 == D("136473.480")
    assert D("130000") < sold < D("140000") and sold > 10 * bought
    far = await broker.order_margins(paper_order("NIFTY26D0827300CE", 65, side=OrderSide.SELL))
    assert far < sold
    broker.set_funds(D("100000"))  # not enough to sell one ATM lot
    with pytest.raises(BrokerRejected, match="Insufficient funds"):
        await broker.place_order(paper_order(WEEKLY_ATM_CE, 65, side=OrderSide.SELL))
    await broker.place_order(paper_order(WEEKLY_ATM_CE, 65, tag="T2"))  # buying one is fine
    funds = await broker.funds()
    assert funds.used == premium * 65
