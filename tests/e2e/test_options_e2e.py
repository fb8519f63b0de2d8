"""Issue 16 with real X input: a scalper's round trip on a NIFTY option, from the chain.

Open the option chain (Ctrl+Alt+O), click a strike's ask (the option lands on the ticket,
BUY at the ask, one lot), type the lots (more than twice the freeze quantity), Buy and
confirm with Enter; the order goes as slices the blotter shows grouped; Exit all
(Ctrl+Alt+X, Enter) takes the position flat again, the exit sliced too. And a screenshot
of the chain, to look at (OMS_E2E_SCREENSHOT_DIR=docs writes docs/option-chain.png).
"""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import confirm_closed, confirm_shown, ready

SPOT = "26000"
LOTS = 56  # 3,640 NIFTY units (lot 65): above twice the freeze quantity of 1,800
MIN_COLOURS = 40


def _settings(data_dir: Path) -> None:
    """Every order asks first (Enter confirms); the order value limit fits 56 lots."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "broker": "paper",
        "simulate_market": False,
        "confirm_above_value": "1",
        "risk": {"max_order_value": "5000000"},
    }
    (data_dir / "settings.toml").write_bytes(tomli_w.dumps(settings).encode())


def _open_chain(oms) -> None:
    # The P&L chart's import (pyqtgraph, on a worker thread) once done: that import racing
    # Qt calls on the main thread crashed the app here (a segfault in pyqtgraph's
    # Qt/__init__ `_copy_attrs`, 1 run in ~15; the app's own defect, reported, not this test's)
    oms.wait("window.pnl_slot.is_built", 30)
    oms.eval(f"set_price('NIFTY 50', {SPOT!r})")
    oms.key("ctrl+alt+o")
    oms.wait(
        "window.options_ui.chain_dock.isVisible() and window.options_ui.chain.model.rowCount() > 0"
        f" and str(window.options_ui.chain.model.snapshot.atm_strike) == {SPOT!r}",
        15,
    )


def test_chain_click_ask_buy_twice_the_freeze_quantity_sliced_then_exit_all_flat(launch, tmp_path):
    data = tmp_path / "data"
    _settings(data)
    oms = launch(DESKTOP, data_dir=data)
    ready(oms)
    _open_chain(oms)
    chain = "window.options_ui.chain"
    # a strike above the money: its offer, as the trader sees it
    strike = oms.eval(f"str({chain}.model.snapshot.rows[{chain}.model.atm_row() + 4].strike)")
    row = {"strike": strike}
    symbol = oms.eval(f"{chain}.model.item_at(row_of('chainTable', {row!r})).call.symbol")
    ask = oms.eval(f"str({chain}.model.item_at(row_of('chainTable', {row!r})).call.ask)")
    oms.click_cell("chainTable", row, "call_ask")
    oms.wait(
        f"window.ticket.symbol.text() == {symbol!r} and window.ticket.side.value == 'BUY'"
        f" and str(window.ticket.price.value()) == {ask!r} and window.ticket.lots.value() == 1",
        10,
    )
    # lots, typed
    oms.click_widget("ticketLots")
    oms.wait("focus_in('ticketLots')")
    oms.key("ctrl+a")
    oms.type(str(LOTS))
    oms.wait(f"window.ticket.quantity.value() == {LOTS * 65}", 10)
    oms.click_widget("buyButton")
    # the ticket asks above the confirmation threshold; its safe default is no: click yes
    oms.wait(
        "window.ticket.confirm_box is not None and window.ticket.confirm_box.isActiveWindow()",
        10,
    )
    assert symbol in oms.eval("window.ticket.confirm_box.text()")
    oms.click_widget(
        "[b for b in window.ticket.confirm_box.buttons() if b.objectName() == 'confirmYes'][0]"
    )
    oms.wait("window.ticket.confirm_box is None", 10)
    oms.wait(f"position_qty({symbol!r}, 'NFO') == {LOTS * 65}", 20)
    # the blotter: three slices (1,755 + 1,755 + 130) grouped under one slice group
    oms.key("ctrl+3")
    oms.wait("focus_in('blotter') and window.blotter_dock.isVisible()", 10)
    oms.wait(
        "[len(ids) for ids in window.orders_model.slice_groups().values()] == [3]", 10
    )  # the blotter shows the rows on its next flush
    groups = oms.eval("window.orders_model.slice_groups()")
    assert len(groups) == 1, groups
    (group, ids) = next(iter(groups.items()))
    assert len(ids) == 3
    texts = oms.eval(
        "[window.orders_model.index(window.orders_model.row_for_key(i),"
        " window.orders_model.column_index('slice')).data() for i in "
        f"{ids!r}]"
    )
    assert texts == [f"1/3  {group}", f"2/3  {group}", f"3/3  {group}"]
    quantities = oms.eval(f"[window.orders_model.get(i).quantity for i in {ids!r}]")
    assert quantities == [1755, 1755, 130]
    rows = sorted(oms.eval(f"[window.orders_model.row_for_key(i) for i in {ids!r}]"))
    assert rows == list(range(rows[0], rows[0] + 3)), "the slices are not together"
    for i in ids:  # what the trader sees: each slice's group cell on screen
        assert oms.eval(f"cell_shown('blotter', {{'id': {i}}}, 'slice')")["ok"]
    # exit all, once the grid shows the whole position (what the trader confirms is what
    # the grid shows; an exit confirmed for less is refused: the position changed)
    oms.wait(f"({symbol!r}, {LOTS * 65}) in shown_positions()", 10)
    oms.key("ctrl+alt+x")
    text = confirm_shown(oms)
    assert symbol in text and "3,640" in text
    oms.key("Return")
    confirm_closed(oms)
    oms.wait(f"position_qty({symbol!r}, 'NFO') == 0", 20)
    oms.wait("all(qty == 0 for _s, qty in shown_positions())", 10)  # the grid says flat


def test_buy_atm_call_and_put_by_keys_then_a_screenshot_of_the_chain(launch, tmp_path):
    oms = launch(DESKTOP)
    ready(oms)
    _open_chain(oms)
    snap = "window.options_ui.chain.model.snapshot"
    call = oms.eval(f"{snap}.rows[{snap}.atm_index].call.symbol")
    put = oms.eval(f"{snap}.rows[{snap}.atm_index].put.symbol")
    # Ctrl+Alt+C / Ctrl+Alt+P: one lot each of the ATM call and put, stop and target on
    oms.key("ctrl+alt+c")
    oms.wait(f"position_qty({call!r}, 'NFO') == 65", 15)
    # the ticket has finished with the call (a key meanwhile is told "still being sent")
    oms.wait("window.ticket.pending_task is None or window.ticket.pending_task.done()", 10)
    oms.key("ctrl+alt+p")
    oms.wait(f"position_qty({put!r}, 'NFO') == 65", 15)
    oms.wait(  # each entry carries its stop-loss and target (the blotter's next flush)
        "[o.stop_loss is not None and o.take_profit is not None"
        " for o in window.orders_model.items() if o.source != 'bracket'] == [True, True]",
        10,
    )
    # the positions grouped: a long straddle at the ATM, its combined premium
    oms.wait(
        "window.positions_panel.groups.isVisible() and"
        " window.positions_panel.groups_model.rowCount() == 1 and"
        " window.positions_panel.groups_model.item_at(0).structure == 'Long straddle " + SPOT + "'",
        10,
    )
    oms.wait("window.options_ui.chain.refreshes > 2", 10)
    oms.x.move(DESKTOP[0] // 2, 5)  # no tooltip
    folder = Path(os.environ.get("OMS_E2E_SCREENSHOT_DIR") or tmp_path)
    path = folder / "option-chain.png"
    assert oms.screenshot(path) == list(DESKTOP)
    colours = oms.eval(f"image_colours({str(path)!r})")
    assert colours > MIN_COLOURS, f"{path} looks blank ({colours} colours)"
    print(f"\n[e2e] {path}")


def test_on_a_laptop_the_whole_chain_shows_and_the_header_menu_adds_volume(launch, tmp_path):
    """1366x768: every column of the chain is on screen without scrolling sideways, the
    strikes in the middle. A right-click on the header (real X input) and the keyboard show
    Volume for calls and puts; the chain then scrolls to keep the strikes in the middle."""
    from tests.e2e.conftest import LAPTOP

    oms = launch(LAPTOP)
    ready(oms)
    _open_chain(oms)
    chain = "window.options_ui.chain"
    oms.wait(f"{chain}.refreshes > 2", 10)
    assert oms.eval(f"{chain}.hidden_fields()") == ["volume"]
    bar = oms.eval(f"hscroll({chain}.view)")
    assert not bar["visible"] and bar["maximum"] == 0, bar
    fit = f"{chain}.view.horizontalHeader().length() <= {chain}.view.viewport().width()"
    assert oms.eval(fit), oms.eval(f"fully_shown({chain}.view)")
    folder = Path(os.environ.get("OMS_E2E_SCREENSHOT_DIR") or tmp_path)
    oms.x.move(LAPTOP[0] // 2, 5)  # no tooltip
    assert oms.screenshot(folder / "option-chain-1366x768.png") == list(LAPTOP)
    # the header's menu, by a real right-click; Down twice is Volume (OI first)
    x, y = oms.eval(f"center({chain}.view.horizontalHeader())")
    oms.x.click(x, y, button=3)
    oms.wait("QApplication.activePopupWidget() is not None and"
             " QApplication.activePopupWidget().objectName() == 'chainColumnsMenu'", 5)  # fmt: skip
    oms.key("Down", "Down", "Return")
    oms.wait(f"{chain}.hidden_fields() == []", 5)
    header = f"{chain}.view.horizontalHeader()"
    shown = f"[not {header}.isSectionHidden({chain}.model.column_index(k))"
    assert oms.eval(shown + " for k in ('call_volume', 'put_volume')]") == [True, True]
    bar = oms.eval(f"hscroll({chain}.view)")
    assert bar["visible"] and 0 < bar["value"] < bar["maximum"], bar  # the strikes centred
