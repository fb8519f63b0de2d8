"""Group commit, the finished-order cache and TermsGuard under the scenarios a review
found risky. The first three tests reproduce bugs the review found (fixed: memory is
dropped the moment a group fails; a poll's snapshot cannot set terms over a report that
arrived after the poll started); the rest guard scenarios handled correctly.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import OrderSide, OrderStatus
from desktop_oms.domain.events import FillApplied, OrderStatusChanged, PositionChanged
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.types import _utc_text, utc_text
from tests.helpers import limit

# ----------------------------------------------------------------------------- helpers


async def _resting(h, n, qty=10, price="2400", symbol="RELIANCE"):
    results = [await h.om.place_order(limit(symbol, qty=qty, price=price)) for _ in range(n)]
    orders = [h.om.sync.current(r.order_id) for r in results]
    assert all(o is not None and o.status is OrderStatus.OPEN for o in orders)
    return orders


def _trades_sum(h, order_id=None) -> int:
    sql = "SELECT COALESCE(SUM(quantity), 0) FROM trades"
    if order_id is not None:
        sql += f" WHERE order_id = {int(order_id)}"
    with h.db.read() as conn:
        return conn.execute(text(sql)).scalar()


def _assert_memory_is_the_journal(h, order_ids):
    """Every order as the OMS answers it (latest: memory / finished cache) is the row on
    disk, and each order's filled quantity is what its trade rows add up to."""
    journal = h.db.journal
    for oid in order_ids:
        mem, disk = h.om.sync.latest(oid), journal.get(oid)
        assert mem == disk, f"order #{oid}: memory {mem} != journal {disk}"
        assert disk.filled_quantity == journal.filled_by_trades(oid), f"order #{oid}"


def _position_row(h, symbol="RELIANCE"):
    with h.db.read() as conn:
        return conn.execute(
            text("SELECT quantity, last_price FROM positions WHERE symbol = :s"), {"s": symbol}
        ).one()


def _fail_storage(h, monkeypatch):
    """The group's flush fails and the journal cannot be read back (trade_keys) while on."""
    journal = h.db.journal
    real_flush, real_keys = journal._flush, journal.trade_keys
    failing = {"on": True}

    def flush(batch):
        if failing["on"]:
            raise OSError(5, "Input/output error")
        return real_flush(batch)

    def trade_keys(since=None):
        if failing["on"]:
            raise OSError(5, "Input/output error")
        return real_keys(since)

    monkeypatch.setattr(journal, "_flush", flush)
    monkeypatch.setattr(journal, "trade_keys", trade_keys)
    return failing


# ============================================================================= BUGS


async def test_marks_flushed_while_memory_is_stale_do_not_double_the_position(
    paper_oms, monkeypatch
):
    """Found in review (the position used to double). A group fails to commit and the
    journal cannot be read back. PositionManager used to keep the failed group's
    positions; a tick and the periodic snapshot (flush_marks) then wrote the whole row,
    quantity included, with no trade row behind it, and once the journal read again the
    poll re-applied every fill from the broker: 120 instead of 60. Now memory (orders,
    trade ids, positions) is dropped the moment a group fails."""
    h = paper_oms
    await _resting(h, 6)
    failing = _fail_storage(h, monkeypatch)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    assert h.om.sync._stale_memory and "storage" in h.om.halts()
    assert h.count("trades") == 0
    failing["on"] = False  # the disk is back; no await until the marks are flushed
    h.pm.mark_prices({("NSE", "RELIANCE"): Decimal("2391.5")})  # a tick
    h.pm.flush_marks()  # the periodic PnL snapshot
    await h.om.sync._poll()  # reload + fetch the broker's fills again
    assert h.count("trades") == 6
    assert _position_row(h).quantity == 60, "position row counts each fill once"
    assert (await h.pm.get_position("RELIANCE")).quantity == 60


