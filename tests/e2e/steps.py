"""A trader's steps, as real input through the X server (keys and clicks), shared by the
end-to-end tests. Each step waits for what the trader would see before the next one:
a condition in the app with a timeout, never a sleep."""

from __future__ import annotations

from tests.e2e.harness import OmsProcess

MAX_TABS = 25


def ready(oms: OmsProcess) -> None:
    """The day is loaded and trading is allowed (start-up reconciliation done)."""
    oms.wait("window.load_task.done() and window.ticket.buy_button.isEnabled()", 30)


def price(oms: OmsProcess, symbol: str, value: str) -> None:
    """The paper market's last price, seen by the app's quotes (and so by the ticket)."""
    oms.eval(f"set_price({symbol!r}, {value!r})")
    oms.wait(f"ltp({symbol!r}) == Decimal({value!r})")


def focus(oms: OmsProcess, name: str) -> None:
    oms.wait(f"focus_in({name!r})", 10)


def tab_to(oms: OmsProcess, name: str, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab backwards) until the keyboard focus is in the widget `name`, as
    a trader tabs through the ticket. Fails if it never gets there."""
    key = "shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        if oms.eval(f"focus_in({name!r})"):
            return
        before = oms.eval("[focus_name(), id(QApplication.focusWidget())]")
        oms.key(key)
        # Qt has handled the key once the focus moved; a table that keeps Tab for its
        # cells would hold it: say so
        try:
            oms.wait(f"[focus_name(), id(QApplication.focusWidget())] != {before!r}", 10)
        except AssertionError as exc:
            raise AssertionError(f"{key} does not leave {before[0]} (going to {name})") from exc
    raise AssertionError(f"{key} never reached {name}; the focus is on {oms.eval('focus_name()')}")


def confirm_shown(oms: OmsProcess) -> str:
    """A confirmation box is up and has the keyboard focus; its text."""
    oms.wait(
        "window.confirm_box is not None and window.confirm_box.isVisible()"
        " and window.confirm_box.isActiveWindow()",
        10,
    )
    return oms.eval("confirm_text()")


def confirm_closed(oms: OmsProcess) -> None:
    oms.wait("window.confirm_box is None and window.isActiveWindow()", 10)


def click_confirm_yes(oms: OmsProcess) -> None:
    confirm_shown(oms)
    oms.click_widget("confirmYes")
    confirm_closed(oms)


def open_menu_and_click(oms: OmsProcess, title: str, action: str) -> None:
    """Click a menu bar title, then one of its items: `action` is the action's objectName,
    or an expression (in the app) giving the QAction."""
    x, y = oms.eval(f"menu_title_center_by_text({title!r})")
    oms.click_at(x, y)
    oms.wait(f"shown_menu() is not None and shown_menu() is menu_by_title({title!r})", 10)
    ref = repr(action) if action.replace("_", "").isalnum() else action
    x, y = oms.eval(f"menu_item_center({ref})")
    oms.click_at(x, y)
    oms.wait("shown_menu() is None", 10)


def reveal_button(oms: OmsProcess, view: str, row, column: str) -> None:
    """Page the table right with clicks in its horizontal scroll bar until the button in
    this cell is whole on screen, as the trader of issue 13 had to (whether it needs no
    scrolling at all is test_screen_sizes.py's question). The totals row scrolls with the
    grid's scroll bar."""
    scroller = "positionsGrid" if view == "positionsTotals" else view
    for _ in range(20):
        if oms.eval(f"button_shown({view!r}, {row!r}, {column!r})['ok']"):
            return
        bar = oms.eval(f"hscroll({scroller!r})")
        if not bar["visible"] or bar["value"] >= bar["maximum"]:
            shown = oms.eval(f"button_shown({view!r}, {row!r}, {column!r})")
            raise AssertionError(f"{view} {row} {column} cannot be scrolled into view: {shown}")
        oms.click_at(*bar["page_point"])
        oms.wait(f"hscroll({scroller!r})['value'] != {bar['value']}", 10)
    raise AssertionError(f"{view} {row} {column} still not shown after 20 pages")


def click_exit(oms: OmsProcess, view: str, row) -> None:
    """Click the Exit (or Exit all) button of a positions grid row (or the totals row)."""
    reveal_button(oms, view, row, "exit")
    oms.click_cell(view, row, "exit", button=True)


def select_order_row(oms: OmsProcess, order_id: int) -> None:
    """Click the order's row in the blotter (its Symbol cell): selected, blotter focused."""
    oms.wait(f"blotter_row({order_id}) >= 0", 10)
    oms.click_cell("blotter", {"id": order_id}, "symbol")
    oms.wait(f"select_order_row_is({order_id}) and focus_in('blotter')", 10)


def buy_bracket_by_keyboard(
    oms: OmsProcess,
    symbol: str,
    quantity: int,
    stop_loss: str,
    target: str,
    order_type: str = "MARKET",
) -> int:
    """F1, type the symbol, Tab to each field and type it, Enter sends. The new entry's id."""
    before = oms.eval("[o.id for o in await all_orders()]")
    oms.key("F1")
    oms.wait("window.ticket.side.value == 'BUY' and focus_in('orderTicket')", 10)
    if not oms.eval("focus_in('ticketSymbol')"):
        tab_to(oms, "ticketSymbol", backwards=True)
    oms.key("ctrl+a")
    oms.type(symbol)
    oms.wait(f"window.ticket.symbol.text().strip().upper() == {symbol!r}")
    tab_to(oms, "ticketQuantity")
    oms.key("ctrl+a")
    oms.type(str(quantity))
    oms.wait(f"window.ticket.quantity.text_value() == {str(quantity)!r}")
    tab_to(oms, "ticketOrderType")
    # a closed combo box selects the item that starts with the letters typed
    oms.type(order_type[0])
    oms.wait(f"window.ticket.order_type.currentText() == {order_type!r}")
    tab_to(oms, "ticketStopLoss")
    oms.key("ctrl+a")
    oms.type(stop_loss)
    oms.wait(f"window.ticket.stop_loss.text() == {stop_loss!r}")
    tab_to(oms, "ticketTakeProfit")
    oms.key("ctrl+a")
    oms.type(target)
    oms.wait(f"window.ticket.take_profit.text() == {target!r}")
    oms.key("Return")
    new = oms.wait(
        f"[o.id for o in await all_orders({symbol!r})"
        f" if o.id not in {before!r} and o.parent_order_id is None]",
        15,
    )
    assert len(new) == 1, f"one order sent, got {new}"
    return new[0]


def select_by_keys(oms: OmsProcess, view: str, wanted: str) -> None:
    """Arrow down a focused table until `wanted` (an expression) is true."""
    for _ in range(30):
        if oms.eval(wanted):
            return
        before = oms.eval(f"current_row({view!r})")
        oms.key("Down")
        oms.wait(f"current_row({view!r}) != {before}", 10)
    raise AssertionError(f"Down never selected it in {view}")
