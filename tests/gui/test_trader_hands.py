"""Issue 13 in the window (pytest-qt; the same paths with real X input are in tests/e2e):
Exit on a bracketed position, Del cancels, no two actions share a key, Ctrl+Shift+K after
a re-arm, refusals shown where the trader looks, keyboard-only trading."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.ui.risk.kill_switch_button import KillSwitchState
from desktop_oms.ui.shell.shortcuts import shortcut_bindings
from tests.gui.test_main_window import alert_texts, place, row_of

D = Decimal


@pytest.fixture
def app(make_app):
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
    app.broker.set_last_price("NSE", "TCS", D("3135"))
    return app


def bracketed_tcs(qtbot, arun, app, qty=5):
    result = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="TCS",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=qty,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                stop_loss=D("3120"),
                take_profit=D("3190"),
            )
        )
    )
    om = app.order_manager

    def legs():
        return [o for o in om.sync.active_orders() if o.parent_order_id == result.order_id]

    qtbot.waitUntil(lambda: len(legs()) == 1, timeout=5000)  # the stop; the target is watched
    return result, legs()


def confirm_with_enter(qtbot, box: QMessageBox) -> None:
    assert box is not None and box.isVisible()
    assert box.defaultButton().objectName() == "confirmYes"
    qtbot.keyClick(box, Qt.Key.Key_Return)


# ------------------------------------------------------------------ 1. Exit always exits


def test_exit_on_a_bracketed_position_cancels_the_legs_and_goes_flat(qtbot, arun, app):
    w = app.window
    _entry, legs = bracketed_tcs(qtbot, arun, app)
    pm = app.position_manager
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    position = w.positions_model.open_positions()[0]
    box = w.request_exit(position)
    text = box.text()
    assert "Cancels first" in text and all(f"#{leg.id}" in text for leg in legs)
    confirm_with_enter(qtbot, box)
    qtbot.waitUntil(lambda: pm.peek("NSE", "TCS", Product.MIS).quantity == 0, timeout=5000)
    for leg in legs:
        qtbot.waitUntil(
            lambda leg=leg: app.order_manager.sync.latest(leg.id).status is OrderStatus.CANCELLED,
            timeout=3000,
        )
    qtbot.waitUntil(lambda: any("Exit NSE:TCS" in m for m in alert_texts(w)), timeout=3000)
    assert not any("would not only reduce" in m for m in alert_texts(w))


def test_exit_all_with_bracket_legs_and_an_unrelated_order(qtbot, arun, app):
    w = app.window
    bracketed_tcs(qtbot, arun, app)
    place(arun, app, kind=OrderType.MARKET, qty=10)  # RELIANCE long 10
    resting = place(arun, app, side=OrderSide.BUY, qty=10, price="2300.00")  # unrelated
    pm = app.position_manager
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 2, timeout=3000)
    w.positions_grid.setFocus()
    qtbot.keyClick(w.positions_grid, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)  # fmt: skip
    box = w.confirm_box
    assert box is not None and "Square off all 2" in box.text()
    confirm_with_enter(qtbot, box)
    qtbot.waitUntil(lambda: not pm.open_positions(), timeout=5000)
    # the trader's own resting buy is left working
    assert app.order_manager.sync.latest(resting.order_id).status is OrderStatus.OPEN


def test_a_refused_exit_is_shown_under_the_positions_grid(qtbot, arun, app):
    w = app.window
    place(arun, app, kind=OrderType.MARKET, qty=10)
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    position = w.positions_model.open_positions()[0]
    app.broker.inject_rejection("RMS: exits blocked by the broker")
    w.exit_positions([position], "exit RELIANCE")
    notice = w.positions_panel.notice
    qtbot.waitUntil(lambda: "exits blocked" in notice.text(), timeout=3000)
    assert notice.level == "error" and notice.isVisible()


# ------------------------------------------------------------------ 2. Del and key conflicts


def test_del_in_the_blotter_cancels_the_selected_open_order(qtbot, arun, app):
    w = app.window
    w.show()
    qtbot.waitExposed(w)
    result = place(arun, app, qty=10, price="2400.00")
    qtbot.waitUntil(lambda: row_of(w.orders_model, result.order_id) is not None, timeout=3000)
    w.focus_panel("blotter")
    w.select_rows(w.blotter, [row_of(w.orders_model, result.order_id)])
    w.blotter.setFocus()
    qtbot.keyClick(w.blotter, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: app.order_manager.sync.latest(result.order_id).status is OrderStatus.CANCELLED,
        timeout=3000,
    )


def _overlap(a, b, window: QWidget) -> bool:
    if a.window_wide or b.window_wide:
        return True
    for x in a.scopes:
        for y in b.scopes:
            if x is y or x.isAncestorOf(y) or y.isAncestorOf(x):
                return True
    return False


def test_no_two_actions_or_shortcuts_share_a_key_in_the_same_context(app):
    """Walks every QAction and QShortcut of the window (Qt runs neither of two that
    collide: "Ambiguous shortcut overload")."""
    w = app.window
    bindings = [b for b in shortcut_bindings(w)]
    assert len(bindings) > 20
    keys = {b.keys.toString() for b in bindings}
    assert {"Del", "Ctrl+E", "Ctrl+Shift+K", "F1", "F2", "Ctrl+1", "Ctrl+Alt+X"} <= keys
    conflicts = []
    for i, a in enumerate(bindings):
        for b in bindings[i + 1 :]:
            if a.owner is b.owner or a.keys != b.keys:
                continue
            if _overlap(a, b, w):
                conflicts.append(f"{a.keys.toString()}: {a.text!r} and {b.text!r}")
    assert conflicts == []


def test_the_conflict_walk_catches_a_window_wide_delete(app):
    """The check can fail: the market watch's old window-wide Del is caught."""
    from PySide6.QtGui import QShortcut

    w = app.window
    bad = QShortcut(QKeySequence.StandardKey.Delete, w.market_watch.widget())
    try:
        clashes = [
            b
            for b in shortcut_bindings(w)
            if b.keys == QKeySequence(Qt.Key.Key_Delete) and b.owner is not bad
            and _overlap(b, next(x for x in shortcut_bindings(w) if x.owner is bad), w)
        ]  # fmt: skip
        assert clashes
    finally:
        bad.setParent(None)


