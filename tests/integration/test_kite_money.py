"""Issue 14: where the Kite adapter disagrees with Kite on money, each through the real
`kiteconnect` client against the Kite test server taught to behave as Kite documents
(tests/kite_server; its rules are pinned by test_kite_server_fidelity.py).

Items 1 (MCX/CDS multipliers), 2 (protected MARKET orders), 4 (orders live at Kite marked
REJECTED), 5 (stale queued orders) and 6 (exponent prices). Items 3 and 7 are in
test_kite_session_rules.py, the paper broker's share in test_paper_kite_rules.py.

A test marked xfail(strict=True) fails today for the reason in its marker and must pass
once that item is fixed (then the marker goes).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from kiteconnect import exceptions as kex

from desktop_oms.brokers.errors import BrokerRateLimited
from desktop_oms.brokers.kite.contracts import bundled_contract_multipliers
from desktop_oms.brokers.kite.failures import Failure, classify_failure
from desktop_oms.domain import (
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
)
from desktop_oms.oms import OrderRejected
from tests.helpers import limit, until
from tests.kite_server import KiteTestServer
from tests.kite_server.apps import KiteOms, start_kite_app, stream_price
from tests.kite_server.helpers import make_broker, make_order

PLACE = "/orders/regular"
D = Decimal
EQ = "EMMBI-BL"  # an NSE equity in Zerodha's mock instruments dump (tick 0.05)


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", "INFY", "1500")
        s.set_price("NSE", EQ, "100")
        yield s


@pytest.fixture
async def broker(server):
    b = make_broker(server)
    await b.start()
    yield b
    await b.close()


@pytest.fixture
async def kite_oms(tmp_path, server):
    h = await KiteOms.open(tmp_path, server)
    yield h
    await h.close()


def mcx(symbol: str, side: OrderSide = OrderSide.BUY, qty: int = 1, price: str = "161.05"):
    return limit(symbol, side=side, qty=qty, price=price, exchange="MCX", product=Product.NRML)


async def filled(app, server, request, price) -> int:
    """Place through the app, fill the whole order at Kite, wait for the journal."""
    result = await app.order_manager.place_order(request)
    server.book.fill(result.broker_order_id, price=price)
    await until(lambda: app.order_manager.sync.current(result.order_id) is None, timeout=5)
    return result.order_id


# ============================================================================ item 1: MCX/CDS


async def test_mcx_and_cds_instruments_carry_the_contract_multiplier(server, broker):
    lead = server.add_contract("LEADMINI")
    usdinr = server.add_contract("USDINR")
    instruments = {i.symbol: i for i in await broker.instruments()}
    assert instruments[lead].lot_size == 1 and instruments[usdinr].lot_size == 1
    assert instruments[lead].multiplier == D("1000")  # 1 MT quoted per kg
    assert instruments[usdinr].multiplier == D("1000")  # 1,000 USD quoted per USD


async def test_mcx_round_trip_realizes_what_kite_shows(tmp_path, server):
    lead = server.add_contract("LEADMINI")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161.05")
        await filled(app, server, mcx(lead), "161.05")
        await stream_price(app, server, "MCX", lead, "150")
        await filled(app, server, mcx(lead, OrderSide.SELL, price="150"), "150")
        [kite_row] = [p for p in server.book.positions()["net"] if p["tradingsymbol"] == lead]
        assert D(str(kite_row["realised"])) == D("-11050")  # Kite's own figure
        position = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        assert position.quantity == 0
        assert position.realized_pnl == D("-11050.00")
        assert app.pnl_now().realized_pnl == D("-11050.00")
    finally:
        await app.stop()


async def test_mcx_order_value_counts_the_contract_multiplier(tmp_path, server):
    lead = server.add_contract("LEADMINI")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161")
        # 4 lots x 161 x 1000 = 644,000 > the default 500,000 fat-finger limit
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(mcx(lead, qty=4, price="161"))
        assert refused.value.failed_check == "max_order_value"
        assert server.count("POST", PLACE) == 0
    finally:
        await app.stop()


async def test_mcx_loss_trips_the_daily_loss_limit(tmp_path, server):
    lead = server.add_contract("LEADMINI")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161.05")
        await filled(app, server, mcx(lead, qty=3), "161.05")
        # 3 x (141.00 - 161.05) x 1000 = -60,150: beyond 6% of the 1,000,000 capital
        await stream_price(app, server, "MCX", lead, "141")
        await until(lambda: app.order_manager.halted, timeout=5)
    finally:
        await app.stop()


async def test_a_fill_never_overwrites_kites_multiplier_with_1(tmp_path, server):
    lead = server.add_contract("LEADMINI", price="161.05")
    # Bought on Kite web before the app started: not ours, but a position Kite reports.
    outside = server.book.place(
        "regular",
        {
            "exchange": "MCX",
            "tradingsymbol": lead,
            "transaction_type": "BUY",
            "quantity": "1",
            "product": "NRML",
            "order_type": "LIMIT",
            "price": "161.05",
        },
    )
    server.book.fill(outside["order_id"])
    app = await start_kite_app(tmp_path, server)
    try:
        held = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        assert (held.quantity, held.multiplier) == (1, D("1000"))  # reconciled from Kite
        await stream_price(app, server, "MCX", lead, "150")
        await filled(app, server, mcx(lead, OrderSide.SELL, price="150"), "150")
        closed = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        assert closed.multiplier == D("1000")
        assert closed.quantity == 0 and closed.realized_pnl == D("-11050.00")
    finally:
        await app.stop()


async def test_a_contract_missing_from_the_table_takes_kites_multiplier(tmp_path, server):
    """Kite's positions carry the multiplier: a contract the bundled table does not name
    takes it for order value and risk, and its fills never fall back to 1."""
    mentha = server.add_contract("MENTHAOIL", price="950")
    table = bundled_contract_multipliers()
    assert table.multiplier("MCX", "MENTHAOIL", date.today()) is None
    outside = server.book.place(  # bought on Kite web before the app started
        "regular",
        {
            "exchange": "MCX",
            "tradingsymbol": mentha,
            "transaction_type": "BUY",
            "quantity": "2",
            "product": "NRML",
            "order_type": "LIMIT",
            "price": "950",
        },
    )
    server.book.fill(outside["order_id"])
    app = await start_kite_app(tmp_path, server)
    try:
        held = await app.position_manager.get_position(mentha, "MCX", Product.NRML)
        assert (held.quantity, held.multiplier) == (2, D("360"))
        assert app.instruments.get("MCX", mentha).multiplier == D("360")  # learned
        await stream_price(app, server, "MCX", mentha, "950")
        # 2 lots x 950 x 360 = 684,000 > the 500,000 fat-finger limit
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(mcx(mentha, qty=2, price="950"))
        assert refused.value.failed_check == "max_order_value"
        await stream_price(app, server, "MCX", mentha, "940")
        await filled(app, server, mcx(mentha, OrderSide.SELL, price="940"), "940")
        after = await app.position_manager.get_position(mentha, "MCX", Product.NRML)
        assert (after.quantity, after.multiplier) == (1, D("360"))
        assert after.realized_pnl == D("-3600.00")  # 1 x (940 - 950) x 360
    finally:
        await app.stop()


async def test_a_position_journaled_with_multiplier_1_takes_kites(tmp_path, server):
    """A position journaled before the app knew MCX multipliers says 1: the next
    reconciliation takes Kite's (the quantities agree, the multiplier does not)."""
    lead = server.add_contract("LEADMINI")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161.05")
        await filled(app, server, mcx(lead), "161.05")
        held = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        app.db.positions.upsert(replace(held, multiplier=D(1)))  # as an older version kept it
    finally:
        await app.stop()
    app = await start_kite_app(tmp_path, server)
    try:
        held = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        assert (held.quantity, held.multiplier) == (1, D("1000"))
        await stream_price(app, server, "MCX", lead, "160.05")
        await until(
            lambda: app.pnl_now().unrealized_pnl == D("-1000.00"), timeout=5
        )  # 1 x (160.05 - 161.05) x 1000
    finally:
        await app.stop()


