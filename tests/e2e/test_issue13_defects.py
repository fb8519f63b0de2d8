"""Issue 13's defects, each reproduced as the trader met it: real keys and clicks through
the X server into the real window, the outcome checked through the OMS's public API.

Defect 5 (screen sizes) is in test_screen_sizes.py; the shortcut conflict walk of defect 2
is the offscreen tests/gui/test_shortcut_conflicts.py.
"""

from __future__ import annotations

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import (
    click_confirm_yes,
    click_exit,
    confirm_shown,
    open_menu_and_click,
    price,
    ready,
    select_order_row,
    tab_to,
)

# ---------------------------------------------------------------- 1. exits always exit


def _long_tcs_with_live_bracket(oms) -> int:
    """Buy TCS 5 at market, stop-loss 3120, target 3190, with TCS at 3140: it fills and the
    its SL-M stop goes live (the target is watched). Returns the entry's id."""
    price(oms, "TCS", "3140")
    entry = oms.eval(
        "await place('TCS', 'BUY', 5, 'MARKET', stop_loss='3120', take_profit='3190')"
    )["order_id"]
    oms.wait(f"(await status({entry})) == 'FILLED' and position_qty('TCS') == 5", 15)
    oms.wait(f"len(await live_legs({entry})) == 1", 15)
    oms.wait("('TCS', 5) in shown_positions()", 10)
    return entry


def _flat_and_stays_flat(oms, entry: int | None) -> None:
    """Flat, the exit legs cancelled, and nothing left that could still trade the symbol
    (the old stop's price is crossed and nothing fills)."""
    oms.wait("position_qty('TCS') == 0", 15)
    if entry is not None:
        oms.wait(f"len(await live_legs({entry})) == 0", 15)
    price(oms, "TCS", "3100")  # through the old stop: a leg left live would sell again
    price(oms, "TCS", "3200")  # and through the old target
    oms.wait("[q for s, q in shown_positions() if s == 'TCS'] in ([], [0])", 10)
    assert oms.eval("position_qty('TCS')") == 0
    sells = oms.eval(
        "[o.quantity for o in await all_orders('TCS')"
        " if o.side.value == 'SELL' and o.filled_quantity]"
    )
    assert sum(sells) == 5, f"sold {sells} in all: the exit must sell exactly the 5 held"


def test_exit_of_a_position_with_live_bracket_legs_exits(launch):
    oms = launch(DESKTOP)
    ready(oms)
    entry = _long_tcs_with_live_bracket(oms)
    click_exit(oms, "positionsGrid", {"symbol": "TCS"})
    text = confirm_shown(oms)
    assert "TCS" in text, text
    click_confirm_yes(oms)  # "Sell 5 at market"
    _flat_and_stays_flat(oms, entry)


def test_exit_all_with_live_bracket_legs_exits_everything(launch):
    oms = launch(DESKTOP)
    ready(oms)
    entry = _long_tcs_with_live_bracket(oms)
    price(oms, "SBIN", "800")
    oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")
    oms.wait("position_qty('SBIN') == 10 and ('SBIN', 10) in shown_positions()", 15)
    click_exit(oms, "positionsTotals", 0)
    confirm_shown(oms)
    click_confirm_yes(oms)
    oms.wait("position_qty('SBIN') == 0", 15)
    _flat_and_stays_flat(oms, entry)


def test_exit_is_not_blocked_by_unrelated_resting_orders_on_the_symbol(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "TCS", "3140")
    oms.eval("await place('TCS', 'BUY', 5, 'MARKET')")
    oms.wait("position_qty('TCS') == 5 and ('TCS', 5) in shown_positions()", 15)
    # orders she left resting on TCS, no bracket's legs: a sell far above, a buy far below
    sell = oms.eval("await place('TCS', 'SELL', 5, 'LIMIT', price='3300')")["order_id"]
    buy = oms.eval("await place('TCS', 'BUY', 5, 'LIMIT', price='3000')")["order_id"]
    oms.wait(f"(await status({sell})) == 'OPEN' and (await status({buy})) == 'OPEN'")
    click_exit(oms, "positionsGrid", {"symbol": "TCS"})
    confirm_shown(oms)
    click_confirm_yes(oms)
    oms.wait("position_qty('TCS') == 0", 15)
    # the exit left her buy alone; the market rising through her old sell does not turn
    # the flat position short (that sell was cancelled or shrunk with the exit)
    assert oms.eval(f"await status({buy})") == "OPEN"
    price(oms, "TCS", "3310")
    final = oms.wait(f"(await status({sell})) != 'OPEN' and (await status({sell}))", 10)
    assert final != "FILLED", "the old sell filled after the exit: the position went short"
    assert oms.eval("position_qty('TCS')") == 0


