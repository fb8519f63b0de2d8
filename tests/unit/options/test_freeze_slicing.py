"""Freeze-quantity slicing: whole lots, each slice at most the freeze quantity, at most 10."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_oms.marketdata.options import (
    MAX_QUANTITY,
    ORDER_SHAPE,
    FnoRules,
    SliceRefused,
    max_slice_quantity,
    plan_slices,
)


def test_nifty_freeze_1800_lot_65_slices_at_27_lots():
    assert max_slice_quantity(65, 1800) == 1755
    plan = plan_slices(2 * 1755, 65, 1800)
    assert plan.slices == (1755, 1755) and plan.lots == (27, 27) and plan.sliced


def test_at_or_below_the_freeze_quantity_is_one_order():
    plan = plan_slices(1755, 65, 1800)
    assert plan.slices == (1755,) and not plan.sliced and plan.count == 1
    assert plan_slices(65, 65, 1800).slices == (65,)
    # a freeze quantity that is a whole number of lots is allowed in one order
    assert plan_slices(600, 30, 600).slices == (600,)


def test_exact_multiples_of_the_freeze_quantity():
    assert plan_slices(1200, 30, 600).slices == (600, 600)
    assert plan_slices(6000, 30, 600).slices == (600,) * 10


def test_remainders_go_last():
    # 50 lots of NIFTY = 3,250: 27 + 23 lots
    assert plan_slices(50 * 65, 65, 1800).lots == (27, 23)
    # BANKNIFTY 21 lots = 630: 20 lots + 1 lot
    assert plan_slices(630, 30, 600).slices == (600, 30)
    # MIDCPNIFTY lot 120, freeze 2,800 -> 23 lots (2,760) a slice
    assert plan_slices(50 * 120, 120, 2800).lots == (23, 23, 4)


def test_ten_slices_is_the_most():
    assert plan_slices(10 * 1755, 65, 1800).count == 10
    with pytest.raises(SliceRefused) as refused:
        plan_slices(10 * 1755 + 65, 65, 1800, label="NIFTY26DEC26400CE")
    assert refused.value.check == MAX_QUANTITY
    message = str(refused.value)
    assert message.startswith("NIFTY26DEC26400CE: 17,615 (271 lots) needs 11 orders")
    assert "at most 10 are allowed, so at most 17,550 (270 lots)" in message
    # a smaller cap from the rules file is honoured
    with pytest.raises(SliceRefused, match="at most 3 are allowed"):
        plan_slices(4 * 600, 30, 600, max_slices=3)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "positive whole number"),
        (-65, "positive whole number"),
        (True, "positive whole number"),
        (65.0, "positive whole number"),
        (100, "not a whole number of lots of 65 (1 lot and 35 units)"),
        (131, "(2 lots and 1 unit)"),
    ],
)
def test_bad_shapes_are_refused(quantity, message):
    with pytest.raises(SliceRefused, match=re.escape(message)) as refused:
        plan_slices(quantity, 65, 1800)
    assert refused.value.check == ORDER_SHAPE


def test_a_freeze_quantity_below_one_lot_is_a_rules_error():
    with pytest.raises(ValueError, match="below one lot"):
        plan_slices(65, 65, 60)


def test_with_the_bundled_rules():
    rules = FnoRules.bundled()
    nifty = rules.for_underlying("NIFTY", date(2026, 12, 4))
    plan = plan_slices(60 * nifty.lot_size, nifty.lot_size, nifty.freeze_quantity, rules.max_slices)
    assert plan.lots == (27, 27, 6)
    assert all(q <= nifty.freeze_quantity and q % nifty.lot_size == 0 for q in plan.slices)


@given(
    lot=st.integers(1, 200),
    lots_per_freeze=st.integers(1, 60),
    extra=st.integers(0, 199),
    lots=st.integers(1, 800),
    cap=st.integers(1, 12),
)
def test_every_plan_keeps_the_rules(lot, lots_per_freeze, extra, lots, cap):
    freeze = lot * lots_per_freeze + extra % lot  # freeze need not be a lot multiple
    quantity = lots * lot
    try:
        plan = plan_slices(quantity, lot, freeze, cap)
    except SliceRefused as refused:
        assert refused.check == MAX_QUANTITY
        assert quantity > cap * (freeze // lot) * lot
        return
    assert sum(plan.slices) == quantity
    assert all(0 < q <= freeze and q % lot == 0 for q in plan.slices)
    assert plan.count <= cap
    # as few orders as possible: all but the last are full
    assert all(q == (freeze // lot) * lot for q in plan.slices[:-1])
    assert plan.count == -(-quantity // ((freeze // lot) * lot))