async def test_an_mcx_order_draws_on_the_commodity_segment(tmp_path, server):
    """Kite keeps MCX margin in its commodity segment: the margin check reads that one."""
    lead = server.add_contract("LEADMINI")
    server.margins["commodity"]["net"] = 1000  # Kite's order margin for it: 1,498
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161")
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(mcx(lead, price="161"))
        assert refused.value.failed_check == "margin"
        server.margins["commodity"]["net"] = 100000
        server.margins["equity"]["net"] = 10  # the equity segment does not matter
        result = await app.order_manager.place_order(mcx(lead, price="161"))
        assert result.broker_order_id is not None
    finally:
        await app.stop()


# ================================================================= item 2: protected MARKET


async def test_kite_reports_a_protected_market_order_as_a_limit(server, broker):
    """Already right at the adapter's edge: the report follows Kite's row (LIMIT)."""
    order_id = await broker.place_order(make_order(order_type=OrderType.MARKET, price=None))
    [report] = await broker.orders()
    assert report.broker_order_id == order_id
    assert (report.order_type, report.price) == (OrderType.LIMIT, D("1530"))


async def test_protected_market_exit_can_be_repriced(tmp_path, server):
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        await filled(app, server, limit(EQ, qty=5, price="100"), "100")
        outcome = await app.order_manager.exit_position("NSE", EQ, Product.MIS)
        assert outcome.order_id is not None and outcome.sent_quantity == 5
        exit_id = outcome.order_id
        [row] = [o for o in server.book.order_list() if o["transaction_type"] == "SELL"]
        assert (row["order_type"], row["price"], row["tags"][-2]) == ("LIMIT", 98, "mktp")
        # The market ran past the band: the trader reprices the protected exit.
        await until(
            lambda: app.order_manager.sync.current(exit_id).order_type is OrderType.LIMIT,
            timeout=3,
        )
        journal = await app.order_manager.get_order(exit_id)
        assert journal.price == D("98")
        modified = await app.order_manager.modify_order(exit_id, price=D("97.50"))
        assert modified.price == D("97.50")
        assert server.book.orders[row["order_id"]]["price"] == 97.5
    finally:
        await app.stop()


