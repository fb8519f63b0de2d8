"""RiskServices: builds the risk layer and wires it into the Application.

Application._start_core calls, in this order:

    self.risk = RiskServices.before_oms(self)        # validator (-> self.validator), charges, day PnL
    self.order_manager = OrderManager(..., validator=self.validator, charges=self.risk.charges)
    self.kill_switch = self.risk.make_kill_switch(self.order_manager, self.position_manager)
    await self.order_manager.start()
    self.risk.start(self)                             # monitor, brackets, achievements

What the window uses (all on `app`):
- app.risk.update_limits(RiskLimits(...))  -> applies new limits everywhere and saves Settings;
  `app.settings.risk` is the current RiskLimits; `RISK_FIELDS` describes the fields.
- app.kill_switch: engage(reason=...), rearm(), can_rearm(), engaged, state, reason,
  last_message; KillSwitchProgress events (state ENGAGING/DONE/FAILED/ARMED).
- app.risk_monitor.snapshot / RiskUpdated events: day PnL gross and net of charges, peak,
  drawdown, loss-limit use, per-position risk.
- app.brackets.views(), .view(entry_id), .entry_of(order_id); BracketChanged events;
  an exit's `order.parent_order_id` is its entry (group under it in the blotter).
- app.achievements.records(); Alert events with source "achievements".
- app.charges.contract_note(trades) for a day's charges as the contract note shows them.
- app.validator.problems(request) for the ticket's live "would be refused because ...".
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from desktop_oms.infra.clock import utcnow
from desktop_oms.risk.achievements import Achievements
from desktop_oms.risk.brackets.manager import BracketManager
from desktop_oms.risk.charges.calculator import ChargesCalculator
from desktop_oms.risk.checks.margin import broker_margin_estimator, paper_margin_estimator
from desktop_oms.risk.kill_switch.switch import KillSwitch
from desktop_oms.risk.limits import RiskLimits
from desktop_oms.risk.monitor import RealTimeRiskMonitor
from desktop_oms.risk.pnl import DayPnlLedger
from desktop_oms.risk.validator import PreTradeValidator
from desktop_oms.storage.risk_store import RiskStore

log = logging.getLogger(__name__)

RISK_CLOCK_INTERVAL_S = 1.0


class RiskServices:
    def __init__(
        self, app, store: RiskStore, charges, ledger: DayPnlLedger, validator: PreTradeValidator
    ) -> None:
        self.app = app
        self.store = store
        self.charges = charges
        self.ledger = ledger
        self.validator = validator
        self.kill_switch: KillSwitch | None = None
        self.monitor: RealTimeRiskMonitor | None = None
        self.brackets: BracketManager | None = None
        self.achievements: Achievements | None = None
        self.problems: list[str] = []

    @property
    def limits(self) -> RiskLimits:
        return self.validator.limits

    @classmethod
    def before_oms(cls, app) -> RiskServices:
        limits = app.settings.risk
        store = RiskStore(app.db)
        problems = []
        try:
            charges = ChargesCalculator.bundled(app.instruments)
        except Exception as exc:  # noqa: BLE001 - trade on; the window says PnL is gross
            log.exception("charges schedule unusable")
            charges = None
            problems.append(f"Charges schedule unusable ({exc}): net PnL excludes charges")
        ledger = DayPnlLedger(app.position_manager, store, last_price=app.quotes.last_price)
        ledger.load_or_capture()  # before the OMS catches up on fills: today's stay in the day
        broker = app.broker
        margin = None
        if getattr(broker, "name", None) == "paper":
            margin = paper_margin_estimator(getattr(broker, "instrument_store", app.instruments))
        elif hasattr(broker, "order_margins"):
            margin = broker_margin_estimator(broker)
        validator = PreTradeValidator(
            limits,
            instruments=app.instruments,
            last_price=app.quotes.last_price,
            positions=app.position_manager,
            funds=getattr(broker, "funds", None),
            margin=margin,
            day_pnl=ledger,
        )
        app.validator = validator
        services = cls(app, store, charges, ledger, validator)
        services.problems = problems
        return services

    def make_kill_switch(self, order_manager, position_manager) -> KillSwitch:
        limits = self.limits
        self.kill_switch = KillSwitch(
            order_manager,
            position_manager,
            flatten=limits.flatten_on_kill_switch,
            cool_off=limits.kill_switch_cool_off,
            store=self.store,
        )
        return self.kill_switch

    def start(self, app) -> None:
        om = app.order_manager
        ks = app.kill_switch
        v = self.validator
        v.orders = om
        v.kill_switch = ks
        try:
            v.prime(om.db.journal.list_orders(since=utcnow() - timedelta(days=1)))
        except Exception:  # noqa: BLE001 - only makes the rate window stricter after a restart
            log.exception("could not prime the order-rate window")
        ks.task_group = app._tasks
        self.brackets = BracketManager(om, self.store, last_price=app.quotes.last_price)
        self.brackets.task_group = app._tasks
        self.brackets.start()
        self.achievements = Achievements(self.store, app.events)
        self.achievements.start()
        self.monitor = RealTimeRiskMonitor(
            self.ledger,
            self.limits,
            events=app.events,
            positions=app.position_manager,
            kill_switch=ks,
            order_manager=om,
            brackets=self.brackets,
            achievements=self.achievements,
            store=self.store,
        )
        ks.loss_limit_breached = self.monitor.loss_limit_breached
        self.monitor.start()
        app._tasks.periodic("risk-clock", RISK_CLOCK_INTERVAL_S, self.monitor.check_time)
        app.risk_monitor = self.monitor
        app.brackets = self.brackets
        app.achievements = self.achievements
        app.charges = self.charges
        for problem in self.problems:
            om.alert("error", problem, "risk")

    def update_limits(self, limits: RiskLimits, *, save: bool = True) -> None:
        """New limits for the validator, monitor and kill switch; saved in settings.toml."""
        if not isinstance(limits, RiskLimits):
            raise TypeError("limits must be RiskLimits")
        self.validator.limits = limits
        if self.monitor is not None:
            self.monitor.limits = limits
        if self.kill_switch is not None:
            self.kill_switch.flatten = limits.flatten_on_kill_switch
            self.kill_switch.cool_off = limits.kill_switch_cool_off
        app = self.app
        app.settings = replace(app.settings, risk=limits)
        if save:
            app.settings.save()
        self.store.audit("limits_changed", "Risk limits changed", limits.to_dict())
