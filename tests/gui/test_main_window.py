"""The main window on a real Application (paper broker, no simulated market, qasync loop):
ticket -> blotter -> fill -> positions -> PnL chart, blotter actions, exits, kill switch,
hotkeys, status bar, alerts."""

from __future__ import annotations

import csv
import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QTableView,
    QToolBar,
)

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.infra.clock import utcnow
from desktop_oms.ui.pnl.chart import PnlChart
from desktop_oms.ui.risk.kill_switch_button import KillSwitchState

LEFT = Qt.MouseButton.LeftButton
PRICE = Decimal("2450")


@pytest.fixture
def app(make_app, caplog):
    """A started app with its window shown; the test fails if anything logs an error it
    did not expect (tests that provoke errors clear caplog themselves)."""
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", PRICE)
    yield app
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def fill_ticket(
    qtbot,
    t,
    *,
    symbol="RELIANCE",
    qty="10",
    kind="LIMIT",
    price="2450.00",
    trigger="",
    stop="",
    target="",
):
    t.exchange.setCurrentText("NSE")
    t.order_type.setCurrentText(kind)
    for edit, text in (
        (t.symbol, symbol),
        (t.price, price),
        (t.trigger, trigger),
        (t.stop_loss, stop),
        (t.take_profit, target),
    ):
        edit.clear()
        if text and edit.isEnabled():
            qtbot.keyClicks(edit, text)
        if edit is t.symbol:
            t.completer.popup().hide()
    t.quantity.clear()
    if qty:
        qtbot.keyClicks(t.quantity, qty)


def place(
    arun, app, side=OrderSide.BUY, qty=10, price="2400.00", kind=OrderType.LIMIT, symbol="RELIANCE"
):
    return arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol=symbol,
                exchange="NSE",
                side=side,
                quantity=qty,
                order_type=kind,
                price=None if kind is OrderType.MARKET else Decimal(price),
                product=Product.MIS,
            )
        )
    )


def model_order(window, order_id):
    return window.orders_model.get(order_id)


def row_of(model, key):
    model.flush()
    return model.row_for_key(key)


def alert_texts(window):
    window.alerts.model.flush()
    return [a.message for a in window.alerts.model.alerts()]


# ------------------------------------------------------------------ structure


def test_contract_object_names_docks_and_an_always_visible_kill_switch(app):
    w = app.window
    assert w.objectName() == "mainWindow"
    expected = {
        "orderTicket": None,
        "ticketSymbol": QLineEdit,
        "ticketQuantity": QSpinBox,
        "ticketOrderType": QComboBox,
        "ticketPrice": QLineEdit,
        "ticketTriggerPrice": QLineEdit,
        "ticketProduct": QComboBox,
        "ticketStopLoss": QLineEdit,
        "ticketTakeProfit": QLineEdit,
        "buyButton": QPushButton,
        "sellButton": QPushButton,
        "blotter": QTableView,
        "tradesView": QTableView,
        "positionsGrid": QTableView,
        "pnlChart": PnlChart,
        "killSwitchButton": QPushButton,
        "auditView": QTableView,
        "alertsPanel": None,
        "blotterFilter": QComboBox,
        "positionsTotals": QTableView,
        "priceChart": None,  # issue 17
        "depthLadder": None,
    }
    for name, kind in expected.items():
        found = w.findChild(kind or object, name)
        assert found is not None, name
    docks = {d.objectName() for d in w.findChildren(QDockWidget)}
    assert docks == {
        "ticketDock",
        "blotterDock",
        "positionsDock",
        "pnlDock",
        "alertsDock",
        "marketWatch",
        "dayReview",
        "optionChain",  # issue 16: hidden tabs beside the blotter until asked for
        "basketDock",
        "priceChartDock",
        "depthLadderDock",
    }
    # the kill switch lives in a fixed toolbar, never in a dock that can be closed
    button = w.findChild(QPushButton, "killSwitchButton")
    parent = button.parentWidget()
    while parent is not None:
        assert not isinstance(parent, QDockWidget)
        if isinstance(parent, QToolBar):
            assert not parent.isMovable() and not parent.isFloatable()
            assert not parent.toggleViewAction().isVisible()
        parent = parent.parentWidget()
    assert button.isVisible() and button.state is KillSwitchState.ARMED
    filters = w.blotter_panel.filter
    assert [filters.itemText(i) for i in range(filters.count())] == [
        "All",
        "Open",
        "Executed",
        "Rejected",
    ]
    assert w.blotter.isSortingEnabled() and w.positions_grid.isSortingEnabled()
    for name in ("statusBroker", "statusMarketData", "statusReconciliation", "statusDataFile"):
        assert w.statusBar().findChild(QLabel, name) is not None


