"""The order ticket: typing, sending once, refusing bad input with a visible reason."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox

from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product, Validity
from desktop_oms.oms.errors import OrderRejected, OrderSubmissionFailed
from desktop_oms.ui.ticket.ticket import OrderTicket

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def make_ticket(qtbot, qloop, instruments, prices, submit):
    def make(**kw):
        kw.setdefault("capital", Decimal("1000000"))
        kw.setdefault("confirm_above", None)
        ticket = OrderTicket(instruments, prices, submit, **kw)
        qtbot.addWidget(ticket)
        ticket.resize(420, 360)
        ticket.show()
        qtbot.waitExposed(ticket)
        return ticket

    return make


@pytest.fixture
def ticket(make_ticket):
    return make_ticket()


def fill(
    qtbot,
    t: OrderTicket,
    *,
    symbol="RELIANCE",
    exchange="NSE",
    qty="10",
    kind="LIMIT",
    price="2450.50",
    trigger="",
    stop="",
    target="",
    product="MIS",
    validity="DAY",
):
    t.exchange.setCurrentText(exchange)
    t.order_type.setCurrentText(kind)
    t.product.setCurrentText(product)
    t.validity.setCurrentText(validity)
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
            t.completer.popup().hide()  # as when the trader moves on to the next field
    t.quantity.clear()
    if qty:
        qtbot.keyClicks(t.quantity, qty)


def settle(qtbot, ms=150):
    qtbot.wait(ms)


def test_object_names_are_the_contract(ticket):
    expected = {
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
        "ticketMessage": QLabel,
        "ticketExchange": QComboBox,
        "ticketValidity": QComboBox,
    }
    assert ticket.objectName() == "orderTicket"
    for name, kind in expected.items():
        assert ticket.findChild(kind, name) is not None, name
    assert [ticket.order_type.itemText(i) for i in range(ticket.order_type.count())] == [
        "MARKET",
        "LIMIT",
        "SL",
        "SL-M",
    ]
    assert [ticket.product.itemText(i) for i in range(ticket.product.count())] == [
        "MIS",
        "CNC",
        "NRML",
    ]


def test_typing_and_clicking_buy_submits_the_right_request(qtbot, ticket, submit):
    sent = []
    ticket.order_sent.connect(lambda req, res: sent.append((req, res)))
    fill(qtbot, ticket, qty="10", price="2450.50", product="CNC", validity="IOC")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.waitUntil(lambda: len(sent) == 1, timeout=2000)
    (request,) = submit.requests
    assert request.symbol == "RELIANCE" and request.exchange == "NSE"
    assert request.side is OrderSide.BUY
    assert request.quantity == 10
    assert request.order_type is OrderType.LIMIT
    assert request.price == Decimal("2450.50")
    assert request.trigger_price is None
    assert request.product is Product.CNC and request.validity is Validity.IOC
    assert request.stop_loss is None and request.take_profit is None
    assert ticket.message.text() == "Sent BUY 10 RELIANCE LIMIT @ 2,450.50 \u2014 #1 OPEN"
    assert ticket.message_kind == "ok"
    assert ticket.buy_button.isEnabled()


def test_sell_sl_order_with_stop_and_target(qtbot, ticket, submit):
    fill(
        qtbot,
        ticket,
        kind="SL",
        price="2440.00",
        trigger="2441.00",
        stop="2470.00",
        target="2400.00",
        qty="5",
    )
    qtbot.mouseClick(ticket.sell_button, LEFT)
    qtbot.waitUntil(lambda: len(submit.requests) == 1 and not ticket.busy, timeout=2000)
    request = submit.requests[0]
    assert request.side is OrderSide.SELL and request.order_type is OrderType.SL
    assert (request.price, request.trigger_price) == (Decimal("2440.00"), Decimal("2441.00"))
    assert (request.stop_loss, request.take_profit) == (Decimal("2470.00"), Decimal("2400.00"))
    assert ticket.side is OrderSide.SELL


def test_market_order_sends_no_price_even_if_one_was_typed(qtbot, ticket, submit):
    fill(qtbot, ticket, kind="LIMIT", price="2450.00")
    ticket.order_type.setCurrentText("MARKET")
    assert not ticket.price.isEnabled() and not ticket.trigger.isEnabled()
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.waitUntil(lambda: len(submit.requests) == 1, timeout=2000)
    assert submit.requests[0].price is None and submit.requests[0].order_type is OrderType.MARKET


@pytest.mark.parametrize(
    ("kind", "price_enabled", "trigger_enabled"),
    [("MARKET", False, False), ("LIMIT", True, False), ("SL", True, True), ("SL-M", False, True)],
)
def test_price_and_trigger_enabled_only_when_needed(ticket, kind, price_enabled, trigger_enabled):
    ticket.order_type.setCurrentText(kind)
    assert ticket.price.isEnabled() is price_enabled
    assert ticket.trigger.isEnabled() is trigger_enabled


def test_enter_sends_on_the_current_side_and_open_for_prefills(qtbot, ticket, submit):
    ticket.order_type.setCurrentText("MARKET")
    ticket.open_for(OrderSide.SELL, "reliance")
    assert ticket.side is OrderSide.SELL
    assert ticket.symbol.text() == "RELIANCE"
    assert ticket.quantity.text_value() == "1"  # one lot
    assert ticket.order_type.currentText() == "LIMIT"
    assert ticket.price.text() == "2450.00"  # LIMIT at the last price
    qtbot.keyClick(ticket.quantity, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(submit.requests) == 1, timeout=2000)
    request = submit.requests[0]
    assert (request.side, request.quantity, request.price) == (
        OrderSide.SELL,
        1,
        Decimal("2450.00"),
    )


def test_keys_f1_f2_switch_side_and_escape_clears(qtbot, ticket):
    fill(qtbot, ticket, stop="2400")
    qtbot.keyClick(ticket.sell_button, Qt.Key.Key_F2)
    assert ticket.side is OrderSide.SELL
    qtbot.keyClick(ticket.buy_button, Qt.Key.Key_F1)
    assert ticket.side is OrderSide.BUY
    qtbot.keyClick(ticket.price, Qt.Key.Key_Escape)
    assert (
        ticket.symbol.text() == "" and ticket.price.text() == "" and ticket.stop_loss.text() == ""
    )
    assert ticket.quantity.text_value() == ""


BAD_INPUT = [
    # (fields to override, field marked, words in the reason)
    (dict(symbol=""), "symbol", "Enter a symbol"),
    (dict(symbol="XYZ"), "symbol", "Unknown symbol XYZ on NSE"),
    (dict(symbol="R3L!@#"), "symbol", "Unknown symbol"),
    (dict(qty=""), "quantity", "Enter a quantity"),
    (dict(qty="abc"), "quantity", "'abc' is not a number"),
    (dict(qty="1O0"), "quantity", "'1O0' is not a number"),
    (dict(qty="0"), "quantity", "more than zero"),
    (dict(qty="-5"), "quantity", "more than zero"),
    (dict(qty="2.5"), "quantity", "whole number"),
    (dict(qty="99999999999"), "quantity", "not plausible"),
    (
        dict(symbol="NIFTY25JANFUT", exchange="NFO", qty="50", price="23500"),
        "quantity",
        "lot size 75",
    ),
    (dict(price=""), "price", "A LIMIT order needs a price"),
    (dict(price="abc"), "price", "Price 'abc' is not a number"),
    (dict(price="-2450"), "price", "more than zero"),
    (dict(price="0"), "price", "more than zero"),
    (dict(price="2450.03"), "price", "tick size 0.05"),
    (dict(price="1e5"), "price", "not a number"),
    (dict(price="999999999999"), "price", "not a plausible price"),
    (dict(kind="SL", trigger=""), "trigger", "needs a trigger price"),
    (dict(kind="SL-M", trigger="abc"), "trigger", "'abc' is not a number"),
    (dict(kind="SL", trigger="2450.02"), "trigger", "tick size"),
    (dict(kind="SL", price="2450.00", trigger="2455.00"), "trigger", "must not be above its limit"),
    (dict(stop="abc"), "stop_loss", "Stop-loss 'abc' is not a number"),
    (dict(stop="2460.00"), "stop_loss", "stop-loss must be below"),
    (dict(stop="2400.01"), "stop_loss", "tick size"),
    (dict(target="2400.00"), "take_profit", "take-profit must be above"),
    (dict(target="-1"), "take_profit", "more than zero"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"), BAD_INPUT, ids=[f"{f}:{r}" for _, f, r in BAD_INPUT]
)
def test_bad_input_is_refused_visibly_and_nothing_is_sent(
    qtbot, ticket, submit, overrides, field, reason
):
    failed = []
    ticket.order_failed.connect(lambda *a: failed.append(a))
    fill(qtbot, ticket, **overrides)
    qtbot.mouseClick(ticket.buy_button, LEFT)
    settle(qtbot)
    assert submit.requests == []
    assert reason in ticket.message.text()
    assert ticket.message.isVisible()
    assert ticket.message_kind == "error"
    widget = ticket._field_widgets[field]
    assert widget.property("invalid") is True
    assert reason in widget.toolTip() or field == "quantity" and reason in ticket.message.text()
    assert ticket.pending_task is None


def test_sell_stop_loss_must_be_above_entry(qtbot, ticket, submit):
    fill(qtbot, ticket, price="2450.00", stop="2440.00")
    qtbot.mouseClick(ticket.sell_button, LEFT)
    settle(qtbot)
    assert submit.requests == []
    assert "sell order's stop-loss must be above" in ticket.message.text()


def test_typed_letters_survive_focus_change_and_are_refused(qtbot, ticket, submit):
    fill(qtbot, ticket, qty="")
    ticket.quantity.setFocus()
    qtbot.keyClicks(ticket.quantity, "1O0")
    ticket.price.setFocus()  # focus-out of a plain QSpinBox would revert to a number
    qtbot.mouseClick(ticket.buy_button, LEFT)
    settle(qtbot)
    assert ticket.quantity.text_value() == "1O0"
    assert submit.requests == []


def test_text_set_programmatically_is_validated_too(qtbot, ticket, submit):
    fill(qtbot, ticket)
    ticket.quantity.lineEdit().setText("ten")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    settle(qtbot)
    assert submit.requests == []
    assert "'ten' is not a number" in ticket.message.text()


def test_limits_refuse_huge_orders_before_submit(qtbot, make_ticket, submit):
    ticket = make_ticket(max_quantity=5000, max_order_value=Decimal("500000"))
    fill(qtbot, ticket, qty="6000")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    settle(qtbot)
    assert "Quantity 6,000 exceeds the limit of 5,000" in ticket.message.text()
    fill(qtbot, ticket, qty="1000", price="2450.50")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    settle(qtbot)
    assert (
        ticket.message.text()
        == "Order value \u20b924,50,500.00 exceeds your limit of \u20b95,00,000.00"
    )
    assert submit.requests == []


def test_live_value_risk_and_reward_labels(qtbot, ticket):
    fill(qtbot, ticket, qty="100", price="2450.00", stop="2431.60", target="2492.30")
    assert ticket.last_price_label.text() == "LTP 2,450.00"
    assert ticket.value_label.text() == "Value \u20b92,45,000.00"  # 100 x 2450
    assert ticket.risk_label.text() == "Risk \u20b91,840.00 (0.18% of capital)"  # 18.40 x 100
    assert ticket.rr_label.text() == "Reward:risk 2.30"  # 42.30 / 18.40
    # updated as the trader types
    ticket.stop_loss.clear()
    qtbot.keyClicks(ticket.stop_loss, "2440.80")  # 9.20 x 100 = 920
    assert ticket.risk_label.text() == "Risk \u20b9920.00 (0.09% of capital)"
    assert ticket.rr_label.text() == "Reward:risk 4.60"
    ticket.stop_loss.clear()
    assert ticket.risk_label.text() == "Risk \u2014"
    assert ticket.rr_label.text() == "Reward:risk \u2014"


def test_live_labels_use_ltp_for_market_and_the_multiplier(qtbot, ticket, prices):
    fill(qtbot, ticket, kind="MARKET", qty="10", price="")
    assert ticket.value_label.text() == "Value \u20b924,500.00"
    prices.prices[("NSE", "RELIANCE")] = Decimal("2500.00")
    ticket.refresh_market()
    assert ticket.last_price_label.text() == "LTP 2,500.00"
    assert ticket.value_label.text() == "Value \u20b925,000.00"
    fill(
        qtbot, ticket, symbol="CRUDEOIL25JANFUT", exchange="MCX", qty="2", price="6500", stop="6480"
    )
    assert ticket.value_label.text() == "Value \u20b913,00,000.00"  # 2 x 6500 x 100
    assert ticket.risk_label.text() == "Risk \u20b94,000.00 (0.40% of capital)"  # 20 x 2 x 100


def test_lot_size_and_tick_size_drive_the_steps(qtbot, ticket):
    fill(qtbot, ticket, symbol="NIFTY25JANFUT", exchange="NFO", qty="", price="23500")
    assert ticket.quantity.singleStep() == 75
    assert ticket.price.singleStep() == Decimal("0.05")
    ticket.quantity.stepBy(1)
    assert ticket.quantity.text_value() == "75"
    ticket.quantity.stepBy(2)
    assert ticket.quantity.text_value() == "225"
    ticket.price.setFocus()
    qtbot.keyClick(ticket.price, Qt.Key.Key_Up)
    assert ticket.price.text() == "23500.05"


def test_completion_offers_instruments_and_sets_the_exchange(qtbot, ticket, instruments):
    qtbot.keyClicks(ticket.symbol, "rel")
    assert instruments.searches[-1] == "REL"
    model = ticket.completer.model()
    symbols = {model.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(model.rowCount())}
    assert symbols == {"RELIANCE", "RELINFRA"}
    bse = next(
        ticket.completer.model().index(r, 0)
        for r in range(ticket.completer.model().rowCount())
        if ticket.completer.model().index(r, 0).data(Qt.ItemDataRole.UserRole + 1) == "BSE"
    )
    ticket.completer._on_activated(bse)  # what choosing it in the popup does
    assert (ticket.exchange.currentText(), ticket.symbol.text()) == ("BSE", "RELIANCE")
    assert ticket.instrument is not None and ticket.instrument.exchange == "BSE"


def test_confirmation_above_threshold_sends_only_after_yes(qtbot, make_ticket, submit):
    ticket = make_ticket(confirm_above=Decimal("500000"))
    fill(qtbot, ticket, qty="300", price="2450.00")  # 7,35,000
    qtbot.mouseClick(ticket.buy_button, LEFT)
    box = ticket.confirm_box
    assert box is not None and box.isVisible()
    assert "7,35,000.00" in box.text()
    assert not ticket.buy_button.isEnabled()  # no second order while asking
    settle(qtbot, 200)
    assert submit.requests == []
    qtbot.mouseClick(box.findChild(QPushButton, "confirmYes"), LEFT)
    qtbot.waitUntil(lambda: len(submit.requests) == 1 and not ticket.busy, timeout=2000)
    assert ticket.confirm_box is None
    assert ticket.message_kind == "ok"


def test_declined_confirmation_sends_nothing(qtbot, make_ticket, submit):
    ticket = make_ticket(confirm_above=Decimal("500000"))
    fill(qtbot, ticket, qty="300", price="2450.00")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    box = ticket.confirm_box
    qtbot.mouseClick(box.findChild(QPushButton, "confirmNo"), LEFT)
    settle(qtbot)
    assert submit.requests == []
    assert ticket.confirm_box is None and ticket.buy_button.isEnabled()
    assert "Not sent" in ticket.message.text()


def test_small_order_needs_no_confirmation(qtbot, make_ticket, submit):
    ticket = make_ticket(confirm_above=Decimal("500000"))
    fill(qtbot, ticket, qty="10")
    qtbot.mouseClick(ticket.buy_button, LEFT)
    assert ticket.confirm_box is None
    qtbot.waitUntil(lambda: len(submit.requests) == 1, timeout=2000)


def test_rejection_reason_is_shown_on_the_ticket(qtbot, ticket, submit):
    failed = []
    ticket.order_failed.connect(lambda req, text: failed.append(text))
    submit.error = OrderRejected(
        "Order value \u20b924,50,500 exceeds your limit of \u20b95,00,000", "max_order_value"
    )
    fill(qtbot, ticket)
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.waitUntil(lambda: bool(failed), timeout=2000)
    text = ticket.message.text()
    assert (
        text
        == "Rejected (max_order_value): Order value \u20b924,50,500 exceeds your limit of \u20b95,00,000"
    )
    assert ticket.message_kind == "error"
    assert ticket.buy_button.isEnabled()


def test_broker_rejected_result_is_shown_as_rejection(qtbot, ticket, submit):
    submit.status = OrderStatus.REJECTED
    submit.message = "RMS: margin exceeds"
    fill(qtbot, ticket)
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.waitUntil(lambda: not ticket.busy and bool(submit.requests), timeout=2000)
    settle(qtbot, 50)
    assert ticket.message.text().startswith("Rejected: BUY 10 RELIANCE")
    assert "RMS: margin exceeds" in ticket.message.text()
    assert ticket.message_kind == "error"


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (RuntimeError("boom"), "Error: RuntimeError: boom"),
        (OrderSubmissionFailed("broker timed out", order_id=7), "Not confirmed: broker timed out"),
    ],
)
def test_other_errors_are_shown_never_lost(qtbot, ticket, submit, error, shown):
    submit.error = error
    fill(qtbot, ticket)
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.waitUntil(lambda: shown in ticket.message.text(), timeout=2000)
    assert ticket.message_kind == "error"
    assert not ticket.busy and ticket.buy_button.isEnabled()


def test_double_click_sends_once(qtbot, ticket, submit, qloop):
    submit.gate = asyncio.Event()
    fill(qtbot, ticket)
    qtbot.mouseDClick(ticket.buy_button, LEFT)
    qtbot.mouseClick(ticket.buy_button, LEFT)
    qtbot.keyClick(ticket.price, Qt.Key.Key_Return)
    settle(qtbot)
    assert len(submit.requests) == 1
    assert ticket.busy and not ticket.buy_button.isEnabled() and not ticket.sell_button.isEnabled()
    assert ticket.pending_task is not None
    submit.gate.set()
    qtbot.waitUntil(lambda: not ticket.busy, timeout=2000)
    assert len(submit.requests) == 1
    assert ticket.buy_button.isEnabled()


def test_trading_disabled_refuses_with_reason(qtbot, ticket, submit):
    ticket.set_trading_enabled(False, "Kill switch engaged: trading halted")
    fill(qtbot, ticket)
    assert not ticket.buy_button.isEnabled()
    ticket.send(OrderSide.BUY)  # Enter key path
    settle(qtbot)
    assert submit.requests == []
    assert ticket.message.text() == "Kill switch engaged: trading halted"
    ticket.set_trading_enabled(True)
    assert ticket.buy_button.isEnabled()


def test_live_marking_flags_bad_text_while_typing(qtbot, ticket):
    qtbot.keyClicks(ticket.symbol, "RELIANCE")
    qtbot.keyClicks(ticket.price, "24x")
    assert ticket.price.property("invalid") is True
    assert "not a number" in ticket.message.text()
    assert ticket.message_kind == "warn"
    ticket.price.clear()
    qtbot.keyClicks(ticket.price, "2450")
    assert ticket.price.property("invalid") is False
    assert ticket.message.text() == ""


def test_mouse_wheel_over_unfocused_fields_changes_nothing(qtbot, ticket):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    fill(qtbot, ticket, qty="10")
    ticket.symbol.setFocus()
    for widget in (ticket.order_type, ticket.product, ticket.quantity):
        before = widget.currentText() if isinstance(widget, QComboBox) else widget.text_value()
        event = QWheelEvent(
            QPointF(5, 5),
            QPointF(widget.mapToGlobal(QPoint(5, 5))),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, event)
        after = widget.currentText() if isinstance(widget, QComboBox) else widget.text_value()
        assert after == before, widget.objectName()