async def test_a_modify_while_memory_is_stale_writes_no_unjournaled_fills(paper_oms, monkeypatch):
    """Found in review (fills used to be written with no trade row). Same stale state: a
    group of partial fills failed and could not be read back. modified() saved the
    stale, ahead-of-journal order (5 filled, no trade row); after the reload the poll
    applied the broker's trade again: 10 of 10 FILLED while the broker had 5 of 10. Now
    nothing stale is left in memory to be read or written back (acknowledge,
    finish_unsent and reconcile read the journal too)."""
    h = paper_oms
    o1, o2 = await _resting(h, 2)
    failing = _fail_storage(h, monkeypatch)
    h.broker.fill(o1.broker_order_id, 5)
    h.broker.fill(o2.broker_order_id, 5)  # both pushed together: one group
    await h.om.sync.drain()
    assert h.om.sync._stale_memory, "the group failed and could not be read back"
    assert h.count("trades") == 0
    failing["on"] = False
    await h.om.sync.modified(o1.id, price=Decimal("2401"))
    written = h.db.journal.get(o1.id)
    await h.om.sync._poll()
    final = h.db.journal.get(o1.id)
    assert (written.filled_quantity, final.filled_quantity, final.status) == (
        0,
        5,
        OrderStatus.PARTIALLY_FILLED,
    ), (
        f"modify wrote filled={written.filled_quantity} with no trade row; after the poll the "
        f"journal says {final.filled_quantity} {final.status.value} (broker: 5 of 10)"
    )


async def test_a_same_second_snapshot_fetched_before_a_confirmed_modify_cannot_revert_it(
    paper_oms,
):
    """Kite's report timestamps are whole seconds. A poll's orders() snapshot fetched
    just before our modify, applied after the broker's report confirming the modify and
    stamped in the same second, must not put the old price back (it would stay in the
    journal for good if the order then fills or is cancelled). Within one second only
    the arrival order tells: the snapshot's poll started before the confirmation arrived."""
    h = paper_oms
    sync = h.om.sync
    result = await h.om.place_order(limit(qty=10, price="2400"))
    oid, bid = result.order_id, result.broker_order_id
    poll_started = sync._next_seq()  # the poll starts fetching ...
    before = next(r for r in await h.broker.orders() if r.broker_order_id == bid)
    await h.om.modify_order(oid, price=Decimal("2401"))  # ... the modify happens meanwhile
    assert sync.current(oid).price == Decimal("2401")
    second = (utcnow() + timedelta(hours=1)).replace(microsecond=0)  # a whole Kite second
    confirm = replace(before, price=Decimal("2401"), timestamp=second)
    stale = replace(before, price=Decimal("2400"), timestamp=second)  # same second, older
    sync._on_update(BrokerUpdate(orders=(confirm,)))
    await sync.drain()
    async with sync.lock:  # the poll's snapshot is applied now
        sync.apply_reports([stale], [], seq=poll_started)
    assert sync.current(oid).price == Decimal("2401")
    assert h.db.journal.get(oid).price == Decimal("2401")
    # A later change pushed by the broker (modified outside the app) is still taken.
    outside = replace(before, price=Decimal("2402"), timestamp=second)
    sync._on_update(BrokerUpdate(orders=(outside,)))
    await sync.drain()
    assert sync.current(oid).price == Decimal("2402")


# ============================================================================= GUARDS


async def test_trade_and_its_status_report_in_one_group_either_order(paper_oms):
    """A FILLED report before its trade and a trade before its FILLED report, in one group
    (plus the same again from the paper broker): one fill each, FILLED, memory = journal."""
    h = paper_oms
    o1, o2 = await _resting(h, 2)
    h.om.monitor_interval = 3600  # no poll in between: the pushed updates are the only source
    h.broker.fill(o1.broker_order_id)
    h.broker.fill(o2.broker_order_id)
    await h.om.sync.drain()
    reports = {r.broker_order_id: r for r in await h.broker.orders()}
    trades = {t.broker_order_id: t for t in await h.broker.trades()}
    assert h.count("trades") == 2
    # replay both orderings in one group: duplicates must change nothing
    h.om.sync._on_update(BrokerUpdate(orders=(reports[o1.broker_order_id],)))
    h.om.sync._on_update(BrokerUpdate(trades=(trades[o1.broker_order_id],)))
    h.om.sync._on_update(BrokerUpdate(trades=(trades[o2.broker_order_id],)))
    h.om.sync._on_update(BrokerUpdate(orders=(reports[o2.broker_order_id],)))
    await h.om.sync.drain()
    assert h.count("trades") == 2
    for o in (o1, o2):
        assert h.db.journal.get(o.id).status is OrderStatus.FILLED
    _assert_memory_is_the_journal(h, [o1.id, o2.id])
    assert (await h.pm.get_position("RELIANCE")).quantity == 20