def test_status_bar_shows_broker_market_data_reconciliation_and_data_file(qtbot, app):
    w = app.window
    status = w.status
    qtbot.waitUntil(lambda: "reconciled" in status.reconciliation.text(), timeout=3000)
    assert re.fullmatch(
        r"reconciled \d\d:\d\d:\d\d \u2014 0 mismatches", status.reconciliation.text()
    )
    assert status.broker.text() == "paper \u00b7 connected"
    assert "oms.db" in status.data_file.toolTip()
    assert str(app.settings.db_path) in status.data_file.toolTip()
    app.quotes.last_tick_at = utcnow() - timedelta(seconds=12)
    w.live.refresh()
    assert status.market_data.text() == "market data stale 12 s"
    assert status.market_data.property("level") == "warn"  # amber
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2451"))
    qtbot.waitUntil(
        lambda: (w.live.refresh(), status.market_data.text())[1].startswith("market data live"),
        timeout=2000,
    )
    assert status.market_data.property("level") == "ok"
    assert status.trading.text() == "TRADING"


# ------------------------------------------------------------------ the trading flow


def test_ticket_buy_reaches_blotter_fills_shows_position_and_moves_pnl(qtbot, arun, app):
    w = app.window
    t = w.ticket
    chart = w.pnl_chart
    qtbot.waitUntil(lambda: app.order_manager.ready and t.buy_button.isEnabled(), timeout=3000)
    fill_ticket(qtbot, t, qty="10", price="2450.00")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(
        lambda: len(w.orders_model) == 1 and w.orders_model.items()[0].status is OrderStatus.FILLED,
        timeout=5000,
    )
    order = w.orders_model.items()[0]
    assert (order.side, order.quantity, order.filled_quantity, order.average_price) == (
        OrderSide.BUY,
        10,
        10,
        Decimal("2450.00"),
    )
    assert w.blotter.model().rowCount() == 1
    assert "Sent BUY 10 RELIANCE" in t.message.text()
    qtbot.waitUntil(lambda: len(w.trades_model) == 1, timeout=3000)
    trade = w.trades_model.items()[0]
    assert (trade.symbol, trade.quantity, trade.price) == ("RELIANCE", 10, Decimal("2450.00"))
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    (position,) = w.positions_model.open_positions()
    assert (position.symbol, position.quantity, position.average_price) == (
        "RELIANCE",
        10,
        Decimal("2450.00"),
    )
    assert w.positions_grid.model().rowCount() == 1
    # selecting it shows its audit trail (the window never moves the selection by itself)
    assert w.blotter.selectionModel().selectedRows() == []
    w.select_rows(w.blotter, [0])
    qtbot.waitUntil(
        lambda: w.audit.order_id == order.id and w.audit.model.rowCount() >= 3, timeout=3000
    )

    # a price move: unrealized PnL in the grid, the totals and the chart
    points = chart.point_count()
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2460"))
    qtbot.waitUntil(
        lambda: w.positions_model.open_positions()[0].unrealized_pnl == Decimal("100"), timeout=3000
    )
    qtbot.waitUntil(
        lambda: chart.point_count() > points and chart.last_values[0] == Decimal("100"),
        timeout=3000,
    )
    assert w.positions_panel.totals_model.totals.total == Decimal("100")
    assert "+100.00" in w.pnl_summary.text()

    # and sell it back from the ticket: flat, realized 100
    fill_ticket(qtbot, t, qty="10", price="2460.00")
    qtbot.mouseClick(t.sell_button, LEFT)
    qtbot.waitUntil(
        lambda: (
            len(w.orders_model) == 2
            and all(o.status is OrderStatus.FILLED for o in w.orders_model.items())
        ),
        timeout=5000,
    )
    qtbot.waitUntil(lambda: not w.positions_model.open_positions(), timeout=3000)
    (closed,) = w.positions_model.items()
    assert closed.realized_pnl == Decimal("100") and closed.quantity == 0
    qtbot.waitUntil(lambda: chart.last_values[1] == Decimal("100"), timeout=3000)


