"""Issue 13 #7: the day's peak and drawdown survive a restart exactly.

The peak was saved at most once every 5 s, so a peak reached within 5 s of the last save
lived only in memory: after a restart with no trade the peak was lower and the drawdown
shrank by the difference (50.86 -> 39.86 in the report)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from desktop_oms.app import Application
from desktop_oms.config import Settings
from desktop_oms.domain import OrderSide
from desktop_oms.risk import RiskLimits
from desktop_oms.risk.pnl import STATE_KEY
from desktop_oms.storage import Database
from tests.helpers import market, until

D = Decimal
LIMITS = RiskLimits(capital=D("1000000"), auto_square_off=False)


def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, broker="paper", simulate_market=False, risk=LIMITS)


def figures(app) -> dict:
    s = app.risk.monitor.snapshot
    return {
        "day": s.day,
        "peak": s.peak,
        "net": s.net,
        "realized": s.realized,
        "charges": s.charges,
        "drawdown": s.drawdown,
    }


async def move(app, price: str) -> None:
    """A new last price, and wait until the risk monitor valued the position at it."""
    app.broker.set_last_price("NSE", "RELIANCE", D(price))

    def valued() -> bool:
        positions = app.risk.monitor.snapshot.positions
        return bool(positions) and positions[0].last_price == D(price)

    await until(valued)


async def test_peak_and_drawdown_survive_a_restart(tmp_path):
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)  # the tick reaches the quote cache
        await app.order_manager.place_order(market(qty=100))
        for price in ("2451", "2452.50", "2453.10"):  # new peaks, well within 5 s
            await move(app, price)
        await app.order_manager.place_order(market(side=OrderSide.SELL, qty=40))  # realized
        for price in ("2452", "2452.35"):  # a fall from the peak
            await move(app, price)
        before = figures(app)
        assert before["drawdown"] > 0 and before["realized"] > 0 and before["charges"] > 0
        # Saved as it happened, not at the stop: a crash now would keep it too.
        reader = Database.open_read_only(app.settings.db_path)
        try:
            saved = json.loads(reader.get_state(STATE_KEY))
        finally:
            reader.close_sync()
        assert D(saved["extra"]["peak"]) == before["peak"]
    finally:
        await app.stop()

    again = Application(settings(tmp_path), with_window=False)  # the same data dir
    await again.start()
    try:
        await until(lambda: again.risk.monitor.snapshot is not None)
        assert figures(again) == before
        await move(again, "2452.35")  # the same price again: still the same figures
        assert figures(again) == before
    finally:
        await again.stop()