async def test_fresh_trade_and_report_in_one_group_report_first(paper_oms, monkeypatch):
    """Fresh facts, crafted: the FILLED report arrives first (trade not known yet: status
    stays, fill gap noted), the trade next, in the same group. One fill; FILLED; gap gone."""
    h = paper_oms
    (o1,) = await _resting(h, 1)
    h.om.monitor_interval = 3600
    # The paper broker fills but its pushes are swallowed: we deliver them ourselves.
    monkeypatch.setattr(h.om.sync, "_stopped", True)
    h.broker.fill(o1.broker_order_id)
    await h.om.sync.drain()
    monkeypatch.setattr(h.om.sync, "_stopped", False)
    report = next(r for r in await h.broker.orders() if r.broker_order_id == o1.broker_order_id)
    (trade,) = await h.broker.trades()
    assert h.count("trades") == 0
    h.om.sync._on_update(BrokerUpdate(orders=(report,)))
    h.om.sync._on_update(BrokerUpdate(trades=(trade,)))
    h.om.sync._on_update(BrokerUpdate(trades=(trade,), orders=(report,)))  # a duplicate
    await h.om.sync.drain()
    assert h.count("trades") == 1
    order = h.db.journal.get(o1.id)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert o1.id not in h.om.sync._fill_gaps
    _assert_memory_is_the_journal(h, [o1.id])
    assert (await h.pm.get_position("RELIANCE")).quantity == 10


async def test_late_trade_for_an_order_cancelled_earlier_in_the_same_group(paper_oms, monkeypatch):
    """Update 1 cancels a partly filled order (terminal: forgotten, broker id settled);
    update 2, same group, brings a trade for it. The trade is found through the batch
    overlay (journal.get_by_broker_id -> _Batch.find) and applied once on top of the
    CANCELLED state; the finished cache and the journal agree."""
    h = paper_oms
    o1, o2 = await _resting(h, 2)
    h.om.monitor_interval = 3600
    monkeypatch.setattr(h.om.sync, "_stopped", True)  # collect the broker's facts first
    h.broker.fill(o1.broker_order_id, 5)
    await h.broker.cancel_order(o1.broker_order_id)
    h.broker.fill(o2.broker_order_id)
    await h.om.sync.drain()
    monkeypatch.setattr(h.om.sync, "_stopped", False)
    reports = {r.broker_order_id: r for r in await h.broker.orders()}
    trades = {t.broker_order_id: t for t in await h.broker.trades()}
    assert reports[o1.broker_order_id].status is OrderStatus.CANCELLED
    h.om.sync._on_update(BrokerUpdate(orders=(reports[o1.broker_order_id],)))  # terminal first
    h.om.sync._on_update(BrokerUpdate(trades=(trades[o2.broker_order_id],)))
    h.om.sync._on_update(BrokerUpdate(trades=(trades[o1.broker_order_id],)))  # the late trade
    h.om.sync._on_update(BrokerUpdate(trades=(trades[o1.broker_order_id],)))  # and again
    await h.om.sync.drain()
    assert h.count("trades") == 2
    first = h.db.journal.get(o1.id)
    assert first.status is OrderStatus.CANCELLED and first.filled_quantity == 5
    assert h.om.sync.current(o1.id) is None
    _assert_memory_is_the_journal(h, [o1.id, o2.id])
    assert (await h.pm.get_position("RELIANCE")).quantity == 15
    assert _position_row(h).quantity == 15


async def test_orphan_trade_then_adoption_in_one_group(paper_oms, monkeypatch):
    """The broker's response to place_order was lost (order PENDING, no broker id). Its
    trade arrives first (orphan: broker id unknown, marked foreign) and its report with
    our tag next, in one group: adopted, the orphan applied once, foreign cleared."""
    h = paper_oms
    h.om.unknown_outcome_grace = 3600
    real_orders, real_trades = h.broker.orders, h.broker.trades

    async def nothing():
        return []

    monkeypatch.setattr(h.broker, "orders", nothing)  # the poll sees nothing meanwhile
    monkeypatch.setattr(h.broker, "trades", nothing)
    h.broker.inject_outcome_unknown(accept=True, push_updates=False)
    result = await h.om.place_order(limit(qty=10, price="2450"))  # marketable: fills
    assert result.broker_order_id is None
    (report,) = await real_orders()
    (trade,) = await real_trades()
    h.om.sync._on_update(BrokerUpdate(trades=(trade,)))
    h.om.sync._on_update(BrokerUpdate(orders=(report,)))
    h.om.sync._on_update(BrokerUpdate(trades=(trade,)))
    await h.om.sync.drain()
    order = h.db.journal.get(result.order_id)
    assert order.broker_order_id == report.broker_order_id
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert h.count("trades") == 1
    assert not h.om.sync.fills.orphans
    assert not h.om.sync.orders.foreign(report.broker_order_id)
    _assert_memory_is_the_journal(h, [result.order_id])
    assert (await h.pm.get_position("RELIANCE")).quantity == 10


