"""Issue 14, "done when": a trader's MCX round trip, a protected market exit repriced and
a cancel during a refused socket all work in the app - the whole Application on
`--broker kite` (its OMS, sync and stream) against the Kite test server, through the real
`kiteconnect` client."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desktop_oms.brokers.kite.stream.stream import StreamState
from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.oms import OrderRejected
from tests.helpers import limit, until
from tests.kite_server import KiteTestServer
from tests.kite_server.apps import start_kite_app, stream_price

D = Decimal
EQ = "EMMBI-BL"  # an NSE equity in Zerodha's mock instruments dump (tick 0.05)


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", EQ, "100")
        yield s


async def settled(app, order_id: int) -> None:
    await until(lambda: app.order_manager.sync.current(order_id) is None, timeout=5)


async def test_an_mcx_round_trip_closed_by_a_protected_market_exit(tmp_path, server):
    """BUY 1 LEADMINI at 161.05, exit at market when it trades at 150: Kite makes the exit
    a protected LIMIT (mktp) below 150; it fills at 150 and the app realizes what Kite
    shows, -11,050 (1 lot x 11.05 x the contract's 1000)."""
    lead = server.add_contract("LEADMINI")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "MCX", lead, "161.05")
        entry = await app.order_manager.place_order(
            limit(lead, qty=1, price="161.05", exchange="MCX", product=Product.NRML)
        )
        server.book.fill(entry.broker_order_id, price="161.05")
        await settled(app, entry.order_id)
        await stream_price(app, server, "MCX", lead, "150")
        outcome = await app.order_manager.exit_position("MCX", lead, Product.NRML)
        [row] = [o for o in server.book.order_list() if o["transaction_type"] == "SELL"]
        assert row["order_type"] == "LIMIT" and "mktp" in row["tags"]
        assert D(str(row["price"])) < D("150")  # the protection below the market
        server.book.fill(row["order_id"], price="150")
        await settled(app, outcome.order_id)
        exit_order = await app.order_manager.get_order(outcome.order_id)
        assert (exit_order.status, exit_order.order_type, exit_order.sent_type) == (
            OrderStatus.FILLED,
            OrderType.LIMIT,
            OrderType.MARKET,
        )
        [kite_row] = [p for p in server.book.positions()["net"] if p["tradingsymbol"] == lead]
        assert D(str(kite_row["realised"])) == D("-11050")
        position = await app.position_manager.get_position(lead, "MCX", Product.NRML)
        assert (position.quantity, position.realized_pnl) == (0, D("-11050.00"))
    finally:
        await app.stop()


async def test_a_protected_market_exit_repriced_fills_and_is_remembered(tmp_path, server):
    """The exit ran past its protection band and rests: the trader reprices it, it fills,
    the position is flat, and after a restart the journal still knows it was sent at
    market (`protected_from`)."""
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        entry = await app.order_manager.place_order(limit(EQ, qty=5, price="100"))
        server.book.fill(entry.broker_order_id, price="100")
        await settled(app, entry.order_id)
        outcome = await app.order_manager.exit_position("NSE", EQ, Product.MIS)
        exit_id = outcome.order_id
        [row] = [o for o in server.book.order_list() if o["transaction_type"] == "SELL"]
        assert (row["order_type"], row["price"]) == ("LIMIT", 98)
        await stream_price(app, server, "NSE", EQ, "96")  # past the band: it rests
        await until(
            lambda: app.order_manager.sync.current(exit_id).protected_from is OrderType.MARKET,
            timeout=5,
        )
        modified = await app.order_manager.modify_order(exit_id, price=D("95.50"))
        assert modified.price == D("95.50")
        assert server.book.orders[row["order_id"]]["price"] == 95.5
        server.book.fill(row["order_id"], price="96")
        await settled(app, exit_id)
        done = await app.order_manager.get_order(exit_id)
        assert (done.status, done.filled_quantity, done.price) == (
            OrderStatus.FILLED,
            5,
            D("95.50"),
        )
        assert (await app.position_manager.get_position(EQ)).quantity == 0
    finally:
        await app.stop()
    again = await start_kite_app(tmp_path, server)
    try:
        kept = await again.order_manager.get_order(exit_id)
        assert (kept.order_type, kept.protected_from, kept.sent_type, kept.side) == (
            OrderType.LIMIT,
            OrderType.MARKET,
            OrderType.MARKET,
            OrderSide.SELL,
        )
    finally:
        await again.stop()


