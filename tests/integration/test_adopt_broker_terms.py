"""Issue 20: when nothing of ours is in flight for an order, the broker's report of it is
the truth — quantity, price, trigger, order type and status are adopted and audited; a
modify whose answer was lost is resolved by reading the order back, never by resending;
a finished order does not stay working after start-up recovery. Late reports still
cannot put back terms they predate (tests/integration/test_review_group_commit.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desktop_oms.brokers.errors import BrokerOutcomeUnknown
from desktop_oms.domain import OrderStatus
from desktop_oms.oms import OrderSubmissionFailed
from tests.helpers import limit, until

D = Decimal


async def test_a_modify_whose_answer_was_lost_is_read_back_not_resent(paper_oms):
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2400"))
    real_modify = h.broker.modify_order
    sent = []

    async def modify_then_lose_the_answer(broker_order_id, **kw):
        sent.append(kw)
        await real_modify(broker_order_id, **kw)  # the exchange applies it ...
        raise BrokerOutcomeUnknown("read timeout")  # ... and the answer is lost

    h.broker.modify_order = modify_then_lose_the_answer
    with pytest.raises(OrderSubmissionFailed, match="not sent again"):
        await h.om.modify_order(result.order_id, quantity=5)
    # the poll reads the order back: the broker's quantity is adopted, audited
    await until(lambda: h.om.order_now(result.order_id).quantity == 5)
    assert len(sent) == 1, "the modify was sent again"
    events = await h.om.get_order_events(result.order_id)
    kinds = [e.event_type for e in events]
    assert "MODIFY_UNKNOWN" in kinds and "TERMS_ADOPTED" in kinds
    adopted = next(e for e in events if e.event_type == "TERMS_ADOPTED")
    assert adopted.details == {"quantity": ["10", "5"]}
    assert "adopted from the broker: quantity 10 -> 5" in adopted.reason


async def test_a_modified_then_filled_order_is_finished_after_a_restart(paper_oms, monkeypatch):
    """The issue's case without a power cut: the acknowledgement of a modify never reached
    the journal (a crash right after the broker accepted it), then the rest filled."""
    h = paper_oms
    result = await h.om.place_order(limit(qty=2, price="2400"))
    order = h.om.order_now(result.order_id)
    # the exchange takes a modify the journal never hears of, then fills the new quantity
    await h.broker.modify_order(order.broker_order_id, quantity=1)
    await h.restart()  # (the journal still says quantity 2)
    h.broker.fill(order.broker_order_id, 1)
    await until(lambda: h.om.order_now(result.order_id).status is OrderStatus.FILLED)
    final = h.om.order_now(result.order_id)
    assert (final.quantity, final.filled_quantity) == (1, 1)
    assert result.order_id not in [o.id for o in h.om.live_orders()]
