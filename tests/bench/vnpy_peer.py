"""vn.py's order monitor fed the blotter benchmark's events (run in vn.py's own environment):

    uv run --isolated --no-project --with vnpy python tests/bench/vnpy_peer.py N_ORDERS

A MainEngine (its EventEngine thread, OmsEngine, LogEngine...) and vnpy.trader.ui.widget's
OrderMonitor (a QTableWidget; sorting on, as shipped) shown offscreen. The events go in
with event_engine.put(Event(EVENT_ORDER, OrderData)), as a gateway's on_order does; the
monitor receives them through its Qt signal. Timed from the first put until the monitor
has processed every event, then scrolled to the last row and repainted. Prints one JSON line.
Runs in a temporary HOME/working dir (vn.py writes .vntrader settings there).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    n_orders = int(sys.argv[1])
    timeout_s = float(sys.argv[2]) if len(sys.argv) > 2 else 900.0
    home = tempfile.mkdtemp(prefix="vnpy-peer-")
    os.environ["HOME"] = home
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.makedirs(os.path.join(home, ".vntrader"), exist_ok=True)
    os.chdir(home)
    sys.path.insert(0, str(HERE))
    import vnpy
    from blotter_events import STEPS, event_stream, order_fields  # noqa: F401
    from PySide6 import QtCore, QtWidgets
    from vnpy.event import Event, EventEngine
    from vnpy.trader.constant import Direction, Exchange, OrderType, Status
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.event import EVENT_ORDER
    from vnpy.trader.object import OrderData
    from vnpy.trader.ui.widget import OrderMonitor

    qapp = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    event_engine = EventEngine()
    main_engine = MainEngine(event_engine)

    class CountingOrderMonitor(OrderMonitor):
        processed = 0

        def process_event(self, event):  # noqa: ANN001
            super().process_event(event)
            self.processed += 1

    monitor = CountingOrderMonitor(main_engine, event_engine)
    monitor.resize(1200, 700)
    monitor.show()
    for _ in range(10):
        qapp.processEvents()

    statuses = (Status.SUBMITTING, Status.NOTTRADED, Status.PARTTRADED, Status.ALLTRADED)
    t_base = datetime(2026, 1, 5, 9, 15)
    events = []
    for i, step in event_stream(n_orders):
        f = order_fields(i, step)
        events.append(
            Event(
                EVENT_ORDER,
                OrderData(
                    gateway_name="BENCH",
                    symbol=f["symbol"],
                    exchange=Exchange.SSE,
                    orderid=f"{i:08d}",
                    type=OrderType.LIMIT,
                    direction=Direction.LONG if f["buy"] else Direction.SHORT,
                    price=f["price_paise"] / 100,
                    volume=f["quantity"],
                    traded=f["filled"],
                    status=statuses[step],
                    datetime=t_base + timedelta(seconds=f["seconds"]),
                    reference="bench",
                ),
            )
        )
    total = len(events)
    timed_out = False
    t0 = time.perf_counter()
    for event in events:
        event_engine.put(event)
    while monitor.processed < total:
        qapp.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if time.perf_counter() - t0 > timeout_s:
            timed_out = True
            break
    t_processed = time.perf_counter()
    monitor.scrollToBottom()
    monitor.viewport().repaint()
    qapp.processEvents()
    t1 = time.perf_counter()
    rows = monitor.rowCount()
    out = {
        "seconds": t1 - t0,
        "processing_s": t_processed - t0,
        "events": total,
        "processed": monitor.processed,
        "rows": rows,
        "timed_out": timed_out,
        "vnpy": getattr(vnpy, "__version__", "?"),
        "pyside6": __import__("PySide6").__version__,
        "qt": QtCore.qVersion(),
    }
    main_engine.close()
    print(json.dumps(out), flush=True)
    os._exit(0)  # vn.py's threads (event engine timer) are not daemons everywhere


if __name__ == "__main__":
    sys.exit(main())
