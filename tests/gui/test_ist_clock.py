"""Issue 13 #8: one clock. Every time the app shows is IST (UTC+05:30, NSE's clock)
whatever the machine's zone, and the trading day is the IST day.

The machine's zone is set (TZ + time.tzset()) to zones far from IST and restored after;
every expected text is computed here as UTC + 5:30, never with the code under test.
"""

from __future__ import annotations

import csv
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.history import OrderEventRecord
from tests.helpers import FAR_ZONES, machine_zone

SHIFT = timedelta(hours=5, minutes=30)
# 18:45:30.123 UTC on 4 May is 00:15:30.123 IST on 5 May: the next IST trading day.
LATE = datetime(2026, 5, 4, 18, 45, 30, 123456, tzinfo=UTC)
PRICE = Decimal("2450")
D0 = Decimal(0)


def ist(at: datetime, pattern: str = "%H:%M:%S") -> str:
    """The expected text: UTC + 5:30, formatted without any time zone machinery."""
    return (at.astimezone(UTC).replace(tzinfo=None) + SHIFT).strftime(pattern)


@pytest.fixture(params=list(FAR_ZONES.values()), ids=list(FAR_ZONES))
def far_zone(request):
    with machine_zone(request.param):
        # the zone really is in effect: the machine's local time is not IST
        local = datetime.fromtimestamp(LATE.timestamp())
        assert local.strftime("%H:%M") != "00:15"
        yield request.param


def test_formatters_models_and_panels_show_ist(far_zone, qtbot, make_order, make_position):
    from desktop_oms.ui.alerts.panel import AlertsModel
    from desktop_oms.ui.blotter.audit import AuditModel
    from desktop_oms.ui.blotter.orders_model import OrdersModel
    from desktop_oms.ui.blotter.trades_model import TradeRow, TradesModel
    from desktop_oms.ui.common import format as fmt
    from desktop_oms.ui.review.columns import ist_text
    from desktop_oms.ui.shell.status_bar import OmsStatusBar

    assert fmt.ist_time(LATE) == fmt.local_time(LATE) == ist(LATE) == "00:15:30"
    assert fmt.ist_datetime(LATE) == fmt.local_datetime(LATE) == "2026-05-05 00:15:30"
    assert fmt.ist_time(None) == ""

    # blotter: orders (cell and tooltip) and trades
    orders = OrdersModel(flush_interval_ms=0)
    orders.upsert([make_order(1, created_at=LATE, updated_at=LATE + timedelta(seconds=2))])
    orders.flush()
    col = orders.column_index("time")
    assert orders.index(0, col).data() == "00:15:30"
    assert orders.index(0, col).data(Qt.ItemDataRole.ToolTipRole) == "2026-05-05 00:15:30"
    status_tip = orders.index(0, orders.column_index("status")).data(Qt.ItemDataRole.ToolTipRole)
    assert "updated 2026-05-05 00:15:32" in status_tip
    trades = TradesModel()
    trades.upsert(
        [TradeRow("T1", 1, "B1", "RELIANCE", "NSE", OrderSide.BUY, 10, PRICE, LATE, Product.MIS)]
    )
    trades.flush()
    assert trades.index(0, trades.column_index("time")).data() == "00:15:30"

    # the audit trail, to the millisecond
    audit = AuditModel()
    audit.set_events(
        [OrderEventRecord(1, 1, LATE, "JOURNALED", None, OrderStatus.PENDING, "journaled", None)]
    )
    assert audit.index(0, 0).data() == "00:15:30.123"
    assert audit.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == "2026-05-05 00:15:30"

    # the alerts panel: given times, log records and "now"
    alerts = AlertsModel(flush_ms=0)
    alerts.add("warning", "given", "test", at=LATE)
    before = datetime.now(UTC)
    alerts.add("info", "now", "test")
    alerts.flush()
    assert alerts.index(1, 0).data() == "00:15:30"
    assert alerts.index(1, 0).data(Qt.ItemDataRole.ToolTipRole).startswith("2026-05-05 00:15:30")
    shown_now = alerts.index(0, 0).data()
    assert shown_now in {ist(before), ist(before + timedelta(seconds=1))}
    assert alerts.alert_at(0).at.utcoffset() == timedelta(0)  # kept aware (UTC)

    # the status bar: "reconciled HH:MM:SS"
    bar = OmsStatusBar()
    qtbot.addWidget(bar)
    bar.set_reconciliation(LATE, 0)
    assert bar.reconciliation.text() == "reconciled 00:15:30 \u2014 0 mismatches"
    assert "2026-05-05 00:15:30" in bar.reconciliation.toolTip()
    bar.set_reconciliation(LATE, None, ok=False, error="timeout")
    assert bar.reconciliation.text() == "reconciliation FAILED 00:15:30"

    # the day review's round trips
    assert ist_text(LATE, with_date=True) == "05 May 00:15:30"
    assert ist_text(LATE, with_date=False) == "00:15:30"


def test_log_records_are_ist_in_the_panel_and_the_log_file(far_zone, qtbot):
    from desktop_oms.infra.logs import log_formatter
    from desktop_oms.ui.alerts.panel import AlertsPanel, QtLogHandler

    record = logging.LogRecord("desktop_oms.test", logging.WARNING, __file__, 1, "hi", (), None)
    record.created = LATE.timestamp()
    record.msecs = 123.0
    assert log_formatter().format(record).startswith("2026-05-05 00:15:30,123 IST WARNING")

    panel = AlertsPanel()
    qtbot.addWidget(panel)
    handler = QtLogHandler(panel)
    handler.emit(record)
    qtbot.waitUntil(lambda: len(panel.model.alerts()) == 1, timeout=2000)
    panel.model.flush()
    assert panel.model.index(0, 0).data() == "00:15:30"


