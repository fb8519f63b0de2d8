"""Finished orders stay in memory for the answers that follow them (place_order's result,
a late trade, the blotter asking), so the journal is not read on the order path; the
cache is bounded and always agrees with the journal."""

from __future__ import annotations

from desktop_oms.domain import OrderStatus
from desktop_oms.oms.sync import live_orders
from tests.helpers import limit


async def test_a_filled_order_is_answered_from_memory(paper_oms, monkeypatch):
    h = paper_oms
    reads = []
    real_get = h.db.journal.get
    monkeypatch.setattr(h.db.journal, "get", lambda oid: reads.append(oid) or real_get(oid))
    result = await h.om.place_order(limit(qty=10, price="2450"))  # marketable: fills at once
    assert result.status is OrderStatus.FILLED
    assert reads == [], "place_order read the journal for an order it had just finished"
    latest = h.om.sync.latest(result.order_id)
    assert latest == real_get(result.order_id)
    assert h.om.sync.current(result.order_id) is None  # not live


async def test_the_cache_is_bounded_and_falls_back_to_the_journal(paper_oms, monkeypatch):
    h = paper_oms
    monkeypatch.setattr(live_orders, "RECENT_FINISHED", 2)
    results = [await h.om.place_order(limit(qty=1, price="2450")) for _ in range(4)]
    assert h.om.sync.orders.finished_count() == 2
    for r in results:  # the two oldest come from the journal, the rest from memory
        assert h.om.sync.latest(r.order_id) == h.db.journal.get(r.order_id)
        assert h.om.sync.latest(r.order_id).status is OrderStatus.FILLED
    assert h.om.sync.latest(10**9) is None