async def test_the_trader_is_told_the_market_order_is_now_a_protected_limit(kite_oms):
    h = kite_oms
    result = await h.om.place_order(
        OrderRequest(
            symbol=EQ,
            exchange="NSE",
            side=OrderSide.BUY,
            quantity=5,
            order_type=OrderType.MARKET,
            product=Product.MIS,
            validity=Validity.DAY,
        )
    )
    await until(lambda: h.om.sync.latest(result.order_id).order_type is OrderType.LIMIT, timeout=5)
    order = await h.om.get_order(result.order_id)
    assert order.price == D("102")  # 100 + Kite's automatic 2%
    note = "the broker made this MARKET order a protected LIMIT at 102 (market protection 2.00%)"
    assert order.status_message.startswith(note)
    [adopted] = [
        e for e in await h.om.get_order_events(result.order_id) if e.event_type == "TERMS_ADOPTED"
    ]
    assert adopted.reason.startswith(note) and "order type MARKET -> LIMIT" in adopted.reason


# ============================================================ item 4: live at Kite, REJECTED


def test_an_order_exception_400_stays_a_rejection():
    """Already right, and must stay so: Kite's 4xx refusals are definite; only the code
    tells them apart from a 500, pykiteconnect's default for OrderException."""
    assert kex.OrderException("x").code == 500
    assert classify_failure(kex.OrderException("x", code=400)).failure is Failure.REJECTED


async def test_order_exception_500_with_the_order_placed_is_found_by_tag(server, broker):
    order = make_order()
    server.order_exception_next(process=True)  # Kite placed it, then answered 500
    order_id = await broker.place_order(order)
    [row] = server.book.by_tag(order.client_order_id)
    assert order_id == row["order_id"]
    assert server.count("POST", PLACE) == 1  # looked up, never resent


async def test_oms_keeps_an_order_kite_placed_despite_an_order_exception_500(kite_oms):
    h = kite_oms
    h.server.order_exception_next(process=True)
    result = await h.om.place_order(limit(EQ, qty=5, price="99"))
    [row] = h.server.book.by_tag(result.client_order_id)
    await until(lambda: h.om.sync.current(result.order_id) is not None, timeout=1)
    await until(
        lambda: h.om.sync.current(result.order_id).broker_order_id == row["order_id"], timeout=5
    )
    # Acknowledged as SUBMITTED by the look-up; the next poll reads it OPEN at Kite.
    await until(lambda: h.om.sync.latest(result.order_id).status is OrderStatus.OPEN, timeout=5)
    assert OrderStatus.REJECTED not in h.statuses(result.order_id)


async def test_an_order_that_turns_up_late_becomes_live_and_cancellable(kite_oms):
    h = kite_oms
    # Kite's book shows it only after 3 s: past the adapter's look-ups by tag and the
    # OMS's grace for an unknown outcome.
    h.server.book.visibility_delay = 3.0
    h.server.drop_next("POST", PLACE, process=True)  # accepted; the answer is lost
    result = await h.om.place_order(limit(EQ, qty=5, price="99"))
    assert result.status is OrderStatus.PENDING
    [row] = h.server.book.by_tag(result.client_order_id)
    await until(lambda: h.server.book.order_list(), timeout=6)  # Kite shows it now
    with contextlib.suppress(AssertionError):  # the journal gets a few polls to see it
        await until(lambda: h.om.sync.latest(result.order_id).status is OrderStatus.OPEN, timeout=3)
    order = await h.om.get_order(result.order_id)
    assert (order.status, order.broker_order_id) == (OrderStatus.OPEN, row["order_id"])
    assert OrderStatus.REJECTED not in h.statuses(result.order_id)  # never terminal meanwhile
    await h.om.cancel_order(result.order_id)
    assert h.server.book.orders[row["order_id"]]["status"] == "CANCELLED"


