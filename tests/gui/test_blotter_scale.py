"""100,000 orders in a shown blotter: loading, sorting, filtering and a burst of updates
each stay far below a frozen-window budget (a QSortFilterProxyModel over this Python
model took ~12 s per sort; these take well under a second)."""

from __future__ import annotations

import random
import time
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from desktop_oms.domain import OrderSide, OrderStatus
from desktop_oms.ui.blotter.orders_model import OrdersModel
from desktop_oms.ui.common import SORT_ROLE

BUDGET_S = 2.0  # generous: the measured times are ~0.05-0.2 s


def timed(qapp, fn) -> float:
    start = time.perf_counter()
    fn()
    qapp.processEvents()
    return time.perf_counter() - start


def test_100k_orders_stay_smooth(qtbot, qapp, make_order):
    rng = random.Random(7)
    statuses = list(OrderStatus)
    orders = [
        make_order(
            i,
            quantity=rng.randint(1, 2000),
            price=Decimal(rng.randint(100, 500000)) / 100,
            status=rng.choice(statuses),
            side=rng.choice([OrderSide.BUY, OrderSide.SELL]),
        )
        for i in range(100_000)
    ]
    model = OrdersModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    price_col = model.column_index("price")

    assert timed(qapp, lambda: model.upsert(orders)) < BUDGET_S
    assert timed(qapp, lambda: view.sortByColumn(price_col, Qt.SortOrder.AscendingOrder)) < BUDGET_S
    assert timed(qapp, lambda: model.set_status_filter("Open")) < BUDGET_S
    updates = [
        o.copy(status=OrderStatus.FILLED, filled_quantity=o.quantity, price=o.price + 1)
        for o in rng.sample(orders, 200)
    ]

    def burst():
        for o in updates:
            model.queue_upsert(o)
        model.flush()

    assert timed(qapp, burst) < BUDGET_S
    assert timed(qapp, lambda: view.viewport().repaint()) < 0.5
    keys = [model.data(model.index(r, price_col), SORT_ROLE) for r in range(model.rowCount())]
    assert keys == sorted(keys)
    assert all(o.status.is_active for o in model.visible_items())
