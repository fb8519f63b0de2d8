"""The alerts log: every line of the window's Alerts panel, kept so a restart shows the
trading day's alerts again (in the order they were shown, with their times).

Table `alerts` (migration 0005). Rows are appended in batches (one transaction per
batch) and read back by time range: the window restores the IST trading day's alerts at
start and prunes those older than `RETENTION_DAYS` then. Times are stored as UTC (as
everywhere in the journal); the window shows them in IST.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Index, Integer, String, Table, Text, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from desktop_oms.storage.connection import Store
from desktop_oms.storage.tables import metadata
from desktop_oms.storage.types import UTCDateTime

RETENTION_DAYS = 30  # alerts older than this are deleted when the window starts
MAX_MESSAGE = 10_000  # characters kept of one alert's message
MAX_SOURCE = 40
MAX_LEVEL = 10

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("level", String(MAX_LEVEL), nullable=False),
    Column("source", String(MAX_SOURCE), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_alerts_at", "at"),
)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    at: datetime  # aware
    level: str  # debug | info | success | warning | error | critical
    source: str
    message: str
    id: int | None = None  # set once stored


class AlertLog:
    """`db.alerts`: append alerts, read a time range back, prune old ones."""

    def __init__(self, db: Store) -> None:
        self._db = db

    @property
    def closed(self) -> bool:
        return self._db.closed

    def append(self, records: Iterable[AlertRecord]) -> int:
        """Store `records` (AlertRecord, or anything with aware `at`, `level`, `source`
        and `message`) in one transaction, in the order given. Returns how many.
        Raises DatabaseError (in words: "the disk is full") when it cannot."""
        values = [
            {
                "at": r.at,
                "level": str(r.level)[:MAX_LEVEL],
                "source": str(r.source)[:MAX_SOURCE],
                "message": str(r.message)[:MAX_MESSAGE],
            }
            for r in records
        ]
        if values:
            try:
                with self._db.write() as conn:
                    conn.execute(alerts.insert(), values)
            except SQLAlchemyError as exc:
                from desktop_oms.storage.connection import DatabaseError, explain_storage_error

                raise DatabaseError(explain_storage_error(exc)) from exc
        return len(values)

    def between(
        self, since: datetime, until: datetime, *, limit: int | None = None
    ) -> list[AlertRecord]:
        """Alerts with since <= at < until in the order they were stored (the last
        `limit` of them when given)."""
        query = (
            select(alerts)
            .where(alerts.c.at >= since, alerts.c.at < until)
            .order_by(alerts.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        rows.reverse()
        return [AlertRecord(r.at, r.level, r.source, r.message, r.id) for r in rows]

    def prune_before(self, before: datetime) -> int:
        """Delete the alerts older than `before`. Returns how many."""
        with self._db.write() as conn:
            return conn.execute(delete(alerts).where(alerts.c.at < before)).rowcount or 0

    def prune(self, today_start: datetime) -> int:
        """Delete the alerts older than RETENTION_DAYS before `today_start`."""
        return self.prune_before(today_start - timedelta(days=RETENTION_DAYS))

    def count(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())
