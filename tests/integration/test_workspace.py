"""Setups, notes and watchlists persist in the journal database."""

from __future__ import annotations

import pytest

from desktop_oms.storage import Database
from tests.helpers import limit


async def test_setups_notes_watchlists_survive_reopen(paper_oms):
    h = paper_oms
    ws = h.db.workspace
    assert ws.set_setups(["Hammer", " Breakout ", "hammer", "Opening  range"]) == [
        "Hammer",
        "Breakout",
        "Opening range",
    ]
    result = await h.om.place_order(limit(qty=1, strategy_id="Breakout"))
    ws.set_order_note(result.order_id, "Broke yesterday's high on volume; stop under the range")
    ws.set_position_note("NSE", "RELIANCE", "MIS", "Out at target")
    nifty = ws.create_watchlist("Nifty movers")
    ws.set_watchlist_items(nifty.id, [("NSE", "INFY"), ("nse", "reliance"), ("NSE", "INFY")])
    with pytest.raises(ValueError, match="exists already"):
        ws.create_watchlist("Nifty movers")
    with pytest.raises(ValueError, match="needs a name"):
        ws.create_watchlist("   ")
    await h.close()
    db = await Database.open(h.path / "oms.db")
    try:
        ws = db.workspace
        assert ws.setups() == ["Hammer", "Breakout", "Opening range"]
        assert ws.set_setups(["Breakout"]) == ["Breakout"]
        assert ws.setups() == ["Breakout"] and "Hammer" in ws.setups(include_inactive=True)
        assert ws.note_for_order(result.order_id).startswith("Broke yesterday")
        assert ws.note_for_position("NSE", "RELIANCE", "MIS") == "Out at target"
        ws.set_order_note(result.order_id, "")
        assert ws.note_for_order(result.order_id) == ""
        [lst] = ws.watchlists()
        assert (lst.name, lst.items) == ("Nifty movers", (("NSE", "INFY"), ("NSE", "RELIANCE")))
        ws.delete_watchlist(lst.id)
        assert ws.watchlists() == []
    finally:
        await db.close()
