"""Issue 18 in the real window: a bracket protects the position while the app is closed.

She buys with a bracket by keyboard (F1, the ticket's fields by Tab, Enter), quits
(Ctrl+Q; the close question says the stop keeps resting at the broker; she answers
"Close anyway" with its key), and the market moves while the app is not running — the
paper exchange alone, in a process of its own (tests/e2e/paper_market.py), as Kite's
exchange goes on without the app. She starts the app again and sees what happened:

- through the stop: the broker's resting stop filled while the app was closed; the
  position is flat, the stop FILLED in the blotter, the loss is the stop's;
- the window says so: the bracket closed, which stop filled, found filled at start-up;
- past the target: nothing rested there, so nothing exited while it was closed (the stop
  still protected the position, never a second exit); the app starts with the price
  still beyond the target and exits then, cancelling the stop first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.e2e.conftest import DESKTOP
from tests.e2e.paper_market import move_market
from tests.e2e.steps import buy_bracket_by_keyboard, confirm_shown, price, ready

ENTRY, STOP, TARGET, QTY = "3140", "3120", "3190", 5


def _buy_with_a_bracket(oms) -> tuple[int, dict]:
    """TCS at 3140; BUY 5 at market with stop 3120 and target 3190, by keyboard. The entry
    fills, the stop rests at the broker (SL-M), the target is only watched."""
    price(oms, "TCS", ENTRY)
    entry = buy_bracket_by_keyboard(oms, "TCS", QTY, STOP, TARGET)
    oms.wait(f"(await status({entry})) == 'FILLED' and position_qty('TCS') == {QTY}", 15)
    [stop] = oms.wait(
        f"[o for o in await live_legs({entry}) if o.status.value == 'TRIGGER_PENDING']", 15
    )  # resting at the broker (acknowledged)
    assert len(oms.eval(f"await live_legs({entry})")) == 1
    assert (stop["order_type"], stop["side"], stop["quantity"], stop["trigger_price"]) == (
        "SL-M", "SELL", QTY, STOP,
    ), stop  # fmt: skip
    oms.wait(f"shown_positions() == [('TCS', {QTY})] and blotter_row({stop['id']}) >= 0", 10)
    return entry, stop


def _quit_with_the_position_open(oms) -> None:
    """Ctrl+Q asks (an order and a position stay at the broker); Alt+C: Close anyway."""
    oms.key("ctrl+q")
    text = confirm_shown(oms)
    assert "1 open order and 1 position stay at the broker" in text, text
    informative = oms.eval("window.confirm_box.informativeText()")
    assert "stop-losses keep resting at the broker" in informative, informative
    assert oms.eval("window.confirm_box.defaultButton().objectName()") == "confirmNo"
    oms.key("alt+c")
    assert oms.wait_exit() == 0


def _flat_in_the_window(oms, symbol: str) -> None:
    """The positions grid shows no open position (a closed one may stay, at 0)."""
    oms.wait(f"position_qty({symbol!r}) == 0", 20)
    oms.wait("[q for _s, q in shown_positions() if q] == []", 10)


def _realized_is(oms, symbol: str, expected: Decimal) -> None:
    """The day's realized P&L of the position is `expected`, in the OMS and in the
    positions grid's Realized cell (its text, as the trader reads it)."""
    oms.wait(
        f"sum((p.realized_pnl for p in app.position_manager.all_positions()"
        f" if p.symbol == {symbol!r}), Decimal(0)) == Decimal('{expected}')",
        10,
    )
    cell = f"cell_text('positionsGrid', {{'symbol': {symbol!r}}}, 'realized')"
    oms.wait(
        f"Decimal({cell}.replace(',', '').replace('\u2212', '-').replace('+', '').strip())"
        f" == Decimal('{expected}')",
        10,
    )


def _told_since(oms, started: str, *order_ids: int) -> list[str]:
    """The alerts of this session (the panel keeps the last session's too) naming one of
    these orders, within 5 s."""
    names = " or ".join(f"'#{order_id}' in a.message" for order_id in order_ids)
    return oms.wait(
        f"[a.message for a in window.alerts.model.alerts()"
        f" if a.at >= __import__('datetime').datetime.fromisoformat({started!r}) and ({names})]",
        5,
    )


