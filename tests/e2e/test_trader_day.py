"""The trader's day (../shared/TRADER_DAY.md) in the real window, by real keys and clicks
through an X server: open, buy with a bracket by keyboard, modify, exit one, exit all, the
kill switch by button and by keyboard, re-arm, restart and everything back.

(Cancel with Del and the defects of issue 13 are in test_issue13_defects.py.)
"""

from __future__ import annotations

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import (
    buy_bracket_by_keyboard,
    click_confirm_yes,
    click_exit,
    confirm_shown,
    open_menu_and_click,
    price,
    ready,
    select_order_row,
    tab_to,
)


def test_open_and_buy_with_a_bracket_by_keyboard(launch):
    oms = launch(DESKTOP)
    ready(oms)
    # 08:50: the window fills her screen and has the keyboard
    assert oms.eval("window.isMaximized() and window.isActiveWindow()")
    price(oms, "TCS", "3140")
    entry = buy_bracket_by_keyboard(oms, "TCS", 5, "3120", "3190")
    # the entry fills at once (paper broker, marketable); its stop rests at the broker and
    # the target is watched by the app (one exit working at a time: never doubled)
    oms.wait(f"(await status({entry})) == 'FILLED'", 15)
    oms.wait("position_qty('TCS') == 5", 15)
    legs = oms.wait(f"len(await live_legs({entry})) == 1 and await live_legs({entry})", 15)
    [stop] = legs
    assert (stop["side"], stop["order_type"], stop["quantity"]) == ("SELL", "SL-M", 5), legs
    assert stop["trigger_price"] == "3120"
    assert oms.eval(f"str(app.risk.brackets.view({entry}).take_profit)") == "3190"
    # what she sees: the blotter has the entry and its legs, the grid the position
    oms.wait(f"blotter_row({entry}) >= 0 and shown_positions() == [('TCS', 5)]", 10)


def test_modify_a_resting_order_with_ctrl_e(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "INFY", "1540")
    placed = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1520')")
    entry = placed["order_id"]
    oms.wait(f"(await status({entry})) == 'OPEN'")
    select_order_row(oms, entry)
    oms.key("ctrl+e")
    oms.wait(
        "dialog('modifyOrderDialog') is not None and dialog('modifyOrderDialog').isActiveWindow()"
    )
    tab_to(oms, "modifyPrice")
    oms.key("ctrl+a")
    oms.type("1525.5")
    oms.wait("find('modifyPrice').text() == '1525.5'")
    oms.key("Return")  # the dialog's default button: Modify
    oms.wait("dialog('modifyOrderDialog') is None")
    oms.wait(f"(await order({entry})).price == Decimal('1525.5')", 15)
    assert oms.eval(f"await status({entry})") == "OPEN"
    # the blotter shows the new price
    oms.wait(f"cell_text('blotter', {{'id': {entry}}}, 'price') == '1,525.50'", 10)


def test_exit_one_position_with_its_row_button(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "SBIN", "800")
    price(oms, "ITC", "450")
    oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")
    oms.eval("await place('ITC', 'SELL', 20, 'MARKET')")
    oms.wait("sorted(shown_positions()) == [('ITC', -20), ('SBIN', 10)]", 15)
    click_exit(oms, "positionsGrid", {"symbol": "SBIN"})
    text = confirm_shown(oms)
    assert "SBIN" in text and "SELL 10" in text.upper(), text
    click_confirm_yes(oms)
    oms.wait("position_qty('SBIN') == 0", 15)
    assert oms.eval("position_qty('ITC')") == -20  # only the one she exited
    sold = oms.wait(
        "[o for o in await all_orders('SBIN') if o.side.value == 'SELL' and o.status.value == 'FILLED']",
        10,
    )
    # sent at market (the paper broker, as Kite, made it a protected LIMIT: protected_from)
    sent_as = sold[0]["protected_from"] or sold[0]["order_type"]
    assert sold[0]["quantity"] == 10 and sent_as == "MARKET", sold


def test_exit_all_positions_from_the_totals_row(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "SBIN", "800")
    price(oms, "ITC", "450")
    oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")
    oms.eval("await place('ITC', 'SELL', 20, 'MARKET')")
    oms.wait("sorted(shown_positions()) == [('ITC', -20), ('SBIN', 10)]", 15)
    click_exit(oms, "positionsTotals", 0)
    text = confirm_shown(oms)
    assert "2 open positions" in text, text
    click_confirm_yes(oms)
    oms.wait("position_qty('SBIN') == 0 and position_qty('ITC') == 0", 15)
    oms.wait("[q for _s, q in shown_positions() if q] == []", 10)


def _scene_with_orders_and_a_position(oms) -> int:
    """A long TCS 5 with a resting order elsewhere; returns the resting order's id."""
    price(oms, "TCS", "3140")
    price(oms, "INFY", "1540")
    oms.eval("await place('TCS', 'BUY', 5, 'MARKET')")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1500')")["order_id"]
    oms.wait(f"position_qty('TCS') == 5 and (await status({resting})) == 'OPEN'", 15)
    return resting


def _halted_and_flat(oms, resting: int) -> None:
    oms.wait("app.kill_switch.engaged and app.kill_switch.state == 'ENGAGED'", 20)
    oms.wait(f"(await status({resting})) == 'CANCELLED' and position_qty('TCS') == 0", 20)
    oms.wait("window.kill_button.state.value == 'ENGAGED'", 20)
    oms.wait("not window.ticket.buy_button.isEnabled()", 10)


