"""The seed's seven position scenarios, with hand-computed numbers.

Every expected number below is a literal worked out by hand (the arithmetic is written in
the comment next to it), never recomputed with the formula under test. The market is
marked at the fill price before each fill ("the market trades there, we trade there"), so
the unrealized PnL right after a fill is unambiguous.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.positions import (
    Position,
    PositionAction,
    apply_fill,
    flat_position,
    mark_to_market,
)

D = Decimal
BUY = OrderSide.BUY
SELL = OrderSide.SELL
T0 = datetime(2025, 10, 27, 9, 15, 0, tzinfo=UTC)
T1 = datetime(2025, 10, 27, 9, 20, 0, tzinfo=UTC)
T2 = datetime(2025, 10, 27, 9, 25, 0, tzinfo=UTC)
T3 = datetime(2025, 10, 27, 9, 30, 0, tzinfo=UTC)


def flat(multiplier: str = "1") -> Position:
    return flat_position("RELIANCE", "NSE", Product.MIS, multiplier=D(multiplier))


def trade(position: Position, side: OrderSide, qty: int, price: str, at=None) -> Position:
    """Market trades at `price`, then we get filled there."""
    marked = mark_to_market(position, D(price))
    return apply_fill(marked, side, qty, D(price), at).position


def mark(position: Position, price: str) -> Position:
    return mark_to_market(position, D(price))


def assert_types(p: Position) -> None:
    assert type(p.quantity) is int
    for name in (
        "average_price",
        "realized_pnl",
        "unrealized_pnl",
        "multiplier",
        "peak_unrealized_pnl",
        "max_drawdown",
        "charges",
        "total_pnl",
        "net_pnl",
        "value",
    ):
        assert isinstance(getattr(p, name), Decimal), name
    for name in ("last_price", "highest_price", "lowest_price"):
        value = getattr(p, name)
        assert value is None or isinstance(value, Decimal), name


# --- 1. New position --------------------------------------------------------------------


def test_new_long_position():
    out = apply_fill(flat(), BUY, 10, D("2450.55"), T0)
    p = out.position
    assert out.action is PositionAction.NEW
    assert out.closed_quantity == 0
    assert out.realized_pnl == D("0")
    assert isinstance(out.realized_pnl, Decimal)
    assert p.quantity == 10
    assert p.is_open and p.is_long and not p.is_short
    assert p.average_price == D("2450.55")
    assert p.realized_pnl == D("0")
    assert p.unrealized_pnl == D("0")
    assert p.total_pnl == D("0")
    assert p.last_price == D("2450.55")
    assert p.highest_price == D("2450.55")
    assert p.lowest_price == D("2450.55")
    assert p.peak_unrealized_pnl == D("0")
    assert p.max_drawdown == D("0")
    assert p.opened_at == T0
    assert p.updated_at == T0
    # value = 10 * 2450.55
    assert p.value == D("24505.50")
    assert_types(p)


def test_new_long_marked_up_and_down():
    p = trade(flat(), BUY, 10, "2450.55")
    p = mark(p, "2460.10")
    assert p.unrealized_pnl == D("95.50")  # 10 * 9.55
    p = mark(p, "2440.00")
    assert p.unrealized_pnl == D("-105.50")  # 10 * -10.55
    assert p.realized_pnl == D("0")
    assert p.average_price == D("2450.55")
    assert p.total_pnl == D("-105.50")
    assert_types(p)


# --- 2. Add to long -------------------------------------------------------------------


def test_add_to_long_averages_the_price():
    p = trade(flat(), BUY, 10, "2450.55", T0)
    marked = mark(p, "2460.05")
    out = apply_fill(marked, BUY, 30, D("2460.05"), T1)
    p = out.position
    assert out.action is PositionAction.ADD
    assert out.realized_pnl == D("0")
    assert out.closed_quantity == 0
    assert p.quantity == 40
    # (10 * 2450.55 + 30 * 2460.05) / 40 = (24505.50 + 73801.50) / 40 = 98307 / 40
    assert p.average_price == D("2457.675")
    assert p.realized_pnl == D("0")
    # 40 * (2460.05 - 2457.675) = 40 * 2.375
    assert p.unrealized_pnl == D("95.000")
    assert p.opened_at == T0  # an add does not reopen the position
    assert p.updated_at == T1
    assert_types(p)


def test_add_to_long_with_a_repeating_average():
    p = trade(flat(), BUY, 10, "2450.55")
    p = trade(p, BUY, 5, "2460.10")
    assert p.quantity == 15
    # (24505.50 + 12300.50) / 15 = 36806 / 15 = 2453.7333...
    assert abs(p.average_price - D("2453.733333333333333333")) < D("1e-18")
    # 15 * 2460.10 - 36806 = 36901.50 - 36806 = 95.50
    assert abs(p.unrealized_pnl - D("95.50")) < D("1e-18")
    # Closing at the same average later realizes the exact economic result:
    # 15 * 2470.00 - 36806 = 37050 - 36806 = 244
    p = trade(p, SELL, 15, "2470.00")
    assert abs(p.realized_pnl - D("244")) < D("1e-18")
    assert p.quantity == 0


def test_add_to_long_at_a_lower_price_averages_down():
    p = trade(flat(), BUY, 20, "100.00")
    p = trade(p, BUY, 30, "90.00")
    # (2000 + 2700) / 50 = 94
    assert p.average_price == D("94")
    assert p.quantity == 50
    # 50 * (90 - 94)
    assert p.unrealized_pnl == D("-200.00")


# --- 3. Partial close -----------------------------------------------------------------


def test_partial_close_long_at_a_profit():
    p = trade(flat(), BUY, 10, "2450.55", T0)
    marked = mark(p, "2475.30")
    out = apply_fill(marked, SELL, 4, D("2475.30"), T1)
    p = out.position
    assert out.action is PositionAction.REDUCE
    assert out.closed_quantity == 4
    # 4 * (2475.30 - 2450.55) = 4 * 24.75
    assert out.realized_pnl == D("99.00")
    assert p.realized_pnl == D("99.00")
    assert p.quantity == 6
    assert p.average_price == D("2450.55")  # unchanged by a reduction
    # 6 * 24.75
    assert p.unrealized_pnl == D("148.50")
    assert p.total_pnl == D("247.50")
    assert p.opened_at == T0
    assert_types(p)


def test_partial_close_long_at_a_loss():
    p = trade(flat(), BUY, 10, "2450.55")
    p = trade(p, SELL, 4, "2440.05")
    # 4 * (2440.05 - 2450.55) = 4 * -10.50
    assert p.realized_pnl == D("-42.00")
    assert p.quantity == 6
    assert p.average_price == D("2450.55")
    # 6 * -10.50
    assert p.unrealized_pnl == D("-63.00")
    assert p.total_pnl == D("-105.00")


def test_several_partial_closes_never_move_the_average():
    p = trade(flat(), BUY, 100, "501.35")
    realized = []
    for qty, price in ((10, "505.00"), (25, "498.90"), (40, "510.15")):
        p = trade(p, SELL, qty, price)
        assert p.average_price == D("501.35")
        realized.append(p.realized_pnl)
    # 10 * 3.65 = 36.50; 25 * -2.45 = -61.25; 40 * 8.80 = 352.00
    assert realized == [D("36.50"), D("-24.75"), D("327.25")]
    assert p.quantity == 25


# --- 4. Full close ---------------------------------------------------------------------


def test_full_close_long():
    p = trade(flat(), BUY, 10, "2450.55", T0)
    marked = mark(p, "2462.80")
    out = apply_fill(marked, SELL, 10, D("2462.80"), T1)
    p = out.position
    assert out.action is PositionAction.CLOSE
    assert out.closed_quantity == 10
    # 10 * (2462.80 - 2450.55) = 10 * 12.25
    assert out.realized_pnl == D("122.50")
    assert p.quantity == 0
    assert not p.is_open and not p.is_long and not p.is_short
    assert p.average_price == D("0")
    assert p.realized_pnl == D("122.50")
    assert p.unrealized_pnl == D("0")
    assert p.total_pnl == D("122.50")
    assert p.opened_at == T0
    assert p.updated_at == T1
    assert_types(p)


def test_flat_position_marks_to_zero_unrealized_and_keeps_its_history():
    p = trade(flat(), BUY, 10, "2450.55")
    p = trade(p, SELL, 10, "2462.80")
    p = mark(p, "2500.00")
    assert p.unrealized_pnl == D("0")
    assert p.realized_pnl == D("122.50")
    assert p.last_price == D("2500.00")
    # A flat position's extremes are those of its life, not of later marks.
    assert p.highest_price == D("2462.80")
    assert p.lowest_price == D("2450.55")


def test_realized_pnl_accumulates_over_the_life_of_the_key():
    p = trade(flat(), BUY, 10, "100.00")
    p = trade(p, SELL, 5, "110.00")  # +5 * 10 = +50
    assert p.realized_pnl == D("50.00")
    p = trade(p, SELL, 10, "120.00")  # closes 5 at +20 = +100, opens -5 @ 120
    assert p.realized_pnl == D("150.00")
    assert (p.quantity, p.average_price) == (-5, D("120.00"))
    p = trade(p, BUY, 5, "115.00")  # covers 5 at +5 = +25
    assert p.realized_pnl == D("175.00")
    assert p.quantity == 0
    p = trade(p, BUY, 1, "200.00")
    assert p.realized_pnl == D("175.00")
    assert (p.quantity, p.average_price) == (1, D("200.00"))


# --- 5. Reverse ------------------------------------------------------------------------


def test_reverse_long_to_short():
    p = trade(flat(), BUY, 10, "2450.55", T0)
    p = mark(p, "2455.00")
    marked = mark(p, "2440.05")
    out = apply_fill(marked, SELL, 15, D("2440.05"), T1)
    p = out.position
    assert out.action is PositionAction.REVERSE
    assert out.closed_quantity == 10
    # 10 * (2440.05 - 2450.55) = -105.00
    assert out.realized_pnl == D("-105.00")
    assert p.realized_pnl == D("-105.00")
    assert p.quantity == -5
    assert p.is_short
    assert p.average_price == D("2440.05")  # remainder opens at the fill price
    assert p.unrealized_pnl == D("0")
    # The new short starts its own history.
    assert p.highest_price == D("2440.05")
    assert p.lowest_price == D("2440.05")
    assert p.peak_unrealized_pnl == D("0")
    assert p.max_drawdown == D("0")
    assert p.opened_at == T1
    p = mark(p, "2430.00")
    # -5 * (2430.00 - 2440.05) = -5 * -10.05
    assert p.unrealized_pnl == D("50.25")
    assert p.total_pnl == D("-54.75")
    assert_types(p)


def test_reverse_short_to_long():
    p = trade(flat(), SELL, 10, "100.00")
    p = trade(p, BUY, 25, "95.50")
    # 10 * (100.00 - 95.50)
    assert p.realized_pnl == D("45.00")
    assert p.quantity == 15
    assert p.average_price == D("95.50")
    p = mark(p, "97.00")
    # 15 * 1.50
    assert p.unrealized_pnl == D("22.50")
    assert p.total_pnl == D("67.50")


# --- 6. Short position -------------------------------------------------------------------


def test_new_short_position():
    out = apply_fill(flat(), SELL, 10, D("2450.55"), T0)
    p = out.position
    assert out.action is PositionAction.NEW
    assert p.quantity == -10
    assert p.is_short and p.is_open and not p.is_long
    assert p.average_price == D("2450.55")
    assert p.unrealized_pnl == D("0")
    # value is the absolute exposure: 10 * 2450.55
    assert p.value == D("24505.50")
    p = mark(p, "2440.30")
    # short gains when the price falls: 10 * (2450.55 - 2440.30) = 10 * 10.25
    assert p.unrealized_pnl == D("102.50")
    p = mark(p, "2461.00")
    # 10 * (2450.55 - 2461.00) = 10 * -10.45
    assert p.unrealized_pnl == D("-104.50")
    assert p.realized_pnl == D("0")
    assert_types(p)


def test_add_to_short():
    p = trade(flat(), SELL, 10, "2450.55")
    out = apply_fill(mark(p, "2460.55"), SELL, 10, D("2460.55"))
    p = out.position
    assert out.action is PositionAction.ADD
    assert p.quantity == -20
    # (24505.50 + 24605.50) / 20 = 49111 / 20
    assert p.average_price == D("2455.55")
    # 20 * (2455.55 - 2460.55)
    assert p.unrealized_pnl == D("-100.00")
    assert p.realized_pnl == D("0")


# --- 7. Cover short ------------------------------------------------------------------------


def test_cover_short_at_a_profit():
    p = trade(flat(), SELL, 10, "2450.55")
    out = apply_fill(mark(p, "2430.25"), BUY, 10, D("2430.25"))
    p = out.position
    assert out.action is PositionAction.CLOSE
    assert out.closed_quantity == 10
    # 10 * (2450.55 - 2430.25) = 10 * 20.30
    assert out.realized_pnl == D("203.00")
    assert p.realized_pnl == D("203.00")
    assert p.quantity == 0
    assert p.unrealized_pnl == D("0")
    assert p.average_price == D("0")


def test_cover_short_at_a_loss():
    p = trade(flat(), SELL, 10, "2450.55")
    p = trade(p, BUY, 10, "2470.00")
    # 10 * (2450.55 - 2470.00) = 10 * -19.45
    assert p.realized_pnl == D("-194.50")
    assert p.quantity == 0


def test_partial_cover_short():
    p = trade(flat(), SELL, 10, "2450.55")
    out = apply_fill(mark(p, "2430.25"), BUY, 4, D("2430.25"))
    p = out.position
    assert out.action is PositionAction.REDUCE
    assert out.closed_quantity == 4
    # 4 * 20.30
    assert p.realized_pnl == D("81.20")
    assert p.quantity == -6
    assert p.average_price == D("2450.55")
    # 6 * 20.30
    assert p.unrealized_pnl == D("121.80")


# --- multiplier > 1 and fractional ticks -------------------------------------------------


def test_multiplier_100_long_reversed_to_short():
    p = trade(flat("100"), BUY, 2, "6512.35")
    p = mark(p, "6530.80")
    # 2 * 18.45 * 100
    assert p.unrealized_pnl == D("3690.00")
    p = trade(p, SELL, 3, "6498.15")
    # 2 * (6498.15 - 6512.35) * 100 = 2 * -14.20 * 100
    assert p.realized_pnl == D("-2840.00")
    assert p.quantity == -1
    assert p.average_price == D("6498.15")
    p = mark(p, "6480.00")
    # 1 * (6498.15 - 6480.00) * 100 = 18.15 * 100
    assert p.unrealized_pnl == D("1815.00")
    assert p.total_pnl == D("-1025.00")
    # value = 1 * 6480 * 100
    assert p.value == D("648000.00")
    assert p.multiplier == D("100")
    assert_types(p)


def test_multiplier_50_short_partially_covered():
    p = trade(flat("50"), SELL, 3, "22150.05")
    p = trade(p, BUY, 1, "22100.10")
    # 1 * (22150.05 - 22100.10) * 50 = 49.95 * 50
    assert p.realized_pnl == D("2497.50")
    assert p.quantity == -2
    assert p.average_price == D("22150.05")
    # 2 * 49.95 * 50
    assert p.unrealized_pnl == D("4995.00")
    p = mark(p, "22200.00")
    # 2 * (22150.05 - 22200.00) * 50 = 2 * -49.95 * 50
    assert p.unrealized_pnl == D("-4995.00")
    assert p.total_pnl == D("-2497.50")


def test_multiplier_25_add_then_close():
    p = trade(flat("25"), BUY, 2, "1000.00")
    p = trade(p, BUY, 2, "1010.00")
    assert p.average_price == D("1005.00")
    # 4 * (1010 - 1005) * 25
    assert p.unrealized_pnl == D("500.00")
    p = trade(p, SELL, 4, "1020.00")
    # 4 * 15 * 25
    assert p.realized_pnl == D("1500.00")
    assert p.quantity == 0


def test_penny_stock_on_a_005_tick():
    p = trade(flat(), BUY, 1000, "0.05")
    p = trade(p, BUY, 1000, "0.10")
    # (50 + 100) / 2000
    assert p.average_price == D("0.075")
    p = trade(p, SELL, 1500, "0.15")
    # 1500 * (0.15 - 0.075) = 1500 * 0.075
    assert p.realized_pnl == D("112.50")
    assert p.quantity == 500
    assert p.average_price == D("0.075")
    p = mark(p, "0.05")
    # 500 * (0.05 - 0.075)
    assert p.unrealized_pnl == D("-12.50")


# --- average price only on adds, realized only on reductions ----------------------------


def test_marks_change_neither_average_nor_realized():
    p = trade(flat(), BUY, 10, "100.00")
    p = trade(p, SELL, 3, "104.00")  # realized 3 * 4 = 12
    for price in ("90.00", "130.35", "100.05", "0.05", "99999.95"):
        p = mark(p, price)
        assert p.average_price == D("100.00")
        assert p.realized_pnl == D("12.00")
        assert p.quantity == 7


def test_adds_never_realize():
    p = trade(flat(), SELL, 5, "300.00")
    for price in ("250.00", "350.00", "300.05"):
        out = apply_fill(mark(p, price), SELL, 5, D(price))
        assert out.action is PositionAction.ADD
        assert out.realized_pnl == D("0")
        assert out.position.realized_pnl == D("0")
        p = out.position
    # (1500 + 1250 + 1750 + 1500.25) / 20 = 6000.25 / 20
    assert p.average_price == D("300.0125")
    assert p.quantity == -20


# --- highest / lowest price and max drawdown -------------------------------------------------

LONG_PATH = [
    # mark, unrealized, peak, drawdown, highest, lowest  (BUY 10 @ 100.00)
    ("104.50", "45.00", "45.00", "0", "104.50", "100.00"),
    ("98.25", "-17.50", "45.00", "62.50", "104.50", "98.25"),
    ("107.00", "70.00", "70.00", "62.50", "107.00", "98.25"),
    ("101.00", "10.00", "70.00", "62.50", "107.00", "98.25"),  # fell 60 < 62.50
    ("99.00", "-10.00", "70.00", "80.00", "107.00", "98.25"),  # fell 80 from 70
]


def test_long_extremes_and_max_drawdown():
    p = trade(flat(), BUY, 10, "100.00")
    for price, upnl, peak, dd, high, low in LONG_PATH:
        p = mark(p, price)
        assert p.unrealized_pnl == D(upnl), price
        assert p.peak_unrealized_pnl == D(peak), price
        assert p.max_drawdown == D(dd), price
        assert p.highest_price == D(high), price
        assert p.lowest_price == D(low), price
        assert p.last_price == D(price)
        assert_types(p)


def test_short_extremes_and_max_drawdown():
    p = trade(flat(), SELL, 10, "100.00")
    p = mark(p, "95.00")
    assert (p.unrealized_pnl, p.peak_unrealized_pnl, p.max_drawdown) == (
        D("50.00"),
        D("50.00"),
        D("0"),
    )
    p = mark(p, "103.00")
    # from +50 to -30: fell 80
    assert (p.unrealized_pnl, p.max_drawdown) == (D("-30.00"), D("80.00"))
    p = mark(p, "97.00")
    assert (p.unrealized_pnl, p.peak_unrealized_pnl, p.max_drawdown) == (
        D("30.00"),
        D("50.00"),
        D("80.00"),
    )
    assert (p.highest_price, p.lowest_price) == (D("103.00"), D("95.00"))


def test_drawdown_counts_from_zero_when_the_position_never_gained():
    p = trade(flat(), BUY, 10, "100.00")
    p = mark(p, "97.50")
    assert p.unrealized_pnl == D("-25.00")
    assert p.peak_unrealized_pnl == D("0")
    assert p.max_drawdown == D("25.00")


def test_drawdown_with_multiplier():
    p = trade(flat("25"), BUY, 2, "1000.00")
    p = mark(p, "1010.00")
    assert p.peak_unrealized_pnl == D("500.00")  # 2 * 10 * 25
    p = mark(p, "990.00")
    assert p.unrealized_pnl == D("-500.00")
    assert p.max_drawdown == D("1000.00")


def test_fills_widen_the_extremes():
    p = trade(flat(), BUY, 10, "100.00")
    p = apply_fill(p, BUY, 5, D("112.00")).position
    assert (p.highest_price, p.lowest_price) == (D("112.00"), D("100.00"))
    p = apply_fill(p, SELL, 5, D("95.00")).position
    assert (p.highest_price, p.lowest_price) == (D("112.00"), D("95.00"))


def test_add_keeps_the_peak_and_drawdown_continues():
    p = trade(flat(), BUY, 10, "100.00")
    p = mark(p, "110.00")
    assert p.peak_unrealized_pnl == D("100.00")
    p = trade(p, BUY, 10, "110.00")
    # 20 * (110 - 105)
    assert p.unrealized_pnl == D("100.00")
    assert (p.peak_unrealized_pnl, p.max_drawdown) == (D("100.00"), D("0"))
    p = mark(p, "108.00")
    # 20 * 3 = 60, fell 40 from 100
    assert (p.unrealized_pnl, p.max_drawdown) == (D("60.00"), D("40.00"))


def test_reversal_starts_a_fresh_history():
    p = trade(flat(), BUY, 10, "100.00")
    for price, *_ in LONG_PATH:
        p = mark(p, price)
    assert p.max_drawdown == D("80.00")
    p = trade(p, SELL, 12, "99.00")
    assert p.quantity == -2
    assert p.peak_unrealized_pnl == D("0")
    assert p.max_drawdown == D("0")
    assert (p.highest_price, p.lowest_price) == (D("99.00"), D("99.00"))
    p = mark(p, "101.50")
    # -2 * 2.50
    assert (p.unrealized_pnl, p.max_drawdown) == (D("-5.00"), D("5.00"))
    assert (p.highest_price, p.lowest_price) == (D("101.50"), D("99.00"))


def test_close_keeps_the_history_and_a_new_position_starts_afresh():
    p = trade(flat(), BUY, 10, "100.00")
    for price, *_ in LONG_PATH:
        p = mark(p, price)
    p = trade(p, SELL, 10, "99.00")
    assert p.quantity == 0
    assert p.max_drawdown == D("80.00")
    assert p.peak_unrealized_pnl == D("70.00")
    assert (p.highest_price, p.lowest_price) == (D("107.00"), D("98.25"))
    p = mark(p, "50.00")  # marks while flat change nothing of it
    assert p.max_drawdown == D("80.00")
    assert (p.highest_price, p.lowest_price) == (D("107.00"), D("98.25"))
    p = trade(p, SELL, 1, "60.00", T2)
    assert p.quantity == -1
    assert (p.peak_unrealized_pnl, p.max_drawdown) == (D("0"), D("0"))
    assert (p.highest_price, p.lowest_price) == (D("60.00"), D("60.00"))
    assert p.opened_at == T2


def test_drawdown_never_decreases_while_open():
    p = trade(flat(), BUY, 7, "250.35")
    last = D("0")
    for price in ("251.00", "240.10", "260.85", "255.55", "230.00", "270.00", "250.35"):
        p = mark(p, price)
        assert p.max_drawdown >= last
        last = p.max_drawdown
    # peak at 260.85 -> 7 * 10.50 = 73.50; fell to 230.00 -> 7 * -20.35 = -142.45; 215.95
    assert p.max_drawdown == D("215.95")
    # 270.00 later: 7 * 19.65
    assert p.peak_unrealized_pnl == D("137.55")


def test_partial_close_at_the_mark_is_not_a_drawdown():
    p = trade(flat(), BUY, 10, "100.00")
    p = mark(p, "110.00")  # unrealized 100 = peak
    p = trade(p, SELL, 5, "110.00")  # bank 50, keep 5 worth +50
    assert p.realized_pnl == D("50.00")
    assert p.unrealized_pnl == D("50.00")
    # The price never fell, so nothing was given back.
    assert p.max_drawdown == D("0")


def test_new_position_after_close_is_valued_at_its_fill_not_a_stale_mark():
    p = trade(flat(), BUY, 10, "2450.55")
    p = trade(p, SELL, 10, "2462.80")  # flat, last_price 2462.80
    p = apply_fill(p, BUY, 10, D("2500.00")).position
    assert p.unrealized_pnl == D("0")
    assert p.max_drawdown == D("0")
    assert p.last_price == D("2500.00")


# --- timestamps -------------------------------------------------------------------------------


def test_timestamps():
    p = apply_fill(flat(), BUY, 10, D("100.00"), T0).position
    p = apply_fill(p, SELL, 4, D("101.00"), T1).position
    assert (p.opened_at, p.updated_at) == (T0, T1)
    p = mark_to_market(p, D("102.00"), T2)
    assert (p.opened_at, p.updated_at) == (T0, T2)
    p = mark_to_market(p, D("102.00"))  # no time given: keeps the last one
    assert p.updated_at == T2
    p = apply_fill(p, SELL, 10, D("103.00"), T3).position  # reverse
    assert (p.opened_at, p.updated_at) == (T3, T3)


def test_charges_reduce_net_but_not_gross():
    p = trade(flat(), BUY, 10, "100.00")
    p = trade(p, SELL, 10, "110.00")
    p = replace(p, charges=D("23.65"))
    assert p.total_pnl == D("100.00")
    assert p.net_pnl == D("76.35")


# --- bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qty", [0, -1, -500])
@pytest.mark.parametrize("side", [BUY, SELL])
def test_fill_quantity_must_be_positive(qty, side):
    open_long = trade(flat(), BUY, 10, "100.00")
    for p in (flat(), open_long):
        with pytest.raises(ValueError):
            apply_fill(p, side, qty, D("100.00"))


@pytest.mark.parametrize("price", ["0", "0.00", "-0", "-0.05", "-2450.55"])
def test_fill_price_must_be_positive(price):
    open_short = trade(flat(), SELL, 10, "100.00")
    for p in (flat(), open_short):
        with pytest.raises(ValueError):
            apply_fill(p, BUY, 1, D(price))


@pytest.mark.parametrize("price", ["0", "-0", "-1"])
def test_mark_must_be_positive(price):
    p = trade(flat(), BUY, 10, "100.00")
    with pytest.raises(ValueError):
        mark_to_market(p, D(price))
    with pytest.raises(ValueError):
        mark_to_market(flat(), D(price))


def test_float_price_is_not_silently_accepted():
    open_long = trade(flat(), BUY, 10, "100.00")
    for p in (flat(), open_long):
        with pytest.raises((TypeError, ValueError)):
            apply_fill(p, BUY, 1, 100.05)  # type: ignore[arg-type]


@pytest.mark.parametrize("price", ["NaN", "sNaN", "Infinity"])
def test_non_finite_fill_price_is_a_value_error(price):
    with pytest.raises(ValueError):
        apply_fill(flat(), BUY, 1, D(price))


@pytest.mark.parametrize("price", ["NaN", "Infinity"])
def test_non_finite_mark_is_a_value_error(price):
    p = trade(flat(), BUY, 10, "100.00")
    with pytest.raises(ValueError):
        mark_to_market(p, D(price))


def test_bool_quantity_is_refused():
    with pytest.raises(ValueError):
        apply_fill(flat(), BUY, True, D("100.00"))  # type: ignore[arg-type]


def test_apply_fill_adds_the_fills_charges_and_names_a_new_positions_setup():
    from dataclasses import replace
    from datetime import UTC, datetime
    from decimal import Decimal

    from desktop_oms.domain import OrderSide, Product
    from desktop_oms.domain.positions import PositionAction, apply_fill, flat_position

    at = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    flat = flat_position("INFY", "NSE", Product.MIS, Decimal(1))
    opened = apply_fill(
        flat, OrderSide.BUY, 10, Decimal("1500"), at, charges=Decimal("1.25"), strategy_id="ORB"
    )
    assert opened.action is PositionAction.NEW
    plain = apply_fill(flat, OrderSide.BUY, 10, Decimal("1500"), at).position
    assert opened.position == replace(plain, charges=Decimal("1.25"), strategy_id="ORB")
    # Adding to it: charges accumulate, the setup stays the opening order's.
    added = apply_fill(
        opened.position, OrderSide.BUY, 5, Decimal("1501"), at, charges=Decimal("0.5"),
        strategy_id="Scalp",
    )  # fmt: skip
    assert added.position.charges == Decimal("1.75")
    assert added.position.strategy_id == "ORB"
    # Reversing: the new side belongs to the reversing order's setup.
    reversed_ = apply_fill(
        added.position, OrderSide.SELL, 20, Decimal("1502"), at, strategy_id="Fade"
    )
    assert reversed_.action is PositionAction.REVERSE
    assert reversed_.position.strategy_id == "Fade"
    assert reversed_.position.charges == Decimal("1.75")
