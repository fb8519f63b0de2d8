"""money.py: parsing untrusted numbers, tick arithmetic, Indian digit grouping."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.domain.money import (
    MAX_PRICE,
    PAISA,
    ZERO,
    format_inr,
    is_multiple_of,
    round_to_tick,
    to_decimal,
)

D = Decimal


def test_constants():
    assert ZERO == D("0") and isinstance(ZERO, Decimal)
    assert PAISA == D("0.01")
    assert MAX_PRICE == D("100000000")


# --- to_decimal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),  # via repr, not 0.1000000000000000055511151231257827...
        (2450.55, "2450.55"),
        (0.05, "0.05"),
        (1e-7, "1E-7"),
        (1e16, "1E+16"),
        (-3.5, "-3.5"),
        (0.0, "0.0"),
        (10, "10"),
        (-7, "-7"),
        (10**30, "1000000000000000000000000000000"),
        ("2450.55", "2450.55"),
        ("  2450.55\n", "2450.55"),
        ("2,450.55", "2450.55"),
        ("24,50,500.75", "2450500.75"),
        ("1,00,00,000", "10000000"),
        ("-1,234.5", "-1234.5"),
        ("+12", "12"),
        ("1e3", "1E+3"),
        ("0.0500", "0.0500"),
    ],
    ids=repr,
)
def test_to_decimal_accepts(value, expected):
    result = to_decimal(value, "price")
    assert isinstance(result, Decimal)
    assert result == D(expected)
    assert str(result) == str(D(expected))  # same digits and exponent, not just equal


def test_float_goes_through_repr_not_binary():
    assert to_decimal(0.1, "x") != D(0.1)
    assert to_decimal(0.1 + 0.2, "x") == D("0.30000000000000004")


def test_decimal_passes_through_unchanged():
    value = D("2450.5500")
    assert to_decimal(value, "x") is value


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        [1],
        (1,),
        {"a": 1},
        b"12",
        bytearray(b"12"),
        object(),
        1 + 2j,
        "",
        " ",
        "abc",
        "12abc",
        "1.2.3",
        "₹100",
        "100 INR",
        "NaN",
        "nan",
        "sNaN",
        "inf",
        "-inf",
        "Infinity",
        "-Infinity",
        math.nan,
        math.inf,
        -math.inf,
        D("NaN"),
        D("sNaN"),
        D("Infinity"),
        D("-Infinity"),
        "1e999999999999999999999",
        "1\x00",
    ],
    ids=repr,
)
def test_to_decimal_refuses(value):
    with pytest.raises(ValueError) as info:
        to_decimal(value, "stop loss")
    assert "stop loss" in str(info.value)


class _PrettyFloat(float):
    def __repr__(self) -> str:
        return f"PrettyFloat({float(self)!r})"


def test_float_subclass_is_converted():
    assert to_decimal(_PrettyFloat(2450.55), "price") == D("2450.55")


def test_numpy_float64_is_converted():
    np = pytest.importorskip("numpy")
    if repr(np.float64(1.5)) == "1.5":
        pytest.skip("numpy 1.x prints float64 as a bare number")
    assert to_decimal(np.float64(2450.55), "price") == D("2450.55")


@pytest.mark.parametrize("text", ["2450,50", "1,5", "245,0.5", "2,4,5,0", ",100", "100,"])
def test_misplaced_commas_are_refused(text):
    with pytest.raises(ValueError):
        to_decimal(text, "price")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_to_decimal_on_any_text_gives_a_finite_decimal_or_value_error(text):
    try:
        result = to_decimal(text, "x")
    except ValueError:
        return
    assert isinstance(result, Decimal)
    assert result.is_finite()


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_round_trip_exactly(value):
    result = to_decimal(value, "x")
    assert float(result) == value  # repr is the shortest text that reads back to the float


# --- is_multiple_of ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("2450.55", "0.05", True),
        ("2450.50", "0.05", True),
        ("2450.5", "0.05", True),
        ("2450", "0.05", True),
        ("2450.53", "0.05", False),
        ("2450.551", "0.05", False),
        ("0.05", "0.05", True),
        ("0.04", "0.05", False),
        ("0", "0.05", True),
        ("1.0025", "0.0025", True),
        ("1.001", "0.0025", False),
        ("100", "5", True),
        ("102", "5", False),
        ("75", "25", True),  # lot sizes as steps
        ("80", "25", False),
        ("-2450.55", "0.05", True),
        ("123.45", "0", True),  # no tick: anything goes
        ("123.45", "-0.05", True),
    ],
)
def test_is_multiple_of(value, step, expected):
    assert is_multiple_of(D(value), D(step)) is expected


@settings(max_examples=300, deadline=None)
@given(
    ticks=st.integers(min_value=0, max_value=2_000_000_000),
    offset=st.integers(min_value=1, max_value=4),
)
def test_on_and_off_the_005_grid(ticks, offset):
    on = ticks * D("0.05")
    assert is_multiple_of(on, D("0.05"))
    assert not is_multiple_of(on + offset * D("0.01"), D("0.05"))


# --- round_to_tick -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tick", "expected"),
    [
        ("2450.53", "0.05", "2450.55"),
        ("2450.52", "0.05", "2450.50"),
        ("2450.525", "0.05", "2450.55"),  # exactly half a tick: up
        ("2450.5249", "0.05", "2450.50"),
        ("2450.55", "0.05", "2450.55"),
        ("2450", "0.05", "2450.00"),
        ("0.02", "0.05", "0.00"),
        ("0.03", "0.05", "0.05"),
        ("1.00125", "0.0025", "1.0025"),
        ("1.0012", "0.0025", "1.0000"),
        ("10.5", "1", "11"),
        ("12", "5", "10"),
        ("13", "5", "15"),
        ("-2450.525", "0.05", "-2450.55"),
    ],
)
def test_round_to_tick(value, tick, expected):
    result = round_to_tick(D(value), D(tick))
    assert result == D(expected)
    assert str(result) == expected  # carries the tick's number of places


@pytest.mark.parametrize("tick", ["0", "-0.05"])
def test_round_to_tick_without_a_tick_is_identity(tick):
    assert str(round_to_tick(D("2450.537"), D(tick))) == "2450.537"


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=D("0.01"), max_value=D("100000000"), places=4),
    tick=st.sampled_from([D("0.05"), D("0.01"), D("0.0025"), D("0.10"), D("1"), D("5")]),
)
def test_round_to_tick_lands_on_the_nearest_tick(value, tick):
    result = round_to_tick(value, tick)
    assert is_multiple_of(result, tick)
    assert abs(result - value) <= tick / 2
    assert round_to_tick(result, tick) == result


# --- format_inr -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("2450500", 2, "24,50,500.00"),
        ("0", 2, "0.00"),
        ("5", 2, "5.00"),
        ("0.05", 2, "0.05"),
        ("999", 2, "999.00"),
        ("999.995", 2, "1,000.00"),
        ("1000", 2, "1,000.00"),
        ("12345", 2, "12,345.00"),
        ("100000", 2, "1,00,000.00"),
        ("2450500.5", 2, "24,50,500.50"),
        ("12345678.9", 2, "1,23,45,678.90"),
        ("1234567890.123", 2, "1,23,45,67,890.12"),
        ("0.005", 2, "0.01"),  # half up
        ("0.004", 2, "0.00"),
        ("-2450500.5", 2, "-24,50,500.50"),
        ("-1000", 2, "-1,000.00"),
        ("-999", 2, "-999.00"),
        ("-0.005", 2, "-0.01"),
        ("-0.004", 2, "0.00"),  # never "-0.00"
        ("-0", 2, "0.00"),
        ("1E+7", 2, "1,00,00,000.00"),
        ("2450500", 0, "24,50,500"),
        ("2450500.5", 0, "24,50,501"),
        ("-1234", 0, "-1,234"),
        ("0.4", 0, "0"),
        ("7", 0, "7"),
        ("1234.56", 1, "1,234.6"),
        ("1234.5678", 4, "1,234.5678"),
    ],
)
def test_format_inr(value, places, expected):
    assert format_inr(D(value), places) == expected


def test_format_inr_default_is_two_places_and_takes_int():
    assert format_inr(D("2450500")) == "24,50,500.00"
    assert format_inr(2450500) == "24,50,500.00"


INDIAN = re.compile(r"-?(\d{1,3}|\d{1,2}(,\d{2})*,\d{3})(\.\d+)?")


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(
        min_value=D("-1e15"), max_value=D("1e15"), allow_nan=False, allow_infinity=False, places=3
    ),
    places=st.sampled_from([0, 1, 2]),
)
def test_format_inr_groups_and_round_trips(value, places):
    text = format_inr(value, places)
    assert INDIAN.fullmatch(text), text
    if places:
        assert len(text.partition(".")[2]) == places
    else:
        assert "." not in text
    # exact value back, rounded half-up to `places`
    parsed = D(text.replace(",", ""))
    assert abs(parsed - value) <= D(1).scaleb(-places) / 2
    if parsed == 0:
        assert not text.startswith("-"), text  # no "-0.00"
