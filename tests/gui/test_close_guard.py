"""Closing the window with live orders or positions asks first (non-modal); with none it
closes at once; a close nobody asked for interactively (gui_runner's SIGINT/SIGTERM path
calls window.close()) never asks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QPushButton

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.ui.shell.close_guard import close_question


def place(arun, app, qty=10, price="2400.00", side=OrderSide.BUY):
    return arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=side,
                quantity=qty,
                order_type=OrderType.LIMIT,
                price=Decimal(price),
                product=Product.MIS,
            )
        )
    )


class WindowManagerClose:
    """What the window's close button (WM_DELETE_WINDOW / WM_CLOSE) delivers: a
    spontaneous QCloseEvent. (Offscreen Qt cannot produce a spontaneous one; on xcb the
    real event was checked to report spontaneous() == True.)"""

    def __init__(self) -> None:
        self.accepted = True

    def spontaneous(self) -> bool:
        return True

    def ignore(self) -> None:
        self.accepted = False

    def accept(self) -> None:
        self.accepted = True

    def isAccepted(self) -> bool:  # noqa: N802
        return self.accepted


@pytest.fixture
def app(make_app, qtbot):
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    qtbot.waitUntil(lambda: app.order_manager.ready, timeout=3000)
    return app


def test_the_question_reads_naturally():
    assert close_question(3, 2) == "3 open orders and 2 positions stay at the broker. Close anyway?"
    assert close_question(1, 0) == "1 open order stays at the broker. Close anyway?"
    assert close_question(0, 1) == "1 position stays at the broker. Close anyway?"
    assert close_question(1, 1) == "1 open order and 1 position stay at the broker. Close anyway?"


def test_closing_with_an_open_order_asks_and_waits_for_the_answer(qtbot, arun, app):
    w = app.window
    place(arun, app, qty=10, price="2400.00")  # stays open
    place(arun, app, qty=5, price="2405.00")  # stays open
    place(arun, app, qty=10, price="2450.00")  # fills: a position
    qtbot.waitUntil(lambda: len(app.order_manager.sync.active_orders()) == 2, timeout=3000)
    closing = []
    w.closing.connect(lambda: closing.append(True))

    # File > Quit (Ctrl+Q) asks
    quit_action = w.findChild(QAction, "actionQuit")
    quit_action.trigger()
    box = w.close_guard.box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "2 open orders and 1 position stay at the broker. Close anyway?"
    assert "stop-losses keep resting at the broker" in box.informativeText()
    assert "nothing watches the targets" in box.informativeText()
    assert w.isVisible() and not closing and not w._closed
    # ... "Keep open": nothing happens
    box.findChild(QPushButton, "confirmNo").click()
    qtbot.waitUntil(lambda: w.close_guard.box is None, timeout=2000)
    assert w.isVisible() and not closing

    # the window's close button asks the same question
    event = WindowManagerClose()
    w.closeEvent(event)
    assert not event.isAccepted()
    box = w.close_guard.box
    assert box is not None and "2 open orders and 1 position" in box.text()
    assert w.isVisible() and not closing
    # asking again while the question is open does not stack questions
    w.closeEvent(WindowManagerClose())
    assert w.close_guard.box is box
    # ... "Close anyway": closes for real (layout saved, closing emitted)
    with qtbot.waitSignal(w.closing, timeout=2000):
        box.findChild(QPushButton, "confirmYes").click()
    assert closing == [True]
    assert not w.isVisible()
    assert app.settings.ui_state_path.exists()


def test_closing_with_nothing_open_closes_at_once(qtbot, arun, app):
    w = app.window
    place(arun, app, qty=10, price="2400.00")
    qtbot.waitUntil(lambda: len(app.order_manager.sync.active_orders()) == 1, timeout=3000)
    arun(app.order_manager.cancel_all_orders())
    qtbot.waitUntil(lambda: not app.order_manager.sync.active_orders(), timeout=3000)
    assert w.close_guard.counts() == (0, 0)
    with qtbot.waitSignal(w.closing, timeout=2000):
        assert w.close_guard.request_close() is True
    assert w.close_guard.box is None and not w.isVisible()


def test_a_signal_close_does_not_ask(qtbot, arun, app):
    """gui_runner's SIGINT/SIGTERM handler calls window.close(): nobody is there to answer."""
    w = app.window
    place(arun, app, qty=10, price="2400.00")
    place(arun, app, qty=10, price="2450.00")
    qtbot.waitUntil(lambda: len(app.order_manager.sync.active_orders()) == 1, timeout=3000)
    assert w.close_guard.counts() == (1, 1)
    with qtbot.waitSignal(w.closing, timeout=2000):
        assert w.close() is True
    assert w.close_guard.box is None and not w.isVisible()
