"""Positions at the start of a new day: yesterday's closed ones are gone from view, carried
ones start the day with no realized PnL (the trades table keeps the history)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from desktop_oms.domain import Position, Product
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms import PositionManager
from desktop_oms.oms.position_manager import day_start
from desktop_oms.storage import Database

D = Decimal


async def test_new_day_rolls_positions(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    try:
        yesterday = day_start(utcnow()) - timedelta(hours=2)
        today = utcnow()
        rows = [
            Position(
                "RELIANCE",
                "NSE",
                Product.CNC,
                quantity=10,
                average_price=D("2400"),
                realized_pnl=D("500"),
                unrealized_pnl=D("300"),
                last_price=D("2430"),
                charges=D("20"),
                max_drawdown=D("90"),
                updated_at=yesterday,
            ),
            Position(
                "INFY", "NSE", Product.MIS, quantity=0, realized_pnl=D("-200"), updated_at=yesterday
            ),
            Position("TCS", "NSE", Product.MIS, quantity=0, realized_pnl=D("75"), updated_at=today),
        ]
        db.positions.upsert_many(rows)
        pm = PositionManager(db)
        shown = {p.symbol: p for p in await pm.get_all_positions()}
        assert set(shown) == {"RELIANCE", "TCS"}
        carried = shown["RELIANCE"]
        assert (carried.quantity, carried.average_price, carried.realized_pnl, carried.charges) == (
            10,
            D("2400"),
            D("0"),
            D("0"),
        )
        assert carried.unrealized_pnl == D("300") and carried.max_drawdown == D("0")
        assert shown["TCS"].realized_pnl == D("75")  # touched today: as it was
        assert await pm.get_total_realized_pnl() == D("75")
        # persisted: a restart the same day does not roll again
        again = PositionManager(db)
        assert (await again.get_position("RELIANCE", "NSE", Product.CNC)).realized_pnl == D("0")
        db.positions.upsert(replace(carried, realized_pnl=D("40")))
        third = PositionManager(db)
        assert (await third.get_position("RELIANCE", "NSE", Product.CNC)).realized_pnl == D("40")
    finally:
        await db.close()