def test_the_stop_fills_while_the_app_is_closed(launch, tmp_path):
    oms = launch(DESKTOP)
    ready(oms)
    entry, stop = _buy_with_a_bracket(oms)
    _quit_with_the_position_open(oms)

    # While the app is closed TCS falls through the stop: the broker's stop fills.
    book = move_market(oms.data_dir, {"NSE:TCS": "3110"})
    [at_broker] = [o for o in book["orders"] if o["broker_order_id"] == stop["broker_order_id"]]
    assert (at_broker["status"], at_broker["filled"], at_broker["average_price"]) == (
        "FILLED", QTY, "3110",
    ), book  # fmt: skip
    assert "NSE:TCS:MIS" not in book["positions"], book

    oms.start()
    ready(oms)
    _flat_in_the_window(oms, "TCS")
    oms.wait(f"(await status({stop['id']})) == 'FILLED'", 15)
    oms.wait(f"cell_text('blotter', {{'id': {stop['id']}}}, 'status').upper() == 'FILLED'", 10)
    assert oms.eval(f"await live_legs({entry})") == []
    oms.wait(f"app.risk.brackets.view({entry}).status == 'closed'", 10)
    _realized_is(oms, "TCS", (Decimal("3110") - Decimal(ENTRY)) * QTY)  # -150: the stop's price
    oms.screenshot(tmp_path / "stop-filled-while-closed.png")


def test_the_target_passed_while_closed_exits_when_the_app_starts(launch, tmp_path):
    oms = launch(DESKTOP)
    ready(oms)
    entry, stop = _buy_with_a_bracket(oms)
    _quit_with_the_position_open(oms)

    # While the app is closed TCS rises past the target: nothing rests there, nothing
    # exits, and the stop is still the only exit at the broker (never two).
    book = move_market(oms.data_dir, {"NSE:TCS": "3195"})
    working = [o for o in book["orders"] if o["status"] in ("OPEN", "TRIGGER_PENDING")]
    assert [(o["broker_order_id"], o["order_type"]) for o in working] == [
        (stop["broker_order_id"], "SL-M")
    ], book
    assert book["positions"] == {"NSE:TCS:MIS": QTY}, book

    started = datetime.now(UTC).isoformat()
    oms.start()
    ready(oms)  # the price is still beyond the target: the bracket exits at once
    _flat_in_the_window(oms, "TCS")
    oms.wait(f"(await status({stop['id']})) == 'CANCELLED'", 15)
    [exit_order] = oms.wait(
        f"[o for o in await legs({entry}) if o.sent_type.value == 'MARKET'"
        f" and o.status.value == 'FILLED']",
        15,
    )
    assert (exit_order["side"], exit_order["filled_quantity"], exit_order["average_price"]) == (
        "SELL", QTY, "3195",
    ), exit_order  # fmt: skip
    oms.wait(f"blotter_row({exit_order['id']}) >= 0", 10)
    oms.wait(f"cell_text('blotter', {{'id': {stop['id']}}}, 'status').upper() == 'CANCELLED'", 10)
    oms.wait(f"app.risk.brackets.view({entry}).status == 'closed'", 10)
    _realized_is(oms, "TCS", (Decimal("3195") - Decimal(ENTRY)) * QTY)  # +275
    assert oms.eval("sorted(o.status.value for o in await all_orders('TCS'))") == [
        "CANCELLED", "FILLED", "FILLED",
    ]  # fmt: skip
    told = _told_since(oms, started, entry)  # the exit at start is announced
    assert any("target" in message for message in told), told
    oms.screenshot(tmp_path / "target-exit-at-start.png")


def test_after_the_restart_the_window_says_the_stop_filled_while_it_was_closed(launch, tmp_path):
    oms = launch(DESKTOP)
    ready(oms)
    entry, stop = _buy_with_a_bracket(oms)
    _quit_with_the_position_open(oms)
    move_market(oms.data_dir, {"NSE:TCS": "3110"})
    started = datetime.now(UTC).isoformat()
    oms.start()
    ready(oms)
    _flat_in_the_window(oms, "TCS")
    oms.wait(f"app.risk.brackets.view({entry}).status == 'closed'", 10)
    told = _told_since(oms, started, entry, stop["id"])
    assert any(
        f"stop-loss #{stop['id']} filled {QTY} @ 3110" in m and "found filled at start-up" in m
        for m in told
    ), told
    # shown in the alerts panel's rows (not only kept in its model)
    oms.wait(
        "any('found filled at start-up' in window.alerts.model.alert_at(row).message"
        " for row in range(window.alerts.model.rowCount()))",
        5,
    )
    oms.screenshot(tmp_path / "told-stop-filled-while-closed.png")
