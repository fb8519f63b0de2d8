"""The OMS's order path for index options (issue 16): above the freeze quantity an order
goes as slices, each its own journaled order and tag, grouped; at most 10; a refused or
lost slice stops the rest; SL-M on an option is refused; exits slice too."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.oms import OrderRejected
from tests.helpers import until
from tests.integration.conftest import Harness
from tests.integration.test_paper_options import WEEKLY_ATM_CE, option, paper_fno_broker


@pytest.fixture
async def fno(tmp_path):
    broker = paper_fno_broker(tmp_path)
    h = Harness(path=tmp_path, broker=broker, instruments=broker.instrument_store)
    await h.open()
    yield h
    if not h.db.closed:
        await h.close()


# ------------------------------------------------------------------ the OMS's order path
async def test_an_order_above_the_freeze_quantity_goes_as_slices_each_its_own_order(fno):
    h = fno
    result = await h.om.place_order(option(qty=2600))  # 40 lots, freeze 1,800 (27 lots)
    assert result.sliced and len(result.slices) == 2
    assert [s.status for s in result.slices] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert result.order_id == result.slices[0].order_id and result.status is OrderStatus.FILLED
    assert result.message == "sent as 2 slices (1,755 + 845; freeze quantity 1,800)"
    orders = [await h.om.get_order(i) for i in result.order_ids]
    assert [o.quantity for o in orders] == [1755, 845]
    tags = [o.client_order_id for o in orders]
    assert len(set(tags)) == 2 and all(o.slice_group == tags[0] for o in orders)
    assert result.slice_group == tags[0]
    book = await h.broker.orders()
    assert sorted((r.client_order_id, r.quantity) for r in book) == sorted(
        zip(tags, [1755, 845], strict=True)
    )
    assert [o.id for o in h.om.slices_of(result.slices[1].order_id)] == list(result.order_ids)
    # both journaled write-ahead, in one go, before the first was sent
    events = [e for i in result.order_ids for e in await h.om.get_order_events(i)]
    created = [e for e in events if e.event_type == "CREATED"]
    assert [e.reason.split(" (")[0] for e in created] == ["slice 1 of 2", "slice 2 of 2"]
    pos = await h.pm.get_position(WEEKLY_ATM_CE, exchange="NFO")
    assert pos.quantity == 2600


async def test_exact_multiples_and_the_ten_slice_cap(fno):
    h = fno
    result = await h.om.place_order(option(qty=1755 * 3))
    assert [h.om.order_now(i).quantity for i in result.order_ids] == [1755] * 3
    with pytest.raises(OrderRejected) as refused:
        await h.om.place_order(option(qty=1755 * 10 + 65))  # 11 slices
    assert refused.value.failed_check == "max_quantity"
    assert "at most 10 are allowed" in refused.value.reason
    assert h.count("orders") == 3  # nothing journaled for the refused one
    assert len(await h.broker.orders()) == 3
    result = await h.om.place_order(option(qty=1755 * 10))  # exactly 10: fine
    assert len(result.slices) == 10


async def test_a_refused_slice_stops_the_rest(fno):
    h = fno
    premium = h.broker.last_price("NFO", WEEKLY_ATM_CE)
    h.broker.set_funds(premium * 2000)  # the first slice (1,755) fits, the second does not
    result = await h.om.place_order(option(qty=1755 * 3))
    first, second, third = result.slices
    assert first.status is OrderStatus.FILLED
    assert second.status is OrderStatus.REJECTED and "Insufficient funds" in second.message
    assert third.status is OrderStatus.REJECTED and third.broker_order_id is None
    assert third.message.startswith("Not sent: slice 2 of 3 was refused")
    assert result.message.startswith("1 of 3 slices sent")
    assert len(await h.broker.orders()) == 1  # refused at placement; the third never went


async def test_a_refused_first_slice_raises_and_sends_nothing_more(fno):
    h = fno
    h.broker.inject_rejection("RMS: blocked (injected)")
    with pytest.raises(OrderRejected, match="RMS: blocked"):
        await h.om.place_order(option(qty=2600))
    rows = h.om.db.journal.list_orders()
    assert [(o.quantity, o.status) for o in rows] == [
        (1755, OrderStatus.REJECTED),
        (845, OrderStatus.REJECTED),
    ]
    assert rows[1].status_message.startswith("Not sent: slice 1 of 2 was refused")
    assert await h.broker.orders() == []


async def test_a_lost_answer_stops_the_rest_and_nothing_is_sent_twice(fno):
    h = fno
    h.broker.inject_outcome_unknown(accept=True)
    result = await h.om.place_order(option(qty=2600))
    assert "answer to slice 1 of 2 was lost" in result.message
    assert result.slices[1].status is OrderStatus.REJECTED
    assert [r.quantity for r in await h.broker.orders()] == [1755]


async def test_sl_m_on_an_option_is_refused_before_anything_is_journaled(fno):
    h = fno
    last = h.broker.last_price("NFO", WEEKLY_ATM_CE)
    await h.om.place_order(option(qty=65))
    with pytest.raises(OrderRejected) as refused:
        await h.om.place_order(
            option(side=OrderSide.SELL, qty=65, order_type=OrderType.SL_M, trigger_price=last - 10)
        )
    assert refused.value.failed_check == "order_shape"
    assert "SL-M orders are not allowed on options" in refused.value.reason
    assert h.count("orders") == 1


async def test_an_exit_above_the_freeze_quantity_slices_too(fno):
    h = fno
    h.broker.set_funds(D("10000000"))  # selling 40 lots blocks about 37 lakh
    await h.om.place_order(option(side=OrderSide.SELL, qty=65 * 40, product=Product.MIS))
    outcome = await h.om.exit_position("NFO", WEEKLY_ATM_CE, Product.MIS)
    assert outcome.level == "info" and len(outcome.order_ids) == 2
    assert [h.om.order_now(i).quantity for i in outcome.order_ids] == [1755, 845]
    assert all(h.om.order_now(i).source == "exit" for i in outcome.order_ids)
    assert (await h.pm.get_position(WEEKLY_ATM_CE, exchange="NFO")).quantity == 0
    for order_id in outcome.order_ids:
        assert any(e.event_type == "EXIT" for e in await h.om.get_order_events(order_id))


# ------------------------------------------------------------------ as the app wires it
def nearest_atm_call(app) -> str:
    """The nearest NIFTY expiry's at-the-money call (the app's listing follows the real day)."""
    spot = app.broker.last_price("NSE", "NIFTY 50")
    calls = [
        i
        for i in app.instruments
        if i.name == "NIFTY" and i.instrument_type == "CE" and i.expiry is not None
    ]
    nearest = min(i.expiry for i in calls)
    return min((i for i in calls if i.expiry == nearest), key=lambda i: abs(i.strike - spot)).symbol


async def test_the_app_lists_options_prices_them_from_the_index_and_slices(tmp_path):
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    await app.start()
    try:
        symbol = nearest_atm_call(app)
        assert app.order_manager.max_slices == app.fno_rules.max_slices == 10
        before = app.quotes.last_price("NFO", symbol)
        assert before is not None  # known to the app from the start
        app.broker.set_last_price("NSE", "NIFTY 50", app.broker.last_price("NSE", "NIFTY 50") + 100)
        await until(lambda: app.quotes.last_price("NFO", symbol) > before)
        tick = app.quotes.tick("NFO", symbol)
        assert tick.bid is not None and tick.ask is not None and tick.oi > 0
        result = await app.order_manager.place_order(option(qty=65 * 40, symbol=symbol))
        assert len(result.slices) == 2, result.message
        # the kill switch flattens in slices too, each audited
        outcome = await app.kill_switch.engage(reason="test")
        assert outcome.verified, outcome.message
        flattening = [
            o for o in app.order_manager.db.journal.list_orders() if o.source == "kill_switch"
        ]
        assert sorted(o.quantity for o in flattening) == [845, 1755]
        assert len({o.slice_group for o in flattening}) == 1
        for order in flattening:
            events = await app.order_manager.get_order_events(order.id)
            assert any(e.event_type == "KILL_SWITCH" for e in events)
        assert app.position_manager.open_positions() == []
    finally:
        await app.stop()


async def test_an_older_journal_gets_the_slice_group_column(tmp_path):
    from alembic import command

    from desktop_oms.storage import Database
    from desktop_oms.storage.database import _alembic_config

    path = tmp_path / "old.db"
    db = await Database.open(path)
    with db.engine.begin() as conn:  # back to the schema before slices
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    await db.close()
    db = await Database.open(path)
    try:
        assert db.journal.slice_group("NONE") == []
    finally:
        await db.close()


@pytest.fixture
def kite_server():
    from tests.kite_server import KiteTestServer

    with KiteTestServer() as server:  # started and stopped outside the test's loop
        yield server


async def test_with_kite_the_oms_slices_itself_each_slice_tagged(tmp_path, kite_server):
    """Kite's autoslice would send every child under the request's one tag: a lost answer
    could then not be told apart. So the OMS slices, one request and one tag per slice."""
    from datetime import date

    from desktop_oms.domain import Instrument
    from desktop_oms.domain.catalog import InstrumentStore
    from desktop_oms.marketdata.options import FnoRules, apply_fno_rules
    from tests.kite_server.helpers import make_broker

    dump = [
        Instrument(
            "NFO", WEEKLY_ATM_CE, 12073986, "NIFTY", lot_size=65, instrument_type="CE",
            segment="NFO-OPT", expiry=date(2026, 12, 8), strike=D(26300),
        )
    ]  # fmt: skip
    instruments = InstrumentStore(apply_fno_rules(dump, FnoRules.bundled(), date(2026, 12, 4)))
    server = kite_server
    broker = make_broker(server)
    await broker.start()
    h = Harness(path=tmp_path, broker=broker, instruments=instruments)
    await h.open()
    try:
        result = await h.om.place_order(
            option(qty=65 * 40, order_type=OrderType.LIMIT, price=D("120"))
        )
        assert len(result.slices) == 2, result.message
        placed = [
            {k: v[-1] for k, v in r.form.items()}
            for r in list(server.http.requests)
            if r.method == "POST" and r.path == "/orders/regular"
        ]
        assert [f["quantity"] for f in placed] == ["1755", "845"]
        assert [f["tag"] for f in placed] == [
            h.om.order_now(i).client_order_id for i in result.order_ids
        ]
        assert all("autoslice" not in f for f in placed)
        with pytest.raises(OrderRejected) as refused:
            await h.om.place_order(
                option(
                    side=OrderSide.SELL,
                    qty=65,
                    order_type=OrderType.SL_M,
                    trigger_price=D("100"),
                )
            )
        assert refused.value.failed_check == "order_shape"
        assert server.count("POST", "/orders/regular") == 2
    finally:
        await h.close()
        await broker.close()


async def test_interrupted_slices_are_never_sent_and_a_restart_settles_the_one_in_flight(fno):
    h = fno
    real = h.broker.place_order
    calls = []

    async def crash_on_second(order):
        calls.append(order.client_order_id)
        if len(calls) == 2:
            raise asyncio.CancelledError  # the app closes while slice 2 is being sent
        return await real(order)

    h.broker.place_order = crash_on_second
    with pytest.raises(asyncio.CancelledError):
        await h.om.place_order(option(qty=1755 * 3))
    rows = h.om.db.journal.list_orders()
    assert [(o.quantity, o.status) for o in rows] == [
        (1755, OrderStatus.FILLED),
        (1755, OrderStatus.PENDING),  # in flight: the broker may have it
        (1755, OrderStatus.REJECTED),
    ]
    assert rows[2].status_message == "Not sent: sending slice 2 of 3 was interrupted"
    h.broker.place_order = real
    await h.restart()
    second = await h.om.get_order(rows[1].id)
    assert second.status is OrderStatus.REJECTED  # the broker never had it
    assert second.status_message == "not sent (recovered after restart)"
    assert [r.client_order_id for r in await h.broker.orders()] == [rows[0].client_order_id]


async def test_a_slice_cannot_be_modified_above_the_freeze_quantity(fno):
    h = fno
    last = h.broker.last_price("NFO", WEEKLY_ATM_CE)
    result = await h.om.place_order(
        option(qty=65 * 30, order_type=OrderType.LIMIT, price=last - 20)  # resting
    )
    first = result.slices[0]
    assert h.om.order_now(first.order_id).status is OrderStatus.OPEN
    with pytest.raises(OrderRejected) as refused:
        await h.om.modify_order(first.order_id, quantity=1820)
    assert refused.value.failed_check == "max_quantity"
    assert "above the freeze quantity 1,800" in refused.value.reason
    modified = await h.om.modify_order(first.order_id, quantity=1690, price=last - 25)
    assert modified.quantity == 1690


async def test_a_bracketed_entry_above_the_freeze_quantity_is_one_bracket_per_slice(tmp_path):
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    await app.start()
    try:
        symbol = nearest_atm_call(app)
        last = app.broker.last_price("NFO", symbol)
        result = await app.order_manager.place_order(
            option(
                qty=65 * 40,
                symbol=symbol,
                order_type=OrderType.LIMIT,
                price=last,
                stop_loss=last - 5,
                take_profit=last + 15,
            )
        )
        assert len(result.slices) == 2
        brackets = app.risk.brackets
        await brackets.settle()
        stops = [
            o
            for o in app.order_manager.live_orders()
            if o.source == "bracket" and o.symbol == symbol
        ]
        # each slice protects itself: SL (limit) stops, none above the freeze quantity
        assert sorted(o.quantity for o in stops) == [845, 1755]
        assert {o.order_type for o in stops} == {OrderType.SL}
        assert {o.parent_order_id for o in stops} == set(result.order_ids)
    finally:
        await app.stop()
