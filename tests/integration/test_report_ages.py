"""Order reports arrive late and out of order (a poll's snapshot taken before a modify,
a backlog of pushed updates). A report older than one already applied, or showing the
terms from before our own modify, must not put the old price back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.oms.sync import report_terms
from tests.helpers import limit


async def _resting(h):
    result = await h.om.place_order(limit(qty=10, price="2400"))
    (report,) = [r for r in await h.broker.orders() if r.client_order_id]
    return result.order_id, report


async def _push(h, *reports):
    h.om.sync._on_update(BrokerUpdate(orders=tuple(reports), trades=()))
    await h.om.sync.drain()


async def test_a_snapshot_from_before_our_modify_does_not_revert_it(paper_oms):
    h = paper_oms
    order_id, before_modify = await _resting(h)
    await h.om.modify_order(order_id, price=D("2405.05"))
    await _push(h, before_modify)  # a poll's snapshot taken before the modify, applied after
    assert h.om.sync.current(order_id).price == D("2405.05")
    assert h.db.journal.get(order_id).price == D("2405.05")


async def test_reports_not_yet_showing_our_modify_do_not_revert_it(paper_oms):
    """Accepted by the broker, but its next reports still show the old terms (timestamps
    are newer: another field changed, or the broker's clock)."""
    h = paper_oms
    order_id, report = await _resting(h)
    await h.om.sync.modified(order_id, price=D("2399"))
    lagging = replace(report, timestamp=report.timestamp + timedelta(seconds=1))
    await _push(h, lagging)
    assert h.om.sync.current(order_id).price == D("2399")
    confirmed = replace(lagging, price=D("2399"), timestamp=lagging.timestamp)
    await _push(h, confirmed)
    outside = replace(confirmed, price=D("2398"), timestamp=lagging.timestamp)
    await _push(h, outside)  # after the confirmation, changes made elsewhere are taken
    assert h.om.sync.current(order_id).price == D("2398")


async def test_an_older_report_never_overrides_a_newer_one(paper_oms):
    h = paper_oms
    order_id, report = await _resting(h)
    newer = replace(report, price=D("2410"), timestamp=report.timestamp + timedelta(seconds=2))
    older = replace(report, price=D("2390"), timestamp=report.timestamp + timedelta(seconds=1))
    await _push(h, newer)  # modified outside the app (e.g. Kite web): taken
    assert h.om.sync.current(order_id).price == D("2410")
    await _push(h, older)
    assert h.om.sync.current(order_id).price == D("2410")
    same_second = replace(newer, quantity=15)
    await _push(h, same_second)  # same timestamp (Kite: 1 s resolution): still taken
    assert h.om.sync.current(order_id).quantity == 15


async def test_the_brokers_terms_win_once_the_modify_is_confirmed_or_too_old(
    paper_oms, monkeypatch
):
    h = paper_oms
    order_id, report = await _resting(h)
    await h.om.modify_order(order_id, price=D("2405.05"))
    # The broker (paper) pushed its confirmation: later outside changes are taken again.
    later = replace(report, price=D("2395"), timestamp=report.timestamp + timedelta(seconds=5))
    await _push(h, later)
    assert h.om.sync.current(order_id).price == D("2395")
    # A modify the broker never shows: after MODIFY_CONFIRM_S its terms win.
    monkeypatch.setattr(report_terms, "MODIFY_CONFIRM_S", 0.0)
    await h.om.sync.modified(order_id, price=D("2399"))
    latest = replace(later, price=D("2396"), timestamp=later.timestamp + timedelta(seconds=1))
    await _push(h, latest)
    assert h.om.sync.current(order_id).price == D("2396")
