"""Defects the bracket crash suite found (issue 18), each as one deterministic scene.

The random suite (test_crash_recovery.py::test_brackets_survive_random_kills, bracket
mode of crash_child) found them; here each is reduced to the few steps that show it, on
the paper broker, without the fork and the SIGKILL: "the app is closed" is the OMS
stopped, "the crash lost the broker's answer" is the broker's state changed while it is
stopped (the state a SIGKILL after the broker call and before the journal write leaves).
They were strict xfails until the fixes: terms of a report before its trades
(oms/sync/order_sync.py), no reconciliation of a position with an order in flight
(oms/reconcile/reconciler.py), the bracket's notes with the status after the call
(risk/brackets/manager.py).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.marketdata.instruments import load_bundled_instruments
from tests.helpers import until
from tests.integration.test_risk_harness import rig
from tests.reliability.conftest import Oms, truth_from_paper_live
from tests.reliability.crash_harness import audit, bracket_problems

D = Decimal


def sell_limit(quantity: int, price: str, symbol: str = "SBIN") -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        exchange="NSE",
        side=OrderSide.SELL,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=D(price),
        product=Product.MIS,
    )


async def broker_report(broker, broker_order_id: str):
    [report] = [r for r in await broker.orders() if r.broker_order_id == broker_order_id]
    return report


async def test_an_order_enlarged_at_the_broker_then_partly_filled_while_closed_stays_working(
    paper_oms,
):
    """Kite web (or our own modify whose answer a crash lost) raises an order from 9 to
    12 while the app is closed, and the exchange fills 9 of it. At start-up the journal
    must show what the broker has: 12, 9 filled, 3 still working — not FILLED 9/9."""
    oms, broker = paper_oms, paper_oms.broker
    broker.set_last_price("NSE", "SBIN", D("972"))
    placed = await oms.om.place_order(sell_limit(9, "980"))
    order = await oms.om.get_order(placed.order_id)
    assert order.status is OrderStatus.OPEN
    await oms.close()
    await broker.modify_order(order.broker_order_id, quantity=12)
    broker.fill(order.broker_order_id, 9)
    report = await broker_report(broker, order.broker_order_id)
    assert (report.status, report.quantity, report.filled_quantity) == (
        OrderStatus.PARTIALLY_FILLED, 12, 9,
    )  # fmt: skip
    await oms.open()
    await oms.settle()
    after = await oms.om.get_order(order.id)
    assert (after.status, after.quantity, after.filled_quantity) == (
        OrderStatus.PARTIALLY_FILLED, 12, 9,
    )  # fmt: skip
    assert oms.om.live_order(order.id) is not None  # shown working, cancellable


async def test_a_grown_stop_filled_in_part_while_away_is_not_placed_again(tmp_path):
    """Found by the bracket crash suite (seed 62026: killed at stop_modified, the exchange
    filled part of the stop while no OMS ran). The entry BUY 12 fills 9, the stop rests
    for 9; the entry fills 3 more, the bracket grows the stop to 12 at the broker and the
    app dies before journaling the answer; the stop fills 9 while the app is away. After
    the restart one stop must work for the 3 held — never two, never a reversal."""
    r = await rig(tmp_path)
    entry_id = (
        await r.om.place_order(
            OrderRequest(
                symbol="SBIN",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=12,
                order_type=OrderType.LIMIT,
                price=D("799"),
                product=Product.MIS,
                stop_loss=D("790"),
            )  # fmt: skip
        )
    ).order_id
    entry = await r.om.get_order(entry_id)
    r.broker.fill(entry.broker_order_id, 9)
    await until(lambda: r.position("SBIN") == 9)
    await r.brackets.settle()
    [stop] = [o for o in r.om.live_orders() if o.parent_order_id == entry_id]
    assert (stop.order_type, stop.quantity) == (OrderType.SL_M, 9)
    await r.close()
    # What the crash left at the broker, and what the exchange did while no app ran.
    r.broker.fill(entry.broker_order_id, 3)
    await r.broker.modify_order(stop.broker_order_id, quantity=12)
    r.broker.fill(stop.broker_order_id, 9, "790")
    await r.open()
    try:
        await until(lambda: r.position("SBIN") == 3)
        await r.brackets.settle()
        working = [
            (o.quantity - o.filled_quantity)
            for o in await r.broker_open_orders()
            if o.symbol == "SBIN" and o.side is OrderSide.SELL
        ]
        assert sum(working) == 3, f"exits working at the broker for {working}, 3 held"
        r.broker.set_last_price("NSE", "SBIN", D("789"))  # through the stop
        await r.brackets.settle()
        assert (await r.broker_positions()).get(("SBIN", Product.MIS), 0) == 0
    finally:
        await r.close()


async def test_the_brackets_audit_notes_tell_the_orders_true_status(tmp_path):
    """The target is reached: the stop is cancelled, its note "cancelled by the bracket"
    is journaled. Every event of the order's story starts from the status it had then
    (the crash suite's strict audit of the journal)."""
    r = await rig(tmp_path)
    try:
        r.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        entry = await r.om.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=10,
                order_type=OrderType.LIMIT,
                price=D("2450"),
                product=Product.MIS,
                stop_loss=D("2430"),
                take_profit=D("2490"),
            )  # fmt: skip
        )
        await r.brackets.settle()
        r.broker.set_last_price("NSE", "RELIANCE", D("2491"))
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        [stop] = [
            o for o in await r.om.list_orders()
            if o.parent_order_id == entry.order_id and o.order_type is OrderType.SL_M
        ]  # fmt: skip
        assert stop.status is OrderStatus.CANCELLED
        truth = await truth_from_paper_live(r.broker)
        problems, _ = audit(Path(tmp_path) / "oms.db", truth, strict=True)
        assert problems == []
        more, _ = bracket_problems(Path(tmp_path) / "oms.db", truth)
        assert more == []
    finally:
        await r.close()


