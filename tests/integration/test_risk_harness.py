"""RiskRig: the OMS on the paper broker with the whole risk layer (validator, charges,
kill switch, brackets, monitor, achievements), restartable. Other test_risk_* /
test_kill_switch* / test_brackets* modules import it from here."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import Product
from desktop_oms.domain.events import Alert, Event, KillSwitchProgress, QuotesUpdated
from desktop_oms.infra.clock import IST, now_ist, utcnow
from desktop_oms.marketdata.instruments import load_bundled_instruments
from desktop_oms.oms import EventBus, OrderManager, PositionManager
from desktop_oms.risk import (
    Achievements,
    BracketManager,
    ChargesCalculator,
    DayPnlLedger,
    KillSwitch,
    PreTradeValidator,
    RealTimeRiskMonitor,
    RiskLimits,
)
from desktop_oms.risk.checks.margin import paper_margin_estimator
from desktop_oms.storage import Database
from desktop_oms.storage.risk_store import RiskStore
from tests.helpers import limit

D = Decimal
INSTRUMENTS = load_bundled_instruments()


class FakeClock:
    """An aware IST wall clock the test moves."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 5, 4, 11, 0, tzinfo=IST)  # a Monday

    def __call__(self) -> datetime:
        return self.at


class RiskRig(SimpleNamespace):
    async def open(self, broker=None):
        self.broker = broker or self.broker
        self.db = await Database.open(self.path / "oms.db")
        self.events = EventBus()
        self.recorded: list[Event] = []
        self.events.subscribe(Event, self.recorded.append)
        self.pm = PositionManager(self.db, self.events, lambda ex, sym: Decimal(1))
        self.store = RiskStore(self.db)
        clock = self.clock or now_ist
        self.ledger = DayPnlLedger(
            self.pm, self.store, last_price=self.broker.last_price, clock=clock
        )
        self.ledger.load_or_capture()
        self.validator = PreTradeValidator(
            self.limits,
            instruments=INSTRUMENTS,
            last_price=self.broker.last_price,
            positions=self.pm,
            funds=self.broker.funds,
            margin=paper_margin_estimator(INSTRUMENTS),
            day_pnl=self.ledger,
            **({"clock": self.monotonic} if self.monotonic else {}),
        )
        self.om = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.pm,
            validator=self.validator,
            events=self.events,
            instruments=INSTRUMENTS,
            monitor_interval=0.05,
            reconcile_interval=3600,
            unknown_outcome_grace=0.3,
            charges=ChargesCalculator.bundled(INSTRUMENTS),
        )
        self.ks = KillSwitch(
            self.om,
            self.pm,
            flatten=self.limits.flatten_on_kill_switch,
            cool_off=self.limits.kill_switch_cool_off,
            store=self.store,
            clock=clock,
            retry_delay=0.05,
            verify_interval=0.05,
        )
        await self.om.start()
        self.validator.orders = self.om
        self.validator.kill_switch = self.ks
        # As the app does (coalesced there): ticks reach subscribers as QuotesUpdated.
        events = self.events
        self._ticks = lambda ticks: events.publish(QuotesUpdated(tuple(ticks), utcnow()))
        self.broker.add_tick_listener(self._ticks)
        self.brackets = BracketManager(
            self.om, self.store, last_price=self.broker.last_price, retry_delay=0.05
        )
        self.brackets.start()
        self.achievements = Achievements(self.store, self.events, clock=clock)
        self.achievements.start()
        self.monitor = RealTimeRiskMonitor(
            self.ledger,
            self.limits,
            events=self.events,
            positions=self.pm,
            kill_switch=self.ks,
            order_manager=self.om,
            brackets=self.brackets,
            achievements=self.achievements,
            store=self.store,
            clock=clock,
        )
        self.ks.loss_limit_breached = self.monitor.loss_limit_breached
        self.monitor.start()
        return self

    async def close(self):
        self.broker.remove_tick_listener(self._ticks)
        self.monitor.stop()
        self.achievements.stop()
        await self.brackets.stop()
        if self.ks.busy:
            await asyncio.gather(self.ks._task, return_exceptions=True)
        await self.om.stop()
        await self.db.close()

    async def restart(self, broker=None):
        await self.close()
        return await self.open(broker)

    # helpers
    def alerts(self, source=None) -> list[Alert]:
        return [
            e
            for e in self.recorded
            if isinstance(e, Alert) and (source is None or e.source == source)
        ]

    def progress(self) -> list[KillSwitchProgress]:
        return [e for e in self.recorded if isinstance(e, KillSwitchProgress)]

    def position(self, symbol="RELIANCE", product=Product.MIS) -> int:
        return self.pm.peek("NSE", symbol, product).quantity

    async def broker_open_orders(self):
        return [o for o in await self.broker.orders() if o.status.is_active]

    async def broker_positions(self):
        return {
            (p.symbol, p.product): p.quantity for p in await self.broker.positions() if p.quantity
        }


async def rig(
    tmp_path, *, limits: RiskLimits | None = None, clock=None, monotonic=None, **broker_kw
) -> RiskRig:
    # As in the app: order requests over Kite's rate wait for a slot (the Kite adapter's
    # behaviour). A test that fakes the validator's clock to place many orders at once
    # turns the broker's (wall-clock) rate window off.
    broker_kw.setdefault("order_wait_limit_s", 5.0)
    if monotonic is not None:
        broker_kw.setdefault("order_rate_limits", ())
    broker = PaperBroker(state_path=tmp_path / "paper.jsonl", instruments=INSTRUMENTS, **broker_kw)
    broker.set_last_prices({("NSE", "RELIANCE"): D("2450"), ("NSE", "INFY"): D("1500"), ("NSE", "TCS"): D("3100"),
                            ("NSE", "SBIN"): D("800"), ("NSE", "ITC"): D("400")})  # fmt: skip
    r = RiskRig(
        path=tmp_path,
        broker=broker,
        limits=limits or RiskLimits(),
        clock=clock,
        monotonic=monotonic,
    )
    return await r.open()


# ---------------------------------------------------------------------- sanity of the rig
async def test_rig_places_orders_through_the_validator_with_charges(tmp_path):
    r = await rig(tmp_path)
    try:
        result = await r.om.place_order(limit(qty=10, price="2450"))
        assert result.status.value == "FILLED"
        pos = await r.pm.get_position("RELIANCE")
        # Buy 10 @ 2450 MIS: brokerage 7.35, exchange 0.75215, SEBI 0.0245, stamp 0.735, GST 18%.
        expected = (
            D("7.35")
            + D("0.75215")
            + D("0.0245")
            + D("0.735")
            + (D("7.35") + D("0.75215") + D("0.0245")) * D("0.18")
        )
        assert pos.charges == expected and pos.net_pnl == -expected
        # Charges are in the journal's position row (same transaction as the fill).
        stored = {p.key: p for p in r.db.positions.all()}[pos.key]
        assert stored.charges == expected
    finally:
        await r.close()
