"""Alerts panel (bounded, coloured, fed by logging from any thread) and the non-modal
dialogs (confirm, modify order)."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton

from desktop_oms.domain import OrderSide, OrderStatus, OrderType
from desktop_oms.ui.alerts.panel import AlertsModel, AlertsPanel, attach_logging
from desktop_oms.ui.common import dialogs, theme

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot):
    p = AlertsPanel(capacity=50)
    qtbot.addWidget(p)
    p.show()
    return p


def texts(model, col=3):
    return [model.data(model.index(r, col)) for r in range(model.rowCount())]


def test_alerts_newest_first_with_level_colours(qtbot, panel):
    panel.add("info", "reconciled 09:01:12 \u2014 0 mismatches", "reconcile")
    panel.add("warning", "market data stale 12 s", "feed")
    panel.add("error", "order #7 rejected: margin", "oms")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=1000)
    model = panel.model
    assert texts(model) == [
        "order #7 rejected: margin",
        "market data stale 12 s",
        "reconciled 09:01:12 \u2014 0 mismatches",
    ]
    assert texts(model, 1) == ["ERROR", "WARNING", "INFO"]
    assert texts(model, 2) == ["oms", "feed", "reconcile"]
    assert model.data(model.index(0, 3), Qt.ItemDataRole.ForegroundRole) == theme.qcolor(theme.LOSS)
    assert model.data(model.index(1, 3), Qt.ItemDataRole.ForegroundRole) == theme.qcolor(
        theme.AMBER
    )
    panel.level_filter.setCurrentIndex(3)  # errors only
    assert texts(model) == ["order #7 rejected: margin"]
    panel.level_filter.setCurrentIndex(0)
    assert model.rowCount() == 3


def test_alerts_are_bounded_and_batched(qtbot, qtmodeltester):
    model = AlertsModel(capacity=50, flush_ms=20)
    qtmodeltester.check(model, force_py=True)
    inserts = []
    model.rowsInserted.connect(lambda *a: inserts.append(a))
    for i in range(120):
        model.add("info", f"m{i}", "test")
    qtbot.waitUntil(lambda: model.rowCount() == 50, timeout=1000)
    assert len(inserts) == 1
    assert texts(model)[0] == "m119" and texts(model)[-1] == "m70"
    for i in range(30):
        model.add("warning", f"w{i}", "test")
    qtbot.waitUntil(lambda: texts(model)[0] == "w29", timeout=1000)
    assert model.rowCount() == 50 and texts(model)[-1] == "m100"


def test_logging_handler_feeds_the_panel_from_another_thread(qtbot, panel):
    logger = logging.getLogger("desktop_oms.test.alerts")
    logger.propagate = False
    handler = attach_logging(panel, logger, logging.WARNING)
    try:
        worker = threading.Thread(target=lambda: logger.error("reconciliation failed: timeout"))
        worker.start()
        worker.join()
        logger.info("not shown: below the handler level")
        qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=2000)
        assert texts(panel.model) == ["reconciliation failed: timeout"]
        assert texts(panel.model, 1) == ["ERROR"]
        assert texts(panel.model, 2) == ["alerts"]
    finally:
        logger.removeHandler(handler)


def test_confirm_is_non_modal_and_calls_back(qtbot):
    answers = []
    box = dialogs.confirm(
        None,
        "Exit all",
        "Square off 3 positions?",
        lambda: answers.append("yes"),
        on_no=lambda: answers.append("no"),
    )
    qtbot.addWidget(box)
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert answers == []  # returned at once: nothing blocked
    assert box.defaultButton().objectName() == "confirmNo"  # the safe default
    qtbot.mouseClick(box.findChild(QPushButton, "confirmYes"), LEFT)
    assert answers == ["yes"]
    box2 = dialogs.confirm(
        None, "t", "x", lambda: answers.append("yes"), on_no=lambda: answers.append("no")
    )
    qtbot.keyClick(box2, Qt.Key.Key_Escape)
    assert answers == ["yes", "no"]


def test_confirm_callback_errors_are_logged_not_raised(qtbot, caplog):
    def boom():
        raise RuntimeError("callback failed")

    box = dialogs.confirm(None, "t", "x", boom)
    with caplog.at_level(logging.ERROR):
        qtbot.mouseClick(box.findChild(QPushButton, "confirmYes"), LEFT)
    assert "callback failed" in caplog.text


@pytest.fixture
def sl_order(make_order):
    return make_order(
        7,
        side=OrderSide.BUY,
        order_type=OrderType.SL,
        quantity=100,
        filled_quantity=25,
        price=Decimal("2450.00"),
        trigger_price=Decimal("2445.00"),
        status=OrderStatus.PARTIALLY_FILLED,
    )


def open_modify(qtbot, order, **kw):
    dlg = dialogs.ModifyOrderDialog(order, tick_size=Decimal("0.05"), **kw)
    qtbot.addWidget(dlg)
    got = []
    dlg.accepted_values.connect(lambda *v: got.append(v))
    dlg.open()
    return dlg, got


def ok(qtbot, dlg):
    qtbot.mouseClick(
        dlg.buttons.buttons()[0]
        if dlg.buttons.buttons()[0].text() == "&Modify"
        else dlg.buttons.buttons()[1],
        LEFT,
    )


def test_modify_dialog_prefills_and_emits_validated_values(qtbot, sl_order):
    dlg, got = open_modify(qtbot, sl_order)
    assert isinstance(dlg, QDialog) and dlg.isVisible()
    assert (dlg.price.text(), dlg.trigger.text(), dlg.quantity.text_value()) == (
        "2450.00",
        "2445.00",
        "100",
    )
    dlg.price.setText("2452.50")
    dlg.trigger.setText("2448.00")
    dlg.quantity.set_quantity(150)
    dlg._on_ok()
    assert got == [(Decimal("2452.50"), 150, Decimal("2448.00"))]
    assert dlg.changes() == {
        "price": Decimal("2452.50"),
        "quantity": 150,
        "trigger_price": Decimal("2448.00"),
    }


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        ("price", "2452.53", "tick size"),
        ("price", "abc", "not a number"),
        ("price", "", "Price is required"),
        ("trigger", "-1", "more than zero"),
        ("quantity", "20", "more than the 25 already filled"),
        ("quantity", "x", "not a whole number"),
        ("trigger", "2460.00", "must not be above its limit"),
        (None, None, "Nothing changed"),
    ],
)
def test_modify_dialog_refuses_bad_values(qtbot, sl_order, field, text, reason):
    dlg, got = open_modify(qtbot, sl_order)
    if field == "quantity":
        dlg.quantity.lineEdit().setText(text)
    elif field:
        getattr(dlg, field).setText(text)
    dlg._on_ok()
    assert got == []
    assert reason in dlg.message.text()
    assert dlg.isVisible()


def test_modify_dialog_disables_fields_the_order_type_lacks(qtbot, make_order):
    dlg, got = open_modify(
        qtbot, make_order(3, order_type=OrderType.MARKET, price=None, quantity=10)
    )
    assert not dlg.price.isEnabled() and not dlg.trigger.isEnabled()
    dlg.quantity.set_quantity(20)
    dlg._on_ok()
    assert got == [(None, 20, None)]
    assert dlg.changes() == {"quantity": 20}
