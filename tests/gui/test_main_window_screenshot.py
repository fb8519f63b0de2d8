"""Render the whole main window with a realistic morning (orders, fills, positions, a
rejection, PnL history) offscreen, and check nothing is blank or clipped.

The render goes to $OMS_SCREENSHOT_DIR/oms_main_window.png (default /tmp). The README's
screenshots are made by the real app on a real X screen: OMS_E2E_SCREENSHOT_DIR=docs uv run
pytest tests/e2e/test_screenshots.py
"""

from __future__ import annotations

import math
import os
import random
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.risk import RiskLimits

OUT = Path(os.environ.get("OMS_SCREENSHOT_DIR", "/tmp"))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshot-offscreen.png"

PRICES = {  # near the bundled instruments' previous closes (the market watch's change %)
    "RELIANCE": "1520.00",
    "TCS": "3150.00",
    "HDFCBANK": "1000.20",
    "INFY": "1540.05",
    "SBIN": "972.40",
    "ICICIBANK": "1386.20",
    "ITC": "406.85",
    "LT": "4031.60",
}


@pytest.fixture
def india_time():
    """Show times as an Indian trader's machine would (IST), for the picture only."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def clipped_labels(window) -> list[str]:
    bad = []
    for label in window.findChildren(QLabel):
        if not label.isVisible() or not label.text() or label.wordWrap():
            continue
        if label.textFormat().name == "RichText" or label.text().startswith("<"):
            continue
        if label.fontMetrics().horizontalAdvance(label.text()) > label.width() + 1:
            bad.append(label.objectName() or label.text())
    return bad


def order(
    symbol,
    side,
    qty,
    kind=OrderType.LIMIT,
    price=None,
    trigger=None,
    product=Product.MIS,
    setup=None,
):
    return OrderRequest(
        symbol=symbol,
        exchange="NSE",
        side=side,
        quantity=qty,
        order_type=kind,
        price=None if price is None else Decimal(price),
        trigger_price=None if trigger is None else Decimal(trigger),
        product=product,
        strategy_id=setup,
    )


def test_render_main_window(qtbot, arun, make_app, india_time):
    # a busy morning: more positions and open orders than the default limit of 5
    app = make_app(size=(1600, 950), risk=RiskLimits(max_open_positions=10))
    w = app.window
    broker, om = app.broker, app.order_manager
    for symbol, price in PRICES.items():
        broker.set_last_price("NSE", symbol, Decimal(price))
    buy, sell = OrderSide.BUY, OrderSide.SELL
    place = lambda request: arun(om.place_order(request))  # noqa: E731
    place(order("RELIANCE", buy, 100, price="1520.00", setup="Breakout"))
    place(order("TCS", sell, 25, price="3150.00"))
    place(order("HDFCBANK", buy, 40, price="1000.20", product=Product.CNC))
    place(order("INFY", buy, 50, price="1540.05", setup="Hammer"))
    broker.set_last_price("NSE", "INFY", Decimal("1562.40"))
    place(order("INFY", sell, 50, kind=OrderType.MARKET))
    place(order("SBIN", buy, 200, price="965.00"))  # stays open
    place(order("ICICIBANK", sell, 60, kind=OrderType.SL, price="1376.00", trigger="1378.00"))
    cancelled = place(order("ITC", buy, 300, price="400.00"))
    arun(om.cancel_order(cancelled.order_id))
    broker.inject_rejection("RMS: margin exceeds, required 4,03,000.00, available 3,98,120.55")
    with pytest.raises(OrderRejected):
        place(order("LT", buy, 100, price="4030.00"))
    for symbol, price in {"RELIANCE": "1531.35", "TCS": "3162.40", "HDFCBANK": "1015.90"}.items():
        broker.set_last_price("NSE", symbol, Decimal(price))
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 3, timeout=5000)
    qtbot.waitUntil(lambda: len(w.orders_model) == 9, timeout=5000)
    # marked at the new prices (the mark-to-market loop runs every 0.1 s)
    qtbot.waitUntil(lambda: app.pnl_now().unrealized_pnl == Decimal("1453.00"), timeout=5000)

    # the day so far on the chart: a deterministic walk ending at the current totals
    totals = app.pnl_now()
    rng = random.Random(7)
    now = utcnow()
    points = []
    steps = 4 * 60
    realized = Decimal(0)
    for i in range(steps):
        at = now - timedelta(minutes=steps - i)
        if i == 170:  # the INFY round trip
            realized = totals.realized_pnl
        done = Decimal(i) / steps
        wave = Decimal(int(700 * math.sin(i / 23) + rng.gauss(0, 90)))
        unrealized = wave * (1 - done) + (totals.unrealized_pnl) * done
        total = realized + unrealized
        net = total - totals.charges * done if totals.charges else None
        points.append((at, total, realized, net))
    points.append(
        (now, totals.total_pnl, totals.realized_pnl, totals.net_pnl if totals.charges else None)
    )
    w.pnl_chart.load(points)

    # a few alerts of the kind a morning produces
    w.alerts.add("info", "Sent BUY 100 RELIANCE LIMIT @ 1,520.00 \u2014 #1 FILLED", "ticket")
    w.alerts.add("warning", "market data stale 7 s (recovered)", "feed")
    w.alerts.add("info", "Sent SELL 50 INFY MARKET \u2014 #5 FILLED", "ticket")
    w.alerts.add("error", "Rejected (broker): RMS: margin exceeds, required 4,03,000.00", "ticket")
    w.alerts.add("info", "Cancel #8 ITC: CANCELLED", "orders")
    for model in (w.orders_model, w.trades_model, w.positions_model):
        model.flush()
    w.alerts.model.flush()
    rows = [r for r in range(w.orders_model.rowCount())]
    sbin = next(r for r in rows if w.orders_model.item_at(r).symbol == "SBIN")
    w.select_rows(w.blotter, [sbin])
    app.db.workspace.set_setups(["Breakout", "Hammer", "Opening range"])
    w.workspace_ui.refresh_setups()
    w.market_watch.select("NSE", "RELIANCE")  # the ticket follows the market watch
    w.ticket.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    w.ticket.quantity.set_quantity(100)
    w.ticket.stop_loss.setText("1522.00")
    w.ticket.take_profit.setText("1555.00")
    w.ticket.set_setup("Breakout")
    w.ticket.refresh_market()
    w.live.refresh()
    qtbot.wait(700)  # the market watch's flashes fade
    w.pnl_chart.flush()
    assert clipped_labels(w) == []
    image = w.grab().toImage()
    assert (image.width(), image.height()) == (1600, 950)
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 11) for y in range(0, image.height(), 11)
    }
    assert len(colours) > 40
    OUT.mkdir(parents=True, exist_ok=True)
    assert image.save(str(OUT / "oms_main_window.png"))
    if os.environ.get("OMS_UPDATE_SCREENSHOT"):
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        assert image.save(str(DOCS))
