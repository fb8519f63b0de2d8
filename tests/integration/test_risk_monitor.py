"""RealTimeRiskMonitor: warnings, automatic kill switch on a daily-loss breach driven by
prices, the configurable action, peak/drawdown, MIS auto square-off on an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from desktop_oms.domain import OrderSide, OrderStatus, Product
from desktop_oms.oms import EventBus, OrderRejected
from desktop_oms.risk import RealTimeRiskMonitor, RearmRefused, RiskLimits, RiskUpdated
from desktop_oms.risk.pnl import DayPnl
from tests.helpers import limit, market, until
from tests.integration.test_risk_harness import FakeClock, rig

D = Decimal
SMALL = RiskLimits(capital=D("100000"))  # loss limit ₹6,000, warning at ₹5,000


def move(r, price: str, symbol="RELIANCE") -> None:
    """A tick at the broker, then the app's mark loop (PositionManager.mark_prices)."""
    r.broker.set_last_price("NSE", symbol, D(price))
    r.pm.mark_prices({("NSE", symbol): D(price)})


async def test_a_loss_breach_driven_by_prices_engages_the_kill_switch(tmp_path):
    r = await rig(tmp_path, limits=SMALL)
    try:
        await r.om.place_order(market(qty=100))  # 2,45,000 long at 2450
        charges = r.pm.peek("NSE", "RELIANCE", Product.MIS).charges
        assert charges > 0
        move(r, "2400")  # -5,000 - charges: past the warning, not the limit
        warnings = [a for a in r.alerts("risk") if a.level == "warning"]
        assert len(warnings) == 1 and "has reached 5% of capital" in warnings[0].message
        assert not r.ks.engaged
        move(r, "2395")
        assert len([a for a in r.alerts("risk") if a.level == "warning"]) == 1  # once a day
        move(r, "2390")  # -6,000 - charges: beyond the limit
        assert r.ks.engaged and r.om.halted  # synchronously, inside the price event
        await r.ks._task
        assert r.ks.last_result.verified and r.pm.open_positions() == []
        assert await r.broker_positions() == {}
        errors = [a for a in r.alerts("risk") if a.level == "error"]
        assert len(errors) == 1 and "halting and flattening" in errors[0].message
        assert r.ks.reason.startswith("automatic: daily loss limit breached")
        # The day's net loss stays beyond the limit: no re-arm today, no new orders.
        assert r.monitor.loss_limit_breached()
        with pytest.raises(RearmRefused):
            r.ks.rearm()
        with pytest.raises(OrderRejected):
            await r.om.place_order(limit(qty=1, price="2390"))
        kinds = [e.kind for e in r.store.audit_log()]
        assert (
            kinds.index("loss_warning")
            < kinds.index("loss_limit_breached")
            < kinds.index("kill_switch_engaged")
        )
    finally:
        await r.close()


async def test_the_validator_refuses_new_exposure_beyond_the_limit_within_one_tick(tmp_path):
    r = await rig(tmp_path, limits=replace(SMALL, loss_limit_action="alert"))
    try:
        await r.om.place_order(market(qty=100))
        r.broker.set_last_price("NSE", "RELIANCE", D("2385"))  # no mark yet: live prices count
        with pytest.raises(OrderRejected) as exc:
            await r.om.place_order(limit("INFY", qty=1, price="1500"))
        assert exc.value.failed_check == "daily_loss_limit"
        # Reducing is allowed.
        result = await r.om.place_order(limit(qty=40, side=OrderSide.SELL, price="2385"))
        assert result.status is OrderStatus.FILLED
    finally:
        await r.close()


async def test_alert_only_and_halt_without_flattening(tmp_path):
    r = await rig(tmp_path, limits=replace(SMALL, loss_limit_action="alert"))
    try:
        await r.om.place_order(market(qty=100))
        move(r, "2380")
        assert not r.ks.engaged
        assert "alert only" in [a for a in r.alerts("risk") if a.level == "error"][0].message
        r.monitor.limits = replace(SMALL, loss_limit_action="halt")
        move(r, "2379")  # already breached today: the new action applies on the next look
        assert r.ks.engaged
        await r.ks._task
        assert r.position() == 100  # halted, not flattened
    finally:
        await r.close()


class FakeLedger:
    def __init__(self) -> None:
        self.net = D(0)
        self.day = date(2026, 5, 4)
        self.extra = {}
        self.last_price = None

    def today(self):
        return DayPnl(self.day, self.net, D(0), D(0))

    def set_extra(self, **values):
        self.extra.update({k: str(v) for k, v in values.items()})

    def roll_if_new_day(self):
        return False

    def live_unrealized(self, p):
        return p.unrealized_pnl


class NoPositions:
    def open_positions(self):
        return []


class FakeKillSwitch:
    def __init__(self) -> None:
        self.engaged = False
        self.busy = False
        self.calls = []

    def engage_now(self, reason, flatten=None):
        self.engaged = True
        self.calls.append((reason, flatten))


