"""Charges from resources/charges_schedule.toml against hand-computed contract notes.

Rates used by hand (Zerodha, in force on the dates used):
  equity intraday: brokerage 0.03% or ₹20 per executed order (lower); STT 0.025% sell;
    NSE transaction 0.00297% + IPFT 0.0001%; SEBI ₹10/crore; stamp 0.003% buy; GST 18% on
    brokerage + transaction + SEBI.
  equity delivery: brokerage 0; STT 0.1% buy and sell; stamp 0.015% buy.
  futures: brokerage as intraday; STT 0.02% sell (0.05% from 1 Apr 2026); NSE transaction
    0.00173% + IPFT 0.0001%; stamp 0.002% buy.
  options: ₹20 per executed order; STT 0.1% of premium sell (0.15% from 1 Apr 2026); NSE
    transaction 0.03503% + IPFT 0.0005%; stamp 0.003% buy.
Contract notes round STT to the rupee and every other charge to the paisa.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_oms.domain import (
    Fill,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.domain.history import TradeRecord
from desktop_oms.marketdata.instruments import InstrumentStore, load_bundled_instruments
from desktop_oms.risk.charges.calculator import (
    Charges,
    ChargesCalculator,
    ChargesError,
    ChargesSchedule,
    Segment,
)

D = Decimal
ONE = Decimal(1)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
MAY = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)  # 10:30 IST, after the 1 Apr 2026 STT change
MARCH = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def calc() -> ChargesCalculator:
    instruments = load_bundled_instruments()
    extra = InstrumentStore(
        [
            *instruments,
            Instrument(
                "NFO",
                "NIFTY26DEC26000CE",
                1,
                tick_size=D("0.05"),
                lot_size=65,
                instrument_type="CE",
            ),
        ]
    )
    return ChargesCalculator.bundled(extra)


def trade(
    order_id, side, qty, price, symbol="RELIANCE", exchange="NSE", product=Product.MIS, at=MAY
):
    return TradeRecord(
        str(order_id),
        order_id,
        None,
        symbol,
        exchange,
        product,
        side,
        qty,
        D(price),
        D(1),
        D(0),
        at,
    )


def test_schedule_file_is_dated_and_complete():
    schedule = ChargesSchedule.bundled()
    assert [e.effective_from for e in schedule.entries] == [date(2024, 10, 1), date(2026, 4, 1)]
    assert schedule.entry_for(date(2026, 3, 31)).segments[Segment.FUTURES].stt_sell_pct == D("0.02")
    assert schedule.entry_for(date(2026, 4, 1)).segments[Segment.FUTURES].stt_sell_pct == D("0.05")
    assert schedule.entry_for(date(2026, 4, 1)).segments[Segment.OPTIONS].stt_sell_pct == D("0.15")
    with pytest.raises(ChargesError):
        schedule.entry_for(date(2024, 9, 30))


def test_intraday_reliance_contract_note(calc):
    # Buy 100 @ 2450, sell 100 @ 2460, MIS.
    # Turnover 2,45,000 + 2,46,000 = 4,91,000.
    # Brokerage: min(73.50, 20) + min(73.80, 20) = 40.00
    # STT: 0.025% x 2,46,000 = 61.50 -> 62 (rupee)
    # Exchange: 4,91,000 x (0.00297% + 0.0001%) = 15.0737 -> 15.07
    # SEBI: 4,91,000 x 10 / 1,00,00,000 = 0.491 -> 0.49
    # Stamp: 0.003% x 2,45,000 = 7.35
    # GST: 18% x (40 + 15.07 + 0.49) = 10.0008 -> 10.00
    note = calc.contract_note([trade(1, BUY, 100, "2450"), trade(2, SELL, 100, "2460")])
    assert note.segments[Segment.EQUITY_INTRADAY] == Charges(
        brokerage=D("40.00"),
        stt=D("62"),
        exchange_txn=D("15.07"),
        sebi=D("0.49"),
        stamp=D("7.35"),
        gst=D("10.00"),
    )
    assert note.total == D("134.91")


def test_intraday_per_fill_charges_are_exact_and_match_the_note_but_for_rounding(calc):
    buy = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=BUY, quantity=100,
                     price=D("2450"), day=MAY.date())  # fmt: skip
    sell = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=SELL, quantity=100,
                      price=D("2460"), day=MAY.date())  # fmt: skip
    assert buy == Charges(D("20"), D("0"), D("7.5215"), D("0.245"), D("7.35"), D("4.99797"))
    assert sell == Charges(D("20"), D("61.5"), D("7.5522"), D("0.246"), D("0"), D("5.003676"))
    total = (buy + sell).total
    assert total == D("134.416346")
    assert abs(total - D("134.91")) < 1  # STT rounding on the note (61.50 -> 62)


def test_nifty_futures_lot_before_and_after_the_2026_stt_change(calc):
    # 1 lot (65) NIFTY26DECFUT: buy @ 26,400, sell @ 26,450, NRML.
    # Turnover 17,16,000 + 17,19,250 = 34,35,250.
    # Brokerage: min(514.80, 20) x 2 = 40.00
    # STT from 1 Apr 2026: 0.05% x 17,19,250 = 859.625 -> 860 (before: 0.02% -> 343.85 -> 344)
    # Exchange: 34,35,250 x 0.00183% = 62.865075 -> 62.87
    # SEBI: 3.43525 -> 3.44 ; Stamp: 0.002% x 17,16,000 = 34.32
    # GST: 18% x (40 + 62.87 + 3.44) = 19.1358 -> 19.14
    fut = dict(symbol="NIFTY26DECFUT", exchange="NFO", product=Product.NRML)
    note = calc.contract_note(
        [trade(1, BUY, 65, "26400", **fut), trade(2, SELL, 65, "26450", **fut)]
    )
    assert note.segments[Segment.FUTURES] == Charges(
        D("40.00"), D("860"), D("62.87"), D("3.44"), D("34.32"), D("19.14")
    )
    assert note.total == D("1019.77")
    march = calc.contract_note(
        [trade(1, BUY, 65, "26400", at=MARCH, **fut), trade(2, SELL, 65, "26450", at=MARCH, **fut)]
    )
    assert march.segments[Segment.FUTURES].stt == D("344")
    assert march.total == D("503.77")


def test_equity_delivery_buy(calc):
    # Buy 10 INFY @ 1,500 CNC: turnover 15,000.
    # Brokerage 0; STT 0.1% = 15; Exchange 15,000 x 0.00307% = 0.4605 -> 0.46
    # SEBI 0.015 -> 0.02; Stamp 0.015% = 2.25; GST 18% x (0 + 0.46 + 0.02) = 0.0864 -> 0.09
    note = calc.contract_note([trade(1, BUY, 10, "1500", symbol="INFY", product=Product.CNC)])
    assert note.segments[Segment.EQUITY_DELIVERY] == Charges(
        D("0.00"), D("15"), D("0.46"), D("0.02"), D("2.25"), D("0.09")
    )
    assert note.total == D("17.82")
    # The sell side pays STT too, and no stamp duty.
    sell = calc.trade(exchange="NSE", symbol="INFY", product=Product.CNC, side=SELL, quantity=10,
                      price=D("1500"), day=MAY.date())  # fmt: skip
    assert (sell.brokerage, sell.stt, sell.stamp) == (D("0"), D("15.0"), D("0"))


def test_options_flat_brokerage_and_premium_stt(calc):
    opt = dict(symbol="NIFTY26DEC26000CE", exchange="NFO", product=Product.NRML)
    # 2 lots (130) bought @ 120 in two fills of one order, sold @ 150 in one order.
    # Premium turnover 15,600 + 19,500 = 35,100. Brokerage: ₹20 per executed order = 40.
    # STT: 0.15% x 19,500 = 29.25 -> 29 ; Exchange: 35,100 x 0.03553% = 12.47103 -> 12.47
    # SEBI: 0.0351 -> 0.04 ; Stamp: 0.003% x 15,600 = 0.468 -> 0.47
    # GST: 18% x (40 + 12.47 + 0.04) = 9.4518 -> 9.45
    note = calc.contract_note(
        [
            trade(1, BUY, 65, "120", **opt),
            trade(1, BUY, 65, "120", **opt),
            trade(2, SELL, 130, "150", **opt),
        ]
    )
    assert note.segments[Segment.OPTIONS] == Charges(
        D("40"), D("29"), D("12.47"), D("0.04"), D("0.47"), D("9.45")
    )


def _order(qty, filled=0, avg=None, product=Product.MIS, symbol="RELIANCE", exchange="NSE"):
    return Order(1, "C1", symbol, exchange, BUY, OrderType.LIMIT, product, Validity.DAY, Variety.REGULAR, qty,
                 D("2450"), None, OrderStatus.OPEN, MAY, MAY, "B1", filled, avg)  # fmt: skip


def _fill(
    qty,
    price="2450",
    symbol="RELIANCE",
    exchange="NSE",
    product=Product.MIS,
    mult=ONE,
    trade_id="T",
):
    return Fill(trade_id, 1, "B1", symbol, exchange, product, BUY, qty, D(price), MAY, mult)


def test_partial_fills_pay_one_orders_brokerage(calc):
    # 0.03% of 1,000 x 2450 would be 735: capped at 20 for the order, however it fills.
    whole = calc.for_fill(_fill(1000), _order(1000))
    first = calc.for_fill(_fill(30), _order(1000))  # 0.03% x 73,500 = 22.05 -> 20 already
    second = calc.for_fill(_fill(970, trade_id="T2"), _order(1000, filled=30, avg=D("2450")))
    assert first + second == whole
    b_first = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=BUY, quantity=30,
                         price=D("2450"), day=MAY.date()).brokerage  # fmt: skip
    b_second = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=BUY, quantity=970,
                          price=D("2450"), day=MAY.date(), order_turnover_before=D("73500")).brokerage  # fmt: skip
    assert (b_first, b_second) == (D("20"), D("0"))
    # Small order: 0.03% until the cap is reached across fills.
    b1 = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=BUY, quantity=10,
                    price=D("2450"), day=MAY.date()).brokerage  # fmt: skip
    b2 = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=BUY, quantity=20,
                    price=D("2450"), day=MAY.date(), order_turnover_before=D("24500")).brokerage  # fmt: skip
    assert (b1, b2) == (D("7.35"), D("12.65"))


def test_for_fill_never_raises(calc):
    mcx = _fill(1, "6000", symbol="CRUDEOIL26DECFUT", exchange="MCX", product=Product.NRML)
    assert calc.for_fill(mcx, _order(1, symbol="CRUDEOIL26DECFUT", exchange="MCX")) == 0
    old = Fill(
        "X",
        1,
        "B1",
        "RELIANCE",
        "NSE",
        Product.MIS,
        BUY,
        1,
        D("2450"),
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert calc.for_fill(old, _order(1)) == 0  # before the schedule: logged, not raised


def test_segments(calc):
    assert calc.segment_for("NSE", "RELIANCE", Product.MIS) is Segment.EQUITY_INTRADAY
    assert calc.segment_for("NSE", "RELIANCE", Product.CNC) is Segment.EQUITY_DELIVERY
    assert calc.segment_for("BSE", "RELIANCE", Product.CNC) is Segment.EQUITY_DELIVERY
    assert calc.segment_for("NFO", "NIFTY26DECFUT", Product.NRML) is Segment.FUTURES
    assert calc.segment_for("NFO", "NIFTY26DEC26000CE", Product.NRML) is Segment.OPTIONS
    assert (
        calc.segment_for("NFO", "BANKNIFTY26DEC50000PE", Product.MIS) is Segment.OPTIONS
    )  # by name
    assert calc.segment_for("MCX", "CRUDEOIL26DECFUT", Product.NRML) is None


def test_bse_rates_have_no_ipft(calc):
    nse = calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.CNC, side=BUY, quantity=100,
                     price=D("1000"), day=MAY.date())  # fmt: skip
    bse = calc.trade(exchange="BSE", symbol="RELIANCE", product=Product.CNC, side=BUY, quantity=100,
                     price=D("1000"), day=MAY.date(), segment=Segment.EQUITY_DELIVERY)  # fmt: skip
    assert nse.exchange_txn == D("3.07")  # 1,00,000 x 0.00307%
    assert bse.exchange_txn == D("3.75")  # 1,00,000 x 0.00375%


@pytest.mark.parametrize(
    "text, problem",
    [
        ("format = 2\n", "format"),
        ("format = 1\n", r"no \[\[schedule\]\] entries"),
        ('format = 1\n[[schedule]]\neffective_from = "2026-01-01"\n', "must be a date"),
        (
            'format = 1\n[[schedule]]\neffective_from = 2026-01-01\ngst_pct = "18"\nsebi_per_crore = "10"\n',
            "missing",
        ),
    ],
)
def test_a_broken_schedule_is_refused_clearly(text, problem):
    with pytest.raises(ChargesError, match=problem):
        ChargesSchedule.from_text(text)


def test_rates_must_be_text():
    source = ChargesSchedule.bundled().source
    assert source.endswith("charges_schedule.toml")
    with open(source, encoding="utf-8") as fh:
        text = fh.read().replace('gst_pct = "18"', "gst_pct = 18.0", 1)
    with pytest.raises(ChargesError, match="as text"):
        ChargesSchedule.from_text(text)


def _by_hand(calc, segment, exchange, side, quantity, price, multiplier, day, before):
    """One fill's charges as the schedule's rates give them, looked up afresh each time
    (the arithmetic `trade` did before its rates were cached per kind of fill)."""
    entry = calc.schedule.entry_for(day)
    rates = entry.segments[segment]
    turnover = Decimal(quantity) * price * multiplier
    brokerage = rates.brokerage.for_order(before + turnover) - rates.brokerage.for_order(before)
    buy = side is BUY
    stt = turnover * (rates.stt_buy_pct if buy else rates.stt_sell_pct) / 100
    exchange_txn = turnover * rates.exchange_pct(exchange) / 100
    sebi = turnover * entry.sebi_per_crore / D("10000000")
    stamp = turnover * rates.stamp_buy_pct / 100 if buy else D(0)
    gst = (brokerage + exchange_txn + sebi) * entry.gst_pct / 100
    return Charges(brokerage, stt, exchange_txn, sebi, stamp, gst)


@pytest.mark.parametrize("at", [MARCH, MAY])
@pytest.mark.parametrize("side", [BUY, SELL])
@pytest.mark.parametrize(
    "symbol,exchange,product,quantity,price,mult",
    [
        ("RELIANCE", "NSE", Product.MIS, 7, "2450.05", ONE),
        ("RELIANCE", "BSE", Product.CNC, 130, "2449.95", ONE),
        ("NIFTY26DECFUT", "NFO", Product.NRML, 75, "22450.5", D("1")),
        ("NIFTY26DEC26000CE", "NFO", Product.MIS, 150, "101.35", ONE),
        ("INFY", "NSE", Product.MIS, 1, "0.05", ONE),
    ],
)
def test_fill_charges_are_the_schedules_rates_exactly(
    calc, at, side, symbol, exchange, product, quantity, price, mult
):
    """Rates are looked up once per kind of fill and day: every charge, its total and
    their exact Decimal text are what the rates looked up afresh give, for both sides,
    each segment, NSE and BSE, either side of a rate change, first and later fills."""
    day = at.date()
    segment = calc.segment_for(exchange, symbol, product)
    for filled, avg in ((0, None), (40, D("2400.1"))):
        before = avg * filled * mult if filled else D(0)
        expected = _by_hand(calc, segment, exchange, side, quantity, D(price), mult, day, before)
        got = calc.trade(exchange=exchange, symbol=symbol, product=product, side=side,
                         quantity=quantity, price=D(price), day=day, multiplier=mult,
                         order_turnover_before=before)  # fmt: skip
        assert got == expected
        assert [str(v) for v in got.as_dict().values()] == [
            str(v) for v in expected.as_dict().values()
        ]
        fill = Fill("T", 1, "B1", symbol, exchange, product, side, quantity, D(price), at, mult)
        order = Order(1, "C1", symbol, exchange, side, OrderType.LIMIT, product, Validity.DAY,
                      Variety.REGULAR, 1000, D(price), None, OrderStatus.OPEN, at, at, "B1",
                      filled, avg)  # fmt: skip
        total = calc.for_fill(fill, order)
        assert str(total) == str(expected.total)


def test_cached_rates_follow_the_day_and_the_schedule():
    calc = ChargesCalculator.bundled()
    march = calc.trade(exchange="NFO", symbol="NIFTY26DECFUT", product=Product.NRML, side=SELL,
                       quantity=75, price=D("22450"), day=MARCH.date())  # fmt: skip
    may = calc.trade(exchange="NFO", symbol="NIFTY26DECFUT", product=Product.NRML, side=SELL,
                     quantity=75, price=D("22450"), day=MAY.date())  # fmt: skip
    assert (march.stt, may.stt) == (D("336.75"), D("841.875"))  # 0.02% then 0.05%
    text = Path(ChargesSchedule.bundled().source).read_text(encoding="utf-8")
    assert 'stt_sell_pct = "0.05"' in text
    calc.schedule = ChargesSchedule.from_text(
        text.replace('stt_sell_pct = "0.05"', 'stt_sell_pct = "0.1"')
    )
    again = calc.trade(exchange="NFO", symbol="NIFTY26DECFUT", product=Product.NRML, side=SELL,
                       quantity=75, price=D("22450"), day=MAY.date())  # fmt: skip
    assert again.stt == D("1683.75"), "a new schedule's rates, not the cached ones"
