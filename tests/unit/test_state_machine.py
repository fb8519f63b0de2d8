"""The order state machine: the transition table, terminal states, status_for_fill."""

from __future__ import annotations

import itertools

import pytest

from desktop_oms.domain.enums import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    MODIFIABLE_STATUSES,
    TERMINAL_STATUSES,
    OrderStatus,
)
from desktop_oms.domain.state_machine import (
    TRANSITIONS,
    InvalidTransition,
    can_transition,
    check_transition,
    status_for_fill,
)

S = OrderStatus
PENDING, SUBMITTED, OPEN, TRIGGER_PENDING = S.PENDING, S.SUBMITTED, S.OPEN, S.TRIGGER_PENDING
PARTIAL, FILLED, CANCELLED, REJECTED = S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED

# Written out by hand from the architecture's rules, not copied from the code.
ALLOWED = {
    PENDING: {SUBMITTED, OPEN, TRIGGER_PENDING, PARTIAL, FILLED, CANCELLED, REJECTED},
    SUBMITTED: {SUBMITTED, OPEN, TRIGGER_PENDING, PARTIAL, FILLED, CANCELLED, REJECTED},
    OPEN: {OPEN, TRIGGER_PENDING, PARTIAL, FILLED, CANCELLED, REJECTED},
    TRIGGER_PENDING: {TRIGGER_PENDING, OPEN, PARTIAL, FILLED, CANCELLED, REJECTED},
    PARTIAL: {PARTIAL, FILLED, CANCELLED},
    FILLED: set(),
    CANCELLED: {FILLED},  # a fill raced the cancel
    REJECTED: set(),
}
ALL_PAIRS = list(itertools.product(list(S), list(S)))


def test_status_vocabulary_is_the_contract():
    names = {s.name for s in S}
    assert {
        "PENDING",
        "SUBMITTED",
        "OPEN",
        "TRIGGER_PENDING",
        "PARTIALLY_FILLED",
        "FILLED",
        "CANCELLED",
        "REJECTED",
    } <= names
    assert TERMINAL_STATUSES == {FILLED, CANCELLED, REJECTED}
    assert ACTIVE_STATUSES == set(S) - TERMINAL_STATUSES
    for status in S:
        assert status.is_terminal == (status in {FILLED, CANCELLED, REJECTED})
        assert status.is_active == (not status.is_terminal)


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(S)
    for row in TRANSITIONS.values():
        assert isinstance(row, frozenset)
        assert row <= set(S)


def test_table_is_exactly_the_expected_table():
    assert {k: set(v) for k, v in TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(
    ("old", "new"), ALL_PAIRS, ids=[f"{a.name}->{b.name}" for a, b in ALL_PAIRS]
)
def test_every_pair(old, new):
    expected = new in ALLOWED[old]
    assert can_transition(old, new) is expected
    if expected:
        check_transition(old, new)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition(old, new)
        assert isinstance(info.value, ValueError)
        assert info.value.old is old
        assert info.value.new is new
        assert old.value in str(info.value) and new.value in str(info.value)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES, key=lambda s: s.name))
def test_terminal_states_have_no_exit_except_the_fill_cancel_race(terminal):
    exits = TRANSITIONS[terminal]
    if terminal is CANCELLED:
        assert exits == {FILLED}
    else:
        assert exits == frozenset()
    for status in ACTIVE_STATUSES:
        assert not can_transition(terminal, status)


def test_nothing_goes_back_to_pending():
    for status in S:
        assert not can_transition(status, PENDING)


def test_every_active_status_can_fill_and_can_end():
    for status in ACTIVE_STATUSES:
        assert can_transition(status, FILLED)
        assert can_transition(status, CANCELLED)


def test_partially_filled_cannot_go_back_to_unfilled_states():
    for status in (PENDING, SUBMITTED, OPEN, TRIGGER_PENDING, REJECTED):
        assert not can_transition(PARTIAL, status)


def test_every_terminal_status_is_reachable_from_pending():
    reachable = {PENDING}
    frontier = [PENDING]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(S)


def test_modifiable_and_cancellable_states_are_live():
    assert MODIFIABLE_STATUSES == {OPEN, TRIGGER_PENDING, PARTIAL, SUBMITTED}
    assert CANCELLABLE_STATUSES == MODIFIABLE_STATUSES
    for status in CANCELLABLE_STATUSES:
        assert status.is_active
        assert can_transition(status, CANCELLED)


def test_a_typical_life_is_allowed():
    life = [PENDING, SUBMITTED, OPEN, PARTIAL, PARTIAL, FILLED]
    for old, new in itertools.pairwise(life):
        check_transition(old, new)
    stop_life = [PENDING, SUBMITTED, TRIGGER_PENDING, OPEN, PARTIAL, CANCELLED, FILLED]
    for old, new in itertools.pairwise(stop_life):
        check_transition(old, new)


# --- status_for_fill --------------------------------------------------------------------

STATUS_FOR_FILL = [
    # quantity, filled, current, expected
    (10, 0, PENDING, PENDING),
    (10, 0, OPEN, OPEN),
    (10, 0, TRIGGER_PENDING, TRIGGER_PENDING),
    (10, 4, SUBMITTED, PARTIAL),
    (10, 4, OPEN, PARTIAL),
    (10, 4, TRIGGER_PENDING, PARTIAL),
    (10, 9, PARTIAL, PARTIAL),
    (10, 10, OPEN, FILLED),
    (10, 10, PARTIAL, FILLED),
    (10, 10, PENDING, FILLED),
    (10, 11, PARTIAL, FILLED),  # over-report still means done
    (10, 0, CANCELLED, CANCELLED),
    (10, 4, CANCELLED, CANCELLED),  # cancelled with a partial fill stays cancelled
    (10, 10, CANCELLED, FILLED),  # the race: trades prove it had filled
    (10, 10, FILLED, FILLED),
    (1, 1, OPEN, FILLED),
    (10_000_000, 9_999_999, OPEN, PARTIAL),
]


@pytest.mark.parametrize(("quantity", "filled", "current", "expected"), STATUS_FOR_FILL)
def test_status_for_fill(quantity, filled, current, expected):
    assert status_for_fill(quantity, filled, current) is expected


@pytest.mark.parametrize("current", sorted(set(S) - {FILLED, REJECTED}, key=lambda s: s.name))
def test_status_for_fill_never_implies_a_forbidden_transition(current):
    for filled in range(0, 12):
        new = status_for_fill(10, filled, current)
        assert new is current or can_transition(current, new), (current, filled, new)


@pytest.mark.parametrize(
    ("filled", "current"), [(4, FILLED), (4, REJECTED), (10, REJECTED)], ids=str
)
def test_status_for_fill_of_a_terminal_order_respects_the_table(filled, current):
    new = status_for_fill(10, filled, current)
    assert new is current or can_transition(current, new), new