def test_warning_and_breach_edges_peak_and_drawdown():
    ledger, ks, bus = FakeLedger(), FakeKillSwitch(), EventBus()
    updates = []
    bus.subscribe(RiskUpdated, lambda e: updates.append(e.snapshot))
    monitor = RealTimeRiskMonitor(
        ledger, SMALL, events=bus, positions=NoPositions(), kill_switch=ks
    )
    ledger.net = D("3000")
    monitor.evaluate()
    ledger.net = D("-4999.99")
    monitor.evaluate()
    assert ledger.extra.get("warned") is None
    ledger.net = D("-5000")  # exactly the warning level: warns
    assert updates[-1].peak == D("3000")
    monitor.evaluate()
    assert ledger.extra["warned"] == "True" and not ks.calls
    ledger.net = D("-6000")  # exactly the limit: not beyond it
    snap = monitor.evaluate()
    assert not ks.calls and snap.drawdown == D("9000") and snap.loss_used_pct == D("100")
    ledger.net = D("-6000.01")
    monitor.evaluate()
    assert ks.calls and ks.calls[0][1] is True and "₹6,000.01" in ks.calls[0][0]
    monitor.evaluate()
    assert len(ks.calls) == 1  # engaged once


async def test_mis_auto_square_off_at_1515_ist(tmp_path):
    clock = FakeClock()
    clock.at = clock.at.replace(hour=15, minute=14, second=59)
    r = await rig(
        tmp_path, limits=RiskLimits(max_open_positions=10, auto_square_off=True), clock=clock
    )
    try:
        await r.om.place_order(market(qty=10))  # MIS
        await r.om.place_order(market("INFY", side=OrderSide.SELL, qty=5))  # MIS short
        await r.om.place_order(market("TCS", qty=2, product=Product.CNC))  # delivery: kept
        resting = await r.om.place_order(limit("SBIN", qty=1, price="790"))  # an open MIS entry
        await r.monitor.check_time()
        assert (
            r.position() == 10
            and (await r.om.get_order(resting.order_id)).status is OrderStatus.OPEN
        )
        clock.at += timedelta(seconds=1)  # 15:15:00 IST
        await r.monitor.check_time()
        await until(lambda: r.position() == 0 and r.position("INFY") == 0)
        assert r.position("TCS", Product.CNC) == 2
        assert (await r.om.get_order(resting.order_id)).status is OrderStatus.CANCELLED
        squared = [o for o in await r.om.list_orders() if o.source == "square_off"]
        assert sorted((o.symbol, o.side.value, o.quantity) for o in squared) == [
            ("INFY", "BUY", 5),
            ("RELIANCE", "SELL", 10),
        ]
        assert any(a.source == "square_off" and "15:15 IST" in a.message for a in r.alerts())
        # A new MIS position later in the window is squared off too; after 15:30 nothing is.
        await r.om.place_order(market(qty=3))
        clock.at += timedelta(minutes=5)
        await r.monitor.check_time()
        await until(lambda: r.position() == 0)
        clock.at = clock.at.replace(hour=15, minute=30)
        await r.om.place_order(market(qty=4))
        await r.monitor.check_time()
        assert r.position() == 4
    finally:
        await r.close()


async def test_no_square_off_on_a_weekend_or_when_disabled(tmp_path):
    clock = FakeClock()
    clock.at = clock.at.replace(hour=15, minute=20) + timedelta(days=5)  # Saturday
    r = await rig(tmp_path, limits=RiskLimits(auto_square_off=True), clock=clock)
    try:
        await r.om.place_order(market(qty=10))
        await r.monitor.check_time()
        assert r.position() == 10
        clock.at += timedelta(days=2)  # Monday 15:20
        r.monitor.limits = replace(r.limits, auto_square_off=False)
        await r.monitor.check_time()
        assert r.position() == 10
        r.monitor.limits = replace(r.limits, square_off_time="15:25")
        await r.monitor.check_time()
        assert r.position() == 10  # 15:20 is before 15:25
    finally:
        await r.close()


async def test_snapshot_has_gross_net_and_position_risk(tmp_path):
    r = await rig(tmp_path)
    try:
        await r.om.place_order(
            limit(qty=10, price="2450", stop_loss=D("2430"), take_profit=D("2500"))
        )
        await r.brackets.settle()
        move(r, "2460")
        snap = r.monitor.snapshot
        assert snap.gross == D("100") and snap.net == D("100") - snap.charges and snap.charges > 0
        (pos,) = snap.positions
        assert (pos.quantity, pos.stop, pos.risk_to_stop) == (10, D("2430"), D("300"))
        assert pos.exposure == D("24600")
        move(r, "2440")
        assert r.monitor.snapshot.drawdown == D("200")
    finally:
        await r.close()
