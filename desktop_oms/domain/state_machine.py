"""The order state machine: one transition table, checked everywhere a status changes.

One way out of a final status exists, outside this table: an order the OMS gave up on
without ever hearing from the broker (no broker order id: its request was lost and a
restart found no trace of it) that the broker later shows live is taken back as working,
audited FOUND_LIVE (oms/sync/order_sync.py) — the broker's word beats our inference.
"""

from __future__ import annotations

from desktop_oms.domain.enums import OrderStatus as S

_ANY_LIVE = {
    S.SUBMITTED,
    S.OPEN,
    S.TRIGGER_PENDING,
    S.PARTIALLY_FILLED,
    S.FILLED,
    S.CANCELLED,
    S.REJECTED,
}

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset(_ANY_LIVE),
    S.SUBMITTED: frozenset(_ANY_LIVE),
    S.OPEN: frozenset(
        {S.OPEN, S.TRIGGER_PENDING, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED}
    ),
    # An SL order sits in TRIGGER_PENDING, then becomes OPEN (limit) or fills directly.
    S.TRIGGER_PENDING: frozenset(
        {S.TRIGGER_PENDING, S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED}
    ),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED}),
    S.FILLED: frozenset(),
    # A fill may race a cancel: the cancel is confirmed, then trades prove the order had
    # already filled completely. Trades are facts; the status follows them.
    S.CANCELLED: frozenset({S.FILLED}),
    S.REJECTED: frozenset(),
}


class InvalidTransition(ValueError):
    def __init__(self, old: S, new: S) -> None:
        super().__init__(f"order status cannot go from {old.value} to {new.value}")
        self.old = old
        self.new = new


def can_transition(old: S, new: S) -> bool:
    return new in TRANSITIONS[old]


def check_transition(old: S, new: S) -> None:
    if not can_transition(old, new):
        raise InvalidTransition(old, new)


def status_for_fill(quantity: int, filled_quantity: int, current: S) -> S:
    """Status implied by the filled quantity, never one the transition table forbids."""
    if filled_quantity >= quantity:
        candidate = S.FILLED
    elif filled_quantity > 0 and current is not S.CANCELLED:
        candidate = S.PARTIALLY_FILLED
    else:
        return current
    return candidate if candidate is current or can_transition(current, candidate) else current