async def test_events_of_a_group_are_published_after_commit_and_match_the_journal(paper_oms):
    """Every OrderStatusChanged / PositionChanged of a group is delivered after the commit:
    what the subscriber reads from the journal is at least what the event says."""
    h = paper_oms
    orders = await _resting(h, 4)
    seen = []

    def on_status(e):
        seen.append((e.new_status, h.db.journal.get(e.order.id).status))

    positions_seen = []
    h.events.subscribe(OrderStatusChanged, on_status)
    h.events.subscribe(
        PositionChanged, lambda e: positions_seen.append((e.position.quantity, _position_row(h)[0]))
    )
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    assert seen and all(
        new is OrderStatus.FILLED and disk is OrderStatus.FILLED for new, disk in seen
    )
    assert positions_seen and all(disk == 40 for _, disk in positions_seen)
    _assert_memory_is_the_journal(h, [o.id for o in orders])


async def test_a_failing_subscriber_after_commit_does_not_stop_the_consumer(paper_oms):
    h = paper_oms
    await _resting(h, 3)
    errors = []
    h.events.on_handler_error = lambda handler, event, exc: errors.append(exc)

    def boom(_event):
        raise RuntimeError("subscriber bug")

    h.events.subscribe(FillApplied, boom)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    assert len(errors) == 3 and h.count("trades") == 3
    await _resting(h, 2, price="2380")
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2370"))
    await h.om.sync.drain()
    assert h.count("trades") == 5
    assert (await h.pm.get_position("RELIANCE")).quantity == 50


async def test_a_poison_update_inside_a_group_does_not_lose_or_double_the_others(paper_oms):
    """One trade cannot be applied (its charges raise): the group fails, memory is reloaded
    and the updates are applied one by one; the others are recorded exactly once and the
    consumer lives on."""
    h = paper_oms
    orders = await _resting(h, 4)
    poison_bid = orders[1].broker_order_id

    class Charges:
        def for_fill(self, fill, order, instrument=None):
            if fill.broker_order_id == poison_bid:
                raise ZeroDivisionError("cannot price this fill")
            return Decimal("1.5")

    h.om.sync.fills.charges = Charges()
    h.om.monitor_interval = 3600
    fills = []
    h.events.subscribe(FillApplied, fills.append)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    assert h.count("trades") == 3 and len(fills) == 3
    assert not h.om.sync._stale_memory
    assert h.db.journal.get(orders[1].id).filled_quantity == 0
    position = await h.pm.get_position("RELIANCE")
    assert position.quantity == 30 and position.charges == Decimal("4.5")
    # the poison is priced later (the poll fetches it again): applied once
    h.om.sync.fills.charges = None
    await h.om.sync._poll()
    assert h.count("trades") == 4
    _assert_memory_is_the_journal(h, [o.id for o in orders])
    assert (await h.pm.get_position("RELIANCE")).quantity == 40


async def test_a_mark_before_a_group_is_kept_by_the_groups_position_row(paper_oms):
    """A tick marks the position (dirty), then a group of fills: the group's row is built
    from the marked position, commit() clears the dirty mark, and a later flush_marks
    cannot write an older state over it."""
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))  # marketable: fills, position 10
    await h.om.sync.drain()
    assert (await h.pm.get_position("RELIANCE")).quantity == 10
    await _resting(h, 2, price="2400")
    h.pm.mark_prices({("NSE", "RELIANCE"): Decimal("2420")})
    assert h.pm._dirty
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    assert not h.pm._dirty
    h.pm.flush_marks()
    memory = await h.pm.get_position("RELIANCE")
    row = _position_row(h)
    assert memory.quantity == row.quantity == 30
    h.pm.mark_prices({("NSE", "RELIANCE"): Decimal("2391.25")})
    h.pm.flush_marks()
    assert tuple(_position_row(h)) == (30, "2391.25")


