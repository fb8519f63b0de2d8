"""The GTT tab (issue 18): gttView lists the GTTs at the broker (keyed by id, times in
IST), a GTT OCO is made for a CNC position from its dialog (refusals shown in it), then
modified and deleted (after a confirmation), every broker call off the loop; Go > GTT
(Ctrl+Shift+G) reaches it from anywhere."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QTableView

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.domain.gtt import GttStatus
from desktop_oms.infra.clock import format_date_time
from desktop_oms.ui.gtt import ModifyGttDialog, ProtectDialog


@pytest.fixture
def app(make_app, arun, qtbot):
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
    arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=20,
                order_type=OrderType.MARKET,
                product=Product.CNC,
            )
        )
    )
    qtbot.waitUntil(lambda: bool(app.position_manager.open_positions()), timeout=5000)
    return app


def _closed(dialog) -> bool:
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def _focus(qtbot, window, view) -> None:
    window.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=5000)


def _cell(model, row: int, key: str) -> str:
    return model.index(row, model.column_index(key)).data()


def test_create_modify_delete_from_the_gtt_tab(app, qtbot):
    window = app.window
    view = window.findChild(QTableView, "gttView")
    assert view is window.gtt_view and view.model() is window.gtt_panel.model
    panel = window.gtt_panel
    model = panel.model

    window.gtt_action.trigger()  # Go > GTT
    assert window.blotter_panel.tabs.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.refreshes >= 1, timeout=5000)
    assert view.hasFocus() or QApplication.focusWidget() is view
    assert model.rowCount() == 0

    qtbot.keyClick(view, Qt.Key.Key_Insert)
    dialog = panel.dialog
    assert isinstance(dialog, ProtectDialog) and dialog.isVisible()
    assert dialog.position.count() == 1 and "RELIANCE CNC +20" in dialog.position.currentText()
    assert dialog.last.text().replace(",", "") == "2450.00"
    dialog.stop.setText("2460")  # above the last price: refused, in the dialog
    dialog.target.setText("2600")
    dialog.findChild(QPushButton, "gttSubmit").click()
    qtbot.waitUntil(lambda: "stop must be below" in dialog.message.text(), timeout=5000)
    assert dialog.isVisible() and dialog.stop.isEnabled()

    dialog.stop.setText("2400")
    dialog.findChild(QPushButton, "gttSubmit").click()
    qtbot.waitUntil(lambda: _closed(dialog), timeout=5000)
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    gtt = model.item_at(0)
    assert gtt.status is GttStatus.ACTIVE and gtt.trigger_values == (D("2400"), D("2600"))
    assert _cell(model, 0, "symbol") == "NSE:RELIANCE"
    assert _cell(model, 0, "type") == "OCO"
    assert _cell(model, 0, "status") == "ACTIVE"
    assert "SELL 20" in _cell(model, 0, "legs") and "CNC" in _cell(model, 0, "legs")
    assert _cell(model, 0, "created") == format_date_time(gtt.created_at)  # IST
    assert app.risk.store.audit_log(kind="gtt_placed")

    window.select_rows(view, [0])
    _focus(qtbot, window, view)
    qtbot.keyClick(view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    modify = panel.dialog
    assert isinstance(modify, ModifyGttDialog) and modify.isVisible()
    assert modify.triggers[0].value() == D("2400")
    modify.triggers[0].setText("2410")
    modify.prices[0].setText("2390")
    modify.findChild(QPushButton, "gttSubmit").click()
    qtbot.waitUntil(lambda: _closed(modify), timeout=5000)
    qtbot.waitUntil(
        lambda: model.rowCount() == 1 and model.item_at(0).trigger_values[0] == D("2410"),
        timeout=5000,
    )
    assert model.item_at(0).legs[0].price == D("2390")

    window.select_rows(view, [0])
    _focus(qtbot, window, view)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    box = panel.confirm_box
    assert box is not None and box.isVisible()
    box.findChild(QPushButton, "confirmYes").click()
    qtbot.waitUntil(
        lambda: model.rowCount() == 1 and model.item_at(0).status is GttStatus.DELETED,
        timeout=5000,
    )
    assert _cell(model, 0, "status") == "DELETED"
    assert not panel.delete_action.isEnabled() and not panel.modify_action.isEnabled()


def test_the_gtt_key_is_listed_and_conflicts_with_nothing(app):
    rows = app.window.shortcut_rows()
    assert any(keys == "Ctrl+Shift+G" for keys, _what, _where in rows)
    assert any("GTT" in what for _keys, what, _where in rows)
