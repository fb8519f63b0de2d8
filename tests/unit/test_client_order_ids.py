"""Client order ids: valid Kite tags (<= 20 alphanumerics), unique, monotonic."""

from __future__ import annotations

import re
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.domain.ids import (
    CLIENT_ORDER_ID_MAX,
    ClientOrderIdGenerator,
    base36,
    is_valid_client_order_id,
    new_install_prefix,
)

KITE_TAG = re.compile(r"[A-Za-z0-9]{1,20}")  # Kite: tag <= 20 chars, alphanumeric
NS_2025 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z in ns
US = 1_000  # one microsecond, in ns


class FakeClock:
    def __init__(self, *values_ns: int) -> None:
        self.values = list(values_ns)
        self.i = 0

    def __call__(self) -> int:
        value = self.values[min(self.i, len(self.values) - 1)]
        self.i += 1
        return value


def assert_tag(value: str) -> None:
    assert isinstance(value, str)
    assert len(value) <= CLIENT_ORDER_ID_MAX == 20
    assert KITE_TAG.fullmatch(value), value
    assert value.isascii() and value.isalnum()
    assert is_valid_client_order_id(value)


def test_format():
    gen = ClientOrderIdGenerator("AB12")
    value = gen.next_id()
    assert_tag(value)
    assert value.startswith("AB12")
    assert len(value) == 17


def test_hundred_thousand_ids_in_a_tight_loop_are_unique_and_valid():
    gen = ClientOrderIdGenerator("Q7ZZ")
    ids = [gen.next_id() for _ in range(100_000)]
    assert len(set(ids)) == 100_000
    for value in ids[::997] + ids[-3:]:
        assert_tag(value)
    assert all(len(v) <= 20 and v.isalnum() and v.isascii() for v in ids)
    assert ids == sorted(ids)  # fixed width, time first: issue order == text order


def test_two_generators_one_after_another_with_a_real_restart_gap():
    first = ClientOrderIdGenerator("K1TE")
    ids_a = [first.next_id() for _ in range(50_000)]
    time.sleep(0.002)  # a restart takes far longer than this
    second = ClientOrderIdGenerator("K1TE")
    ids_b = [second.next_id() for _ in range(50_000)]
    assert len(set(ids_a) | set(ids_b)) == 100_000
    assert max(ids_a) < min(ids_b)


def test_clock_going_backwards_does_not_repeat_or_reorder():
    clock = FakeClock(
        NS_2025,
        NS_2025 + 5 * US,
        NS_2025 - 3_600 * 10**9,  # NTP steps back an hour
        NS_2025 - 3_600 * 10**9,
        NS_2025 + 5 * US,
        NS_2025 + 4 * US,
        NS_2025 + 6 * US,
        NS_2025 - 1,
        NS_2025 + 7 * US,
    )
    gen = ClientOrderIdGenerator("ABCD", clock=clock)
    ids = [gen.next_id() for _ in range(9)]
    assert len(set(ids)) == 9
    assert ids == sorted(ids)
    for value in ids:
        assert_tag(value)


def test_frozen_clock_overflowing_the_sequence_stays_unique():
    gen = ClientOrderIdGenerator("ABCD", clock=lambda: NS_2025)
    ids = [gen.next_id() for _ in range(100_000)]  # > 2 * 36**3 ids in one microsecond
    assert len(set(ids)) == 100_000
    assert ids == sorted(ids)
    assert all(len(v) == 17 for v in ids)


def test_clock_before_2024_still_gives_valid_unique_ids():
    gen = ClientOrderIdGenerator("ABCD", clock=lambda: 946_684_800 * 10**9)  # year 2000
    ids = [gen.next_id() for _ in range(1_000)]
    assert len(set(ids)) == 1_000
    for value in ids:
        assert_tag(value)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.integers(min_value=-(10**13), max_value=10**13),  # up to ~3 h back or forward, in ns
        min_size=1,
        max_size=200,
    )
)
def test_any_clock_path_gives_unique_increasing_ids(steps):
    now = NS_2025
    values = []
    for step in steps:
        now += step
        values.append(now)
    gen = ClientOrderIdGenerator("Z9Z9", clock=FakeClock(*values))
    ids = [gen.next_id() for _ in values]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for value in ids:
        assert_tag(value)


def test_threads_share_one_generator_safely():
    gen = ClientOrderIdGenerator("THRD")
    results: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        for _ in range(10_000):
            out.append(gen.next_id())

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [v for r in results for v in r]
    assert len(set(everything)) == 40_000


def test_two_generators_with_the_same_prefix_in_one_clock_tick_never_collide():
    def coarse_clock() -> int:  # a clock whose reading does not move during the test
        return NS_2025

    first = ClientOrderIdGenerator("SAME", clock=coarse_clock)
    ids_a = [first.next_id() for _ in range(100)]
    second = ClientOrderIdGenerator("SAME", clock=coarse_clock)
    ids_b = [second.next_id() for _ in range(100)]
    assert not set(ids_a) & set(ids_b)


# --- prefix and validation ----------------------------------------------------------------


def test_install_prefixes():
    seen = {new_install_prefix() for _ in range(200)}
    for prefix in seen:
        assert re.fullmatch(r"[0-9A-Z]{4}", prefix)
        ClientOrderIdGenerator(prefix)  # accepted
    assert len(seen) > 150  # random, 36**4 possibilities


@pytest.mark.parametrize("prefix", ["", "ABC", "ABCDE", "abcd", "AB-D", "AB D", "ÄBCD", "AB\n"])
def test_bad_prefix(prefix):
    with pytest.raises(ValueError):
        ClientOrderIdGenerator(prefix)


@pytest.mark.parametrize("value", ["A", "abc123", "X" * 20, "0" * 20, "AB12LQ9ZK1T00001"])
def test_valid_tags(value):
    assert is_valid_client_order_id(value)


@pytest.mark.parametrize(
    "value", ["", None, "X" * 21, "ABC-1", "ABC_1", "ABC 1", "ÄBC", "١٢٣", "ABC\t", "ABC;--"]
)
def test_invalid_tags(value):
    assert not is_valid_client_order_id(value)


def test_trailing_newline_is_not_a_valid_tag():
    assert not is_valid_client_order_id("ABC123\n")


def test_base36():
    assert base36(0, 3) == "000"
    assert base36(35, 2) == "0Z"
    assert base36(36, 2) == "10"
    assert base36(36**3 - 1, 3) == "ZZZ"
    assert base36(123_456_789, 6) == "21I3V9"
    with pytest.raises(ValueError):
        base36(-1, 3)
