"""Achievements: recorded once, announced as info alerts from "achievements"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from desktop_oms.domain import OrderSide
from tests.helpers import limit, market
from tests.integration.test_risk_harness import FakeClock, rig

D = Decimal


def announced(r):
    return [a.message for a in r.alerts("achievements")]


class Paced:
    """A monotonic clock that moves a second at every reading: a trader's pace, not a burst.
    Twelve orders at machine speed, counted across the restart, meet Kite's 10-a-second
    limit on a fast machine, which is not what this test is about."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


async def test_first_trade_stop_loss_streak_and_a_day_within_the_limit(tmp_path):
    clock = FakeClock()
    r = await rig(tmp_path, clock=clock, monotonic=Paced())
    try:
        await r.om.place_order(market(qty=1))  # no stop-loss
        assert announced(r) == ["First trade: welcome aboard"]
        await r.om.place_order(market(qty=1, side=OrderSide.SELL))  # a close, not an entry
        for i in range(4):
            await r.om.place_order(limit(qty=1, price=str(D("2450") + i), stop_loss=D("2400")))
        assert len(announced(r)) == 1
        await r.restart()  # the streak survives a restart
        await r.om.place_order(limit(qty=1, price="2455", stop_loss=D("2400")))
        assert announced(r) == ["5 trades in a row with a stop-loss"]
        await r.om.place_order(market("INFY", qty=1))  # an entry without: the count restarts
        for i in range(4):
            await r.om.place_order(
                limit("TCS", qty=1, price=str(D("3100") + i), stop_loss=D("3000"))
            )
        assert announced(r) == ["5 trades in a row with a stop-loss"]
        clock.at = clock.at.replace(hour=15, minute=31)
        await r.monitor.check_time()
        assert announced(r)[-1].endswith("a trading day that ended within your daily loss limit")
        await r.monitor.check_time()
        codes = [a.code for a in r.store.achievements()]
        assert codes == ["first_trade", "stop_loss_streak", "day_within_loss_limit"]
    finally:
        await r.close()


async def test_a_breached_day_earns_nothing_and_revenge_trades_are_noticed(tmp_path):
    clock = FakeClock()
    r = await rig(tmp_path, clock=clock)
    try:
        await r.om.place_order(market(qty=10))
        r.broker.set_last_price("NSE", "RELIANCE", D("2440"))
        await r.om.place_order(market(qty=10, side=OrderSide.SELL))  # a losing close
        await r.om.place_order(market("INFY", qty=10))  # straight back in: a revenge trade
        assert r.achievements.state.get("last_revenge_at")
        r.achievements.mark_breach(clock().date())
        clock.at += timedelta(days=1)  # the next day finishes the previous one
        await r.monitor.check_time()
        assert [a.code for a in r.store.achievements()] == ["first_trade"]
    finally:
        await r.close()


async def test_a_week_without_revenge_trades_after_a_loss(tmp_path):
    clock = FakeClock()
    r = await rig(tmp_path, clock=clock)
    try:
        r.achievements.state["since"] = (clock() - timedelta(days=30)).isoformat()
        await r.om.place_order(market(qty=10))
        r.broker.set_last_price("NSE", "RELIANCE", D("2440"))
        await r.om.place_order(market(qty=10, side=OrderSide.SELL))  # a losing close, then calm
        clock.at += timedelta(days=7)
        clock.at = clock.at.replace(hour=15, minute=31)
        await r.monitor.check_time()
        assert "A week without revenge trades after a loss" in announced(r)
    finally:
        await r.close()