# ---------------------------------------------------------------- 2. Del cancels


def test_del_cancels_the_selected_open_order(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "INFY", "1540")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1500')")["order_id"]
    oms.wait(f"(await status({resting})) == 'OPEN'")
    select_order_row(oms, resting)
    oms.key("Delete")
    oms.wait(f"(await status({resting})) == 'CANCELLED'", 15)


# ---------------------------------------------------------------- 3. a new symbol, new terms


def _ticket_terms(oms, symbol: str, price_text: str, stop: str, target: str) -> None:
    """F1, type the symbol, a LIMIT price, a stop-loss and a target (quantity 10)."""
    oms.key("F1")
    oms.wait("focus_in('orderTicket')")
    tab_to(oms, "ticketSymbol", backwards=True)
    oms.key("ctrl+a")
    oms.type(symbol)
    oms.wait(f"window.ticket.symbol.text() == {symbol!r}")
    tab_to(oms, "ticketQuantity")
    oms.key("ctrl+a")
    oms.type("10")
    tab_to(oms, "ticketPrice")
    oms.key("ctrl+a")
    oms.type(price_text)
    tab_to(oms, "ticketStopLoss")
    oms.key("ctrl+a")
    oms.type(stop)
    tab_to(oms, "ticketTakeProfit")
    oms.key("ctrl+a")
    oms.type(target)
    oms.wait(
        f"window.ticket.price.text() == {price_text!r} and window.ticket.stop_loss.text() == {stop!r}"
        f" and window.ticket.take_profit.text() == {target!r}"
    )


def test_typing_another_symbol_drops_the_previous_symbols_terms(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "INFY", "1538.80")
    price(oms, "RELIANCE", "1516")
    oms.wait("window.ticket.order_type.currentText() == 'LIMIT'")
    _ticket_terms(oms, "INFY", "1538.80", "1525", "1560")
    # back to the symbol, and she types RELIANCE over INFY
    tab_to(oms, "ticketSymbol", backwards=True)
    oms.key("ctrl+a")
    oms.type("RELIANCE")
    oms.wait("window.ticket.symbol.text() == 'RELIANCE'")
    oms.wait(
        "window.ticket.price.value() == Decimal('1516')"
        " and window.ticket.stop_loss.text() == '' and window.ticket.take_profit.text() == ''",
        10,
    )


def test_a_stop_on_the_wrong_side_of_the_last_price_is_refused_on_the_ticket(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "1516")
    oms.wait("window.ticket.order_type.currentText() == 'LIMIT'")
    # INFY's terms on RELIANCE: a buy (LIMIT 1538.80, marketable: it fills at 1516) whose
    # stop 1525 is above RELIANCE's last price 1516; reward:risk 2.3 on the entry price,
    # so nothing else on the ticket refuses it
    _ticket_terms(oms, "RELIANCE", "1538.80", "1525", "1570")
    oms.key("Return")
    oms.wait(
        "(window.ticket.message_kind == 'error' and window.ticket.message.text())"
        " or await all_orders('RELIANCE')",
        10,
    )
    sent = oms.eval(
        "[(o.side.value, o.quantity, str(o.price)) for o in await all_orders('RELIANCE')]"
    )
    assert sent == [], f"sent {sent}: the stop above the last price was not refused on the ticket"
    message = oms.eval("window.ticket.message.text()")
    assert "stop" in message.lower() and (
        "last price" in message.lower() or "1,516" in message or "1516" in message
    ), f"refused, but not for the stop against the last price: {message}"


# ---------------------------------------------------------------- 4. the kill switch shortcut


def _engage_by_keyboard(oms) -> None:
    oms.key("ctrl+shift+k")
    oms.wait("'AGAIN' in window.kill_button.text()", 10)
    oms.key("ctrl+shift+k")
    oms.wait(
        "app.kill_switch.state == 'ENGAGED' and window.kill_button.state.value == 'ENGAGED'", 20
    )


def _rearm_from_the_menu(oms) -> None:
    open_menu_and_click(oms, "Risk", "actionRearmKillSwitch")
    confirm_shown(oms)
    click_confirm_yes(oms)
    oms.wait("not app.kill_switch.engaged and window.kill_button.state.value == 'ARMED'", 10)