# ------------------------------------------------------------------ 4. the kill switch by keys


def test_ctrl_shift_k_works_again_after_a_rearm_without_opening_a_menu(qtbot, arun, app):
    w = app.window
    ks = app.kill_switch
    for _round in range(2):
        assert w.engage_action.isEnabled()
        w.engage_action.trigger()
        w.engage_action.trigger()
        qtbot.waitUntil(lambda: ks.engaged and not ks.busy, timeout=15000)
        qtbot.waitUntil(lambda: w.kill_button.state is KillSwitchState.ENGAGED, timeout=5000)
        assert "keyboard" in (ks.reason or "")
        assert not w.engage_action.isEnabled() and w.rearm_action.isEnabled()
        box = w.request_rearm()
        yes = box.findChild(QWidget, "confirmYes")
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)  # at once: the window's own task of
        qtbot.waitUntil(lambda: not ks.engaged, timeout=3000)  # the engage may not be done
        qtbot.waitUntil(lambda: w.ticket.buy_button.isEnabled(), timeout=3000)
        assert "Kill switch" not in w.ticket.message.text()


def test_an_engage_is_not_held_up_by_an_earlier_outcome_still_on_its_way(qtbot, arun, app, qloop):
    """The kill switch finished (and was re-armed) before the window heard the outcome of
    that engage: the next engage is a new one, and the late outcome changes nothing."""
    w = app.window
    ks = app.kill_switch
    controller = w.kill_switch_controller
    late = qloop.create_future()  # an earlier engage whose outcome has not arrived yet
    controller.task = late
    controller._round += 1
    earlier = controller._round
    assert not ks.engaged and not ks.busy
    task = w.engage_kill_switch()
    assert task is not late
    qtbot.waitUntil(lambda: ks.engaged and not ks.busy, timeout=15000)
    qtbot.waitUntil(lambda: task.done(), timeout=5000)
    assert w.kill_button.state is KillSwitchState.ENGAGED
    shown = w.kill_button.text()
    controller._done({"message": "the earlier engage's outcome"}, earlier)
    assert w.kill_button.text() == shown
    late.cancel()


