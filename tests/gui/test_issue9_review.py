"""Issue 9: the day review dock against hand-computed numbers, its exports (read back), the
blotter's CSV with a BOM, and a look at the window with the market watch and the review.

The day's trades, placed through the paper broker (fills at the last price):

  Breakout  BUY 10 RELIANCE @ 2450 with a stop at 2440 (the bracket places an SL-M);
            the price falls to 2438: the stop fills at 2438          -> -120.00, stop-loss
  Breakout  BUY 5 TCS @ 3900, no stop; SELL 5 at market @ 3940        -> +200.00
  Hammer    SELL 20 INFY @ 1500 with a stop at 1510; the price falls to 1490 and the
            trader buys 20 back at market (the bracket's stop goes)   -> +200.00, stop-loss
  (none)    BUY 10 SBIN @ 800; SELL 10 at market @ 795                 -> -50.00
  Hammer    BUY 10 ITC @ 400, still open                              -> not counted

By hand (closed trips only; wins are net > 0):
  (no setup) 1 trade, 0 won, 0%,    avg loss -50,   gross -50,  largest loss -50,  SL 0
  Breakout   2 trades, 1 won, 50%,  avg win 200, avg loss -120, gross 80, largest -120, SL 1
  Hammer     1 trade, 1 won, 100%,  avg win 200,                gross 200,            SL 1
  ALL        4 trades, 2 won, 50%,  avg win 200, avg loss -85,  gross 230, largest -120, SL 2
"""

from __future__ import annotations

import csv
import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDateEdit, QPushButton, QTableView

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.exports import REVIEW_COLUMNS, TRIP_COLUMNS

D = Decimal
OUT = Path(os.environ.get("OMS_SCREENSHOT_DIR", "/tmp"))
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.fixture
def app(make_app, caplog):
    app = make_app()
    yield app
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def request(symbol, side, qty, price=None, stop=None, setup=None):
    return OrderRequest(
        symbol=symbol,
        exchange="NSE",
        side=side,
        quantity=qty,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        price=None if price is None else D(price),
        product=Product.MIS,
        stop_loss=None if stop is None else D(stop),
        strategy_id=setup,
    )


def flat(app, symbol) -> bool:
    return app.position_manager.peek("NSE", symbol, Product.MIS).quantity == 0


def no_open_orders(app, symbol) -> bool:
    return not [o for o in app.order_manager.sync.active_orders() if o.symbol == symbol]


def trade_the_day(app, qtbot, arun):
    broker, om = app.broker, app.order_manager
    place = lambda r: arun(om.place_order(r))  # noqa: E731
    for symbol, price in {
        "RELIANCE": "2450",
        "TCS": "3900",
        "INFY": "1500",
        "SBIN": "800",
        "ITC": "400",
    }.items():
        broker.set_last_price("NSE", symbol, D(price))
    # Breakout, stopped out by its bracket
    place(request("RELIANCE", BUY, 10, "2450", stop="2440", setup="Breakout"))
    qtbot.waitUntil(lambda: not no_open_orders(app, "RELIANCE"), timeout=5000)  # the SL-M
    broker.set_last_price("NSE", "RELIANCE", D("2438"))
    qtbot.waitUntil(lambda: flat(app, "RELIANCE"), timeout=5000)
    # Breakout, closed by hand
    place(request("TCS", BUY, 5, "3900", setup="Breakout"))
    broker.set_last_price("NSE", "TCS", D("3940"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "TCS") == D("3940"), timeout=3000)
    place(request("TCS", SELL, 5))
    qtbot.waitUntil(lambda: flat(app, "TCS"), timeout=5000)
    # Hammer, short, covered by hand; the bracket's stop is cancelled
    place(request("INFY", SELL, 20, "1500", stop="1510", setup="Hammer"))
    qtbot.waitUntil(lambda: not no_open_orders(app, "INFY"), timeout=5000)
    broker.set_last_price("NSE", "INFY", D("1490"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "INFY") == D("1490"), timeout=3000)
    place(request("INFY", BUY, 20))
    qtbot.waitUntil(lambda: flat(app, "INFY") and no_open_orders(app, "INFY"), timeout=5000)
    # no setup
    place(request("SBIN", BUY, 10, "800"))
    broker.set_last_price("NSE", "SBIN", D("795"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "SBIN") == D("795"), timeout=3000)
    place(request("SBIN", SELL, 10))
    qtbot.waitUntil(lambda: flat(app, "SBIN"), timeout=5000)
    # Hammer, still open
    place(request("ITC", BUY, 10, "400", setup="Hammer"))
    qtbot.waitUntil(lambda: not flat(app, "ITC"), timeout=5000)


