"""Issue 13, "Keyboard-only trading": a whole day without the mouse, with the agreed
keyboard map. Ctrl+1..6 focus the ticket, market watch, blotter, positions, chart and
alerts; in the blotter Ctrl+E modifies and Del cancels the selected order; in the
positions grid Ctrl+Shift+X exits the selected position; window-wide Ctrl+Alt+X exits all
and Ctrl+Shift+Del cancels all; every confirmation answers Enter (yes, its default) and
Esc (no); Help > Keyboard shortcuts lists every shortcut, from the actions themselves."""

from __future__ import annotations

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import confirm_closed, confirm_shown, price, ready, select_by_keys, tab_to

FOCUS_KEYS = [
    ("ctrl+1", "actionFocusTicket", "Ctrl+1", "focus_in('orderTicket')"),
    ("ctrl+2", "actionFocusWatch", "Ctrl+2", "focus_in('marketWatch')"),
    ("ctrl+3", "actionFocusBlotter", "Ctrl+3", "focus_in('blotter')"),
    ("ctrl+4", "actionFocusPositions", "Ctrl+4", "focus_in('positionsGrid')"),
    ("ctrl+5", "actionFocusChart", "Ctrl+5", "focus_name() == 'priceChart'"),
    ("ctrl+6", "actionFocusAlerts", "Ctrl+6", "focus_in('alertsDock')"),
]


def test_ctrl_1_to_6_move_the_focus_between_panels(launch):
    oms = launch(DESKTOP)
    ready(oms)
    # from the blotter round to the ticket, so that each key moves the focus
    for keys, name, sequence, focused in FOCUS_KEYS[2:] + FOCUS_KEYS[:2]:
        assert oms.eval(f"action({name!r}).shortcut().toString()") == sequence
        assert not oms.eval(focused), f"{focused} before {keys}"
        oms.key(keys)
        oms.wait(focused, 10)


def test_modify_and_cancel_from_the_blotter_by_keyboard(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "INFY", "1540")
    price(oms, "SBIN", "970")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1520')")["order_id"]
    oms.eval("await place('SBIN', 'BUY', 10, 'LIMIT', price='960')")
    oms.wait(f"(await status({resting})) == 'OPEN' and blotter_row({resting}) >= 0")
    oms.key("ctrl+3")
    oms.wait("focus_in('blotter')")
    select_by_keys(oms, "blotter", f"select_order_row_is({resting})")
    oms.key("ctrl+e")
    oms.wait(
        "dialog('modifyOrderDialog') is not None and dialog('modifyOrderDialog').isActiveWindow()"
    )
    tab_to(oms, "modifyPrice")
    oms.key("ctrl+a")
    oms.type("1522")
    oms.key("Return")
    oms.wait(f"(await order({resting})).price == Decimal('1522')", 15)
    oms.wait("focus_in('blotter')", 10)  # back where she was
    oms.wait(f"select_order_row_is({resting})")
    oms.key("Delete")
    oms.wait(f"(await status({resting})) == 'CANCELLED'", 15)


def test_exit_the_selected_position_esc_refuses_enter_confirms(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "TCS", "3140")
    price(oms, "SBIN", "970")
    oms.eval("await place('TCS', 'BUY', 5, 'MARKET')")
    oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")
    oms.wait("sorted(shown_positions()) == [('SBIN', 10), ('TCS', 5)]", 15)
    oms.key("ctrl+4")
    oms.wait("focus_in('positionsGrid')")
    select_by_keys(
        oms,
        "positionsGrid",
        "[p.symbol for p in window.positions_panel.selected_positions()] == ['TCS']",
    )
    oms.key("ctrl+shift+x")
    assert "TCS" in confirm_shown(oms)
    oms.key("Escape")  # no
    confirm_closed(oms)
    assert oms.eval("position_qty('TCS')") == 5
    oms.key("ctrl+shift+x")
    confirm_shown(oms)
    oms.key("Return")  # yes: the default button is the action
    confirm_closed(oms)
    oms.wait("position_qty('TCS') == 0", 15)
    assert oms.eval("position_qty('SBIN')") == 10


def test_exit_all_and_cancel_all_by_keyboard(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "TCS", "3140")
    price(oms, "INFY", "1540")
    oms.eval("await place('TCS', 'BUY', 5, 'MARKET')")
    oms.eval("await place('INFY', 'SELL', 10, 'MARKET')")
    # an order Exit all leaves working (it would only add to nothing): Cancel all takes it
    price(oms, "RELIANCE", "1520")
    resting = oms.eval("await place('RELIANCE', 'BUY', 10, 'LIMIT', price='1400')")["order_id"]
    oms.wait(f"len(shown_positions()) == 2 and (await status({resting})) == 'OPEN'", 15)
    oms.key("ctrl+alt+x")
    assert "2 open positions" in confirm_shown(oms)
    oms.key("Return")
    confirm_closed(oms)
    oms.wait("position_qty('TCS') == 0 and position_qty('INFY') == 0", 15)
    oms.key("ctrl+shift+Delete")
    confirm_shown(oms)
    oms.key("Return")
    confirm_closed(oms)
    oms.wait(f"(await status({resting})) == 'CANCELLED'", 15)


def test_help_lists_every_keyboard_shortcut(launch):
    oms = launch(DESKTOP)
    ready(oms)
    x, y = oms.eval("menu_title_center('helpMenu')")
    oms.click_at(x, y)
    oms.wait("shown_menu() is not None and shown_menu().objectName() == 'helpMenu'")
    x, y = oms.eval("menu_item_center('actionKeyboardShortcuts')")
    oms.click_at(x, y)
    oms.wait("dialog('shortcutsDialog') is not None and dialog('shortcutsDialog').isActiveWindow()")
    listed = oms.eval("all_text(dialog('shortcutsDialog'))")
    expected = [
        "F1",
        "F2",
        "Ctrl+1",
        "Ctrl+2",
        "Ctrl+3",
        "Ctrl+4",
        "Ctrl+5",
        "Ctrl+6",
        "Del",
        "Ctrl+E",
        "Ctrl+Shift+Del",
        "Ctrl+Alt+X",
        "Ctrl+Shift+X",
        "Ctrl+Shift+K",
        "Ctrl+Q",
    ]
    missing = [key for key in expected if key not in listed]
    assert not missing, f"not listed: {missing}\n{listed}"
    # generated from the actions: every action with a shortcut is there with its key
    unlisted = oms.eval(
        "[(a.objectName() or a.text(), a.shortcut().toString()) for a in"
        " window.findChildren(type(action('actionBuy'))) if not a.shortcut().isEmpty()"
        " and a.shortcut().toString() not in all_text(dialog('shortcutsDialog'))]"
    )
    assert not unlisted, f"actions with a shortcut the dialog does not list: {unlisted}"
    oms.key("Escape")
    oms.wait("dialog('shortcutsDialog') is None and window.isActiveWindow()")
