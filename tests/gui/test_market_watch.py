"""Market watch: watchlists persist, ticks reach rows, selection drives the ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, Qt

from desktop_oms.domain import OrderSide
from desktop_oms.domain.market import Tick
from desktop_oms.marketdata.instruments import load_bundled_instruments
from desktop_oms.storage import Database
from desktop_oms.ui.watch.market_watch import MarketWatch
from desktop_oms.ui.watch.model import WatchlistModel

D = Decimal


@pytest.fixture
def db(tmp_path):
    database = Database.open_sync(tmp_path / "oms.db")
    yield database
    database.close_sync()


def _watch(qtbot, db, subscribed=None):
    widget = MarketWatch(
        db.workspace,
        load_bundled_instruments(),
        (subscribed if subscribed is not None else []).extend,
    )
    qtbot.addWidget(widget)
    return widget


def _tick(symbol, price, close="2400", **kw):
    return Tick(
        exchange="NSE",
        symbol=symbol,
        last_price=D(price),
        timestamp=datetime.now(UTC),
        close=D(close),
        **kw,
    )


def test_default_list_is_streamed_and_lists_persist(qtbot, db):
    subscribed = []
    watch = _watch(qtbot, db, subscribed)
    assert watch.objectName() == "marketWatch"
    _lid, model, _table = watch.current()
    assert model.keys()[0] == ("NSE", "RELIANCE") and ("NSE", "INFY") in subscribed
    assert watch.add("NSE", "WIPRO") and ("NSE", "WIPRO") in subscribed
    assert not watch.add("NSE", "WIPRO") and "already" in watch.message.text()
    assert not watch.add("NSE", "NOSUCH") and "Unknown instrument" in watch.message.text()
    model.move(model.row_of(("NSE", "WIPRO")), 0)
    assert watch.create_list("Banks")
    assert watch.add("NSE", "SBIN")
    reopened = _watch(qtbot, db)
    assert [reopened.tabs.tabText(i) for i in range(reopened.tabs.count())] == [
        "Watchlist 1",
        "Banks",
    ]
    assert reopened._lists[0][1].keys()[0] == ("NSE", "WIPRO")
    assert reopened._lists[1][1].keys() == [("NSE", "SBIN")]


def test_ticks_update_rows_in_place_with_change(qtbot, db):
    watch = _watch(qtbot, db)
    _lid, model, _table = watch.current()
    row = model.row_of(("NSE", "RELIANCE"))
    changed = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append((a.row(), b.row())))
    watch.on_quotes([_tick("RELIANCE", "2450", bid=D("2449.95"), ask=D("2450.05"), volume=123456)])
    text = lambda col: model.data(model.index(row, col))  # noqa: E731
    assert (text(1), text(2), text(3), text(4), text(5), text(10)) == (
        "2,450.00",
        "+50.00",
        "+2.08%",
        "2,449.95",
        "2,450.05",
        "123,456",
    )
    assert changed == [(row, row)]
    watch.on_quotes([_tick("RELIANCE", "2440")])
    assert (
        model.data(model.index(row, 0), Qt.ItemDataRole.BackgroundRole) is not None
    )  # flashes on change
    assert model.rowCount() == len(model.keys())


def test_selection_drives_the_ticket_and_keys_trade(qtbot, db):
    watch = _watch(qtbot, db)
    selected, trades = [], []
    watch.symbolSelected.connect(lambda e, s: selected.append((e, s)))
    watch.tradeRequested.connect(lambda e, s, side: trades.append((s, side)))
    assert watch.select("NSE", "INFY")
    assert selected[-1] == ("NSE", "INFY")
    _lid, model, table = watch.current()
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_B)
    qtbot.keyClick(table, Qt.Key.Key_S)
    table.doubleClicked.emit(model.index(model.row_of(("NSE", "INFY")), 0))
    assert trades == [("INFY", OrderSide.BUY), ("INFY", OrderSide.SELL), ("INFY", None)]


def test_drag_reorder_saves(qtbot, db):
    watch = _watch(qtbot, db)
    list_id, model, _table = watch.current()
    first = model.keys()[0]
    data = model.mimeData([model.index(0, 0)])
    model.dropMimeData(data, Qt.DropAction.MoveAction, 3, 0, QModelIndex())
    assert model.keys()[2] == first
    assert db.workspace.watchlists()[0].items[2] == first


def test_delete_key_removes_selected(qtbot, db):
    watch = _watch(qtbot, db)
    _lid, model, table = watch.current()
    before = len(model.keys())
    watch.select(*model.keys()[0])
    watch.remove_selected()
    assert len(model.keys()) == before - 1
    assert len(db.workspace.watchlists()[0].items) == before - 1


def test_watchlist_model_passes_modeltester(qtmodeltester):
    model = WatchlistModel([("NSE", "RELIANCE"), ("NSE", "TCS"), ("NSE", "INFY")])
    model.update_ticks([_tick("TCS", "3900", close="3950")])
    qtmodeltester.check(model)
    model.move(0, 2)
    model.add("NSE", "SBIN")
    model.remove_rows([1])
    qtmodeltester.check(model)