async def test_kill_switch_cancels_every_live_order_with_our_tag_prefix(tmp_path, server):
    app = await start_kite_app(tmp_path, server)
    try:
        om = app.order_manager
        om.unknown_outcome_grace = 0.3
        await stream_price(app, server, "NSE", EQ, "100")
        server.book.visibility_delay = 4.0  # past the 4 look-ups by tag (2 s) and the grace
        server.drop_next("POST", PLACE, process=True)
        result = await om.place_order(limit(EQ, qty=5, price="99"))
        [row] = server.book.by_tag(result.client_order_id)
        await until(lambda: server.book.order_list(), timeout=6)  # live at Kite now
        await app.kill_switch.engage("test", flatten=False)
        assert server.book.orders[row["order_id"]]["status"] == "CANCELLED"
    finally:
        await app.stop()


# ================================================================= item 5: stale queued orders


async def test_queued_orders_never_leave_later_than_the_wait_limit(server):
    broker = make_broker(server, order_wait_limit=1.5)
    try:
        asked = time.monotonic()
        results = await asyncio.gather(
            *(broker.place_order(make_order()) for _ in range(30)), return_exceptions=True
        )
        sent = [r.at - asked for r in server.http.requests if r.method == "POST"]
        refused = [r for r in results if isinstance(r, BrokerRateLimited)]
        assert server.http.rate_limited == 0  # Kite's 10/s was never exceeded
        assert max(sent) <= 1.5 + 0.3, f"an order left {max(sent):.2f} s after it was asked"
        assert len(refused) + len(sent) == 30 and refused
        assert all("rate limit" in r.message for r in refused)
    finally:
        await broker.close()


async def test_a_cancel_waits_its_turn_however_long(server):
    """A cancel never goes stale: past the wait limit it still goes, in its turn."""
    broker = make_broker(server, order_wait_limit=0.1)
    try:
        order_id = await broker.place_order(make_order())
        broker.order_limiter.record(10)  # the second is full: the next slot is ~1 s away
        asked = time.monotonic()
        await broker.cancel_order(order_id)
        assert time.monotonic() - asked >= 0.8
        assert server.book.orders[order_id]["status"] == "CANCELLED"
        assert server.http.rate_limited == 0
    finally:
        await broker.close()


async def test_twenty_sixth_modification_is_refused_before_reaching_kite(kite_oms):
    """Already right: the OMS counts modifications and stops at Kite's 25."""
    h = kite_oms
    h.server.http.order_limits = []  # 26 modifications in a row; only the count matters
    result = await h.om.place_order(limit(EQ, qty=5, price="90"))
    for n in range(25):
        await h.om.modify_order(result.order_id, price=D(91 + n) / 2)
    from desktop_oms.oms import OrderNotModifiable

    with pytest.raises(OrderNotModifiable, match="25 modifications"):
        await h.om.modify_order(result.order_id, price=D("80"))
    assert h.server.book.modifications(result.broker_order_id) == 25
    assert h.server.count("PUT", rf"{PLACE}/\d+") == 25


# ================================================================== item 6: exponent prices

_PLAIN = re.compile(r"\d+(\.\d+)?")


async def test_place_sends_plain_decimals(server, broker):
    await broker.place_order(make_order(price=D("1E+3")))
    assert server.form_of_last("POST", PLACE)["price"] == "1000"
    await broker.place_order(
        make_order(
            side=OrderSide.SELL,
            order_type=OrderType.SL,
            price=D("0.99E+3"),
            trigger_price=D("1.00E+3"),
        )
    )
    sent = server.form_of_last("POST", PLACE)
    assert (sent["price"], sent["trigger_price"]) == ("990", "1000")


async def test_modify_sends_plain_decimals(server, broker):
    order_id = await broker.place_order(
        make_order(order_type=OrderType.SL, price="1400", trigger_price="1390")
    )
    await broker.modify_order(order_id, price=D("1.5E+3"), trigger_price=D("1.49E+3"))
    sent = server.form_of_last("PUT", f"{PLACE}/{order_id}")
    assert _PLAIN.fullmatch(sent["price"]) and _PLAIN.fullmatch(sent["trigger_price"])
    assert (D(sent["price"]), D(sent["trigger_price"])) == (D("1500"), D("1490"))
