"""Issue 13, the order ticket as a trader's hands use it: keys go to the focused widget
(or to the completion popup while it is open, as the window system routes them).

- a new symbol brings its own terms (price from its last price, no stale stop / target);
- a stop or target on the wrong side of where the order will fill is refused on the
  ticket, with the reason, and nothing is sent;
- a refusal after an order went out leaves the "Sent ... #n" line visible;
- a symbol is judged when it is committed, not while it is being typed;
- the completion list is wide enough to read;
- the trading-state message ("Kill switch engaged ...") clears when trading resumes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from desktop_oms.domain import Instrument, OrderSide, OrderType
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.ui.ticket.ticket import OrderTicket

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
D = Decimal


@pytest.fixture
def ticket(qtbot, qloop, instruments, prices, submit):
    prices.prices[("NSE", "INFY")] = D("1538.80")
    prices.prices[("NSE", "RELIANCE")] = D("1516.00")
    t = OrderTicket(instruments, prices, submit, capital=D("1000000"), confirm_above=None)
    qtbot.addWidget(t)
    t.resize(420, 420)
    t.show()
    qtbot.waitExposed(t)
    t.activateWindow()
    return t


def key_target():
    """Where the window system delivers a key: an open popup first, else the focus."""
    return QApplication.activePopupWidget() or QApplication.focusWidget()


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    target = key_target()
    assert target is not None, "no widget has the keyboard focus"
    qtbot.keyClick(target, key, modifier)


def type_text(qtbot, text: str) -> None:
    for ch in text:
        target = key_target()
        assert target is not None, "no widget has the keyboard focus"
        qtbot.keyClicks(target, ch)


def focus(qtbot, widget) -> None:
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def retype(qtbot, widget, text: str) -> None:
    """Click into a field, select all (Ctrl+A) and type over it."""
    focus(qtbot, widget)
    press(qtbot, Qt.Key.Key_A, CTRL)
    if text:
        type_text(qtbot, text)
    else:
        press(qtbot, Qt.Key.Key_Delete)


def visible_texts(ticket) -> list[str]:
    return [
        label.text()
        for label in ticket.findChildren(QLabel)
        if label.isVisibleTo(ticket) and label.text()
    ]


def infy_with_terms(qtbot, t) -> None:
    """INFY, LIMIT at its last price 1538.80 (F1), stop-loss 1525, target 1560, qty 1."""
    t.open_for(OrderSide.BUY, "INFY", "NSE")
    assert t.price.text() == "1538.80"
    retype(qtbot, t.stop_loss, "1525")
    retype(qtbot, t.take_profit, "1560")
    retype(qtbot, t.quantity, "1")
    assert t.check().ok, t.check().reason()


# ------------------------------------------------------------ 3: a new symbol's terms


def test_typing_a_new_symbol_drops_the_previous_symbols_price_stop_and_target(
    qtbot, ticket, submit
):
    t = ticket
    infy_with_terms(qtbot, t)
    retype(qtbot, t.symbol, "RELIANCE")
    press(qtbot, Qt.Key.Key_Tab)  # on to the next field
    assert t.symbol.text() == "RELIANCE" and t.instrument.symbol == "RELIANCE"
    assert t.price.text() == "1516.00"  # RELIANCE's own last price, as F1 gives
    assert t.stop_loss.text() == "" and t.take_profit.text() == ""
    assert t.trigger.text() == ""
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: len(submit.requests) == 1 and not t.busy, timeout=2000)
    (request,) = submit.requests
    assert (request.symbol, request.price) == ("RELIANCE", D("1516.00"))
    assert request.stop_loss is None and request.take_profit is None


def test_choosing_a_symbol_from_the_completion_list_drops_the_previous_terms(qtbot, ticket):
    t = ticket
    infy_with_terms(qtbot, t)
    retype(qtbot, t.symbol, "REL")
    popup = t.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    press(qtbot, Qt.Key.Key_Down)  # the first match: RELIANCE on BSE
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=2000)
    assert (t.exchange.currentText(), t.symbol.text()) == ("BSE", "RELIANCE")
    assert t.price.text() == "2450.10"  # BSE:RELIANCE's last price
    assert t.stop_loss.text() == "" and t.take_profit.text() == ""


def test_retyping_the_same_symbol_keeps_its_terms(qtbot, ticket):
    t = ticket
    infy_with_terms(qtbot, t)
    focus(qtbot, t.symbol)
    press(qtbot, Qt.Key.Key_End)
    press(qtbot, Qt.Key.Key_Backspace)  # INF: no instrument for a moment
    type_text(qtbot, "Y")
    press(qtbot, Qt.Key.Key_Tab)
    assert (t.price.text(), t.stop_loss.text(), t.take_profit.text()) == (
        "1538.80",
        "1525",
        "1560",
    )


def test_a_new_symbol_without_a_quote_leaves_price_empty_until_one_arrives(qtbot, ticket, prices):
    t = ticket
    infy_with_terms(qtbot, t)
    del prices.prices[("NSE", "TCS")]
    retype(qtbot, t.symbol, "TCS")
    press(qtbot, Qt.Key.Key_Tab)
    assert t.price.text() == ""  # never INFY's 1538.80
    assert t.stop_loss.text() == "" and t.take_profit.text() == ""
    prices.prices[("NSE", "TCS")] = D("3900.00")
    t.refresh_market()
    assert t.price.text() == "3900.00"
    # once the trader types a price it is theirs: a later quote does not move it
    retype(qtbot, t.price, "3890")
    prices.prices[("NSE", "TCS")] = D("3910.00")
    t.refresh_market()
    assert t.price.text() == "3890"


def test_stop_through_the_last_price_is_refused_on_the_ticket(qtbot, ticket, submit):
    """The incident: LIMIT 1538.80 (marketable: RELIANCE is at 1516) with INFY's stop 1525
    bought at once and its stop was already crossed; the ticket refuses it instead."""
    t = ticket
    failed = []
    t.order_failed.connect(lambda *a: failed.append(a))
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    retype(qtbot, t.price, "1538.80")
    retype(qtbot, t.stop_loss, "1525")
    retype(qtbot, t.take_profit, "1560")
    retype(qtbot, t.quantity, "1")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.wait(50)
    assert submit.requests == [] and t.pending_task is None
    text = t.message.text()
    assert "stop-loss must be below the last price 1,516.00" in text, text
    assert t.message_kind == "error" and t.message.isVisible()
    assert t.stop_loss.property("invalid") is True
    # Enter from the keyboard is refused the same way
    focus(qtbot, t.quantity)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.wait(50)
    assert submit.requests == []


@pytest.mark.parametrize(
    ("side", "kind", "fields", "field", "reason"),
    [
        # sell LIMIT 1500 is marketable at 1516: a stop at 1510 is already crossed
        (
            OrderSide.SELL,
            "LIMIT",
            dict(price="1500", stop_loss="1510"),
            "stop_loss",
            "stop-loss must be above the last price 1,516.00",
        ),
        # buy MARKET: the stop at the last price triggers at once
        (
            OrderSide.BUY,
            "MARKET",
            dict(stop_loss="1516"),
            "stop_loss",
            "stop-loss must be below the last price 1,516.00",
        ),
        # buy SL-M whose trigger 1510 is already crossed: it buys at ~1516, so a
        # target at 1514 would sell at once, at a loss
        (
            OrderSide.BUY,
            "SL-M",
            dict(trigger="1510", take_profit="1514"),
            "take_profit",
            "take-profit must be above the last price 1,516.00",
        ),
        (
            OrderSide.SELL,
            "MARKET",
            dict(take_profit="1520"),
            "take_profit",
            "take-profit must be below the last price 1,516.00",
        ),
    ],
)
def test_stop_or_target_on_the_wrong_side_of_the_last_price_is_refused(
    qtbot, ticket, submit, side, kind, fields, field, reason
):
    t = ticket
    t.open_for(side, "RELIANCE", "NSE")
    t.order_type.setCurrentText(kind)
    widgets = {
        "price": t.price,
        "trigger": t.trigger,
        "stop_loss": t.stop_loss,
        "take_profit": t.take_profit,
    }
    for name, text in fields.items():
        retype(qtbot, widgets[name], text)
    retype(qtbot, t.quantity, "1")
    t.send()
    assert submit.requests == []
    assert reason in t.message.text(), t.message.text()
    assert widgets[field].property("invalid") is True


def test_a_breakout_stop_above_the_last_price_is_not_refused(qtbot, ticket, submit):
    """Buy SL-M at 1530 with RELIANCE at 1516: it fills at ~1530, so a stop at 1520 (above
    the last price, below the fill) is a normal breakout bracket."""
    t = ticket
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    t.order_type.setCurrentText("SL-M")
    retype(qtbot, t.trigger, "1530")
    retype(qtbot, t.stop_loss, "1520")
    retype(qtbot, t.take_profit, "1560")
    retype(qtbot, t.quantity, "1")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: len(submit.requests) == 1 and not t.busy, timeout=2000)
    assert submit.requests[0].order_type is OrderType.SL_M
    assert submit.requests[0].stop_loss == D("1520")


# ------------------------------------------------------------ 7: the ticket's minor defects


def test_a_duplicate_refusal_leaves_the_sent_line_visible(qtbot, ticket, submit):
    t = ticket
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    retype(qtbot, t.quantity, "10")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: t.message_kind == "ok", timeout=2000)
    sent = t.message.text()
    assert sent.startswith("Sent BUY 10 RELIANCE") and "#1" in sent
    submit.error = OrderRejected(
        "The same order (BUY 10 RELIANCE) was sent 0.4 s ago", "duplicate_order"
    )
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: t.message_kind == "error" and not t.busy, timeout=2000)
    texts = visible_texts(t)
    assert any("duplicate_order" in x and "sent 0.4 s ago" in x for x in texts), texts
    assert any(x.startswith("Sent BUY 10 RELIANCE") and "#1" in x for x in texts), texts
    # a later order that goes out becomes the sent line; nothing shows twice
    submit.error = None
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: t.message_kind == "ok" and not t.busy, timeout=2000)
    texts = visible_texts(t)
    assert sum("#2" in x for x in texts) == 1, texts
    assert not any("#1" in x for x in texts), texts


def test_a_typed_symbol_fills_the_price_from_its_last_price_as_f1_does(qtbot, ticket):
    t = ticket
    assert t.order_type.currentText() == "LIMIT" and t.price.text() == ""
    focus(qtbot, t.symbol)
    type_text(qtbot, "TCS")
    press(qtbot, Qt.Key.Key_Tab)
    assert t.price.text() == "3900.00"
    # F1 on the same instrument gives the same price
    t.open_for(OrderSide.BUY, "TCS", "NSE")
    assert t.price.text() == "3900.00"


def test_a_symbol_is_not_judged_while_it_is_being_typed(qtbot, ticket):
    t = ticket
    focus(qtbot, t.symbol)
    for ch in "INF":
        type_text(qtbot, ch)
        assert "Unknown symbol" not in t.message.text(), t.message.text()
        assert t.symbol.property("invalid") is not True
    type_text(qtbot, "X")  # INFX: no such instrument
    assert "Unknown symbol" not in t.message.text()
    press(qtbot, Qt.Key.Key_Tab)  # committed: now it is judged
    assert "Unknown symbol INFX on NSE" in t.message.text()
    assert t.symbol.property("invalid") is True
    # typing again: the verdict waits for the next commit
    retype(qtbot, t.symbol, "INF")
    assert "Unknown symbol" not in t.message.text()
    assert t.symbol.property("invalid") is not True
    type_text(qtbot, "Y")
    press(qtbot, Qt.Key.Key_Tab)
    assert t.message.text() == "" and t.symbol.property("invalid") is not True


def test_enter_commits_a_typed_symbol_and_judges_it(qtbot, ticket):
    t = ticket
    focus(qtbot, t.symbol)
    type_text(qtbot, "ZZZ")  # no completions: Enter goes to the field
    press(qtbot, Qt.Key.Key_Return)
    assert "Unknown symbol ZZZ on NSE" in t.message.text()
    assert t.message_kind == "warn"  # judged, nothing sent; the symbol field keeps the focus
    assert t.symbol.hasFocus() or t.focusWidget() is t.symbol


def test_enter_in_the_symbol_field_moves_to_the_quantity_and_sends_nothing(qtbot, ticket, submit):
    t = ticket
    focus(qtbot, t.symbol)
    type_text(qtbot, "TCS")
    t.completer.popup().hide()
    press(qtbot, Qt.Key.Key_Return)
    assert t.focusWidget() is t.quantity or t.quantity.hasFocus()
    qtbot.wait(50)
    assert submit.requests == []


HDFC = [
    Instrument("NSE", "HDFCAMC", 1510401, "HDFC Asset Management Company", D("0.05"), 1),
    Instrument("NSE", "HDFCBANK", 341249, "HDFC Bank", D("0.05"), 1),
    Instrument("NSE", "HDFCLIFE", 119553, "HDFC Life Insurance Company", D("0.05"), 1),
]


class HdfcInstruments:
    def get(self, exchange, symbol):
        return next((i for i in HDFC if (i.exchange, i.symbol) == (exchange, symbol)), None)

    def search(self, prefix, limit):
        return [i for i in HDFC if i.symbol.startswith(prefix.upper())][:limit]


@pytest.fixture
def hdfc_ticket(qtbot, qloop, prices, submit):
    t = OrderTicket(HdfcInstruments(), prices, submit, capital=D("1000000"), confirm_above=None)
    qtbot.addWidget(t)
    t.resize(t.minimumSizeHint().width(), 420)
    t.show()
    qtbot.waitExposed(t)
    t.activateWindow()
    return t


def test_the_completion_list_is_wide_enough_to_read(qtbot, hdfc_ticket):
    t = hdfc_ticket
    focus(qtbot, t.symbol)
    type_text(qtbot, "HDF")
    popup = t.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    model = popup.model()
    lines = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert len(lines) == 3 and "HDFC Asset Management Company" in " ".join(lines)
    fm = popup.fontMetrics()
    assert popup.width() > t.symbol.width()
    assert popup.viewport().width() >= max(fm.horizontalAdvance(x) for x in lines)
    assert popup.sizeHintForColumn(0) <= popup.viewport().width()  # nothing elided
    screen = t.symbol.screen().availableGeometry()
    assert popup.geometry().right() <= screen.right()


def test_the_completion_list_stays_on_screen_near_its_right_edge(qtbot, hdfc_ticket):
    """The ticket docked at the right of the screen: the list, wider than the symbol
    field, opens leftwards instead of running off the screen."""
    t = hdfc_ticket
    screen = t.screen().availableGeometry()
    t.move(screen.right() - t.frameGeometry().width() + 1, screen.top())
    focus(qtbot, t.symbol)
    type_text(qtbot, "HDF")
    popup = t.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    field_left = t.symbol.mapToGlobal(t.symbol.rect().topLeft()).x()
    assert field_left + popup.width() > screen.right() + 1  # it would not fit rightwards
    assert popup.geometry().right() <= screen.right()
    assert popup.geometry().left() >= screen.left()
    assert popup.sizeHintForColumn(0) <= popup.viewport().width()


def test_the_kill_switch_message_clears_when_trading_resumes(qtbot, ticket, submit):
    t = ticket
    t.set_trading_enabled(False, "Kill switch engaged (manual): new orders are refused")
    assert t.message.text().startswith("Kill switch engaged")
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    t.send()
    assert submit.requests == [] and "Kill switch engaged" in t.message.text()
    t.set_trading_enabled(True, "")  # what the window calls on re-arm
    assert "Kill switch" not in t.message.text()
    assert t.buy_button.isEnabled()
    # the same through set_trading_state
    t.set_trading_state(False, "Kill switch engaged (loss limit): new orders are refused")
    assert "loss limit" in t.message.text() and not t.buy_button.isEnabled()
    t.set_trading_state(True, None)
    assert t.message.text() == "" and t.buy_button.isEnabled()


def test_resuming_trading_keeps_an_unrelated_message(qtbot, ticket):
    t = ticket
    t.set_trading_enabled(False, "Orders held: waiting for reconciliation with the broker")
    t.set_trading_enabled(True, "")
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    retype(qtbot, t.price, "24x")
    assert "not a number" in t.message.text()
    t.set_trading_enabled(True, "")
    assert "not a number" in t.message.text()


def test_a_long_refusal_is_shown_whole_on_the_ticket(qtbot, ticket, submit):
    t = ticket
    t.resize(t.minimumSizeHint().width(), t.sizeHint().height())
    reason = (
        "Order value \u20b92,45,00,000.00 exceeds your limit of \u20b95,00,000.00 and the "
        "margin available \u20b91,23,456.78 after the open orders; reduce the quantity"
    )
    submit.error = OrderRejected(reason, "max_order_value")
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    retype(qtbot, t.quantity, "10")
    qtbot.mouseClick(t.buy_button, LEFT)
    qtbot.waitUntil(lambda: t.message_kind == "error" and not t.busy, timeout=2000)
    label = t.message
    assert label.text() == f"Rejected (max_order_value): {reason}"
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=2000)
    assert label.geometry().bottom() <= t.rect().bottom()
