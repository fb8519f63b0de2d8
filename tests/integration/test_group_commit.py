"""Group commit: pushed broker updates that arrive together are journaled in one
transaction, subscribers hear of them only once durable, and any failure writes nothing
and falls back to one transaction per update without losing or doubling a fill."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, text

from desktop_oms.domain import OrderSide, OrderStatus
from desktop_oms.domain.events import FillApplied
from desktop_oms.storage.database import HEAD_REVISION
from tests.helpers import limit

ORDERS = 6


class Commits:
    def __init__(self, engine) -> None:
        self.count = 0
        self._engine = engine
        event.listen(engine, "commit", self._on_commit)

    def _on_commit(self, _conn) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "commit", self._on_commit)


async def _resting_orders(h, n=ORDERS):
    results = [await h.om.place_order(limit(qty=10, price="2400")) for _ in range(n)]
    orders = [h.om.sync.current(r.order_id) for r in results]
    assert all(o is not None and o.status is OrderStatus.OPEN for o in orders)
    return orders


async def _cross(h):
    """Drop the price through the orders: the paper broker fills them all at once and pushes
    their updates together (one call_soon), so they reach the OMS as one group."""
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))
    await h.om.sync.drain()


def _fills_in_db(h) -> int:
    with h.db.read() as conn:
        return conn.execute(text("SELECT COALESCE(SUM(quantity), 0) FROM trades")).scalar()


async def test_updates_arriving_together_are_one_transaction(paper_oms):
    h = paper_oms
    orders = await _resting_orders(h)
    commits = Commits(h.db.engine)
    seen_in_db_when_published = []
    h.events.subscribe(FillApplied, lambda e: seen_in_db_when_published.append(_fills_in_db(h)))
    try:
        await _cross(h)
    finally:
        commits.close()
    assert commits.count == 1, "one group, one commit (not one per fill)"
    assert h.count("trades") == ORDERS
    for o in orders:
        assert h.db.journal.get(o.id).status is OrderStatus.FILLED
        assert h.om.sync.current(o.id) is None  # terminal: no longer tracked as active
    assert (await h.pm.get_position("RELIANCE")).quantity == 10 * ORDERS
    # Every FillApplied was delivered after the commit: the subscriber saw all fills on disk.
    assert seen_in_db_when_published == [10 * ORDERS] * ORDERS
    # Each order: CREATED, ACKNOWLEDGED, OPEN, FILL (+ a status change to FILLED) in order.
    events = [e.event_type for e in h.db.journal.events(orders[0].id)]
    assert events[0] == "CREATED" and "FILL" in events
    assert events.index("FILL") < len(events)


async def test_a_failed_group_writes_nothing_and_is_applied_one_by_one(paper_oms, monkeypatch):
    h = paper_oms
    orders = await _resting_orders(h)
    journal = h.db.journal
    real_flush = journal._flush
    attempts = []

    def flush_fails_once(batch):
        attempts.append(len(batch.trades))
        if len(attempts) == 1:
            raise OSError(28, "No space left on device")
        return real_flush(batch)

    monkeypatch.setattr(journal, "_flush", flush_fails_once)
    fills = []
    h.events.subscribe(FillApplied, fills.append)
    await _cross(h)
    assert attempts[0] == ORDERS  # the whole group was tried together first
    assert h.count("trades") == ORDERS, "every fill recorded once after the fallback"
    assert len(fills) == ORDERS, "subscribers heard of each fill exactly once"
    assert (await h.pm.get_position("RELIANCE")).quantity == 10 * ORDERS
    for o in orders:
        assert journal.get(o.id).filled_quantity == 10
    # The in-memory view was rebuilt from the journal, not left holding the failed group.
    await h.om.sync._poll()
    assert h.count("trades") == ORDERS
    assert (await h.pm.get_position("RELIANCE")).quantity == 10 * ORDERS


async def test_a_trade_already_on_disk_fails_the_group_and_is_applied_once(paper_oms):
    """The in-memory trade ids cover recent days; an older duplicate is refused by the
    trades table itself. Inside a group that aborts the group, and the fallback path
    applies the rest while skipping the duplicate."""
    h = paper_oms
    await _resting_orders(h)
    await _cross(h)
    trades = await h.broker.trades()
    assert len(trades) == ORDERS
    h.om.sync.fills.trade_keys.clear()  # as if these trades were older than TRADE_KEY_DAYS
    from desktop_oms.brokers.port import BrokerUpdate

    for trade in trades:
        h.om.sync._on_update(BrokerUpdate(orders=(), trades=(trade,)))
    await h.om.sync.drain()
    assert h.count("trades") == ORDERS
    assert (await h.pm.get_position("RELIANCE")).quantity == 10 * ORDERS


async def test_a_lone_update_is_its_own_transaction(paper_oms):
    h = paper_oms
    commits = Commits(h.db.engine)
    try:
        await h.om.place_order(limit(qty=10, price="2450"))  # marketable: fills at once
    finally:
        commits.close()
    assert h.count("trades") == 1
    assert commits.count >= 2  # journaled before sending, then the broker's answers


async def test_journal_batch_is_all_or_nothing_and_reads_see_it(paper_oms):
    h = paper_oms
    order = h.om.sync.current((await h.om.place_order(limit(qty=10, price="2400"))).order_id)
    journal = h.db.journal
    stored = journal.get(order.id)
    changed = stored.copy(status_message="buffered")
    with pytest.raises(RuntimeError, match="boom"):
        with journal.batch():
            journal.save(stored, changed, "NOTE", "a buffered change")
            assert journal.get(order.id).status_message == "buffered"
            assert journal.get_by_broker_id(stored.broker_order_id).status_message == "buffered"
            assert journal.get_by_client_id(stored.client_order_id).status_message == "buffered"
            raise RuntimeError("boom")
    assert journal.get(order.id).status_message == stored.status_message
    assert [e.event_type for e in journal.events(order.id)].count("NOTE") == 0
    with journal.batch():
        journal.save(stored, changed, "NOTE", "a buffered change")
        with pytest.raises(RuntimeError, match="never buffered"):
            journal.insert_pending(stored)
        with pytest.raises(RuntimeError, match="do not nest"):
            with journal.batch():
                pass
    assert journal.get(order.id).status_message == "buffered"
    assert [e.event_type for e in journal.events(order.id)].count("NOTE") == 1


async def test_a_grouped_fill_writes_every_column_its_order_changed(paper_oms):
    """Inside a group a fill that changed only the fill's columns writes only those; an
    order whose terms changed too (in the fill itself, or by an earlier change buffered
    in the same group) has every mutable column written."""
    from desktop_oms.domain.positions import apply_fill
    from desktop_oms.oms.sync.reports import fill_from_trade, order_after_fill

    h = paper_oms
    journal = h.db.journal
    ids = [(await h.om.place_order(limit(qty=10, price="2400"))).order_id for _ in range(3)]
    plain, repriced, adopted = (journal.get(i) for i in ids)

    def fill_of(order, trade_id):
        from desktop_oms.domain import TradeReport

        trade = TradeReport(
            trade_id=trade_id,
            broker_order_id=order.broker_order_id,
            symbol=order.symbol,
            exchange=order.exchange,
            side=order.side,
            quantity=4,
            price=Decimal("2399.95"),
            timestamp=order.updated_at,
        )
        fill = fill_from_trade(order, trade, Decimal(1))
        position = apply_fill(
            h.pm.peek(order.exchange, order.symbol, order.product),
            order.side, 4, fill.price, order.updated_at,
        ).position  # fmt: skip
        return fill, order_after_fill(order, fill, order.updated_at), position

    with journal.batch():
        fill, after, position = fill_of(plain, "G1")
        journal.record_fill(fill, plain, after, position, Decimal(0))
        fill, after, position = fill_of(repriced, "G2")
        after = after.copy(price=Decimal("2401"), status_message="repriced with the fill")
        journal.record_fill(fill, repriced, after, position, Decimal(0))
        terms = adopted.copy(quantity=12, price=Decimal("2402.5"), modification_count=1)
        journal.save(adopted, terms, "TERMS_ADOPTED", "adopted")
        fill, after, position = fill_of(terms, "G3")
        journal.record_fill(fill, terms, after, position, Decimal(0))
    got = {i: journal.get(i) for i in ids}
    for order in got.values():
        assert (order.filled_quantity, order.status) == (4, OrderStatus.PARTIALLY_FILLED)
        assert order.average_price == Decimal("2399.95")
    assert (got[ids[0]].price, got[ids[0]].quantity) == (Decimal("2400"), 10)
    assert got[ids[1]].price == Decimal("2401")
    assert got[ids[1]].status_message == "repriced with the fill"
    assert (got[ids[2]].quantity, got[ids[2]].price) == (12, Decimal("2402.5"))
    assert got[ids[2]].modification_count == 1


def test_head_revision_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    from desktop_oms.storage.database import _alembic_config

    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == HEAD_REVISION


def _table(h, sql):
    """Rows with broker-assigned ids (clock-based, differ between runs) blanked."""
    import re

    def same(value):
        return re.sub(r"\d{12,}", "<id>", value) if isinstance(value, str) else value

    with h.db.read() as conn:
        return [tuple(map(same, r)) for r in conn.execute(text(sql))]


async def test_group_commit_writes_exactly_what_one_by_one_writes(tmp_path, monkeypatch):
    """The driver-level flush converts values itself: the rows it writes must be the rows
    the SQLAlchemy path writes (exact Decimal text, UTC timestamps, enum values)."""
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.marketdata.instruments import load_bundled_instruments
    from desktop_oms.oms.sync import order_sync
    from tests.integration.conftest import Harness

    instruments = load_bundled_instruments()
    tables = {}
    for name, group in (("grouped", 256), ("single", 1)):
        monkeypatch.setattr(order_sync, "MAX_GROUP", group)
        (tmp_path / name).mkdir()
        broker = PaperBroker(state_path=None, instruments=instruments)
        broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
        h = await Harness(path=tmp_path / name, broker=broker, instruments=instruments).open()
        try:
            await _resting_orders(h)
            await h.om.place_order(limit(qty=7, price="2399.95", side=OrderSide.SELL))
            await _cross(h)
            tables[name] = (
                _table(
                    h,
                    "SELECT order_id, symbol, exchange, product, side, quantity, price, multiplier,"
                    " realized_pnl, charges, typeof(price), length(trade_id) FROM trades ORDER BY id",
                ),
                _table(
                    h,
                    "SELECT id, status, filled_quantity, average_price, quantity, price,"
                    " length(updated_at) FROM orders ORDER BY id",
                ),
                _table(
                    h,
                    "SELECT order_id, event_type, old_status, new_status, reason, details,"
                    " length(at) FROM order_events ORDER BY order_id, id",
                ),
                _table(
                    h,
                    "SELECT symbol, quantity, average_price, realized_pnl, charges, multiplier,"
                    " length(updated_at) FROM positions",
                ),
            )
        finally:
            await h.close()
    assert tables["grouped"][0], "fills were recorded"
    assert tables["grouped"] == tables["single"]


async def test_update_parameters_cover_every_mutable_column(paper_oms):
    """_update_params is spelled out for speed: it must give every column the update sets,
    with the value the generic mapping gives."""
    from sqlalchemy import create_engine

    from desktop_oms.storage import journal_rows as journal
    from desktop_oms.storage.driver import DriverStatement

    statement = DriverStatement(journal._UPDATE_ORDER, create_engine("sqlite://").dialect)
    result = await paper_oms.om.place_order(limit(qty=3, price="2400"))
    order = paper_oms.db.journal.get(result.order_id)
    params = journal._update_params(order)
    assert set(params) == set(statement.names)
    assert params == {"b_id": order.id} | {
        "b_" + name: value for name, value in journal._order_values(order, journal._MUTABLE).items()
    }


@pytest.mark.parametrize(
    ("price", "quantity", "trade_id"),
    [("2400.05", 10, "T1"), ("1E+2", 1, 'odd "id"\\ü'), ("0.0001", 250000, "")],
)
def test_fill_event_details_are_the_json_of_its_fields(price, quantity, trade_id):
    import json
    from datetime import UTC, datetime

    from desktop_oms.domain import Fill, OrderSide, Product
    from desktop_oms.storage.journal_rows import _details_json, _fill_event

    fill = Fill(
        trade_id=trade_id,
        order_id=1,
        broker_order_id="B1",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        product=Product.MIS,
        quantity=quantity,
        price=Decimal(price),
        timestamp=datetime(2026, 11, 24, 4, 0, tzinfo=UTC),
    )
    _reason, details = _fill_event(fill)
    expected = {"trade_id": trade_id, "quantity": quantity, "price": str(Decimal(price))}
    assert details == json.dumps(expected, default=str, sort_keys=True)
    assert _details_json(details) == details
    assert _details_json({"b": 1, "a": Decimal("1.5")}) == '{"a": "1.5", "b": 1}'
    assert _details_json({}) is None and _details_json(None) is None


async def test_if_the_journal_cannot_be_read_back_nothing_is_applied_until_it_can(
    paper_oms, monkeypatch
):
    """A group fails to commit and reloading memory from the journal fails too (the disk
    is gone): memory would be ahead of the journal, so new orders are held and nothing
    is applied. Once the journal reads again, memory is reloaded, orders are allowed and
    the poll fetches the fills from the broker: each recorded once."""
    h = paper_oms
    orders = await _resting_orders(h)
    journal = h.db.journal
    real_flush, real_keys = journal._flush, journal.trade_keys
    failing = {"flush": True, "read": True}

    def flush(batch):
        if failing["flush"]:
            raise OSError(5, "Input/output error")
        return real_flush(batch)

    def trade_keys(since=None):
        if failing["read"]:
            raise OSError(5, "Input/output error")
        return real_keys(since)

    monkeypatch.setattr(journal, "_flush", flush)
    monkeypatch.setattr(journal, "trade_keys", trade_keys)
    await _cross(h)
    assert "storage" in h.om.halts()
    assert h.count("trades") == 0
    with pytest.raises(Exception, match="(?i)halt|held"):
        await h.om.place_order(limit(qty=1, price="2400"))
    await h.om.sync._poll()  # still unreadable: nothing applied
    assert h.count("trades") == 0
    failing.update(flush=False, read=False)
    await h.om.sync._poll()
    assert "storage" not in h.om.halts()
    assert h.count("trades") == ORDERS
    assert (await h.pm.get_position("RELIANCE")).quantity == 10 * ORDERS
    for o in orders:
        assert journal.get(o.id).filled_quantity == 10
