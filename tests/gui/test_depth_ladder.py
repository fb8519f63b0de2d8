"""The depth ladder (issue 17) in the real window (paper broker): rows around the last
price with the book's sizes, click a Bid / Ask cell to place a limit there, click an own
order to cancel it, drag it to another row to modify it; the keyboard does the same."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from desktop_oms.domain import OrderSide, OrderStatus, OrderType
from desktop_oms.ui.depth.ladder import ASK, BID, MY_ASKS, MY_BIDS, PRICE, ROWS

D = Decimal
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def app(make_app, caplog):
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", "2450")
    app.broker.set_last_price("NSE", "RELIANCE", "2450.05")  # an uptick: the ask is the last
    yield app
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def ladder_of(app, qtbot):
    window = app.window
    window.show_instrument("NSE", "RELIANCE")
    dock = window.ladder_dock  # floated, tall enough for every row
    dock.setFloating(True)
    dock.resize(420, 800)
    dock.show()
    ladder = window.depth_ladder
    qtbot.waitUntil(lambda: ladder.model.rowCount() == ROWS, timeout=5000)
    qtbot.waitExposed(ladder.view)
    return ladder


def cell(ladder, row, column):
    return ladder.view.visualRect(ladder.model.index(row, column)).center()


def click(qtbot, ladder, row, column):
    qtbot.mouseClick(ladder.view.viewport(), LEFT, pos=cell(ladder, row, column))


def text(ladder, row, column) -> str:
    return ladder.model.index(row, column).data() or ""


def active(_arun, app):
    return [
        o for o in app.order_manager.live_orders() if o.symbol == "RELIANCE" and o.status.is_active
    ]


def test_rows_around_the_last_price_with_the_books_sizes(app, qtbot):
    ladder = ladder_of(app, qtbot)
    model = ladder.model
    centre = ROWS // 2
    assert model.price_at(centre) == D("2450.05")
    assert text(ladder, centre, PRICE) == "2,450.05"
    assert model.price_at(centre - 1) - model.price_at(centre) == D("0.05")  # higher on top
    tick = app.quotes.tick("NSE", "RELIANCE")
    for level in tick.depth.asks:
        assert text(ladder, model.row_of(level.price), ASK) == f"{level.quantity:,}"
    for level in tick.depth.bids:
        assert text(ladder, model.row_of(level.price), BID) == f"{level.quantity:,}"
    assert text(ladder, model.row_of(tick.depth.bids[0].price), ASK) == ""
    # the centre stays while the price moves a little, and follows when it leaves
    app.broker.set_last_price("NSE", "RELIANCE", "2450.25")
    qtbot.waitUntil(lambda: model.last == D("2450.25"), timeout=3000)
    assert model.price_at(centre) == D("2450.05")
    app.broker.set_last_price("NSE", "RELIANCE", "2451.00")
    qtbot.waitUntil(lambda: model.price_at(centre) == D("2451.00"), timeout=3000)


def test_click_a_bid_to_buy_there_and_click_the_order_to_cancel_it(app, qtbot, arun):
    ladder = ladder_of(app, qtbot)
    ladder.lots.setValue(3)
    row = ladder.model.row_of(D("2449.80"))
    click(qtbot, ladder, row, BID)
    qtbot.waitUntil(lambda: len(active(arun, app)) == 1, timeout=5000)
    [order] = active(arun, app)
    assert (order.side, order.order_type, order.price, order.quantity) == (
        OrderSide.BUY, OrderType.LIMIT, D("2449.80"), 3,
    )  # fmt: skip
    qtbot.waitUntil(lambda: text(ladder, row, MY_BIDS) == "3", timeout=5000)
    qtbot.waitUntil(lambda: "order #" in ladder.notice.text(), timeout=5000)
    click(qtbot, ladder, row, MY_BIDS)
    qtbot.waitUntil(
        lambda: app.order_manager.order_now(order.id).status is OrderStatus.CANCELLED, timeout=5000
    )
    qtbot.waitUntil(lambda: text(ladder, row, MY_BIDS) == "", timeout=5000)


def test_drag_an_own_order_to_another_row_to_modify_it(app, qtbot, arun):
    ladder = ladder_of(app, qtbot)
    click(qtbot, ladder, ladder.model.row_of(D("2450.40")), ASK)
    qtbot.waitUntil(lambda: len(active(arun, app)) == 1, timeout=5000)
    [order] = active(arun, app)
    assert order.side is OrderSide.SELL and order.price == D("2450.40")
    start = ladder.model.row_of(D("2450.40"))
    qtbot.waitUntil(lambda: text(ladder, start, MY_ASKS) == "1", timeout=5000)  # open at the broker
    end = ladder.model.row_of(D("2450.60"))
    viewport = ladder.view.viewport()
    qtbot.mousePress(viewport, LEFT, pos=cell(ladder, start, MY_ASKS))
    qtbot.mouseMove(viewport, pos=cell(ladder, start + (end - start) // 2, MY_ASKS))
    qtbot.mouseMove(viewport, pos=cell(ladder, end, MY_ASKS))
    qtbot.mouseRelease(viewport, LEFT, pos=cell(ladder, end, MY_ASKS))
    qtbot.waitUntil(
        lambda: app.order_manager.order_now(order.id).price == D("2450.60"), timeout=5000
    )
    qtbot.waitUntil(lambda: text(ladder, end, MY_ASKS) == "1", timeout=5000)


def test_the_keyboard_places_carries_and_cancels(app, qtbot, arun):
    ladder = ladder_of(app, qtbot)
    view = ladder.view
    row = ladder.model.row_of(D("2449.90"))
    view.setFocus()
    view.setCurrentIndex(ladder.model.index(row, BID))
    qtbot.keyClick(view, Qt.Key.Key_Plus)  # 2 lots
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(active(arun, app)) == 1, timeout=5000)
    [order] = active(arun, app)
    assert order.quantity == 2 and order.price == D("2449.90")
    qtbot.waitUntil(lambda: text(ladder, row, MY_BIDS) == "2", timeout=5000)  # open
    view.setCurrentIndex(ladder.model.index(row, MY_BIDS))
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert ladder.model.carry == (OrderSide.BUY, D("2449.90"), D("2449.80"))
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # dropped: nothing sent
    assert ladder.model.carry is None
    view.setCurrentIndex(ladder.model.index(row, MY_BIDS))
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: app.order_manager.order_now(order.id).price == D("2449.85"), timeout=5000
    )
    moved = ladder.model.row_of(D("2449.85"))
    qtbot.waitUntil(lambda: text(ladder, moved, MY_BIDS) == "2", timeout=5000)
    view.setCurrentIndex(ladder.model.index(moved, MY_BIDS))
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: app.order_manager.order_now(order.id).status is OrderStatus.CANCELLED, timeout=5000
    )


def test_a_large_order_asks_first_and_a_refused_one_says_why(app, qtbot, arun):
    ladder = ladder_of(app, qtbot)
    ladder.lots.setValue(6000)  # above the maximum quantity (and the confirmation threshold)
    click(qtbot, ladder, ladder.model.row_of(D("2449.50")), BID)
    qtbot.waitUntil(lambda: ladder.confirm_box is not None and ladder.confirm_box.isVisible())
    assert "BUY 6,000 RELIANCE @ 2,449.50" in ladder.confirm_box.text()
    assert active(arun, app) == []  # nothing sent while it asks
    yes = ladder.confirm_box.findChild(QPushButton, "confirmYes")
    qtbot.mouseClick(yes, LEFT)
    qtbot.waitUntil(lambda: "refused" in ladder.notice.text(), timeout=5000)
    assert "quantity" in ladder.notice.text().lower()
    assert ladder.notice.level == "error" and active(arun, app) == []


def test_a_short_ladder_shows_the_last_price_row_in_the_middle(app, qtbot):
    """A ladder shorter than its rows (a tab in the left column) scrolls the last price
    to the middle when it is shown, resized or re-centred."""
    window = app.window
    window.show_instrument("NSE", "RELIANCE")
    dock = window.ladder_dock
    dock.setFloating(True)
    dock.resize(420, 260)  # about ten rows
    dock.show()
    ladder = window.depth_ladder
    qtbot.waitUntil(lambda: ladder.model.rowCount() == ROWS, timeout=5000)
    qtbot.waitExposed(ladder.view)

    def centre_row_in_middle() -> bool:
        viewport = ladder.view.viewport().rect()
        rect = ladder.view.visualRect(ladder.model.index(ROWS // 2, PRICE))
        return (
            viewport.contains(rect)
            and abs(rect.center().y() - viewport.center().y()) < rect.height()
        )

    qtbot.waitUntil(centre_row_in_middle, timeout=3000)
    ladder.view.scrollToTop()
    dock.resize(420, 300)
    qtbot.waitUntil(centre_row_in_middle, timeout=3000)