async def test_finished_cache_agrees_with_the_journal_after_groups_and_modifies(paper_oms):
    """latest() answers finished orders from memory: after groups that fill, a cancel, a
    modify, and the fallback path, it must be exactly the journal's row."""
    h = paper_oms
    orders = await _resting(h, 3)
    await h.om.modify_order(orders[0].id, price=Decimal("2399"))
    await h.om.cancel_order(orders[2].id)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()
    ids = [o.id for o in orders]
    _assert_memory_is_the_journal(h, ids)
    assert h.db.journal.get(orders[0].id).modification_count == 1
    assert all(h.om.sync.current(i) is None for i in ids)
    h.om.sync.orders._finished.clear()  # evicted: answered from the journal
    _assert_memory_is_the_journal(h, ids)


async def test_paper_modify_then_stale_snapshot_does_not_revert_terms(paper_oms, monkeypatch):
    """Paper broker (microsecond timestamps): a poll snapshot fetched before our modify and
    applied after it keeps the modified price; a later external modify is taken."""
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2400"))
    oid, bid = result.order_id, result.broker_order_id
    snapshot = list(await h.broker.orders())
    await h.om.modify_order(oid, price=Decimal("2401"))

    async def stale():
        return snapshot

    monkeypatch.setattr(h.broker, "orders", stale)
    await h.om.sync._poll()
    assert h.om.sync.current(oid).price == Decimal("2401")
    assert h.db.journal.get(oid).price == Decimal("2401")
    monkeypatch.undo()
    newer = replace(snapshot[0], price=Decimal("2398"), timestamp=utcnow() + timedelta(seconds=1))
    assert newer.broker_order_id == bid
    h.om.sync._on_update(BrokerUpdate(orders=(newer,)))
    await h.om.sync.drain()
    assert h.db.journal.get(oid).price == Decimal("2398")


async def test_our_modify_is_not_reverted_by_an_unconfirming_newer_report(paper_oms):
    """Within MODIFY_CONFIRM_S, a newer report still showing the old terms (the broker has
    not applied our modify yet) does not revert them; the confirming report clears it."""
    h = paper_oms
    result = await h.om.place_order(limit(qty=10, price="2400"))
    oid = result.order_id
    report = next(r for r in await h.broker.orders() if r.broker_order_id == result.broker_order_id)
    await h.om.sync.modified(oid, price=Decimal("2405"))
    old = replace(report, price=Decimal("2400"), timestamp=utcnow() + timedelta(seconds=1))
    h.om.sync._on_update(BrokerUpdate(orders=(old,)))
    h.om.sync._on_update(BrokerUpdate(orders=(old,)))  # grouped
    await h.om.sync.drain()
    assert h.db.journal.get(oid).price == Decimal("2405")


async def test_acknowledge_and_insert_pending_between_groups(paper_oms):
    """Orders placed while resting orders fill in groups: every order journaled, acked and
    filled once; memory = journal."""
    h = paper_oms
    first = await _resting(h, 3)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))  # queued, not yet applied
    more = [
        await h.om.place_order(limit(qty=1, price="2380", side=OrderSide.SELL)) for _ in range(3)
    ]
    await h.om.sync.drain()
    ids = [o.id for o in first] + [r.order_id for r in more]
    _assert_memory_is_the_journal(h, ids)
    assert h.count("trades") == 6
    assert (await h.pm.get_position("RELIANCE")).quantity == 27


@pytest.mark.parametrize("n_threads", [8])
def test_utc_text_cache_is_correct_across_threads(n_threads):
    """The cache (two entries) is swapped as a tuple: concurrent callers with different
    datetimes (incl. non-UTC zones) always get their own value's text."""
    ist = timezone(timedelta(hours=5, minutes=30))
    base = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    values = [base + timedelta(microseconds=i) for i in range(50)] + [
        (base + timedelta(seconds=i)).astimezone(ist) for i in range(50)
    ]
    wrong = []

    def work(seed):
        for k in range(4000):
            v = values[(seed * 7 + k) % len(values)]
            if utc_text(v) != _utc_text(v):
                wrong.append(v)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
    assert utc_text(base.astimezone(ist)) == "2026-01-02T03:04:05.678901+00:00"
    with pytest.raises(ValueError, match="naive"):
        utc_text(datetime(2026, 1, 1))
