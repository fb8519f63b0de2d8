"""The price chart's logic without Qt (issue 17): incremental candles and indicators,
sizing from the stop distance, and the trading lines it draws."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
import pytest

from desktop_oms.domain import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
    Variety,
)
from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.marketdata.candle_series import CandleSeries, ema, sma, vwap
from desktop_oms.risk import RiskLimits
from desktop_oms.risk.events import BracketView
from desktop_oms.ui.chart.lines import LineKind, build_lines
from desktop_oms.ui.chart.series import Averages, ChartSeries
from desktop_oms.ui.chart.sizing import default_stop_distance, size_from_stop

T = int(datetime(2026, 12, 7, 3, 45, tzinfo=UTC).timestamp())  # 09:15 IST


def candles(n: int, seed: int = 1) -> list[Candle]:
    rng = np.random.default_rng(seed)
    out, price = [], 2450.0
    for i in range(n):
        o = price
        price *= 1 + rng.normal(0, 0.001)
        hi, lo = max(o, price) + 0.5, min(o, price) - 0.5
        start = T + (i // 375) * 86_400 + (i % 375) * 60  # 375 minutes a day, days apart
        out.append(Candle(start, D(f"{o:.2f}"), D(f"{hi:.2f}"), D(f"{lo:.2f}"),
                          D(f"{price:.2f}"), int(rng.integers(1, 1000))))  # fmt: skip
    return out


@pytest.mark.parametrize("averages", [Averages("EMA", (20, 50)), Averages("SMA", (9, 21))])
def test_live_candles_update_the_indicators_as_a_full_recomputation_would(averages):
    rows = candles(2_000)
    history, live = rows[:1_990], rows[1_990:]
    series = ChartSeries(Interval.M1, averages)
    series.load(history, cut=live[0].start)
    # the forming candle moves, then closes, candle after candle
    for k in range(1, len(live) + 1):
        forming = live[k - 1]
        early = Candle(forming.start, forming.open, forming.open, forming.open, forming.open, 1)
        assert series.set_live([*live[: k - 1], early])
        assert series.set_live(live[:k])
        assert not series.set_live(live[:k])  # nothing new: nothing redrawn
    full = CandleSeries.from_candles(rows)
    assert len(series) == len(rows)
    assert np.array_equal(series.data.close, full.close)
    assert np.allclose(series.vwap, vwap(full), equal_nan=True)
    reference = ema if averages.kind == "EMA" else sma
    for line, period in zip(series.mas, averages.periods, strict=True):
        assert np.allclose(line, reference(full.close, period), equal_nan=True)


def test_the_first_live_candle_continues_the_last_history_candle():
    rows = candles(10)
    series = ChartSeries(Interval.M5)
    fives = [Candle(T, D(100), D(104), D(99), D(103), 40)]
    series.load(fives, cut=T + 120)
    series.set_live([Candle(T, D(103), D(108), D(102), D(107), 5)])
    assert len(series) == 1
    assert (series.data.open[0], series.data.high[0], series.data.close[0]) == (100, 108, 107)
    assert series.data.volume[0] == 45
    assert rows  # (the helper is shared)


LIMITS = RiskLimits(
    capital=D(1_000_000), risk_per_trade_pct=D(1), max_order_value=D(5_000_000)
)  # ₹10,000 a trade, orders up to ₹50,00,000, 5,000 at most


def test_sizing_from_the_stop_distance():
    sizing = size_from_stop(D("2450"), D("2430"), lot_size=1, multiplier=D(1), limits=LIMITS)
    assert sizing.quantity == 500 and sizing.risk == D(10_000)
    assert sizing.capped_by is None and sizing.problem is None
    assert "₹10,000" in sizing.text() and "1.00%" in sizing.text()
    # whole lots: 75 a lot, ₹2 a unit -> 66 lots (4,950), not 5,000
    lots = size_from_stop(D("235"), D("233"), lot_size=75, multiplier=D(1), limits=LIMITS)
    assert lots.quantity == 4_950 and lots.risk == D(9_900)
    # a multiplier counts: ₹50 x 100 a unit -> 2 units
    crude = size_from_stop(D("6500"), D("6450"), lot_size=1, multiplier=D(100), limits=LIMITS)
    assert crude.quantity == 2 and crude.risk == D(10_000)


def test_sizing_stays_within_the_quantity_and_value_limits():
    by_quantity = size_from_stop(D("100"), D("99.95"), lot_size=1, multiplier=D(1), limits=LIMITS)
    assert by_quantity.quantity == 5_000 and by_quantity.capped_by == "max_quantity"
    by_value = size_from_stop(D("2450"), D("2449.95"), lot_size=1, multiplier=D(1), limits=LIMITS)
    assert by_value.quantity == 2_040 and by_value.capped_by == "max_order_value"
    assert "maximum order value" in by_value.text()


def test_sizing_refuses_a_stop_too_far_or_at_the_entry():
    far = size_from_stop(D("2350"), D("2150"), lot_size=75, multiplier=D(1), limits=LIMITS)
    assert far.quantity == 0 and "too far" in far.problem and "₹15,000" in far.problem
    none = size_from_stop(D("2450"), D("2450"), lot_size=1, multiplier=D(1), limits=LIMITS)
    assert none.quantity == 0 and "at the entry" in none.problem


def test_the_default_stop_is_one_and_a_half_atr_on_the_tick():
    high = np.full(20, 102.0)
    low = np.full(20, 100.0)
    close = np.full(20, 101.0)
    assert default_stop_distance(D("101"), D("0.05"), high, low, close) == D("3.00")
    # without candles: 0.5 % of the price, and never under five ticks
    assert default_stop_distance(D("2450"), D("0.05")) == D("12.25")
    assert default_stop_distance(D("10"), D("0.05")) == D("0.25")


def order(oid, side, kind, qty, price=None, trigger=None, **fields):
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    return Order(
        id=oid, client_order_id=f"C{oid}", symbol="RELIANCE", exchange="NSE", side=side,
        order_type=kind, product=Product.MIS, validity=Validity.DAY, variety=Variety.REGULAR,
        quantity=qty, price=price, trigger_price=trigger, status=fields.pop("status", OrderStatus.OPEN),
        created_at=now, updated_at=now, broker_order_id=f"B{oid}", **fields,
    )  # fmt: skip


def test_lines_for_a_position_its_working_orders_and_a_bracket():
    orders = [
        order(1, OrderSide.BUY, OrderType.LIMIT, 10, D("2440"), stop_loss=D("2430"),
              take_profit=D("2480"), filled_quantity=4, status=OrderStatus.PARTIALLY_FILLED),
        order(2, OrderSide.SELL, OrderType.SL_M, 4, trigger=D("2430"), parent_order_id=1,
              source="bracket", status=OrderStatus.TRIGGER_PENDING),
        order(3, OrderSide.SELL, OrderType.SL, 5, D("2395"), D("2400"),
              status=OrderStatus.TRIGGER_PENDING),
        order(4, OrderSide.BUY, OrderType.MARKET, 5, status=OrderStatus.SUBMITTED),
        order(5, OrderSide.BUY, OrderType.LIMIT, 5, D("2300")),
    ]  # fmt: skip
    positions = [Position("RELIANCE", "NSE", Product.MIS, quantity=4, average_price=D("2440"))]
    view = BracketView(
        entry_order_id=1, exchange="NSE", symbol="RELIANCE", product=Product.MIS,
        side=OrderSide.BUY, stop_loss=D("2432"), take_profit=D("2480"), status="active",
        message=None, entry_filled=4, open_quantity=4, stop_order_ids=(2,),
    )  # fmt: skip
    lines = {
        line.key: line
        for line in build_lines("NSE", "RELIANCE", orders, positions, [view], D("2450"))
    }
    assert set(lines) == {"position:MIS", "order:1", "order:3", "order:5", "stop:1", "target:1"}
    position = lines["position:MIS"]
    assert position.kind is LineKind.POSITION and not position.movable
    assert position.pnl == D(40) and "LONG 4 MIS @ 2,440.00" in position.label
    entry = lines["order:1"]
    assert entry.price == D("2440") and entry.movable and entry.label.startswith("BUY 6 LMT")
    stop_limit = lines["order:3"]  # an SL's line is its trigger; its label names the limit
    assert stop_limit.price == D("2400") and "(limit 2,395.00)" in stop_limit.label
    stop = lines["stop:1"]  # the bracket's stop where the bracket keeps it
    assert stop.kind is LineKind.STOP and stop.price == D("2432") and stop.entry_id == 1
    assert "SELL 4 SL-M" in stop.label and "(at broker 2,430.00)" in stop.label
    target = lines["target:1"]
    assert (
        target.kind is LineKind.TARGET and target.price == D("2480") and "watched" in target.label
    )
