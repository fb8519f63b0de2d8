"""Positions, the reconciliation log and PnL snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.sqlite import insert

from desktop_oms.domain import Position, Product
from desktop_oms.domain.history import PnlSnapshot, ReconciliationRecord
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.connection import Store
from desktop_oms.storage.tables import pnl_snapshots, positions, reconciliation_log
from desktop_oms.storage.types import decimal_text, utc_text

_FIELDS = (
    "quantity",
    "average_price",
    "realized_pnl",
    "unrealized_pnl",
    "multiplier",
    "last_price",
    "highest_price",
    "lowest_price",
    "peak_unrealized_pnl",
    "max_drawdown",
    "charges",
    "strategy_id",
    "opened_at",
)


# Built once: rebuilding an insert per call made SQLAlchemy regenerate its cache key every
# time (most of the cost of flushing 500 marks, which blocked the loop ~180 ms).
_insert = insert(positions)
_UPSERT = _insert.on_conflict_do_update(
    index_elements=["exchange", "symbol", "product"],
    set_={name: _insert.excluded[name] for name in (*_FIELDS, "updated_at")},
)


POSITION_COLUMNS = (*_FIELDS, "symbol", "exchange", "product", "updated_at")


def upsert_statement():
    """The prebuilt position upsert (execute it with `position_row` parameters)."""
    return _UPSERT


def position_row(position: Position) -> dict:
    row = {name: getattr(position, name) for name in _FIELDS}
    row.update(
        symbol=position.symbol,
        exchange=position.exchange,
        product=position.product.value,
        updated_at=position.updated_at or utcnow(),
    )
    return row


# `position_row` as the driver gets it (storage.driver; the group commit's upsert): the
# statement's parameters in compiled order, converted as the column types convert them.
POSITION_ROW = ("symbol", "exchange", "product", *_FIELDS, "updated_at")


def position_tuple(p: Position) -> tuple:
    return (
        p.symbol,
        p.exchange,
        p.product.value,
        p.quantity,
        decimal_text(p.average_price),
        decimal_text(p.realized_pnl),
        decimal_text(p.unrealized_pnl),
        decimal_text(p.multiplier),
        decimal_text(p.last_price),
        decimal_text(p.highest_price),
        decimal_text(p.lowest_price),
        decimal_text(p.peak_unrealized_pnl),
        decimal_text(p.max_drawdown),
        decimal_text(p.charges),
        p.strategy_id,
        utc_text(p.opened_at),
        utc_text(p.updated_at or utcnow()),
    )


def position_from_row(row) -> Position:
    return Position(
        id=row.id,
        symbol=row.symbol,
        exchange=row.exchange,
        product=Product(row.product),
        quantity=row.quantity,
        average_price=row.average_price,
        realized_pnl=row.realized_pnl,
        unrealized_pnl=row.unrealized_pnl,
        multiplier=row.multiplier,
        last_price=row.last_price,
        highest_price=row.highest_price,
        lowest_price=row.lowest_price,
        peak_unrealized_pnl=row.peak_unrealized_pnl,
        max_drawdown=row.max_drawdown,
        charges=row.charges,
        strategy_id=row.strategy_id,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
    )


class PositionStore:
    def __init__(self, db: Store) -> None:
        self._db = db

    def upsert(self, position: Position, conn: Connection | None = None) -> None:
        if conn is None:
            with self._db.write() as own:
                own.execute(_UPSERT, [position_row(position)])
        else:
            conn.execute(_UPSERT, [position_row(position)])

    def upsert_many(self, items: list[Position]) -> None:
        """All in one statement and one commit (marks of hundreds of positions)."""
        if not items:
            return
        with self._db.write() as conn:
            conn.execute(_UPSERT, [position_row(p) for p in items])

    def all(self) -> list[Position]:
        with self._db.read() as conn:
            rows = conn.execute(positions.select().order_by(positions.c.id)).all()
        return [position_from_row(r) for r in rows]

    def log_reconciliation(
        self, records: list[ReconciliationRecord], fixes: list[Position]
    ) -> None:
        """Log mismatches and apply the fixes in one transaction."""
        with self._db.write() as conn:
            for r in records:
                conn.execute(
                    reconciliation_log.insert().values(
                        at=r.at,
                        kind=r.kind,
                        symbol=r.symbol,
                        exchange=r.exchange,
                        product=r.product,
                        local_quantity=r.local_quantity,
                        broker_quantity=r.broker_quantity,
                        action=r.action,
                        resolved=True,
                    )
                )
            for position in fixes:
                self.upsert(position, conn=conn)

    def reconciliation_log(self, limit: int = 500) -> list[ReconciliationRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                reconciliation_log.select().order_by(reconciliation_log.c.id.desc()).limit(limit)
            ).all()
        return [
            ReconciliationRecord(
                r.at,
                r.kind,
                r.symbol,
                r.exchange,
                r.product,
                r.local_quantity,
                r.broker_quantity,
                r.action,
            )
            for r in reversed(rows)
        ]

    def add_pnl_snapshot(self, snapshot: PnlSnapshot) -> None:
        with self._db.write() as conn:
            conn.execute(
                pnl_snapshots.insert().values(
                    at=snapshot.at,
                    realized_pnl=snapshot.realized_pnl,
                    unrealized_pnl=snapshot.unrealized_pnl,
                    total_pnl=snapshot.total_pnl,
                    charges=snapshot.charges,
                    net_pnl=snapshot.net_pnl,
                    open_positions=snapshot.open_positions,
                )
            )

    def pnl_snapshots(self, since: datetime) -> list[PnlSnapshot]:
        with self._db.read() as conn:
            rows = conn.execute(
                pnl_snapshots.select()
                .where(pnl_snapshots.c.at >= since)
                .order_by(pnl_snapshots.c.id)
            ).all()
        return [
            PnlSnapshot(
                r.at,
                r.realized_pnl,
                r.unrealized_pnl,
                r.total_pnl,
                r.charges,
                r.net_pnl,
                r.open_positions,
            )
            for r in rows
        ]