def cells(model, row):
    return [model.index(row, c).data() for c in range(model.columnCount())]


def by_setup(panel):
    return {s.setup: s for s in panel.stats}


def test_day_review_by_setup_matches_the_hand_computed_numbers(app, qtbot, arun):
    trade_the_day(app, qtbot, arun)
    w = app.window
    panel = w.review_panel
    assert w.findChild(QDateEdit, "reviewFrom") is panel.from_date
    assert w.findChild(QTableView, "reviewSetups") is panel.setups_view
    assert w.findChild(QTableView, "reviewTrips") is panel.trips_view
    w.workspace_ui.show_review()  # showing it refreshes it
    qtbot.waitUntil(lambda: len(panel.trips) == 5, timeout=3000)
    stats = by_setup(panel)
    assert list(stats) == ["(no setup)", "Breakout", "Hammer", "ALL"]

    expected = {  # trades, wins, win rate, avg win, avg loss, gross, largest loss, with SL
        "(no setup)": (1, 0, D(0), None, D("-50"), D("-50"), D("-50"), 0),
        "Breakout": (2, 1, D(50), D("200"), D("-120"), D("80"), D("-120"), 1),
        "Hammer": (1, 1, D(100), D("200"), None, D("200"), None, 1),
        "ALL": (4, 2, D(50), D("200"), D("-85"), D("230"), D("-120"), 2),
    }
    for name, (trades, wins, rate, avg_win, avg_loss, gross, largest, with_sl) in expected.items():
        s = stats[name]
        assert (s.trades, s.wins, s.win_rate, s.with_stop_loss) == (trades, wins, rate, with_sl), (
            name
        )
        assert s.gross_pnl == gross, name
        assert s.net_pnl == gross - s.charges, name
        # charges move averages of net PnL; with none recorded they are the gross ones
        if not s.charges:
            assert (s.average_win, s.average_loss, s.largest_loss) == (avg_win, avg_loss, largest)

    # what the table shows
    model = panel.setups_model
    all_row = cells(model, model.rowCount() - 1)
    assert all_row[:3] == ["ALL", "4", "50.0%"]
    assert all_row[5] == "+230.00" and all_row[-1] == "2 of 4"
    breakout = cells(model, model.row_for_key("Breakout"))
    assert breakout[:3] == ["Breakout", "2", "50.0%"]
    # average win/loss are of net PnL: the gross 200 / -120 less each trade's charges
    b = stats["Breakout"]
    assert b.charges > 0 and b.average_win < D("200") and b.average_loss < D("-120")
    assert (
        breakout[3] == f"+{b.average_win.quantize(D('0.01'))}"
        and breakout[4] == f"{b.average_loss.quantize(D('0.01'))}"
    )
    # round trips, in time order, the open one last
    trips = panel.trips
    assert [(t.symbol, t.direction, t.setup, t.max_quantity, t.had_stop_loss) for t in trips] == [
        ("RELIANCE", "LONG", "Breakout", 10, True),
        ("TCS", "LONG", "Breakout", 5, False),
        ("INFY", "SHORT", "Hammer", 20, True),
        ("SBIN", "LONG", "(no setup)", 10, False),
        ("ITC", "LONG", "Hammer", 10, False),
    ]
    assert [t.gross_pnl for t in trips[:4]] == [D("-120"), D("200"), D("200"), D("-50")]
    assert not trips[4].is_closed
    tm = panel.trips_model
    shown = {cells(tm, r)[2]: cells(tm, r) for r in range(tm.rowCount())}
    assert shown["RELIANCE"][3] == "LONG" and shown["RELIANCE"][-1] == "yes"
    assert shown["SBIN"][-1] == "no" and shown["ITC"][1] == "open"
    assert "4 closed trades" in panel.summary.text() and "1 still open" in panel.summary.text()

    # another period: nothing yet
    from datetime import timedelta

    start, _end = panel.period()
    panel.set_period(start - timedelta(days=3), start - timedelta(days=1))
    assert panel.stats == [] and panel.trips == [] and "no closed trades" in panel.summary.text()
    panel.show_today()
    assert len(panel.trips) == 5


