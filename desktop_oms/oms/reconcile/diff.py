"""Position reconciliation: compare with the broker, log every mismatch, trust the broker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from desktop_oms.domain import Position, PositionReport, Product
from desktop_oms.domain.history import ReconciliationRecord

UNKNOWN_POSITION = "unknown_position"
QUANTITY_MISMATCH = "quantity_mismatch"
PHANTOM_POSITION = "phantom_position"


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    exchange: str
    symbol: str
    product: Product
    local_quantity: int
    broker_quantity: int
    broker: PositionReport | None

    def record(self, at: datetime) -> ReconciliationRecord:
        action = (
            f"set quantity {self.local_quantity} -> {self.broker_quantity} (trusting broker)"
            if self.broker_quantity
            else f"closed local position of {self.local_quantity} (broker is flat)"
        )
        return ReconciliationRecord(
            at=at,
            kind=self.kind,
            symbol=self.symbol,
            exchange=self.exchange,
            product=self.product.value,
            local_quantity=self.local_quantity,
            broker_quantity=self.broker_quantity,
            action=action,
        )


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    at: datetime
    mismatches: tuple[Mismatch, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # keys whose broker view moved during the cycle

    @property
    def ok(self) -> bool:
        return not self.mismatches


def diff_positions(local: list[Position], broker: list[PositionReport]) -> list[Mismatch]:
    by_key = {(r.exchange, r.symbol, r.product): r for r in broker}
    mismatches: list[Mismatch] = []
    local_by_key = {p.key: p for p in local}
    for key, report in by_key.items():
        mine = local_by_key.get(key)
        local_qty = mine.quantity if mine else 0
        if report.quantity == local_qty:
            continue
        if local_qty == 0:
            kind = UNKNOWN_POSITION
        elif report.quantity == 0:
            kind = PHANTOM_POSITION
        else:
            kind = QUANTITY_MISMATCH
        mismatches.append(
            Mismatch(kind, key[0], key[1], key[2], local_qty, report.quantity, report)
        )
    for key, mine in local_by_key.items():
        if key not in by_key and mine.quantity != 0:
            mismatches.append(
                Mismatch(PHANTOM_POSITION, key[0], key[1], key[2], mine.quantity, 0, None)
            )
    return mismatches


def stable_mismatches(
    first: list[PositionReport], second: list[PositionReport], mismatches: list[Mismatch]
) -> tuple[list[Mismatch], list[str]]:
    """Keep mismatches whose broker row did not move between two reads (no fill in flight)."""
    before = {(r.exchange, r.symbol, r.product): r.quantity for r in first}
    after = {(r.exchange, r.symbol, r.product): r.quantity for r in second}
    stable, moved = [], []
    for m in mismatches:
        key = (m.exchange, m.symbol, m.product)
        if before.get(key, 0) == after.get(key, 0):
            stable.append(m)
        else:
            moved.append(f"{m.exchange}:{m.symbol}:{m.product.value}")
    return stable, moved
