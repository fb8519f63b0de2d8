"""Events the risk layer publishes on the OMS EventBus (subscribe like any domain event).

Alerts for the alerts panel are the domain's `Alert` (source "risk", "kill_switch",
"brackets", "square_off" or "achievements"); kill-switch progress is the domain's
`KillSwitchProgress`. These add what a window can draw from:
- RiskUpdated: account PnL (gross and net of charges), peak, drawdown, loss-limit use and
  per-position risk, after every price mark and fill;
- BracketChanged: a bracket's entry, exits and state (for grouping in the blotter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.events import Event


@dataclass(frozen=True, slots=True)
class PositionRisk:
    exchange: str
    symbol: str
    product: Product
    quantity: int
    last_price: Decimal | None
    exposure: Decimal  # |quantity| x last x multiplier
    unrealized_pnl: Decimal  # gross, at the live price
    net_pnl: Decimal  # realized + unrealized - charges (all time, this position)
    stop: Decimal | None  # the nearest working protective stop (bracket), if any
    risk_to_stop: Decimal | None  # loss from here if the stop fills at its trigger


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    at: datetime
    day: date
    realized: Decimal  # today's change in realized PnL
    unrealized: Decimal  # today's change in unrealized PnL (live prices)
    charges: Decimal  # today's charges
    peak: Decimal  # highest net PnL today
    loss_limit: Decimal  # rupees (positive)
    loss_warning: Decimal  # rupees (positive)
    positions: tuple[PositionRisk, ...] = ()

    @property
    def gross(self) -> Decimal:
        return self.realized + self.unrealized

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges

    @property
    def drawdown(self) -> Decimal:
        return self.peak - self.net

    @property
    def loss_used_pct(self) -> Decimal:
        """How much of the daily loss limit today's net loss uses (0 when in profit)."""
        if self.loss_limit <= 0 or self.net >= 0:
            return Decimal(0)
        return -self.net / self.loss_limit * 100


@dataclass(frozen=True, slots=True)
class RiskUpdated(Event):
    snapshot: RiskSnapshot


@dataclass(frozen=True, slots=True)
class BracketView:
    entry_order_id: int
    exchange: str
    symbol: str
    product: Product
    side: OrderSide  # the entry's side
    stop_loss: Decimal | None
    take_profit: Decimal | None
    status: str  # active | closed
    message: str | None
    entry_filled: int
    open_quantity: int  # filled entry quantity not yet exited
    stop_order_ids: tuple[int, ...] = ()
    target_order_ids: tuple[int, ...] = ()
    stop_enabled: bool = True
    target_enabled: bool = True
    exit_order_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class BracketChanged(Event):
    bracket: BracketView