async def test_reconciliation_while_an_order_is_in_flight_does_not_count_its_fill_twice(
    paper_oms,
):
    """Found by the bracket crash soak (seed 202, INFY of the plain stream): the periodic
    reconciliation ran while a MARKET order's answer was on its way — the broker had
    filled it, the journal had it PENDING. Here the reconciliation runs at that moment."""
    oms, broker = paper_oms, paper_oms.broker
    buy = OrderRequest(
        symbol="INFY", exchange="NSE", side=OrderSide.BUY, quantity=5,
        order_type=OrderType.MARKET, product=Product.MIS,
    )  # fmt: skip
    await oms.om.place_order(buy)
    place = broker.place_order

    async def place_then_reconcile(order):
        broker_order_id = await place(order)  # accepted and filled at the exchange
        await oms.om.reconcile_positions()  # the periodic reconciliation, meanwhile
        return broker_order_id

    broker.place_order = place_then_reconcile
    await oms.om.place_order(replace(buy, quantity=3))
    broker.place_order = place
    await oms.settle()
    assert oms.pm.peek("NSE", "INFY", Product.MIS).quantity == 8
    figures = await oms.audit()  # no reconciliation had to fix the journal
    assert figures["trades"] == 2


async def test_the_bracket_audit_sees_a_doubled_and_an_unprotected_position(tmp_path):
    """The crash suite's bracket checks fail when they should (a negative control): a
    stop cancelled behind the bracket's back leaves the position unprotected, a second
    exit filled beyond the entry reverses it."""
    instruments = load_bundled_instruments()
    r = await rig(tmp_path)
    try:
        entry_id = (
            await r.om.place_order(
                OrderRequest(
                    symbol="SBIN",
                    exchange="NSE",
                    side=OrderSide.BUY,
                    quantity=5,
                    order_type=OrderType.LIMIT,
                    price=D("800"),
                    product=Product.MIS,
                    stop_loss=D("790"),
                )  # fmt: skip
            )
        ).order_id
        await r.brackets.settle()
        [stop] = [o for o in r.om.live_orders() if o.parent_order_id == entry_id]
        db = Path(tmp_path) / "oms.db"
        problems, figures = bracket_problems(db, await truth_from_paper_live(r.broker))
        assert problems == [] and figures["protected_positions"] == 1
        await r.close()
        # The stop is cancelled at the broker while the bracket does not run: unprotected.
        await r.broker.cancel_order(stop.broker_order_id)
        oms = Oms(path=tmp_path, broker=r.broker, instruments=instruments)
        await oms.open()
        await oms.settle()
        problems, _ = bracket_problems(db, await truth_from_paper_live(r.broker))
        assert any(p.startswith("UNPROTECTED: NSE:SBIN:MIS") for p in problems), problems
        # A bracket exit sold 8 against the entry's 5: doubled (the position is short 3).
        await oms.om.place_order(
            OrderRequest(
                symbol="SBIN",
                exchange="NSE",
                side=OrderSide.SELL,
                quantity=8,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                parent_order_id=entry_id,
                source="bracket",
            )  # fmt: skip
        )
        await oms.settle()
        problems, _ = bracket_problems(db, await truth_from_paper_live(r.broker))
        assert any(p.startswith("DOUBLED: bracket #") for p in problems), problems
        assert any("the other side of its BUY brackets" in p for p in problems), problems
        await oms.close()
    finally:
        if not r.db.closed:
            await r.close()
