"""Our blotter fed the blotter benchmark's events (a fresh process, offscreen Qt):

    python -m tests.bench.blotter_ours N_ORDERS

OrdersModel in the house QTableView (ui.blotter_panel.make_table: sorting on, newest
first by time, as the window's blotter), shown. The events are OrderStatusChanged events
published on an EventBus whose subscriber does what the MainWindow's does
(orders_model.queue_upsert(event.order)); the model coalesces them and applies them on
its flush timer. Timed from the first publish until every order's final state is in the
model and applied, then scrolled to the last row and repainted. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    n_orders = int(sys.argv[1])
    from PySide6 import QtCore
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from desktop_oms.domain import (
        Order,
        OrderSide,
        OrderStatus,
        OrderType,
        Product,
        Validity,
        Variety,
    )
    from desktop_oms.domain.events import OrderStatusChanged
    from desktop_oms.oms import EventBus
    from desktop_oms.ui.blotter.orders_model import OrdersModel
    from desktop_oms.ui.common.theme import apply_dark_theme
    from tests.bench.blotter_events import event_stream, order_fields

    try:
        from desktop_oms.ui.common.tables import make_table
    except ImportError:  # before the blotter panel existed
        from PySide6.QtWidgets import QTableView

        def make_table(name, model):  # noqa: ANN001
            view = QTableView()
            view.setObjectName(name)
            view.setModel(model)
            view.setSortingEnabled(True)
            return view

    qapp = QApplication.instance() or QApplication([])
    apply_dark_theme(qapp)
    model = OrdersModel()
    view = make_table("blotter", model)
    view.sortByColumn(model.column_index("time"), Qt.SortOrder.DescendingOrder)
    view.resize(1200, 700)
    view.show()
    for _ in range(10):
        qapp.processEvents()
    bus = EventBus()
    bus.subscribe(OrderStatusChanged, lambda e: model.queue_upsert(e.order))

    statuses = (
        OrderStatus.PENDING,
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    )
    t_base = datetime(2026, 1, 5, 3, 45, tzinfo=UTC)
    events = []
    for i, step in event_stream(n_orders):
        f = order_fields(i, step)
        at = t_base + timedelta(seconds=f["seconds"])
        price = Decimal(f["price_paise"]) / 100
        order = Order(
            id=i + 1,
            client_order_id=f"BNCH{i:013d}",
            broker_order_id=None if step == 0 else f"26{i:016d}",
            symbol=f["symbol"],
            exchange="NSE",
            side=OrderSide.BUY if f["buy"] else OrderSide.SELL,
            order_type=OrderType.LIMIT,
            product=Product.MIS,
            validity=Validity.DAY,
            variety=Variety.REGULAR,
            quantity=f["quantity"],
            price=price,
            trigger_price=None,
            status=statuses[step],
            created_at=at,
            updated_at=at + timedelta(milliseconds=step),
            filled_quantity=f["filled"],
            average_price=price if f["filled"] else None,
        )
        events.append(
            OrderStatusChanged(
                order,
                statuses[step - 1] if step else None,
                statuses[step],
                "bench",
                order.updated_at,
            )
        )
    total = len(events)
    last_key = events[-1].order.id

    def done() -> bool:
        if model.has_pending() or len(model) != n_orders:
            return False
        item = model.get(last_key)
        return item is not None and item.status is OrderStatus.FILLED

    t0 = time.perf_counter()
    for event in events:
        bus.publish(event)
    t_published = time.perf_counter()
    while not done():
        qapp.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
    t_applied = time.perf_counter()
    view.scrollToBottom()
    view.viewport().repaint()
    qapp.processEvents()
    t1 = time.perf_counter()
    filled = sum(1 for o in model.items() if o.status is OrderStatus.FILLED)
    print(
        json.dumps(
            {
                "seconds": t1 - t0,
                "publish_s": t_published - t0,
                "applied_s": t_applied - t0,
                "events": total,
                "rows": model.rowCount(),
                "filled_rows": filled,
                "flushes": model.flush_count,
                "pyside6": __import__("PySide6").__version__,
                "qt": QtCore.qVersion(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