async def test_a_cancel_while_the_socket_stays_refused(tmp_path, server):
    """Every handshake refused (403) while the session is valid: the stream stays down,
    and the trader's cancel still goes through at once; no re-login is asked, nothing is
    halted; the stream comes back when Kite lets it."""
    asked: list[str] = []

    async def login(api_key, reason):
        asked.append(reason)
        return None

    app = await start_kite_app(tmp_path, server, login=login)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        result = await app.order_manager.place_order(limit(EQ, qty=5, price="99"))
        server.ticker.refuse_handshakes(-1)  # until told otherwise
        server.ticker.drop_all()
        await until(lambda: server.ticker.refused >= 2, timeout=10)  # retried, refused again
        assert app.broker.stream.state is not StreamState.CONNECTED
        await app.order_manager.cancel_order(result.order_id)  # not refused locally
        assert server.book.orders[result.broker_order_id]["status"] == "CANCELLED"
        # No socket to tell it: the order book's poll brings the CANCELLED status.
        await until(
            lambda: app.order_manager.order_now(result.order_id).status is OrderStatus.CANCELLED,
            timeout=10,
        )
        assert app.broker.stream.state is not StreamState.CONNECTED  # still refused
        assert not app.order_manager.halted and not app.broker.session_expired
        assert asked == []
        server.ticker.refuse_handshakes(0)
        await until(lambda: app.broker.stream.state is StreamState.CONNECTED, timeout=15)
    finally:
        await app.stop()


# ================================================== pre-flight: Kite's circuit limits


async def test_kites_rms_rejects_a_price_outside_the_circuit(server):
    """The test server as Kite: /quote carries the day's circuit limits, and a price
    outside them is placed and comes back REJECTED by the RMS."""
    from tests.kite_server.helpers import make_broker, make_order

    server.set_circuit_limits("NSE", EQ, "90", "110")
    broker = make_broker(server)
    await broker.start()
    try:
        quote = (await broker.quote([("NSE", EQ)]))[("NSE", EQ)]
        assert (quote.extra["lower_circuit_limit"], quote.extra["upper_circuit_limit"]) == (
            D("90"),
            D("110"),
        )
        order_id = await broker.place_order(make_order(symbol=EQ, price="110.05"))
        [report] = [r for r in await broker.orders() if r.broker_order_id == order_id]
        assert report.status is OrderStatus.REJECTED
        assert report.status_message.startswith("RMS:Rule: Check circuit limit")
    finally:
        await broker.close()


async def test_the_app_predicts_kites_circuit_refusal_before_sending(tmp_path, server):
    server.set_circuit_limits("NSE", EQ, "90", "110")
    app = await start_kite_app(tmp_path, server)
    try:
        await stream_price(app, server, "NSE", EQ, "100")
        validator = app.risk.validator
        outside = limit(EQ, qty=5, price="110.05")
        await validator.problems(outside)  # the first question fetches the quote ...
        await validator.circuit_limits.settle()
        [(check, reason)] = await validator.problems(outside)  # ... then it is known
        assert check == "price_band"
        assert reason == (
            "Price 110.05 is outside the circuit limits of NSE:EMMBI-BL (90.00 - 110.00): "
            "the exchange does not accept it"
        )
        assert server.count("GET", "/quote") == 1  # once for the day, not per keystroke
        await validator.problems(outside)
        assert server.count("GET", "/quote") == 1
        posts = server.count("POST", "/orders/regular")
        with pytest.raises(OrderRejected) as refused:
            await app.order_manager.place_order(outside)
        assert refused.value.failed_check == "price_band"
        assert server.count("POST", "/orders/regular") == posts  # never sent
        inside = await app.order_manager.place_order(limit(EQ, qty=5, price="110"))
        assert inside.broker_order_id is not None  # at the limit: sent, accepted
        await until(
            lambda: app.order_manager.order_now(inside.order_id).status is OrderStatus.OPEN,
            timeout=5,
        )
    finally:
        await app.stop()