def test_csv_exports_are_ist(far_zone, tmp_path, make_order):
    from desktop_oms.domain.enums import OrderSide as Side
    from desktop_oms.domain.history import TradeRecord
    from desktop_oms.exports import write_trades_csv
    from desktop_oms.ui.blotter.orders_model import OrdersModel
    from desktop_oms.ui.common import export_csv

    model = OrdersModel(flush_interval_ms=0)
    model.upsert([make_order(1, created_at=LATE)])
    model.flush()
    path = tmp_path / "orders.csv"
    export_csv(model, path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "Time (IST)" and rows[1][0] == "2026-05-05 00:15:30"

    order = make_order(1, created_at=LATE)
    trade = TradeRecord(
        trade_id="T1",
        order_id=1,
        broker_order_id="B1",
        symbol="RELIANCE",
        exchange="NSE",
        side=Side.BUY,
        quantity=10,
        price=PRICE,
        timestamp=LATE,
        product=Product.MIS,
        multiplier=Decimal(1),
        realized_pnl=Decimal(0),
        charges=Decimal(0),
    )
    out = tmp_path / "trades.csv"
    write_trades_csv(out, [(trade, order)])
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "time (IST)" and rows[1][0] == "2026-05-05 00:15:30"

    # the HTML review's chart labels its first and last points in IST
    from desktop_oms.domain.history import PnlSnapshot
    from desktop_oms.exports import pnl_svg

    points = [PnlSnapshot(at, D0, D0, D0, D0, D0, 0) for at in (LATE, LATE + timedelta(hours=1))]
    svg = pnl_svg(points)
    assert ">05 May 00:15 IST<" in svg and ">05 May 01:15 IST<" in svg


def test_pnl_chart_time_axis_is_ist(far_zone, qtbot):
    from desktop_oms.ui.pnl.chart import PnlChart

    chart = PnlChart()
    qtbot.addWidget(chart)
    chart.resize(600, 300)
    chart.show()
    start = datetime(2026, 5, 4, 3, 47, 12, tzinfo=UTC)  # 09:17:12 IST
    chart.load([(start + timedelta(minutes=i), Decimal(10 * i), Decimal(0)) for i in range(60)])
    axis = chart.getPlotItem().getAxis("bottom")
    end = (start + timedelta(minutes=59)).timestamp()
    qtbot.waitUntil(lambda: chart.getPlotItem().viewRange()[0][1] >= end, timeout=3000)
    (x0, x1), _ = chart.getPlotItem().viewRange()
    levels = axis.tickValues(x0, x1, 500)
    assert levels
    for spacing, values in levels:
        assert values and spacing >= 60
        for value, text in zip(values, axis.tickStrings(values, 1.0, spacing), strict=True):
            at = datetime.fromtimestamp(value, UTC)
            assert text == ist(at, "%H:%M")  # IST clock time, no seconds
            assert (at + SHIFT).second == 0 and (at + SHIFT).minute % (spacing // 60) == 0


def test_window_shows_ist_on_a_machine_far_from_india(qtbot, arun, make_app, tmp_path):
    """The real window on a UTC (and a UTC-10) machine: blotter, trades, audit trail,
    status bar and alerts show UTC+5:30."""
    for name in ("UTC", "UTC-10"):
        with machine_zone(FAR_ZONES[name]):
            _check_window(qtbot, arun, make_app(tmp_path / name), name)


def _check_window(qtbot, arun, app, name: str) -> None:
    """Blotter, trades, audit trail, status bar and alerts of a started app."""
    w = app.window
    app.broker.set_last_price("NSE", "RELIANCE", PRICE)
    result = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=10,
                order_type=OrderType.LIMIT,
                price=PRICE,
                product=Product.MIS,
            )
        )
    )
    order = arun(app.order_manager.get_order(result.order_id))
    qtbot.waitUntil(lambda: len(w.trades_model) == 1, timeout=5000)
    w.orders_model.flush()
    row = w.orders_model.row_for_key(order.id)
    cell = w.orders_model.index(row, w.orders_model.column_index("time")).data()
    assert cell == ist(order.created_at), name
    trade = w.trades_model.items()[0]
    cell = w.trades_model.index(0, w.trades_model.column_index("time")).data()
    assert cell == ist(trade.timestamp), name

    w.audit.show_order(order)
    qtbot.waitUntil(lambda: w.audit.model.rowCount() >= 1, timeout=3000)
    first = w.audit.model.events()[0]
    assert w.audit.model.index(0, 0).data() == ist(first.at) + (
        f".{first.at.microsecond // 1000:03d}"
    )

    qtbot.waitUntil(lambda: w.live.reconciliation[0] is not None, timeout=5000)
    w.live.refresh()
    at = w.live.reconciliation[0]
    assert w.status.reconciliation.text().startswith(f"reconciled {ist(at)}"), name

    w.alerts.add("info", "an alert at a known time", "test", at=LATE)
    w.alerts.model.flush()
    assert w.alerts.model.index(0, 0).data() == "00:15:30"
    arun(app.stop())