BAD_INPUT = [
    # (field, widget attr, text, fragment of the reason shown)
    ("symbol", "symbol", "", "Enter a symbol"),
    ("symbol", "symbol", "NOSUCHSYM", "Unknown symbol NOSUCHSYM"),
    ("symbol", "symbol", "123", "Unknown symbol 123"),
    ("quantity", "quantity", "", "Enter a quantity"),
    ("quantity", "quantity", "ten", "is not a number"),
    ("quantity", "quantity", "-5", "more than zero"),
    ("quantity", "quantity", "0", "more than zero"),
    ("quantity", "quantity", "2.5", "whole number"),
    ("quantity", "quantity", "999999999", "exceeds the limit"),
    ("quantity", "quantity", "1000", "exceeds your limit"),  # value 24,50,000 > 5,00,000
    ("price", "price", "", "needs a price"),
    ("price", "price", "abc", "is not a number"),
    ("price", "price", "-2450", "more than zero"),
    ("price", "price", "0", "more than zero"),
    ("price", "price", "2450.03", "tick size"),
    ("price", "price", "99999999999", "not a plausible price"),
    ("trigger", "trigger", "", "needs a trigger price"),
    ("trigger", "trigger", "x1", "is not a number"),
    ("trigger", "trigger", "-1", "more than zero"),
    ("trigger", "trigger", "0", "more than zero"),
    ("trigger", "trigger", "2440.01", "tick size"),
    ("trigger", "trigger", "99999999999", "not a plausible price"),
    ("stop_loss", "stop_loss", "sl", "is not a number"),
    ("stop_loss", "stop_loss", "-5", "more than zero"),
    ("stop_loss", "stop_loss", "0", "more than zero"),
    ("stop_loss", "stop_loss", "2430.02", "tick size"),
    ("stop_loss", "stop_loss", "2460.00", "below"),
    ("stop_loss", "stop_loss", "99999999999", "not a plausible price"),
    ("take_profit", "take_profit", "tp", "is not a number"),
    ("take_profit", "take_profit", "-5", "more than zero"),
    ("take_profit", "take_profit", "0", "more than zero"),
    ("take_profit", "take_profit", "2470.04", "tick size"),
    ("take_profit", "take_profit", "2440.00", "above"),
    ("take_profit", "take_profit", "99999999999", "not a plausible price"),
]


def test_bad_input_in_every_ticket_field_is_refused_visibly_and_nothing_is_sent(qtbot, arun, app):
    w = app.window
    t = w.ticket
    qtbot.waitUntil(lambda: t.buy_button.isEnabled(), timeout=3000)
    failures = []
    for field, attr, text, reason in BAD_INPUT:
        values = {
            "symbol": "RELIANCE",
            "qty": "10",
            "price": "2450.00",
            "trigger": "",
            "stop": "",
            "target": "",
            "kind": "LIMIT",
        }
        if field == "trigger":
            values.update(kind="SL", price="2450.00")
        key = {"quantity": "qty", "stop_loss": "stop", "take_profit": "target"}.get(field, field)
        values[key] = text
        if field == "trigger" and text == "":
            values["trigger"] = ""
        elif field == "trigger":
            values["trigger"] = text
        fill_ticket(qtbot, t, **values)
        qtbot.mouseClick(t.buy_button, LEFT)
        widget = getattr(t, attr)
        shown = t.message.text()
        if not (reason in shown and t.message_kind == "error" and t.message.isVisible()):
            failures.append(f"{field}={text!r}: message {shown!r} ({t.message_kind})")
        if not widget.property("invalid"):
            failures.append(f"{field}={text!r}: field not marked")
        if t.busy or t.pending_task is not None:
            failures.append(f"{field}={text!r}: something was submitted")
    qtbot.wait(300)
    assert failures == []
    assert arun(app.order_manager.list_orders()) == []
    assert arun(app.broker.orders()) == []
    w.orders_model.flush()
    assert w.blotter.model().rowCount() == 0


