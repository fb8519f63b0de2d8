"""The chart's candle cache: candles per instrument and interval, and which days it holds.

Tables `candles` and `candle_days` (migration 0007). A candle is keyed by (exchange,
symbol, interval, start) with `start` in epoch seconds; prices are kept as their exact
decimal text, as everywhere in the journal. `candle_days` says which IST days of an
interval are complete in the cache and where they came from ("broker": Kite's
historical API; "generated": paper mode's history for days the app did not see;
"aggregated": day candles made from the cached minute candles), so a day is fetched or
generated once and a day without trades (a holiday) is not asked for again.

Saving replaces candles with the same start (a candle recorded from ticks, or fetched
again, wins over what was there). Reads are plain SQL: 10,000 candles load in a few tens
of milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.dialects.sqlite import insert

from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.storage.connection import Store
from desktop_oms.storage.tables import metadata
from desktop_oms.storage.types import decimal_text

__all__ = ["CandleStore", "candle_days", "candles"]

candles = Table(
    "candles",
    metadata,
    Column("exchange", String(8), nullable=False),
    Column("symbol", String(40), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("start", Integer, nullable=False),
    Column("open", String(32), nullable=False),
    Column("high", String(32), nullable=False),
    Column("low", String(32), nullable=False),
    Column("close", String(32), nullable=False),
    Column("volume", Integer, nullable=False),
    PrimaryKeyConstraint("exchange", "symbol", "interval", "start"),
    sqlite_with_rowid=False,
)

candle_days = Table(
    "candle_days",
    metadata,
    Column("exchange", String(8), nullable=False),
    Column("symbol", String(40), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("day", String(10), nullable=False),
    Column("source", String(12), nullable=False),
    PrimaryKeyConstraint("exchange", "symbol", "interval", "day"),
    sqlite_with_rowid=False,
)

_BATCH = 5_000  # rows per INSERT statement


class CandleStore:
    """`db.candles`: load a time range of candles, save candles, the days held."""

    def __init__(self, db: Store) -> None:
        self._db = db

    def candles(
        self, exchange: str, symbol: str, interval: Interval, since: int, until: int
    ) -> list[Candle]:
        """Candles with since <= start < until (epoch seconds), oldest first."""
        c = candles.c
        query = (
            select(c.start, c.open, c.high, c.low, c.close, c.volume)
            .where(
                c.exchange == exchange,
                c.symbol == symbol,
                c.interval == interval.label,
                c.start >= since,
                c.start < until,
            )
            .order_by(c.start)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            Candle(start, Decimal(o), Decimal(h), Decimal(lo), Decimal(cl), volume)
            for start, o, h, lo, cl, volume in rows
        ]

    def starts(
        self, exchange: str, symbol: str, interval: Interval, since: int, until: int
    ) -> list[int]:
        """The starts of the candles held in [since, until), oldest first."""
        c = candles.c
        query = (
            select(c.start)
            .where(
                c.exchange == exchange,
                c.symbol == symbol,
                c.interval == interval.label,
                c.start >= since,
                c.start < until,
            )
            .order_by(c.start)
        )
        with self._db.read() as conn:
            return [row[0] for row in conn.execute(query).all()]

    def save_candles(
        self,
        exchange: str,
        symbol: str,
        interval: Interval,
        rows: Sequence[Candle],
        *,
        days: Iterable[date] = (),
        source: str | None = None,
    ) -> int:
        """Store `rows` (replacing candles with the same start) and, in the same
        transaction, mark `days` as complete from `source`. Returns how many candles."""
        values = [
            {
                "exchange": exchange,
                "symbol": symbol,
                "interval": interval.label,
                "start": int(row.start),
                "open": decimal_text(row.open),
                "high": decimal_text(row.high),
                "low": decimal_text(row.low),
                "close": decimal_text(row.close),
                "volume": int(row.volume),
            }
            for row in rows
        ]
        marked = [
            {
                "exchange": exchange,
                "symbol": symbol,
                "interval": interval.label,
                "day": day.isoformat(),
                "source": source or "broker",
            }
            for day in days
        ]
        if not values and not marked:
            return 0
        with self._db.write() as conn:
            for i in range(0, len(values), _BATCH):
                stmt = insert(candles)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["exchange", "symbol", "interval", "start"],
                    set_={
                        name: stmt.excluded[name]
                        for name in ("open", "high", "low", "close", "volume")
                    },
                )
                conn.execute(stmt, values[i : i + _BATCH])
            if marked:
                stmt = insert(candle_days)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["exchange", "symbol", "interval", "day"],
                    set_={"source": stmt.excluded.source},
                )
                conn.execute(stmt, marked)
        return len(values)

    def covered_days(
        self, exchange: str, symbol: str, interval: Interval, first: date, last: date
    ) -> dict[date, str]:
        """The days in [first, last] the cache holds completely, with their source."""
        d = candle_days.c
        query = select(d.day, d.source).where(
            d.exchange == exchange,
            d.symbol == symbol,
            d.interval == interval.label,
            d.day >= first.isoformat(),
            d.day <= last.isoformat(),
        )
        with self._db.read() as conn:
            return {date.fromisoformat(day): source for day, source in conn.execute(query).all()}
