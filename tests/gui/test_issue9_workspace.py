"""Issue 9 in the main window, on a real Application (paper broker, no simulated market):
the market watch dock (persistence, ticks, the ticket following it, B/S), the ticket's
instrument streamed, setups from the editor to the order, notes, and the layout."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QDockWidget

from desktop_oms.domain import OrderSide
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.review.notes import NoteDialog, tooltip_text
from desktop_oms.ui.review.setups import SetupsDialog

LEFT_AREA = Qt.DockWidgetArea.LeftDockWidgetArea
D = Decimal


@pytest.fixture
def app(make_app, caplog):
    app = make_app()
    yield app
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def watch_row(watch, symbol, exchange="NSE"):
    _lid, model, _table = watch.current()
    return model.row_of((exchange, symbol))


def watch_text(watch, symbol, column):
    _lid, model, _table = watch.current()
    return model.index(watch_row(watch, symbol), column).data()


def focus_in(widget) -> bool:
    focus = QApplication.focusWidget()
    return focus is not None and (focus is widget or widget.isAncestorOf(focus))


# ------------------------------------------------------------------ layout


def test_market_watch_is_a_dock_of_the_default_layout_and_the_review_a_hidden_one(app, qtbot):
    w = app.window
    watch = w.findChild(QDockWidget, "marketWatch")
    review = w.findChild(QDockWidget, "dayReview")
    assert watch is w.market_watch and review is w.review_dock
    assert watch.isVisible() and w.dockWidgetArea(watch) == LEFT_AREA
    assert watch.geometry().height() > 150  # shows rows, not just a title
    assert review.isHidden()
    view_actions = w.view_menu.actions()
    assert watch.toggleViewAction() in view_actions
    assert review.toggleViewAction() in view_actions
    assert view_actions.index(review.toggleViewAction()) < view_actions.index(w.reset_layout_action)
    ui = w.workspace_ui
    assert (
        ui.setups_action.text() == "&Setups\u2026"
        and ui.setups_action in w.menus.journal_menu.actions()
    )

    # View > Day review shows it as a tab beside the blotter, in front
    review.toggleViewAction().trigger()
    qtbot.waitUntil(review.isVisible, timeout=2000)
    assert review in w.tabifiedDockWidgets(w.blotter_dock)
    # the trader closes the market watch; Reset layout brings it back and hides the review
    watch.close()
    w.reset_layout_action.trigger()
    qtbot.wait(50)
    assert watch.isVisible() and not watch.isFloating()
    assert w.dockWidgetArea(watch) == LEFT_AREA
    assert review.isHidden()


def test_watchlists_and_dock_state_survive_a_restart(qtbot, arun, make_app, tmp_path):
    app = make_app(size=(790, 720))
    w = app.window
    watch = w.market_watch
    assert watch.add("NSE", "WIPRO")
    assert watch.create_list("Banks")
    assert watch.add("NSE", "AXISBANK") and watch.add("NSE", "KOTAKBANK")
    _lid, banks, _t = watch.current()
    banks.move(1, 0)  # drag KOTAKBANK above AXISBANK
    w.workspace_ui.show_review()
    qtbot.waitUntil(w.review_dock.isVisible, timeout=2000)
    arun(app.stop())
    w.close()

    app2 = make_app(size=None)
    w2 = app2.window
    watch2 = w2.market_watch
    assert w2.layout_restored
    tabs = [watch2.tabs.tabText(i) for i in range(watch2.tabs.count())]
    assert tabs == ["Watchlist 1", "Banks"]
    first = watch2._lists[0][1].keys()
    assert first[0] == ("NSE", "RELIANCE") and first[-1] == ("NSE", "WIPRO")
    assert watch2._lists[1][1].keys() == [("NSE", "KOTAKBANK"), ("NSE", "AXISBANK")]
    assert w2.review_dock.isVisible() and w2.market_watch.isVisible()
    # every listed instrument is streamed
    assert {("NSE", "WIPRO"), ("NSE", "KOTAKBANK")} <= app2.broker.subscribed


# ------------------------------------------------------------------ ticks


def test_ticks_reach_market_watch_rows_through_the_coalesced_quotes(app, qtbot):
    watch = app.window.market_watch
    # seeded at start from the quote cache (the paper broker's prices)
    start = app.quotes.last_price("NSE", "INFY")
    assert start is not None and watch_text(watch, "INFY", 1) == fmt.money(start)
    app.broker.set_last_price("NSE", "INFY", D("1612.35"))
    qtbot.waitUntil(lambda: watch_text(watch, "INFY", 1) == "1,612.35", timeout=3000)
    app.broker.set_last_price("NSE", "INFY", D("1600.00"))
    app.broker.set_last_price("NSE", "TCS", D("3111.10"))
    qtbot.waitUntil(
        lambda: (
            (watch_text(watch, "INFY", 1), watch_text(watch, "TCS", 1)) == ("1,600.00", "3,111.10")
        ),
        timeout=3000,
    )
    close = app.quotes.tick("NSE", "INFY").close
    change = D("1600.00") - close
    assert watch_text(watch, "INFY", 2) == f"{'+' if change > 0 else ''}{fmt.money(change)}"
    # a symbol added later shows its last price at once
    app.broker.set_last_price("NSE", "WIPRO", D("250.50"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "WIPRO") == D("250.50"), timeout=3000)
    assert watch.add("NSE", "WIPRO")
    assert watch_text(watch, "WIPRO", 1) == "250.50"


# ------------------------------------------------------------------ the ticket


def test_the_ticket_follows_the_selected_row_without_changing_side(app, qtbot):
    w = app.window
    watch, t = w.market_watch, w.ticket
    app.broker.set_last_price("NSE", "INFY", D("1612.35"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "INFY") == D("1612.35"), timeout=3000)
    t.open_for(OrderSide.SELL, "TCS", "NSE")
    t.stop_loss.setText("3200.00")
    t.quantity.set_quantity(7)
    _lid, _model, table = watch.current()
    table.setFocus()
    assert watch.select("NSE", "INFY")
    assert (t.exchange.currentText(), t.symbol.text()) == ("NSE", "INFY")
    assert t.side is OrderSide.SELL
    assert t.price.text() == "1612.35"  # the new instrument's own price
    assert t.stop_loss.text() == ""  # the old stop meant TCS
    assert t.quantity.text_value() == "7"
    assert focus_in(table)  # following does not take the focus
    # the ticket's instrument is streamed, whatever the market watch lists
    t.symbol.setText("ASIANPAINT")
    assert t.instrument is not None
    assert ("NSE", "ASIANPAINT") in app.broker.subscribed


def test_b_and_s_on_a_row_open_the_ticket_for_it(app, qtbot):
    w = app.window
    watch, t = w.market_watch, w.ticket
    t.set_side(OrderSide.SELL)
    _lid, model, table = watch.current()
    assert watch.select("NSE", "TCS")
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_B)
    assert t.side is OrderSide.BUY and t.symbol.text() == "TCS"
    assert t.quantity.text_value() == "1"  # a lot
    assert focus_in(t.quantity)
    assert watch.select("NSE", "SBIN")
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)  # the window's F2 also means "this row" here
    assert t.side is OrderSide.SELL and t.symbol.text() == "SBIN"
    assert focus_in(t.quantity)
    # double-click: the ticket for the row, on the side it is on
    watch.select("NSE", "ITC")
    table.doubleClicked.emit(model.index(watch_row(watch, "ITC"), 0))
    assert t.side is OrderSide.SELL and t.symbol.text() == "ITC"


# ------------------------------------------------------------------ setups


def test_setups_from_the_editor_to_the_order_and_the_blotter(app, qtbot, arun):
    w = app.window
    t = w.ticket
    combo = w.findChild(QComboBox, "ticketSetup")
    assert combo is t.setup and combo.count() == 1  # only "(no setup)"
    dialog = w.workspace_ui.open_setups()
    assert isinstance(dialog, SetupsDialog) and dialog.isVisible() and not dialog.isModal()
    assert w.workspace_ui.open_setups() is dialog  # one editor at a time
    for name in ("Hammer", "Breakout", "Gap fill"):
        assert dialog.add(name)
    assert not dialog.add("hammer") and "already" in dialog.message.text()
    dialog.list.setCurrentRow(1)
    dialog.move_current(-1)  # Breakout first
    dialog.list.setCurrentRow(2)
    dialog.remove_current()  # no Gap fill
    assert dialog.rename(1, "  Hammer   reversal ")
    assert dialog.names() == ["Breakout", "Hammer reversal"]
    assert dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
    assert app.db.workspace.setups() == ["Breakout", "Hammer reversal"]
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "(no setup)",
        "Breakout",
        "Hammer reversal",
    ]

    app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
    qtbot.waitUntil(lambda: app.quotes.last_price("NSE", "RELIANCE") == D("2450"), timeout=3000)
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    t.quantity.set_quantity(10)
    t.price.setText("2450.00")
    assert t.set_setup("Breakout")
    assert t.check().request.strategy_id == "Breakout"
    qtbot.waitUntil(lambda: t.buy_button.isEnabled(), timeout=5000)
    assert t.send(OrderSide.BUY)
    qtbot.waitUntil(lambda: not t.busy, timeout=5000)
    orders = arun(app.order_manager.get_orders_by_strategy("Breakout"))
    assert len(orders) == 1 and orders[0].symbol == "RELIANCE"
    order_id = orders[0].id
    qtbot.waitUntil(lambda: w.orders_model.get(order_id) is not None, timeout=3000)
    w.orders_model.flush()
    row = w.orders_model.row_for_key(order_id)
    col = w.orders_model.column_index("strategy")
    assert w.orders_model.index(row, col).data() == "Breakout"
    position = app.position_manager.peek("NSE", "RELIANCE", orders[0].product)
    assert position.strategy_id == "Breakout"

    # editing the list keeps the ticket's choice while it is still listed
    app.db.workspace.set_setups(["Hammer reversal", "Breakout", "Opening range"])
    w.workspace_ui.refresh_setups()
    assert t.setup_name == "Breakout"
    w.workspace_ui.refresh_setups(["Opening range"])
    assert t.setup_name is None and t.check().request.strategy_id is None


# ------------------------------------------------------------------ notes


def test_notes_on_orders_and_positions_are_saved_and_shown_after_a_restart(
    qtbot, arun, make_app, tmp_path
):
    from desktop_oms.domain import OrderRequest, OrderType, Product

    app = make_app()
    w = app.window
    app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
    result = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=10,
                order_type=OrderType.LIMIT,
                price=D("2450"),
                product=Product.MIS,
            )
        )
    )
    qtbot.waitUntil(lambda: w.orders_model.get(result.order_id) is not None, timeout=3000)
    qtbot.waitUntil(lambda: bool(w.positions_model.open_positions()), timeout=3000)
    bp = w.blotter_panel
    assert bp.select_order(result.order_id)
    assert bp.note_action in bp.orders_menu().actions() and bp.note_action.isEnabled()
    bp.note_action.trigger()
    dialog = w.findChild(NoteDialog, "noteDialog")
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert dialog.text() == ""
    why = "Why in: hammer at VWAP, volume \u2191.\nWhy out: target hit \u2014 \u0930\u093f\u0932\u093e\u092f\u0902\u0938"
    dialog.editor.setPlainText(why)
    assert dialog.save()
    assert app.db.workspace.note_for_order(result.order_id) == why
    marks = w.workspace_ui.order_marks
    assert marks.note(result.order_id) == why
    assert tooltip_text("NSE:RELIANCE", why).endswith(why)

    # the position's note, from the positions grid's context menu action
    w.positions_model.flush()
    w.select_rows(w.positions_grid, [0])
    w.positions_panel.note_action.trigger()
    pos_dialog = w.workspace_ui.note_dialogs[("position", ("NSE", "RELIANCE", "MIS"))]
    pos_dialog.editor.setPlainText("Holding for the 15:00 push")
    assert pos_dialog.save()
    assert app.db.workspace.note_for_position("NSE", "RELIANCE", "MIS") == (
        "Holding for the 15:00 push"
    )
    # a note being typed when the window closes is kept
    w.positions_panel.note_action.trigger()
    typing = w.workspace_ui.note_dialogs[("position", ("NSE", "RELIANCE", "MIS"))]
    typing.editor.setPlainText("Holding for the 15:00 push; trail the stop")
    w.close()  # as the app quits: the window closes first, then the Application stops
    arun(app.stop())

    app2 = make_app()
    w2 = app2.window
    qtbot.waitUntil(lambda: w2.orders_model.get(result.order_id) is not None, timeout=3000)
    order = w2.orders_model.get(result.order_id)
    again = w2.workspace_ui.open_order_note(order)
    assert again.text() == why
    again.reject()
    # the blotter marks the row (looked up lazily when painted) and shows the note
    w2.orders_model.flush()
    qtbot.waitUntil(lambda: w2.workspace_ui.order_marks.note(result.order_id) == why, timeout=3000)
    assert app2.db.workspace.note_for_position("NSE", "RELIANCE", "MIS") == (
        "Holding for the 15:00 push; trail the stop"
    )