def test_cancel_and_modify_from_the_blotter_actions(qtbot, arun, app):
    w = app.window
    bp = w.blotter_panel
    result = place(arun, app, price="2400.00")
    qtbot.waitUntil(
        lambda: (o := model_order(w, result.order_id)) is not None and o.status is OrderStatus.OPEN,
        timeout=3000,
    )
    row = row_of(w.orders_model, result.order_id)
    w.select_rows(w.blotter, [row])
    assert bp.cancel_action.isEnabled() and bp.modify_action.isEnabled()
    # the menu is made of the same actions
    menu = bp.orders_menu()
    assert {a.objectName() for a in menu.actions()} >= {
        "actionCancelOrder",
        "actionModifyOrder",
        "actionCancelAllOrders",
        "actionCopyOrders",
        "actionExportOrders",
    }
    assert bp.cancel_action.shortcut().toString() == "Del"

    # modify: the dialog opens non-modally, prefilled
    bp.modify_action.trigger()
    dialog = w.modify_dialog
    assert dialog is not None and dialog.isVisible()  # open(), not exec(): we are still running
    assert dialog.price.text() == "2400.00"
    dialog.price.setText("2410.00")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(
        lambda: model_order(w, result.order_id).price == Decimal("2410.00"), timeout=3000
    )
    assert arun(app.order_manager.get_order(result.order_id)).price == Decimal("2410.00")
    assert any("Modified #" in m for m in alert_texts(w))

    # cancel with the Del action
    row = row_of(w.orders_model, result.order_id)
    w.select_rows(w.blotter, [row])
    bp.cancel_action.trigger()
    qtbot.waitUntil(
        lambda: model_order(w, result.order_id).status is OrderStatus.CANCELLED, timeout=3000
    )
    assert arun(app.order_manager.get_order(result.order_id)).status is OrderStatus.CANCELLED

    # the audit tab shows the history, including the modification and the cancel
    w.select_rows(w.blotter, [row_of(w.orders_model, result.order_id)])
    qtbot.waitUntil(
        lambda: any(e.new_status is OrderStatus.CANCELLED for e in w.audit.model.events()),
        timeout=3000,
    )
    kinds = [e.event_type for e in w.audit.model.events()]
    assert "MODIFIED" in kinds
    assert f"Order #{result.order_id}" in w.audit.caption.text()

    # filter: Open hides it, Rejected too, Executed too; All shows it
    bp.filter.setCurrentText("Open")
    assert w.blotter.model().rowCount() == 0
    bp.filter.setCurrentText("All")
    assert w.blotter.model().rowCount() == 1


def test_cancel_all_open_orders_is_confirmed_first(qtbot, arun, app):
    w = app.window
    ids = [place(arun, app, price=p).order_id for p in ("2400.00", "2390.00", "2380.00")]
    qtbot.waitUntil(lambda: len(w.orders_model.open_orders()) == 3, timeout=3000)
    box = w.request_cancel_all()
    assert box is not None and box.isVisible() and "Cancel all 3 open orders" in box.text()
    box.findChild(QPushButton, "confirmNo").click()
    qtbot.wait(200)
    assert len(arun(app.order_manager.get_active_orders())) == 3
    box = w.request_cancel_all()
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(
        lambda: all(model_order(w, i).status is OrderStatus.CANCELLED for i in ids), timeout=5000
    )
    assert arun(app.order_manager.get_active_orders()) == []
    assert any("Cancel all: 3 cancelled" in m for m in alert_texts(w))


def test_copy_rows_and_export_csv_utf8(qtbot, arun, app, tmp_path):
    w = app.window
    place(arun, app, price="2400.00")
    place(arun, app, price="2460.00")  # marketable: fills
    qtbot.waitUntil(lambda: len(w.orders_model) == 2 and len(w.trades_model) == 1, timeout=3000)
    w.select_rows(w.blotter, [0, 1])
    w.blotter_panel.copy_action.trigger()
    text = QGuiApplication.clipboard().text()
    lines = text.splitlines()
    # in the columns' on-screen order (ids last by default)
    assert lines[0].startswith("Time\tSymbol\tSide\tType\tQty")
    assert lines[0].endswith("Client ID\tBroker ID")
    assert len(lines) == 3 and all("RELIANCE" in line for line in lines[1:])
    path = tmp_path / "orders.csv"
    w.blotter_panel.filter.setCurrentText("Executed")
    assert w.export_model(w.orders_model, path, "orders") == 1
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it as UTF-8
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:4] == ["Time (IST)", "Client ID", "Broker ID", "Symbol"]
    assert rows[1][rows[0].index("Status")] == "FILLED"
    assert w.export_model(w.trades_model, tmp_path / "trades.csv", "trades") == 1
    # the export action opens a non-modal file dialog (never exec())
    w.blotter_panel.export_action.trigger()
    assert w.file_dialog is not None and w.file_dialog.isVisible()
    w.file_dialog.close()


