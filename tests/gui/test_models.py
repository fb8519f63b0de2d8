"""Table models: Qt contract (qtmodeltester), in-place upserts, coalescing, numeric
sorting, filters, totals, CSV export."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView

from desktop_oms.domain import OrderSide, OrderStatus, Product
from desktop_oms.ui.blotter.orders_model import OrderFilter, OrdersModel
from desktop_oms.ui.blotter.trades_model import TradeRow, TradesModel
from desktop_oms.ui.common import SORT_ROLE, export_csv, theme
from desktop_oms.ui.positions.model import (
    PositionsModel,
    PositionsTotalsModel,
    configure_totals_footer,
)

T0_FALLBACK = datetime(2025, 1, 6, 3, 45, tzinfo=UTC)
DISPLAY = Qt.ItemDataRole.DisplayRole
FG = Qt.ItemDataRole.ForegroundRole


def cell(model, row, key, role=DISPLAY):
    return model.data(model.index(row, model.column_index(key)), role)


def column(model, key, role=DISPLAY):
    return [cell(model, r, key, role) for r in range(model.rowCount())]


class Spy:
    def __init__(self, model):
        self.changed: list[tuple[int, int]] = []
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self.resets = 0
        model.dataChanged.connect(lambda a, b, roles=(): self.changed.append((a.row(), b.row())))
        model.rowsInserted.connect(lambda p, a, b: self.inserted.append((a, b)))
        model.rowsRemoved.connect(lambda p, a, b: self.removed.append((a, b)))
        model.modelReset.connect(self._reset)

    def _reset(self):
        self.resets += 1


# ---- Qt model contract ---------------------------------------------------------------


@pytest.mark.parametrize("force_py", [True, False], ids=["py-tester", "qt-tester"])
def test_orders_model_passes_qtmodeltester_with_data_updates_inserts_sort_filter(
    qtmodeltester, make_order, force_py
):
    model = OrdersModel()
    model.upsert([make_order(i, quantity=i) for i in range(1, 21)])
    qtmodeltester.check(model, force_py=force_py)
    model.upsert([make_order(3, status=OrderStatus.FILLED, filled_quantity=3)])
    model.upsert([make_order(i) for i in range(21, 31)])
    model.sort(model.column_index("quantity"), Qt.SortOrder.DescendingOrder)
    model.upsert([make_order(5, quantity=500), make_order(40, quantity=7)])
    model.set_status_filter("Open")
    model.upsert(
        [make_order(6, status=OrderStatus.CANCELLED), make_order(41, status=OrderStatus.OPEN)]
    )
    model.sort(-1)
    model.remove(41)
    model.clear()
    qtmodeltester.check(model, force_py=force_py)


def test_trades_model_passes_qtmodeltester(qtmodeltester):
    trades = TradesModel()
    trades.upsert([trade(i) for i in range(5)])
    qtmodeltester.check(trades, force_py=True)
    trades.upsert([trade(7), trade(2, price=Decimal("2451"))])
    trades.sort(trades.column_index("price"))
    trades.upsert([trade(8), trade(3, price=Decimal("1"))])
    qtmodeltester.check(trades, force_py=True)


def test_positions_model_passes_qtmodeltester(qtmodeltester, make_position):
    positions = PositionsModel()
    positions.upsert([make_position("RELIANCE"), make_position("TCS")])
    qtmodeltester.check(positions, force_py=True)
    positions.upsert([make_position("TCS", quantity=-5), make_position("INFY")])
    positions.sort(positions.column_index("total"))
    positions.upsert([make_position("SBIN", unrealized_pnl=Decimal("-50"))])
    positions.remove(("NSE", "TCS", Product.MIS))
    qtmodeltester.check(positions, force_py=True)


def test_totals_model_passes_qtmodeltester(qtmodeltester, make_position):
    positions = PositionsModel()
    totals = PositionsTotalsModel(positions)
    qtmodeltester.check(totals, force_py=True)
    positions.upsert(
        [make_position("RELIANCE"), make_position("SBIN", unrealized_pnl=Decimal("-50"))]
    )
    qtmodeltester.check(totals, force_py=True)


def trade(i: int, t0=None, **changes) -> TradeRow:
    values = dict(
        trade_id=f"TR{i}",
        order_id=i,
        broker_order_id=f"B{i}",
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.BUY if i % 2 else OrderSide.SELL,
        quantity=10,
        price=Decimal("2450.50"),
        timestamp=(t0 or T0_FALLBACK) + timedelta(seconds=i),
        product=Product.MIS,
    )
    values.update(changes)
    return TradeRow(**values)


# ---- upserts ---------------------------------------------------------------------------


def test_upsert_updates_in_place_and_signals_only_that_row(make_order):
    model = OrdersModel()
    model.upsert([make_order(i) for i in range(1, 6)])
    spy = Spy(model)
    model.upsert(
        [
            make_order(
                3, status=OrderStatus.FILLED, filled_quantity=10, average_price=Decimal("2450.25")
            )
        ]
    )
    assert model.rowCount() == 5
    assert spy.changed == [(2, 2)] and spy.inserted == [] and spy.resets == 0
    assert cell(model, 2, "status") == "FILLED"
    assert cell(model, 2, "filled") == "10"
    assert cell(model, 2, "avg_price") == "2,450.25"
    assert cell(model, 2, "status", FG) == theme.status_colour(OrderStatus.FILLED)
    assert model.row_for_key(3) == 2 and model.item_at(2).status is OrderStatus.FILLED


def test_new_keys_are_inserted_in_one_batch_and_runs_are_signalled_separately(make_order):
    model = OrdersModel()
    model.upsert([make_order(i) for i in range(1, 11)])
    spy = Spy(model)
    model.upsert(
        [make_order(2, quantity=5), make_order(3, quantity=5), make_order(9, quantity=5)]
        + [make_order(i) for i in range(11, 14)]
    )
    assert spy.changed == [(1, 2), (8, 8)]
    assert spy.inserted == [(10, 12)]
    assert model.rowCount() == 13


def test_order_columns_show_what_the_blotter_needs(make_order, t0):
    model = OrdersModel()
    order = make_order(
        1,
        side=OrderSide.SELL,
        quantity=1500,
        filled_quantity=500,
        status=OrderStatus.TRIGGER_PENDING,
        price=Decimal("245050"),
        trigger_price=Decimal("245000.5"),
        status_message="waiting for trigger",
        strategy_id="breakout",
    )
    model.upsert([order])
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == [
        "Time",
        "Client ID",
        "Broker ID",
        "Symbol",
        "Side",
        "Type",
        "Qty",
        "Filled",
        "Price",
        "Trigger",
        "Avg price",
        "Status",
        "Message",
        "Product",
        "Strategy",
        "Slice",  # issue 16: the slices of an order sent above the freeze quantity
    ]
    row = [cell(model, 0, c.key) for c in model.columns]
    assert t0 + timedelta(seconds=1) == datetime(2025, 1, 6, 3, 45, 1, tzinfo=UTC)
    assert row == [
        "09:15:01",  # IST, whatever the machine's zone
        "T000001",
        "250106000000001",
        "RELIANCE",
        "SELL",
        "LIMIT",
        "1,500",
        "500",
        "2,45,050.00",
        "2,45,000.50",
        "",
        "TRIGGER PENDING",
        "waiting for trigger",
        "MIS",
        "breakout",
        "",  # sent whole
    ]
    assert cell(model, 0, "side", FG) == theme.qcolor(theme.SELL)
    assert cell(model, 0, "quantity", Qt.ItemDataRole.TextAlignmentRole) == int(
        (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value
    )


def test_queue_upsert_coalesces_a_burst_into_one_flush(qtbot, make_order):
    model = OrdersModel(flush_interval_ms=50)
    model.upsert([make_order(i) for i in range(10)])
    spy = Spy(model)
    before = model.flush_count
    for n in range(1000):
        model.queue_upsert(make_order(n % 10, filled_quantity=n % 11, quantity=10 + n))
    assert model.flush_count == before and spy.changed == []  # nothing until the timer
    qtbot.waitUntil(lambda: model.flush_count == before + 1, timeout=2000)
    qtbot.wait(120)
    assert model.flush_count == before + 1
    assert spy.changed == [(0, 9)]
    for key in range(10):
        last = max(n for n in range(1000) if n % 10 == key)
        assert model.get(key).quantity == 10 + last
        assert cell(model, model.row_for_key(key), "quantity") == f"{10 + last:,}"


def test_queued_inserts_and_immediate_upsert_supersedes_queue(qtbot, make_order):
    model = OrdersModel(flush_interval_ms=30)
    model.queue_upsert(make_order(1, quantity=1))
    model.upsert([make_order(1, quantity=2)])  # applied now; the queued copy is dropped
    qtbot.wait(80)
    assert model.get(1).quantity == 2 and model.rowCount() == 1


# ---- sorting ---------------------------------------------------------------------------


def test_sorting_is_numeric_not_textual(make_order):
    model = OrdersModel()
    quantities = [9, 10, 100, 1000, 2, 25]
    model.upsert([make_order(i + 1, quantity=q) for i, q in enumerate(quantities)])
    model.sort(model.column_index("quantity"), Qt.SortOrder.AscendingOrder)
    assert column(model, "quantity") == ["2", "9", "10", "25", "100", "1,000"]
    model.sort(model.column_index("quantity"), Qt.SortOrder.DescendingOrder)
    assert column(model, "quantity") == ["1,000", "100", "25", "10", "9", "2"]
    assert all(isinstance(v, float) for v in column(model, "quantity", SORT_ROLE))


def test_sorting_prices_decimals_and_missing_values(make_order):
    model = OrdersModel()
    model.upsert(
        [
            make_order(1, price=Decimal("999.95")),
            make_order(2, price=None),
            make_order(3, price=Decimal("10000")),
            make_order(4, price=Decimal("1000.05")),
        ]
    )
    model.sort(model.column_index("price"))
    assert column(model, "price") == ["", "999.95", "1,000.05", "10,000.00"]
    model.sort(model.column_index("time"), Qt.SortOrder.DescendingOrder)
    assert [model.item_at(r).id for r in range(4)] == [4, 3, 2, 1]


def test_qtableview_header_click_sorts_through_the_model(qtbot, make_order):
    model = OrdersModel()
    model.upsert([make_order(i + 1, quantity=q) for i, q in enumerate([9, 10, 100])])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.sortByColumn(model.column_index("quantity"), Qt.SortOrder.AscendingOrder)
    assert column(model, "quantity") == ["9", "10", "100"]


def test_updates_keep_sorted_order_and_selection(qtbot, make_order):
    model = OrdersModel()
    model.upsert([make_order(i, price=Decimal(100 + i)) for i in range(1, 6)])
    model.sort(model.column_index("price"))
    persistent = QPersistentModelIndex(model.index(model.row_for_key(2), 0))
    spy = Spy(model)
    model.upsert([make_order(2, price=Decimal("200"))])  # moves from row 1 to the end
    assert [model.item_at(r).id for r in range(5)] == [1, 3, 4, 5, 2]
    assert persistent.row() == 4  # a selection follows its order
    assert spy.resets == 0
    model.upsert([make_order(9, price=Decimal("102.5"))])
    assert [model.item_at(r).id for r in range(6)] == [1, 9, 3, 4, 5, 2]
    assert spy.inserted[-1] == (1, 1)


@pytest.mark.parametrize("seed", range(8))
def test_random_updates_under_sort_and_filter_match_a_full_resort(seed, qtmodeltester, make_order):
    """Incremental moves / inserts / removals must equal sorting + filtering from scratch."""
    rng = random.Random(seed)
    model = OrdersModel()
    qtmodeltester.check(model, force_py=True)
    statuses = list(OrderStatus)
    known: dict[int, object] = {}

    def random_order(i):
        return make_order(
            i,
            quantity=rng.randint(1, 5) * 10,
            price=Decimal(rng.randint(1, 6)) * 5,
            status=rng.choice(statuses),
            filled_quantity=rng.choice([0, 0, 5]),
        )

    sort_key = rng.choice(["quantity", "price", "status", "time", None])
    order = rng.choice([Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
    filt = rng.choice(list(OrderFilter))
    for step in range(40):
        batch = [random_order(rng.randint(1, 30)) for _ in range(rng.randint(1, 8))]
        model.upsert(batch)
        for o in batch:
            known[o.id] = o
        if step == 10:
            model.sort(model.column_index(sort_key) if sort_key else -1, order)
        if step == 20:
            model.set_status_filter(filt)
        active_filter = filt if step >= 20 else OrderFilter.ALL
        active_sort = sort_key if step >= 10 else None
        expected = [o for o in known.values() if active_filter.accepts(o)]  # insertion order
        if active_sort:
            col = model.columns[model.column_index(active_sort)]
            expected.sort(key=col.sort_value)  # stable: ties in insertion order
            if order == Qt.SortOrder.DescendingOrder:
                expected.reverse()
        got = [model.item_at(r) for r in range(model.rowCount())]
        if active_sort:  # ties may legitimately differ in order: compare the keys and sets
            assert [col.sort_value(o) for o in got] == [col.sort_value(o) for o in expected]
            assert {o.id for o in got} == {o.id for o in expected}
        else:
            assert [o.id for o in got] == [o.id for o in expected]
        for r, o in enumerate(got):
            assert model.row_for_key(o.id) == r
            assert cell(model, r, "quantity") == f"{o.quantity:,}"


# ---- filters -----------------------------------------------------------------------------


def test_status_filters(make_order):
    model = OrdersModel()
    model.upsert(
        [
            make_order(1, status=OrderStatus.OPEN),
            make_order(2, status=OrderStatus.FILLED, filled_quantity=10),
            make_order(3, status=OrderStatus.REJECTED),
            make_order(4, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=4),
            make_order(5, status=OrderStatus.CANCELLED),
            make_order(6, status=OrderStatus.TRIGGER_PENDING),
            make_order(7, status=OrderStatus.PENDING),
        ]
    )

    def ids():
        return [model.item_at(r).id for r in range(model.rowCount())]

    assert ids() == [1, 2, 3, 4, 5, 6, 7]
    model.set_status_filter("Open")
    assert ids() == [1, 4, 6, 7]
    model.set_status_filter(OrderFilter.EXECUTED)
    assert ids() == [2, 4]
    model.set_status_filter("rejected")
    assert ids() == [3]
    assert model.row_for_key(1) is None and model.get(1) is not None
    model.upsert([make_order(1, status=OrderStatus.REJECTED)])  # now passes the filter
    assert ids() == [1, 3]  # unsorted: insertion order
    model.set_status_filter("All")
    assert model.rowCount() == 7
    assert [o.id for o in model.open_orders()] == [4, 6, 7]


# ---- positions ---------------------------------------------------------------------------


def test_positions_grid_columns_colours_and_totals(make_position):
    model = PositionsModel()
    totals_model = PositionsTotalsModel(model)
    seen = []
    model.totals_changed.connect(seen.append)
    model.upsert(
        [
            make_position(
                "RELIANCE",
                quantity=10,
                unrealized_pnl=Decimal("100.00"),
                realized_pnl=Decimal("50"),
            ),
            make_position(
                "TCS",
                quantity=-5,
                average_price=Decimal("3900"),
                last_price=Decimal("3910"),
                unrealized_pnl=Decimal("-50.00"),
                realized_pnl=Decimal("-1250.50"),
            ),
            make_position(
                "INFY", quantity=0, unrealized_pnl=Decimal("0"), realized_pnl=Decimal("200")
            ),
        ]
    )
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == [
        "Symbol",
        "Product",
        "Qty",
        "Avg price",
        "LTP",
        "Unrealized",
        "Realized",
        "Total P&L",
        "Charges",
        "Net P&L",
    ]
    assert column(model, "quantity") == ["+10", "-5", "0"]
    assert column(model, "total") == ["+150.00", "-1,300.50", "+200.00"]
    assert cell(model, 1, "total", FG) == theme.qcolor(theme.LOSS)
    assert cell(model, 0, "total", FG) == theme.qcolor(theme.PROFIT)
    assert cell(model, 2, "avg_price") == ""  # flat: no average
    totals = model.totals
    assert (totals.open_positions, totals.unrealized, totals.realized, totals.total) == (
        2,
        Decimal("50.00"),
        Decimal("-1000.50"),
        Decimal("-950.50"),
    )
    assert [
        totals_model.data(totals_model.index(0, c)) for c in range(totals_model.columnCount())
    ] == ["TOTAL", "2 open", "", "", "", "+50.00", "-1,000.50", "-950.50", "0.00", "-950.50"]
    assert totals_model.data(totals_model.index(0, 7), FG) == theme.qcolor(theme.LOSS)
    # totals follow price updates and are never part of the sorted rows
    model.upsert(
        [
            make_position(
                "TCS", quantity=-5, unrealized_pnl=Decimal("2000"), realized_pnl=Decimal("-1250.50")
            )
        ]
    )
    assert totals_model.data(totals_model.index(0, 7)) == "+1,099.50"
    assert seen[-1].total == Decimal("1099.50")
    model.sort(model.column_index("total"), Qt.SortOrder.DescendingOrder)
    assert column(model, "symbol") == ["TCS", "INFY", "RELIANCE"]
    assert [p.symbol for p in model.open_positions()] == ["RELIANCE", "TCS"]
    assert model.row_for_key(("NSE", "TCS", Product.MIS)) == 0


def test_totals_footer_follows_grid_column_widths(qtbot, make_position):
    model = PositionsModel()
    model.upsert([make_position("RELIANCE")])
    grid, footer = QTableView(), QTableView()
    for w in (grid, footer):
        qtbot.addWidget(w)
    grid.setModel(model)
    footer.setModel(PositionsTotalsModel(model))
    configure_totals_footer(grid, footer)
    grid.horizontalHeader().resizeSection(0, 173)
    assert footer.horizontalHeader().sectionSize(0) == 173
    assert footer.horizontalHeader().isHidden()


# ---- trades, export ----------------------------------------------------------------------


def test_trades_are_keyed_by_trade_id(t0):
    model = TradesModel()
    model.upsert([trade(1), trade(2)])
    model.upsert([trade(1)])  # a replayed fill: same row, not a new one
    assert model.rowCount() == 2
    assert cell(model, 0, "value") == "24,505.00"
    assert cell(model, 0, "side", FG) == theme.qcolor(theme.BUY)


def test_export_csv_writes_raw_values_in_view_order(tmp_path, make_order):
    model = OrdersModel()
    model.upsert(
        [
            make_order(1, quantity=1000, price=Decimal("245050.5"), symbol="RELIANCE"),
            make_order(2, quantity=9, status=OrderStatus.REJECTED, status_message="मार्जिन कम"),
        ]
    )
    model.sort(model.column_index("quantity"))
    path = tmp_path / "orders.csv"
    assert export_csv(model, path) == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 (and Hindi) correctly
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:3] == ["Time (IST)", "Client ID", "Broker ID"]
    assert [r[6] for r in rows[1:]] == ["9", "1000"]
    assert rows[2][8] == "245050.5"
    assert rows[1][12] == "मार्जिन कम"


def test_remove_and_reset(make_order):
    model = OrdersModel()
    model.reset([make_order(i) for i in range(1, 5)])
    assert model.rowCount() == 4
    assert model.remove(2) and not model.remove(2)
    assert [model.item_at(r).id for r in range(3)] == [1, 3, 4]
    assert model.row_for_key(4) == 2
    model.clear()
    assert model.rowCount() == 0 and model.get(1) is None
    assert model.data(QModelIndex()) is None
