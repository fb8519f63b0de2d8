"""The risk layer, built around the OMS by the composition root.

`Application._start_core` calls, in this order:

    risk = build_risk(limits, db, instruments, quotes, positions, broker)  # validator, charges, day PnL
    om = OrderManager(..., validator=risk.validator, charges=risk.charges)
    risk.attach(om, positions)                                            # the kill switch
    await om.start()
    risk.start(om, events, quotes, tasks)                                 # brackets, achievements, monitor

The validator and the OrderManager need each other (the OMS asks the validator; the
validator reads the OMS's live orders), as do the kill switch and the risk monitor: those
links are made here, once, in the one composition root.

What the window uses (`services.risk`): update_limits(RiskLimits) (validator, monitor, kill
switch, settings.toml), limits, monitor (.snapshot; RiskUpdated events), brackets (.views(),
.view(entry_id), .entry_of(order_id); BracketChanged events), achievements (.records()),
charges (.contract_note(trades)), validator (.problems(request) for the ticket), basket
(.preview(legs): a multi-leg order's margin, charges and premium before it is sent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from desktop_oms.infra.clock import trading_day, utcnow
from desktop_oms.infra.tasks import TaskGroup
from desktop_oms.marketdata.quotes import QuotedCircuitLimits
from desktop_oms.risk.achievements import Achievements
from desktop_oms.risk.basket import BasketPreviewer
from desktop_oms.risk.brackets import BracketManager
from desktop_oms.risk.charges import ChargesCalculator
from desktop_oms.risk.checks.margin import broker_margin_estimator, paper_margin_estimator
from desktop_oms.risk.kill_switch import KillSwitch
from desktop_oms.risk.limits import RiskLimits
from desktop_oms.risk.monitor import RealTimeRiskMonitor
from desktop_oms.risk.pnl import DayPnlLedger
from desktop_oms.risk.validator import PreTradeValidator
from desktop_oms.storage.risk_store import RiskStore

log = logging.getLogger(__name__)

RISK_CLOCK_INTERVAL_S = 1.0


@dataclass
class RiskServices:
    """The risk layer of one Application (see the module docstring)."""

    store: RiskStore
    charges: ChargesCalculator | None
    ledger: DayPnlLedger
    validator: PreTradeValidator
    # called with the new limits when they change (the app keeps and saves its settings)
    on_limits_changed: Callable[[RiskLimits, bool], None]
    problems: list[str] = field(default_factory=list)
    kill_switch: KillSwitch | None = None
    monitor: RealTimeRiskMonitor | None = None
    brackets: BracketManager | None = None
    achievements: Achievements | None = None
    basket: BasketPreviewer | None = None  # margin/charges of a multi-leg order, before sending

    @property
    def limits(self) -> RiskLimits:
        return self.validator.limits

    def attach(self, order_manager, position_manager) -> KillSwitch:
        """The kill switch of this OMS; the validator reads the OMS's orders from now on."""
        limits = self.limits
        self.kill_switch = KillSwitch(
            order_manager,
            position_manager,
            flatten=limits.flatten_on_kill_switch,
            cool_off=limits.kill_switch_cool_off,
            store=self.store,
        )
        self.validator.orders = order_manager
        self.validator.kill_switch = self.kill_switch
        return self.kill_switch

    def start(self, order_manager, events, quotes, tasks: TaskGroup) -> None:
        """Brackets, achievements and the risk monitor, on a started OMS; their tasks run
        in `tasks` (the app's)."""
        om = order_manager
        ks = self.kill_switch
        try:
            self.validator.prime(om.db.journal.list_orders(since=utcnow() - timedelta(days=1)))
        except Exception:  # noqa: BLE001 - only makes the rate window stricter after a restart
            log.exception("could not prime the order-rate window")
        ks.task_group = tasks
        self.brackets = BracketManager(om, self.store, last_price=quotes.last_price)
        self.brackets.task_group = tasks
        self.brackets.start()
        self.achievements = Achievements(self.store, events)
        self.achievements.start()
        self.monitor = RealTimeRiskMonitor(
            self.ledger,
            self.limits,
            events=events,
            positions=om.positions,
            kill_switch=ks,
            order_manager=om,
            brackets=self.brackets,
            achievements=self.achievements,
            store=self.store,
        )
        ks.loss_limit_breached = self.monitor.loss_limit_breached
        self.monitor.start()
        tasks.periodic("risk-clock", RISK_CLOCK_INTERVAL_S, self.monitor.check_time)
        for problem in self.problems:
            om.alert("error", problem, "risk")

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        if self.achievements is not None:
            self.achievements.stop()

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
        self.on_limits_changed(limits, save)
        self.store.audit("limits_changed", "Risk limits changed", limits.to_dict())


def build_risk(
    limits: RiskLimits,
    db,
    instruments,
    quotes,
    positions,
    broker,
    on_limits_changed: Callable[[RiskLimits, bool], None],
) -> RiskServices:
    """Validator, charges and today's PnL: what the OMS needs before it starts."""
    store = RiskStore(db)
    problems = []
    try:
        charges = ChargesCalculator.bundled(instruments)
    except Exception as exc:  # noqa: BLE001 - trade on; the window says PnL is gross
        log.exception("charges schedule unusable")
        charges = None
        problems.append(f"Charges schedule unusable ({exc}): net PnL excludes charges")
    ledger = DayPnlLedger(positions, store, last_price=quotes.last_price)
    ledger.load_or_capture()  # before the OMS catches up on fills: today's stay in the day
    if broker.name == "paper":  # the documented model, exactly what the paper broker blocks
        margin = paper_margin_estimator(
            broker.instrument_store or instruments, last_price=broker.last_price
        )
    else:  # the broker's own estimate (Kite's order-margins API)
        margin = broker_margin_estimator(broker)
    # The exchange's circuit limits, predicted before sending: the paper exchange's own
    # (what it refuses), Kite's from the last quote that carried them.
    circuits = None
    if broker.name == "paper":
        circuits = getattr(broker, "circuit_limits", None)
    elif hasattr(quotes, "circuit_limits") and hasattr(broker, "quote"):
        circuits = QuotedCircuitLimits(
            quotes, broker.quote, today=lambda: trading_day(utcnow())
        )  # Kite's /quote, fetched for an instrument the first time it is asked about
    validator = PreTradeValidator(
        limits,
        instruments=instruments,
        last_price=quotes.last_price,
        positions=positions,
        funds=broker.funds,
        funds_by_exchange=True,  # Broker.funds(exchange): Kite's MCX margin is commodity
        margin=margin,
        day_pnl=ledger,
        circuit_limits=circuits,  # and Zerodha's MIS cut-off (the validator's default)
    )
    basket = BasketPreviewer(
        validator,
        charges,
        funds=broker.funds,
        source="paper margin model" if broker.name == "paper" else "Kite order margins, per leg",
    )
    return RiskServices(
        store, charges, ledger, validator, on_limits_changed, problems, basket=basket
    )