def test_exit_one_position_and_exit_all_are_confirmed(qtbot, arun, app):
    w = app.window
    app.broker.set_last_price("NSE", "TCS", Decimal("3900"))
    place(arun, app, qty=10, price="2450.00")
    place(arun, app, side=OrderSide.SELL, qty=5, price="3900.00", symbol="TCS")
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 2, timeout=3000)
    reliance = next(p for p in w.positions_model.open_positions() if p.symbol == "RELIANCE")

    # declined: nothing sent
    box = w.request_exit(reliance)
    assert "SELL 10 NSE:RELIANCE MIS at MARKET" in box.text()
    box.findChild(QPushButton, "confirmNo").click()
    qtbot.wait(200)
    assert len(arun(app.order_manager.list_orders())) == 2

    # the per-row Exit button asks too
    grid = w.positions_grid
    row = row_of(w.positions_model, reliance.key)
    col = w.positions_model.column_index("exit")
    rect = grid.visualRect(grid.model().index(row, col))
    qtbot.mouseClick(grid.viewport(), LEFT, pos=rect.center())
    assert w.confirm_box is not None and "Square off NSE:RELIANCE" in w.confirm_box.text()
    w.confirm_box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(
        lambda: all(p.symbol != "RELIANCE" for p in w.positions_model.open_positions()),
        timeout=5000,
    )
    orders = arun(app.order_manager.list_orders())
    exit_order = orders[-1]
    # sent at market (the paper broker, as Kite, makes it a protected LIMIT: sent_type)
    assert (exit_order.side, exit_order.quantity, exit_order.sent_type, exit_order.product) == (
        OrderSide.SELL,
        10,
        OrderType.MARKET,
        Product.MIS,
    )
    assert exit_order.status is OrderStatus.FILLED

    # exit all: the short TCS position is bought back
    box = w.request_exit_all()
    assert "BUY 5 NSE:TCS MIS at MARKET" in box.text()
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(lambda: not w.positions_model.open_positions(), timeout=5000)
    assert not app.position_manager.open_positions()


def test_exit_is_not_sent_when_the_position_changed_after_confirming(qtbot, arun, app):
    w = app.window
    place(arun, app, qty=10, price="2450.00")
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    (position,) = w.positions_model.open_positions()
    box = w.request_exit(position)
    place(arun, app, qty=5, price="2450.00")  # the position grows to 15 meanwhile
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(
        lambda: any("not sent, the position changed" in m for m in alert_texts(w)), timeout=3000
    )
    assert app.position_manager.open_positions()[0].quantity == 15
    assert len(arun(app.order_manager.list_orders())) == 2


def test_holding_the_kill_switch_halts_cancels_and_flattens(qtbot, arun, app):
    w = app.window
    open_id = place(arun, app, price="2400.00").order_id
    place(arun, app, qty=10, price="2450.00")
    qtbot.waitUntil(
        lambda: (
            len(w.positions_model.open_positions()) == 1 and len(w.orders_model.open_orders()) == 1
        ),
        timeout=3000,
    )
    button = w.kill_button
    # a click is not enough
    qtbot.mouseClick(button, LEFT)
    qtbot.wait(300)
    assert not app.kill_switch.engaged and not app.order_manager.halted
    # press and hold
    qtbot.mousePress(button, LEFT)
    qtbot.waitUntil(lambda: app.kill_switch.state == "ENGAGED", timeout=6000)
    qtbot.mouseRelease(button, LEFT)
    assert app.order_manager.halted
    qtbot.waitUntil(lambda: model_order(w, open_id).status is OrderStatus.CANCELLED, timeout=3000)
    qtbot.waitUntil(lambda: not w.positions_model.open_positions(), timeout=3000)
    qtbot.waitUntil(
        lambda: button.state is KillSwitchState.ENGAGED and "cancelled 1/1" in button.text(),
        timeout=3000,
    )
    assert not w.ticket.buy_button.isEnabled() and not w.ticket.sell_button.isEnabled()
    assert "Kill switch" in w.ticket.message.text()
    assert w.status.trading.text() == "HALTED"
    # the ticket refuses, and so does the OMS
    fill_ticket(qtbot, w.ticket, qty="1", price="2450.00")
    assert w.ticket.send(OrderSide.BUY) is False
    assert any("Trading halted" in m or "Kill switch" in m for m in alert_texts(w))
    # re-arm: refused with the kill switch's reason while it says no ...
    ks = app.kill_switch
    real_problem = ks.rearm_problem
    ks.rearm_problem = lambda: "the daily loss limit is breached"
    assert w.request_rearm() is None
    assert any("Cannot re-arm the kill switch: the daily loss limit" in m for m in alert_texts(w))
    ks.rearm_problem = real_problem
    # ... then confirmed: trading again
    box = w.request_rearm()
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(lambda: w.ticket.buy_button.isEnabled(), timeout=3000)
    assert button.state is KillSwitchState.ARMED and not app.order_manager.halted