def test_ctrl_shift_k_engages_again_after_a_rearm_without_opening_a_menu(launch):
    oms = launch(DESKTOP)
    ready(oms)
    _engage_by_keyboard(oms)
    _rearm_from_the_menu(oms)
    oms.wait("window.ticket.buy_button.isEnabled()", 10)
    _engage_by_keyboard(oms)  # no menu opened since the re-arm


def test_the_tickets_kill_switch_text_clears_on_rearm(launch):
    oms = launch(DESKTOP)
    ready(oms)
    _engage_by_keyboard(oms)
    oms.wait("'kill switch' in window.ticket.message.text().lower()", 10)
    _rearm_from_the_menu(oms)
    oms.wait("'kill switch engaged' not in window.ticket.message.text().lower()", 10)


def test_a_keyboard_engage_is_audited_as_keyboard(launch):
    oms = launch(DESKTOP)
    ready(oms)
    _engage_by_keyboard(oms)
    reason = oms.eval("app.kill_switch.reason")
    audited = oms.eval("[e.message for e in risk_events('kill_switch_engaged')]")
    assert "keyboard" in (reason or "").lower(), reason
    assert audited and "keyboard" in audited[0].lower(), audited


# ---------------------------------------------------------------- 6. refusals where she looks


def _modify_dialog_for_a_resting_infy_buy(oms) -> int:
    price(oms, "INFY", "1540")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1520')")["order_id"]
    oms.wait(f"(await status({resting})) == 'OPEN'")
    select_order_row(oms, resting)
    oms.key("ctrl+e")
    oms.wait(
        "dialog('modifyOrderDialog') is not None and dialog('modifyOrderDialog').isActiveWindow()"
    )
    return resting


def test_the_modify_dialog_follows_its_order_filling_meanwhile(launch):
    oms = launch(DESKTOP)
    ready(oms)
    resting = _modify_dialog_for_a_resting_infy_buy(oms)
    price(oms, "INFY", "1515")  # the market comes down through 1520: it fills
    oms.wait(f"(await status({resting})) == 'FILLED'", 15)
    # the dialog closes itself, or shows the fill and can no longer send a modify
    state = oms.wait(
        "modify_dialog_state() is None and 'closed'"
        " or (not modify_dialog_state()['can_send'] and not modify_dialog_state()['editable']"
        "     and 'filled' in modify_dialog_state()['text'].lower()"
        "     and modify_dialog_state())",
        10,
    )
    if state != "closed":  # still open: it must say the order filled
        assert "10 of 10" in state["text"] or "FILLED" in state["text"].upper(), state


def test_a_refused_modify_is_shown_where_the_trader_is_looking(launch):
    oms = launch(DESKTOP)
    ready(oms)
    resting = _modify_dialog_for_a_resting_infy_buy(oms)
    tab_to(oms, "modifyPrice")
    oms.key("ctrl+a")
    oms.type("1800")  # 17% above the last price: outside the 10% price band
    oms.wait("find('modifyPrice').text() == '1800'")
    oms.key("Return")
    # the refusal's reason is on screen outside the alerts panel: in the dialog (still
    # open), on the ticket, or in a message at the blotter / status bar
    where = oms.wait("shown_outside_alerts('band')", 10)
    assert where, where
    assert oms.eval(f"(await order({resting})).price") == "1520"


# ---------------------------------------------------------------- 8. one clock: IST


def test_blotter_times_are_ist_on_a_utc_machine(launch):
    oms = launch(DESKTOP, env={"TZ": "UTC"})
    ready(oms)
    assert oms.eval("__import__('time').strftime('%z')") == "+0000"  # the child runs in UTC
    price(oms, "SBIN", "800")
    placed = oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")["order_id"]
    oms.wait(f"(await status({placed})) == 'FILLED'", 15)
    oms.wait(f"blotter_row({placed}) >= 0")
    expected = oms.eval(
        f"((await order({placed})).created_at + __import__('datetime').timedelta(hours=5,"
        " minutes=30)).strftime('%H:%M:%S')"
    )
    oms.wait(f"cell_text('blotter', {{'id': {placed}}}, 'time') is not None")
    shown = oms.eval(f"cell_text('blotter', {{'id': {placed}}}, 'time')")
    assert shown == expected, f"blotter shows {shown}, IST is {expected}"
    oms.wait("len(rows('tradesView')) == 1", 10)
    trade_expected = oms.eval(
        "(rows('tradesView')[0].timestamp + __import__('datetime').timedelta(hours=5,"
        " minutes=30)).strftime('%H:%M:%S')"
    )
    trade_shown = oms.eval("cell_text('tradesView', 0, 'time')")
    assert trade_shown == trade_expected, f"trades show {trade_shown}, IST is {trade_expected}"