def test_kill_switch_by_pressing_and_holding_its_button(launch):
    oms = launch(DESKTOP)
    ready(oms)
    resting = _scene_with_orders_and_a_position(oms)
    # a quick click is not enough: it says to hold
    oms.click_widget("killSwitchButton")
    oms.wait("'HOLD' in window.kill_button.text()", 10)
    assert not oms.eval("app.kill_switch.engaged")
    x, y = oms.eval("center('killSwitchButton')")
    oms.x.mouse_down(x, y)
    try:
        oms.wait("window.kill_button.state.value != 'ARMED'", 10)  # held 1 s: it fired
    finally:
        oms.x.mouse_up()
    _halted_and_flat(oms, resting)


def test_kill_switch_by_keyboard_pressed_twice(launch):
    oms = launch(DESKTOP)
    ready(oms)
    resting = _scene_with_orders_and_a_position(oms)
    oms.key("ctrl+shift+k")
    oms.wait("'AGAIN' in window.kill_button.text()", 10)  # armed: says to press again
    assert not oms.eval("app.kill_switch.engaged")
    oms.key("ctrl+shift+k")
    _halted_and_flat(oms, resting)


def test_rearm_from_the_risk_menu(launch):
    oms = launch(DESKTOP)
    ready(oms)
    oms.key("ctrl+shift+k")
    oms.wait("'AGAIN' in window.kill_button.text()", 10)
    oms.key("ctrl+shift+k")
    oms.wait(
        "app.kill_switch.state == 'ENGAGED' and window.kill_button.state.value == 'ENGAGED'", 20
    )
    open_menu_and_click(oms, "Risk", "actionRearmKillSwitch")
    text = confirm_shown(oms)
    assert "Allow trading again" in text, text
    click_confirm_yes(oms)
    oms.wait("not app.kill_switch.engaged and window.kill_button.state.value == 'ARMED'", 10)
    oms.wait("window.ticket.buy_button.isEnabled() and not app.order_manager.halted", 10)


def test_ctrl_q_with_nothing_open_quits_cleanly(launch):
    oms = launch(DESKTOP)
    ready(oms)
    oms.key("ctrl+q")
    assert oms.wait_exit() == 0


def _drag(oms, start: tuple[int, int], end: tuple[int, int], followed: str) -> None:
    """Press, move, and release only once the app has followed the move (`followed` is
    true): Qt applies a separator move on a zero timer, and a release that comes first
    drops the last move - a trader's hand waits for the edge to follow too."""
    oms.x.mouse_down(*start)
    try:
        oms.x.move(*end)
        oms.wait(followed, 10)
    finally:
        oms.x.mouse_up()


def test_restart_brings_everything_back(launch, tmp_path):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "TCS", "3140")
    price(oms, "INFY", "1540")
    entry = buy_bracket_by_keyboard(oms, "TCS", 5, "3120", "3190")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1500')")["order_id"]
    oms.wait(f"len(await live_legs({entry})) == 1 and (await status({resting})) == 'OPEN'", 15)
    oms.wait("position_qty('TCS') == 5")

    # her layout: the ticket column narrower (drag the separator), the P&L dock hidden
    ticket = oms.eval("global_rect('ticketDock')")
    blotter = oms.eval("global_rect('blotterDock')")
    separator_x = (ticket[0] + ticket[2] + blotter[0]) // 2
    y = ticket[1] + ticket[3] // 2
    _drag(
        oms,
        (separator_x, y),
        (separator_x + 90, y),
        f"abs(find('ticketDock').width() - {ticket[2] + 90}) <= 2",
    )
    open_menu_and_click(oms, "View", "window.pnl_dock.toggleViewAction()")
    oms.wait("not window.pnl_dock.isVisible()", 10)
    before = oms.eval(
        "{'geometry': window.geometry(), 'maximized': window.isMaximized(),"
        " 'ticket_width': find('ticketDock').width(),"
        " 'orders': sorted((o.id, o.status.value, o.quantity, str(o.price), str(o.trigger_price))"
        "                  for o in await all_orders()),"
        " 'positions': shown_positions()}"
    )

    assert oms.stop() == 0  # SIGTERM: the window closes, the app stops cleanly
    oms.start()
    ready(oms)
    after = oms.wait(
        "shown_positions() and {'geometry': window.geometry(), 'maximized': window.isMaximized(),"
        " 'ticket_width': find('ticketDock').width(),"
        " 'orders': sorted((o.id, o.status.value, o.quantity, str(o.price), str(o.trigger_price))"
        "                  for o in await all_orders()),"
        " 'positions': shown_positions()}",
        20,
    )
    assert after["orders"] == before["orders"]
    assert after["positions"] == before["positions"] == [["TCS", 5]]
    assert after["geometry"] == before["geometry"] and after["maximized"] == before["maximized"]
    assert abs(after["ticket_width"] - before["ticket_width"]) <= 2, (before, after)
    assert oms.eval("not window.pnl_dock.isVisible()")
    assert oms.eval(f"len(await live_legs({entry})) == 1")
    oms.wait(f"blotter_row({resting}) >= 0 and blotter_row({entry}) >= 0", 10)

    # the kill switch engaged stays engaged across a restart
    oms.key("ctrl+shift+k")
    oms.wait("'AGAIN' in window.kill_button.text()", 10)
    oms.key("ctrl+shift+k")
    _halted_and_flat(oms, resting)
    assert oms.stop() == 0
    oms.start()
    oms.wait("window.load_task.done()", 30)
    oms.wait("app.kill_switch.engaged and window.kill_button.state.value == 'ENGAGED'", 15)
    assert oms.eval("not window.ticket.buy_button.isEnabled() and app.order_manager.halted")
    assert oms.eval("position_qty('TCS')") == 0
    assert oms.eval(f"await status({resting})") == "CANCELLED"
