"""Immutable, past-tense events the OMS publishes (GUI, risk monitor, brackets subscribe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.enums import OrderStatus
from desktop_oms.domain.orders import Fill, Order
from desktop_oms.domain.positions import Position, PositionAction


@dataclass(frozen=True, slots=True)
class Event:
    pass


@dataclass(frozen=True, slots=True)
class OrderStatusChanged(Event):
    order: Order
    old_status: OrderStatus | None
    new_status: OrderStatus
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderModified(Event):
    order: Order
    at: datetime


@dataclass(frozen=True, slots=True)
class FillApplied(Event):
    fill: Fill
    order: Order
    position: Position
    action: PositionAction
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class PositionChanged(Event):
    position: Position


@dataclass(frozen=True, slots=True)
class PricesMarked(Event):
    """Positions re-marked at new prices (coalesced; one event per batch)."""

    positions: tuple[Position, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class ReconciliationMismatchFound(Event):
    kind: str  # unknown_position | quantity_mismatch | phantom_position | unknown_order | order_status
    symbol: str
    exchange: str
    product: str
    local_quantity: int
    broker_quantity: int
    action: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReconciliationCompleted(Event):
    at: datetime
    mismatches: int
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TradingHalted(Event):
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TradingResumed(Event):
    at: datetime


@dataclass(frozen=True, slots=True)
class BackgroundTaskFailed(Event):
    task: str
    error: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Alert(Event):
    level: str  # info | warning | error
    message: str
    at: datetime
    source: str = "oms"
    details: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuotesUpdated(Event):
    """Coalesced batch of changed quotes (one event per flush, not per tick)."""

    ticks: tuple
    at: datetime


@dataclass(frozen=True, slots=True)
class KillSwitchProgress(Event):
    state: str  # ARMED | ENGAGING | ENGAGED | DONE | FAILED
    reason: str | None
    to_cancel: int
    cancelled: int
    to_flatten: int
    flattened: int
    message: str
    at: datetime
