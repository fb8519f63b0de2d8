"""Issue 18, the GTT tab by keyboard with real X input: a CNC position, Go > GTT
(Ctrl+Shift+G) puts the focus in gttView, Ins opens the GTT dialog, Tab to the stop and
the target and type them, Enter places the GTT OCO at the (paper) broker; it shows in
gttView; Del asks, Esc keeps it, Del + Enter deletes it at the broker."""

from __future__ import annotations

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import confirm_closed, confirm_shown, price, ready, select_by_keys, tab_to

BOX = "window.gtt_panel.confirm_box"


def test_create_a_gtt_for_a_cnc_position_see_it_and_delete_it(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "2450")
    oms.eval("await place('RELIANCE', 'BUY', 20, 'MARKET', product='CNC')")
    oms.wait("position_qty('RELIANCE') == 20", 15)

    assert oms.eval("action('actionFocusGtt').shortcut().toString()") == "Ctrl+Shift+G"
    oms.key("ctrl+shift+g")
    oms.wait("focus_in('gttView') and window.gtt_panel.refreshes >= 1", 10)
    assert oms.eval("len(rows('gttView'))") == 0

    oms.key("Insert")
    oms.wait(
        "dialog('gttProtectDialog') is not None and dialog('gttProtectDialog').isActiveWindow()",
        10,
    )
    assert "RELIANCE CNC +20" in oms.eval("dialog('gttProtectDialog').position.currentText()")
    tab_to(oms, "gttStop")
    oms.type("2400")
    tab_to(oms, "gttTarget")
    oms.type("2600")
    oms.wait("dialog('gttProtectDialog').target.text() == '2600'")
    oms.key("Return")
    oms.wait("dialog('gttProtectDialog') is None", 15)
    oms.wait("len(rows('gttView')) == 1 and cell_text('gttView', 0, 'status') == 'ACTIVE'", 15)
    assert oms.eval("cell_text('gttView', 0, 'symbol')") == "NSE:RELIANCE"
    assert oms.eval("cell_text('gttView', 0, 'type')") == "OCO"
    assert oms.eval("[str(v) for v in rows('gttView')[0].trigger_values]") == ["2400", "2600"]
    assert oms.eval("[g.status.value for g in await app.broker.gtts()]") == ["active"]

    oms.wait("focus_in('gttView')", 10)  # back where she was
    oms.key("Down")
    oms.wait("len(window.gtt_panel.selected_gtts()) == 1", 10)
    oms.key("Delete")
    oms.wait(f"{BOX} is not None and {BOX}.isVisible() and {BOX}.isActiveWindow()", 10)
    oms.key("Escape")  # no: it stays
    oms.wait(f"{BOX} is None and focus_in('gttView')", 10)
    assert oms.eval("[g.status.value for g in await app.broker.gtts()]") == ["active"]
    oms.key("Delete")
    oms.wait(f"{BOX} is not None and {BOX}.isVisible() and {BOX}.isActiveWindow()", 10)
    oms.key("Return")  # yes: asked on purpose
    oms.wait("[g.status.value for g in await app.broker.gtts()] == ['deleted']", 15)
    oms.wait("cell_text('gttView', 0, 'status') == 'DELETED'", 15)
    assert oms.eval("[e.kind for e in risk_events() if e.kind.startswith('gtt')]") == [
        "gtt_placed",
        "gtt_deleted",
    ]


def test_exit_by_keyboard_deletes_the_positions_gtt_before_it_closes_the_position(launch):
    """A GTT left at the broker would fire after the exit and sell what is no longer
    held: Exit (Ctrl+Shift+X, Enter) deletes it first, and a later price through its old
    stop trades nothing."""
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "2450")
    oms.eval("await place('RELIANCE', 'BUY', 20, 'MARKET', product='CNC')")
    oms.wait("position_qty('RELIANCE') == 20", 15)
    gtt_id = oms.eval(
        "await app.risk.gtt.protect_with_gtt(('NSE', 'RELIANCE', domain.Product.CNC),"
        " Decimal('2400'), Decimal('2600'))"
    )
    oms.wait("shown_positions() == [('RELIANCE', 20)]", 15)  # the grid has it too
    oms.key("ctrl+4")
    oms.wait("focus_in('positionsGrid')")
    select_by_keys(
        oms,
        "positionsGrid",
        "getattr(window.positions_panel.current_position(), 'symbol', None) == 'RELIANCE'",
    )
    oms.key("ctrl+shift+x")
    assert "RELIANCE" in confirm_shown(oms)
    oms.key("Return")
    confirm_closed(oms)
    oms.wait("position_qty('RELIANCE') == 0", 15)
    # deleted by the exit itself, before its order (not later, when the grid saw it flat)
    oms.wait(f"any('deleted GTT #{gtt_id} first' in a for a in alerts_text())", 10)
    assert oms.eval(
        f"[g.status.value for g in await app.broker.gtts() if g.gtt_id == {gtt_id}]"
    ) == ["deleted"]
    price(oms, "RELIANCE", "2390")  # through the old stop
    oms.wait("[p.quantity for p in await app.broker.positions() if p.quantity] == []", 5)
    assert oms.eval("[e.kind for e in risk_events() if e.kind.startswith('gtt')]") == [
        "gtt_placed",
        "gtt_deleted",
    ]