def test_review_exports_read_back_and_the_blotter_csv_has_a_bom(app, qtbot, arun, tmp_path):
    trade_the_day(app, qtbot, arun)
    w = app.window
    panel = w.review_panel
    assert panel.refresh()
    out = tmp_path / "review.csv"
    assert panel.run_export(panel.export_csv, out) == 5
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    blank = rows.index([])
    head, stats_rows = rows[0], rows[1:blank]
    assert head == REVIEW_COLUMNS
    as_dicts = {r[0]: dict(zip(head, r, strict=True)) for r in stats_rows}
    assert list(as_dicts) == ["(no setup)", "Breakout", "Hammer", "ALL"]
    for s in panel.stats:
        row = as_dicts[s.setup]
        assert int(row["trades"]) == s.trades and int(row["wins"]) == s.wins
        cents = D("0.01")
        assert D(row["gross pnl"]) == s.gross_pnl.quantize(cents)
        assert D(row["net pnl"]) == s.net_pnl.quantize(cents)  # the CSV rounds to paise
        assert int(row["with stop-loss"]) == s.with_stop_loss
    assert as_dicts["ALL"]["win rate %"] == "50.0"
    assert D(as_dicts["ALL"]["average loss"]) == D("-85.00") or panel.stats[-1].charges
    assert as_dicts["Hammer"]["average loss"] == "" and as_dicts["Hammer"]["largest loss"] == ""
    trip_rows = rows[blank + 1 :]
    assert trip_rows[0] == TRIP_COLUMNS
    back = [dict(zip(TRIP_COLUMNS, r, strict=True)) for r in trip_rows[1:]]
    assert [(r["symbol"], r["setup"], r["stop-loss"]) for r in back] == [
        (t.symbol, t.setup, "yes" if t.had_stop_loss else "no") for t in panel.trips
    ]
    assert [D(r["gross pnl"]) for r in back[:4]] == [D("-120"), D("200"), D("200"), D("-50")]
    assert back[4]["closed (IST)"] == "open"
    assert any("Exported the review (5 round trips)" in a.message for a in alerts(w))

    # the HTML report, with the PnL chart from the snapshots
    app.db.positions.add_pnl_snapshot(app.pnl_now())
    arun(_later(0.05))
    app.db.positions.add_pnl_snapshot(app.pnl_now())
    html_path = tmp_path / "review.html"
    assert panel.run_export(panel.export_html, html_path) == 5
    html = html_path.read_text(encoding="utf-8")
    assert "<svg" in html and "Breakout" in html and "Hammer" in html
    assert "Desktop OMS review, " + panel.period_text() in html
    # a failing export is reported, not raised
    assert panel.run_export(panel.export_csv, tmp_path / "missing-dir" / "x.csv") == -1
    assert any("Could not export the review" in a.message for a in alerts(w))

    # the buttons open a save dialog without blocking (open(), not exec())
    panel.findChild(QPushButton, "reviewExportCsv").click()
    assert panel.file_dialog is not None and panel.file_dialog.isVisible()
    panel.file_dialog.close()
    qtbot.waitUntil(lambda: panel.file_dialog is None, timeout=2000)

    # the blotter's Export CSV: UTF-8 with a BOM, the setup in the strategy column
    blotter_csv = tmp_path / "orders.csv"
    count = w.export_model(w.orders_model, blotter_csv, "orders")
    assert count == len(w.orders_model) and count >= 9
    assert blotter_csv.read_bytes().startswith(b"\xef\xbb\xbf")
    with blotter_csv.open(encoding="utf-8-sig", newline="") as fh:
        orders = list(csv.DictReader(fh))
    tcs = {o["Side"]: o["Strategy"] for o in orders if o["Symbol"] == "TCS"}
    assert tcs == {"BUY": "Breakout", "SELL": ""}  # the exit by hand has none; the trip does


async def _later(seconds):
    import asyncio

    await asyncio.sleep(seconds)


def alerts(window):
    window.alerts.model.flush()
    return window.alerts.model.alerts()


def test_render_window_with_market_watch_and_day_review(app, qtbot, arun):
    """Look at /tmp/oms_issue9_window.png after a change to these docks."""
    trade_the_day(app, qtbot, arun)
    w = app.window
    w.resize(1600, 950)
    app.db.workspace.set_setups(["Breakout", "Hammer", "Opening range"])
    w.workspace_ui.refresh_setups()
    w.market_watch.select("NSE", "INFY")
    w.workspace_ui.show_review()
    w.ticket.set_setup("Breakout")
    qtbot.waitUntil(lambda: len(w.review_panel.trips) == 5, timeout=3000)
    qtbot.wait(700)  # the flashes fade
    image = w.grab().toImage()
    assert (image.width(), image.height()) == (1600, 950)
    OUT.mkdir(parents=True, exist_ok=True)
    assert image.save(str(OUT / "oms_issue9_window.png"))
    review = w.review_dock.grab().toImage()
    assert review.width() > 400 and review.height() > 200
    assert w.market_watch.visibleRegion().boundingRect().height() > 150
