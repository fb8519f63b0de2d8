"""Reconciliation finds each kind of mismatch, logs it, and trusts the broker."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from desktop_oms.domain import Product
from desktop_oms.domain.events import ReconciliationMismatchFound
from tests.helpers import limit

D = Decimal


def _log(h):
    with h.db.read() as conn:
        return conn.execute(
            text(
                "SELECT kind, symbol, local_quantity, broker_quantity FROM reconciliation_log ORDER BY id"
            )
        ).all()


async def test_in_sync_finds_nothing(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=5, price="2450"))
    result = await h.om.reconcile_positions()
    assert result.ok and _log(h) == []


async def test_unknown_position_is_adopted(paper_oms):
    h = paper_oms
    h.broker.set_position("NSE", "INFY", Product.CNC, 7, D("1490"))
    result = await h.om.reconcile_positions()
    assert [m.kind for m in result.mismatches] == ["unknown_position"]
    pos = await h.pm.get_position("INFY", "NSE", Product.CNC)
    assert pos.quantity == 7 and pos.average_price == D("1490")
    assert _log(h) == [("unknown_position", "INFY", 0, 7)]
    assert any(isinstance(e, ReconciliationMismatchFound) for e in h.recorded)


async def test_quantity_mismatch_trusts_broker(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))
    h.broker.set_position("NSE", "RELIANCE", Product.MIS, 6, D("2450"))
    result = await h.om.reconcile_positions()
    assert [m.kind for m in result.mismatches] == ["quantity_mismatch"]
    assert (await h.pm.get_position("RELIANCE")).quantity == 6
    assert _log(h) == [("quantity_mismatch", "RELIANCE", 10, 6)]
    assert (await h.om.reconcile_positions()).ok  # fixed for good


async def test_phantom_position_is_closed(paper_oms):
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450"))
    h.broker.clear_position("NSE", "RELIANCE", Product.MIS)
    result = await h.om.reconcile_positions()
    assert [m.kind for m in result.mismatches] == ["phantom_position"]
    pos = await h.pm.get_position("RELIANCE")
    assert pos.quantity == 0
    assert _log(h) == [("phantom_position", "RELIANCE", 10, 0)]


async def test_start_up_reconciliation_runs_before_trading(paper_oms):
    h = paper_oms
    await h.om.stop()
    h.broker.set_position("NSE", "TCS", Product.NRML, 4, D("3900"))
    await h.om.start()
    assert h.om.ready
    assert (await h.pm.get_position("TCS", "NSE")).quantity == 4


async def test_order_placed_outside_the_app_is_not_journaled_but_its_position_is_reconciled(
    paper_oms,
):
    from datetime import UTC, datetime

    from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Validity, Variety

    h = paper_oms
    await h.om.place_order(limit(qty=1, price="2400"))  # keeps the monitor polling
    now = datetime.now(UTC)
    web_order = Order(
        id=0,
        client_order_id="KITEWEB1",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=3,
        price=None,
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    await h.broker.place_order(web_order)
    await h.om.sync._poll()
    await h.om.sync._poll()
    assert h.count("orders") == 1  # only ours
    assert (await h.pm.get_position("INFY")) is None
    result = await h.om.reconcile_positions()
    assert [m.kind for m in result.mismatches] == ["unknown_position"]
    assert (await h.pm.get_position("INFY")).quantity == 3