def test_kill_switch_engaged_before_restart_shows_engaged_and_blocks_the_ticket(
    qtbot, arun, make_app, tmp_path
):
    app = make_app()
    arun(app.kill_switch.engage(reason="test"))
    arun(app.stop())
    app2 = make_app()
    w = app2.window
    assert w.kill_button.state is KillSwitchState.ENGAGED
    assert not w.ticket.buy_button.isEnabled()


# ------------------------------------------------------------------ keys


def test_hotkeys_open_the_ticket_with_the_selected_instrument(qtbot, arun, app):
    w = app.window
    t = w.ticket
    place(arun, app, qty=10, price="2450.00")
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    grid = w.positions_grid
    grid.setFocus()
    w.select_rows(grid, [0])
    grid.setCurrentIndex(grid.model().index(0, 0))
    t.symbol.clear()
    qtbot.keyClick(grid, Qt.Key.Key_S)
    assert t.side is OrderSide.SELL and t.symbol.text() == "RELIANCE"
    assert t.price.text() == "2450.00" and t.order_type.currentText() == "LIMIT"
    qtbot.keyClick(grid, Qt.Key.Key_F1)
    assert t.side is OrderSide.BUY
    # typing in the ticket is typing: B and S are letters there
    t.symbol.clear()
    t.symbol.setFocus()
    qtbot.keyClicks(t.symbol, "SBIN")
    assert t.symbol.text() == "SBIN" and t.side is OrderSide.BUY
    # F2 inside the ticket switches the side but keeps what was typed
    qtbot.keyClick(t.symbol, Qt.Key.Key_F2)
    assert t.side is OrderSide.SELL and t.symbol.text() == "SBIN"


# ------------------------------------------------------------------ alerts


def test_alerts_panel_gets_oms_alerts_and_task_failures_once(qtbot, arun, app, caplog):
    w = app.window
    app.order_manager.alert("error", "something the OMS wants seen", "test")
    logging.getLogger("desktop_oms.some.module").warning("a warning from the log")

    async def boom():
        raise RuntimeError("kaboom")

    w.tasks.run(boom(), "a background step")
    qtbot.waitUntil(lambda: any("kaboom" in m for m in alert_texts(w)), timeout=3000)
    qtbot.wait(200)
    texts = alert_texts(w)
    assert texts.count("something the OMS wants seen") == 1
    assert texts.count("a warning from the log") == 1
    assert [m for m in texts if "kaboom" in m] == ["a background step: RuntimeError: kaboom"]
    caplog.clear()


def test_rejected_order_reason_is_on_the_ticket_and_in_the_alerts(qtbot, arun, app):
    w = app.window
    t = w.ticket
    qtbot.waitUntil(lambda: t.buy_button.isEnabled(), timeout=3000)
    app.order_manager.halt("test halt")
    qtbot.waitUntil(lambda: not t.buy_button.isEnabled(), timeout=3000)
    assert "test halt" in t.message.text()
    app.order_manager.resume()
    qtbot.waitUntil(lambda: t.buy_button.isEnabled(), timeout=3000)
    # a broker rejection: the reason on the ticket, in the alerts, and a REJECTED row
    app.broker.inject_rejection("Insufficient funds (RMS)")
    fill_ticket(qtbot, t, qty="1", price="2450.00")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: not t.busy and "Insufficient funds" in t.message.text(), timeout=3000)
    assert t.message_kind == "error" and t.message.text().startswith("Rejected")
    assert t.message.text() in alert_texts(w)
    # the row, REJECTED (the blotter's flush may show PENDING first: the ticket heard
    # the answer before the blotter's next flush)
    qtbot.waitUntil(
        lambda: [o.status for o in w.orders_model.items()] == [OrderStatus.REJECTED],
        timeout=3000,
    )
    w.blotter_panel.filter.setCurrentText("Rejected")
    assert w.blotter.model().rowCount() == 1


