"""Table models on the tick path: the running open-order count, cell-level repaints
within Qt's 200-cell limit, one layout change for many moves, the compact time sort key,
the bounded display cache."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView

from desktop_oms.domain import OrderStatus, OrderType
from desktop_oms.domain.positions import mark_to_market
from desktop_oms.ui.blotter.orders_model import OrderFilter, OrdersModel
from desktop_oms.ui.common import SORT_ROLE, Column, KeyedTableModel
from desktop_oms.ui.common import table_model as columns_module
from desktop_oms.ui.positions.model import PositionsModel
from desktop_oms.ui.watch.model import COLUMNS as WATCH_COLUMNS
from desktop_oms.ui.watch.model import WatchlistModel

STATUSES = list(OrderStatus)


class Signals:
    def __init__(self, model) -> None:
        self.changed: list[tuple[int, int, int, int]] = []
        self.layouts = 0
        self.moves = 0
        model.dataChanged.connect(
            lambda a, b, roles=(): self.changed.append((a.row(), a.column(), b.row(), b.column()))
        )
        model.layoutChanged.connect(self._layout)
        model.rowsMoved.connect(self._moved)

    def _layout(self, *_a) -> None:
        self.layouts += 1

    def _moved(self, *_a) -> None:
        self.moves += 1

    def cells(self) -> list[int]:
        return [(r1 - r0 + 1) * (c1 - c0 + 1) for r0, c0, r1, c1 in self.changed]


def recount(model: OrdersModel) -> list:
    return [o for o in model.items() if o.status.is_active]


# ---- the running open-order count ----------------------------------------------------------


def test_open_order_count_follows_every_kind_of_update(make_order):
    rng = random.Random(7)
    model = OrdersModel()
    model.reset([make_order(i, status=rng.choice(STATUSES)) for i in range(1, 301)])
    assert model.open_count == len(recount(model))
    next_id = 301
    for step in range(400):
        kind = rng.random()
        if kind < 0.45:  # status changes of known orders (applied now or queued)
            batch = [
                make_order(rng.randint(1, next_id - 1), status=rng.choice(STATUSES))
                for _ in range(rng.randint(1, 40))
            ]
            (model.upsert if rng.random() < 0.5 else model.queue_upsert_many)(batch)
        elif kind < 0.65:  # new orders
            batch = [make_order(next_id + i, status=rng.choice(STATUSES)) for i in range(5)]
            next_id += 5
            model.load(batch)
        elif kind < 0.75 and len(model):
            model.remove(rng.choice(model.items()).id)
        elif kind < 0.85:
            model.sort(rng.randrange(-1, len(model.columns)), rng.choice(list(Qt.SortOrder)))
        elif kind < 0.95:
            model.set_status_filter(rng.choice(list(OrderFilter)))
        elif kind < 0.97:
            model.reset([make_order(i, status=rng.choice(STATUSES)) for i in range(1, next_id, 3)])
        if step % 10 == 0:
            model.flush()
        assert model.open_count == len(model.open_orders())
    model.flush()
    assert model.open_count == len(recount(model))
    assert model.open_orders() == recount(model)  # same orders, in insertion order
    model.clear()
    assert model.open_count == 0 and model.open_orders() == []


# ---- compact time sort key ------------------------------------------------------------


def test_time_column_orders_rows_as_its_tuple_key_in_both_directions(make_order):
    model = OrdersModel()
    orders = [make_order(i) for i in range(1, 41)]
    # bracket exits (placed after their entry, under it) and one with a large id
    orders += [
        make_order(41, parent_order_id=5, source="bracket", order_type=OrderType.SL_M),
        make_order(42, parent_order_id=5, source="bracket", order_type=OrderType.LIMIT),
        make_order(43, parent_order_id=30, source="bracket", order_type=OrderType.LIMIT),
        replace(make_order(44), id=2**40 + 3, client_order_id="BIG"),
    ]
    random.Random(3).shuffle(orders)
    model.upsert(orders)
    time_col = model.column_index("time")
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        model.sort(time_col, order)
        keys = [model.data(model.index(r, time_col), SORT_ROLE) for r in range(model.rowCount())]
        assert all(isinstance(k, tuple) for k in keys)  # SORT_ROLE still gives the tuple
        expected = sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder)
        assert keys == expected
        ids = [model.item_at(r).id for r in range(model.rowCount())]
        assert ids.index(41) == ids.index(5) + 1 or ids.index(42) == ids.index(5) + 1
        # an exit modified in place keeps its place under its entry
        model.upsert([make_order(41, parent_order_id=5, source="bracket", price=Decimal("1"))])
        ids = [model.item_at(r).id for r in range(model.rowCount())]
        assert abs(ids.index(41) - ids.index(5)) <= 2


# ---- cell-level repaints ---------------------------------------------------------------


def test_an_update_signals_only_the_changed_columns_of_its_row(make_order):
    model = OrdersModel()
    model.upsert([make_order(i) for i in range(1, 11)])
    signals = Signals(model)
    price = model.column_index("price")
    model.upsert([make_order(4, price=Decimal("2451.00"))])
    assert signals.changed == [(3, price, 3, price)]
    signals.changed.clear()
    # a new object with the same values: nothing to repaint
    model.upsert([make_order(4, price=Decimal("2451.00"))])
    assert signals.changed == []
    # the same value written differently, shown the same (two decimals): nothing either
    model.upsert([make_order(4, price=Decimal("2451.0"))])
    assert signals.changed == []
    # the same object again: the caller wants the whole row repainted
    same = model.get(4)
    model.upsert([same])
    assert signals.changed == [(3, 0, 3, len(model.columns) - 1)]


def test_an_equal_value_shown_differently_is_repainted():
    model = KeyedTableModel(
        [Column("key", "Key", lambda r: r[0]), Column("v", "V", lambda r: r[1])], lambda r: r[0]
    )
    model.upsert([("a", Decimal("1.5")), ("b", Decimal("2"))])
    signals = Signals(model)
    model.upsert([("a", Decimal("1.50"))])  # == 1.5, but str() shows "1.50"
    assert signals.changed == [(0, 1, 0, 1)]
    assert model.data(model.index(0, 1)) == "1.50"
    model.upsert([("a", Decimal("1.50"))])  # another object, same text
    assert signals.changed == [(0, 1, 0, 1)]


def test_a_bracket_exit_symbol_text_change_is_seen(make_order):
    model = OrdersModel()
    model.upsert([make_order(1), make_order(2, parent_order_id=1, source="bracket")])
    signals = Signals(model)
    symbol = model.column_index("symbol")
    # only the order type changes: the symbol cell's text ("↳ SL" -> "↳ TGT") changes too
    model.upsert([make_order(2, parent_order_id=1, source="bracket", order_type=OrderType.SL_M)])
    assert any(c0 <= symbol <= c1 for _r0, c0, _r1, c1 in signals.changed)


def test_many_changed_rows_are_signalled_within_200_cells_each(make_position):
    model = PositionsModel()
    positions = [make_position(f"S{i:03d}") for i in range(500)]
    model.upsert(positions)
    signals = Signals(model)
    rng = random.Random(5)
    marked = [
        mark_to_market(p, p.last_price + Decimal("0.05") * rng.choice((-1, 1)))
        for p in positions
        if rng.random() < 0.8
    ]
    model.upsert(marked)
    assert signals.changed and max(signals.cells()) <= 200
    ltp, net = model.column_index("ltp"), model.column_index("net")
    qty = model.column_index("quantity")
    for _r0, c0, _r1, c1 in signals.changed:
        assert c0 == ltp and c1 == net  # from LTP to net P&L: not symbol, qty, exit
        assert not c0 <= qty <= c1
    covered = {r for r0, _c0, r1, _c1 in signals.changed for r in range(r0, r1 + 1)}
    rows = {model.row_for_key(p.key) for p in marked}
    assert rows <= covered
    assert model.totals.unrealized == sum(p.unrealized_pnl for p in model.items())


def test_many_moves_in_a_sorted_grid_are_one_layout_change_and_keep_the_selection(
    qtbot, make_position
):
    model = PositionsModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    positions = [
        make_position(f"S{i:03d}", unrealized_pnl=Decimal(i), quantity=10) for i in range(300)
    ]
    model.upsert(positions)
    unrealized = model.column_index("unrealized")
    model.sort(unrealized, Qt.SortOrder.DescendingOrder)
    watched = positions[123].key
    current = QPersistentModelIndex(model.index(model.row_for_key(watched), 2))
    signals = Signals(model)
    rng = random.Random(9)
    new = {p.key: replace(p, unrealized_pnl=Decimal(rng.randint(-500, 500))) for p in positions}
    model.upsert(new.values())
    assert signals.layouts == 1 and signals.moves == 0
    shown = [model.item_at(r).unrealized_pnl for r in range(model.rowCount())]
    assert shown == sorted(shown, reverse=True)
    assert current.isValid() and model.key_at(current.row()) == watched
    assert current.column() == 2
    for key, position in new.items():
        assert model.item_at(model.row_for_key(key)) is position
    # a few moves still move rows one by one
    few = [
        replace(new[p.key], unrealized_pnl=Decimal(10_000 + i)) for i, p in enumerate(positions[:3])
    ]
    model.upsert(few)
    assert signals.layouts == 1 and signals.moves == 3
    assert [model.item_at(r) for r in range(3)] == list(reversed(few))


# ---- the display cache is bounded --------------------------------------------------------


def test_display_caches_are_kept_for_recent_rows_only(make_order, monkeypatch):
    monkeypatch.setattr(columns_module, "_CACHED_ROWS", 64)
    model = OrdersModel()
    model.upsert([make_order(i) for i in range(1, 501)])
    symbol = model.column_index("symbol")
    for row in range(500):
        assert model.data(model.index(row, symbol)) == "RELIANCE"
    assert sum(c is not None for c in model._cache) <= 64 + 1
    assert model._cache[499] is not None  # the newest stay
    model.remove(3)
    for row in range(499):
        assert model.data(model.index(row, symbol)) == "RELIANCE"
    assert sum(c is not None for c in model._cache) <= 64 + 1


# ---- the market watch --------------------------------------------------------------------


def test_watchlist_runs_stay_within_200_cells():
    from datetime import UTC, datetime

    from desktop_oms.domain.market import Tick

    keys = [("NSE", f"S{i:03d}") for i in range(100)]
    model = WatchlistModel(keys)
    signals = Signals(model)
    now = datetime(2026, 5, 4, 4, tzinfo=UTC)
    model.update_ticks(
        [Tick(exchange=e, symbol=s, last_price=Decimal("10"), timestamp=now) for e, s in keys]
    )
    assert max(signals.cells()) <= 200
    covered = {r for r0, _c0, r1, _c1 in signals.changed for r in range(r0, r1 + 1)}
    assert covered == set(range(100))
    assert all(c0 == 0 and c1 == len(WATCH_COLUMNS) - 1 for _r0, c0, _r1, c1 in signals.changed)
    flags = model.flags(model.index(0, 0))
    assert flags & Qt.ItemFlag.ItemIsDragEnabled and flags & Qt.ItemFlag.ItemNeverHasChildren
    assert model.flags(QModelIndex()) == Qt.ItemFlag.ItemIsDropEnabled


# ---- rows loaded in bulk stay out of the GC's full passes --------------------------------


def test_a_bulk_load_is_frozen_out_of_full_gc_passes(make_order, monkeypatch):
    import gc

    def collectable(model) -> int:
        tracked = {id(o) for o in gc.get_objects()}  # the frozen ones are not listed
        return sum(id(o) in tracked for o in model.items())

    monkeypatch.setattr(OrdersModel, "freeze_after_rows", 50)
    model = OrdersModel()
    model.load([make_order(i) for i in range(1, 11)])  # small: nothing
    assert collectable(model) == 10
    model.load([make_order(i) for i in range(100, 160)])
    assert collectable(model) == 0
    model.reset([make_order(i) for i in range(1, 70)])
    assert collectable(model) == 0
    model.upsert([make_order(5, status=OrderStatus.FILLED)])  # later rows: collectable
    assert collectable(model) == 1
    monkeypatch.setattr(OrdersModel, "freeze_after_rows", None)
    model.reset([make_order(i) for i in range(1, 500)])
    assert collectable(model) == 499