# ------------------------------------------------------------------ 6. refusals in the dialog


def test_the_modify_dialog_follows_its_order_and_shows_a_refusal(qtbot, arun, app):
    w = app.window
    result = place(arun, app, qty=10, price="2400.00")
    qtbot.waitUntil(lambda: row_of(w.orders_model, result.order_id) is not None, timeout=3000)
    w.select_rows(w.blotter, [row_of(w.orders_model, result.order_id)])
    dialog = w.modify_selected_order()
    # a refusal is shown in the dialog, which stays open and editable
    dialog.price.setText("3000.00")  # 22% above the last price: outside the price band
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: "Not modified" in dialog.message.text(), timeout=3000)
    assert dialog.isVisible() and dialog.price.isEnabled()
    # the order fills meanwhile: the dialog says so and can only be closed
    app.broker.fill(result.broker_order_id, 10)
    qtbot.waitUntil(lambda: dialog.finished_order, timeout=3000)
    assert "filled" in dialog.message.text().lower()
    assert not dialog.price.isEnabled() and not dialog.quantity.isEnabled()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    assert "FILLED, filled 10 of 10" in dialog.title.text()


def test_a_modify_that_goes_through_closes_the_dialog(qtbot, arun, app):
    w = app.window
    result = place(arun, app, qty=10, price="2400.00")
    qtbot.waitUntil(lambda: row_of(w.orders_model, result.order_id) is not None, timeout=3000)
    w.select_rows(w.blotter, [row_of(w.orders_model, result.order_id)])
    dialog = w.modify_selected_order()
    dialog.price.setText("2410.00")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: w.modify_dialog is None, timeout=3000)
    assert app.order_manager.sync.latest(result.order_id).price == D("2410.00")


# ------------------------------------------------------------------ keyboard-only trading


def test_ctrl_digits_focus_the_panels(qtbot, app):
    w = app.window
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    expected = {
        "ticket": w.ticket.symbol,
        "blotter": w.blotter,
        "positions": w.positions_grid,
        "alerts": w.alerts.view,
    }
    for target, widget in expected.items():
        w.focus_actions[target].trigger()
        assert QApplication.focusWidget() is widget or widget.hasFocus(), target
    watch = w.focus_panel("watch")
    assert watch is not None and w.market_watch.isAncestorOf(watch)


def test_f1_takes_what_the_ticket_shows_unless_a_table_has_the_focus(qtbot, arun, app):
    w = app.window
    t = w.ticket
    w.show()
    qtbot.waitExposed(w)
    place(arun, app, kind=OrderType.MARKET, qty=10)  # a RELIANCE position
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    w.focus_panel("positions")
    w.positions_grid.setCurrentIndex(w.positions_grid.model().index(0, 0))
    t.open_for(OrderSide.BUY, "TCS", "NSE")  # the ticket shows TCS now
    w.alerts.view.setFocus()  # focus leaves the positions grid
    w.buy_action.trigger()
    assert t.symbol.text() == "TCS"
    w.positions_grid.setFocus()
    w.buy_action.trigger()
    assert t.symbol.text() == "RELIANCE"


def test_help_lists_every_shortcut_generated_from_the_actions(qtbot, app):
    w = app.window
    w.shortcuts_action.trigger()
    dialog = w.findChild(QWidget, "shortcutsDialog")
    assert dialog is not None and dialog.isVisible()
    rows = dialog.rows()
    listed = {(keys, what) for keys, what, _where in rows}
    for binding in shortcut_bindings(w):
        native = binding.keys.toString(QKeySequence.SequenceFormat.NativeText)
        assert (native, binding.text) in listed
    whats = {what for _k, what, _w in rows}
    assert {"Cancel order", "Modify order", "Exit position", "Exit all positions"} <= whats
    dialog.close()