# ------------------------------------------------------------------ models added in phase 2


def test_audit_model_and_positions_exit_column_pass_qtmodeltester(qtmodeltester, make_position, t0):
    from desktop_oms.domain.history import OrderEventRecord
    from desktop_oms.ui.blotter.audit import AuditModel
    from desktop_oms.ui.positions.model import PositionsModel, PositionsTotalsModel

    audit = AuditModel()
    qtmodeltester.check(audit, force_py=True)
    audit.set_events(
        [
            OrderEventRecord(1, 7, t0, "JOURNALED", None, OrderStatus.PENDING, "journaled", None),
            OrderEventRecord(
                2,
                7,
                t0 + timedelta(milliseconds=40),
                "ACKNOWLEDGED",
                OrderStatus.PENDING,
                OrderStatus.SUBMITTED,
                "broker order id 1",
                None,
            ),
            OrderEventRecord(
                3,
                7,
                t0 + timedelta(seconds=1),
                "MODIFIED",
                OrderStatus.OPEN,
                OrderStatus.OPEN,
                "modified: price 2410",
                {"price": "2410.00"},
            ),
        ]
    )
    qtmodeltester.check(audit, force_py=True)
    assert audit.index(1, 0).data().endswith(".040")
    assert audit.index(2, 5).data() == "price=2410.00"
    assert audit.index(1, 3).data() == "SUBMITTED"

    positions = PositionsModel(exit_column=True)
    positions.upsert([make_position("RELIANCE"), make_position("INFY", quantity=0)])
    qtmodeltester.check(positions, force_py=True)
    col = positions.column_index("exit")
    texts = {positions.item_at(r).symbol: positions.index(r, col).data() for r in range(2)}
    assert texts == {"RELIANCE": "Exit", "INFY": ""}
    totals = PositionsTotalsModel(positions)
    qtmodeltester.check(totals, force_py=True)
    assert totals.index(0, col).data() == "Exit all"


def test_cancel_all_answers_at_once_for_an_order_the_blotter_does_not_show_yet(qtbot, arun, app):
    """Ctrl+Shift+Del right after an order: the blotter shows it at its next flush (and
    counted it ~0.3 s later); Cancel all asks about what the OMS has working, at once."""
    w = app.window
    action = w.blotter_panel.cancel_all_action
    assert action.isEnabled()  # nothing open: enabled all the same (it says so)
    action.trigger()
    assert any("No open orders to cancel" in m for m in alert_texts(w))
    order_id = place(arun, app, price="2400.00").order_id
    assert w.orders_model.get(order_id) is None or w.orders_model.has_pending()
    assert action.isEnabled()
    box = w.request_cancel_all()
    assert box is not None and "Cancel all 1 open order" in box.text()
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(
        lambda: arun(app.order_manager.get_order(order_id)).status is OrderStatus.CANCELLED,
        timeout=5000,
    )


def test_the_positions_menu_opened_while_flat_leaves_the_exit_keys_working(qtbot, arun, app):
    """The menu greys Exit / Exit all when there is nothing to exit; the same actions
    carry Ctrl+Shift+X and Ctrl+Alt+X, which must work once positions come."""
    w = app.window
    panel = w.positions_panel
    panel._menu(w.positions_grid.viewport().rect().center())
    menu = next(m for m in panel.findChildren(QMenu) if m.isVisible())
    assert not panel.exit_all_action.isEnabled()  # greyed in the menu: nothing open
    menu.close()
    qtbot.waitUntil(lambda: panel.exit_all_action.isEnabled(), timeout=2000)
    place(arun, app, qty=10, price="2450.00")
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    panel.exit_all_action.trigger()  # what Ctrl+Alt+X does
    assert w.confirm_box is not None and "BUY" not in w.confirm_box.text()
    assert "SELL 10 NSE:RELIANCE" in w.confirm_box.text()
    w.confirm_box.findChild(QPushButton, "confirmNo").click()
