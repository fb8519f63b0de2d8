"""The order journal: orders, their append-only events, and trades (fills)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from desktop_oms.domain import ACTIVE_STATUSES, Fill, Order, OrderStatus, Position
from desktop_oms.domain.history import OrderEventRecord, TradeRecord
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.connection import Store
from desktop_oms.storage.driver import DriverStatement
from desktop_oms.storage.journal_rows import (
    _EVENT_COLUMNS,
    _INSERT_EVENT,
    _INSERT_ORDER,
    _INSERT_TRADE,
    _INSERTED,
    _TRADE_COLUMNS,
    _UPDATE_FILLED,
    _UPDATE_ORDER,
    EVENT_ROW,
    FILLED_ROW,
    TRADE_ROW,
    UPDATE_ROW,
    _Batch,
    _details_json,
    _event_row,
    _event_values,
    _fill_event,
    _filled_row,
    _is_duplicate_trade,
    _order_values,
    _terms,
    _trade_from_row,
    _trade_row,
    _trade_values,
    _update_params,
    _update_row,
    order_from_row,
)
from desktop_oms.storage.position_store import (
    POSITION_COLUMNS,
    POSITION_ROW,
    PositionStore,
    position_tuple,
    upsert_statement,
)
from desktop_oms.storage.tables import order_events, orders, trades


class OrderJournal:
    def __init__(self, db: Store, positions: PositionStore) -> None:
        self._db = db
        self._positions = positions
        self._batch: _Batch | None = None
        self._statements: dict[str, DriverStatement] | None = None

    # -------------------------------------------------------------- group commit
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: order changes, events and fills recorded inside are buffered and
        written in one transaction when the block ends (all or none; an exception inside
        the block writes nothing). Reads by id see the buffered orders. For bursts of
        broker updates: one fsync for the burst instead of one per fill."""
        if self._batch is not None:
            raise RuntimeError("journal batches do not nest")
        self._batch = batch = _Batch()
        try:
            yield
        finally:
            self._batch = None
        self._flush(batch)

    def _flush(self, batch: _Batch) -> None:
        if not (batch.orders or batch.events or batch.trades or batch.positions):
            return
        statements = self._driver_statements()
        changed_terms = batch.changed_terms
        orders_rows, filled_rows = [], []
        for order_id, order in batch.orders.items():
            if order_id in changed_terms:
                orders_rows.append(_update_row(order))
            else:
                filled_rows.append(_filled_row(order))
        position_rows = [position_tuple(p) for p in batch.positions.values()]
        with self._db.write() as conn:
            statements["trades"].executemany_rows(conn, batch.trades)
            statements["orders"].executemany_rows(conn, orders_rows)
            statements["filled"].executemany_rows(conn, filled_rows)
            statements["events"].executemany_rows(conn, batch.events)
            statements["positions"].executemany_rows(conn, position_rows)

    def _driver_statements(self) -> dict[str, DriverStatement]:
        if self._statements is None:
            dialect = self._db.engine.dialect
            self._statements = {
                "trades": DriverStatement(
                    _INSERT_TRADE, dialect, list(_TRADE_COLUMNS), row=TRADE_ROW
                ),
                "orders": DriverStatement(_UPDATE_ORDER, dialect, row=UPDATE_ROW),
                "filled": DriverStatement(_UPDATE_FILLED, dialect, row=FILLED_ROW),
                "events": DriverStatement(
                    _INSERT_EVENT, dialect, list(_EVENT_COLUMNS), row=EVENT_ROW
                ),
                "positions": DriverStatement(
                    upsert_statement(), dialect, list(POSITION_COLUMNS), row=POSITION_ROW
                ),
            }
        return self._statements

    @property
    def batching(self) -> bool:
        return self._batch is not None

    # -------------------------------------------------------------- writes
    def insert_pending(self, draft: Order, reason: str = "journaled before sending") -> Order:
        """Write a new PENDING order and its first event in one durable transaction."""
        if self._batch is not None:
            raise RuntimeError("new orders are never buffered: insert_pending inside a batch")
        values = _order_values(draft, _INSERTED)
        with self._db.write() as conn:
            order_id = conn.execute(_INSERT_ORDER, values).inserted_primary_key[0]
            conn.execute(
                _INSERT_EVENT,
                _event_values(
                    order_id, "CREATED", None, draft.status, reason, None, draft.created_at
                ),
            )
        return draft.copy(id=order_id)

    def insert_pending_group(
        self, drafts: list[Order], reasons: list[str] | None = None
    ) -> list[Order]:
        """Write several new PENDING orders (the slices of one order) and their first
        events in ONE transaction: all of them are journaled, or none."""
        if self._batch is not None:
            raise RuntimeError("new orders are never buffered: insert_pending inside a batch")
        reasons = reasons or ["journaled before sending"] * len(drafts)
        if len(reasons) != len(drafts):
            raise ValueError("one reason per order")
        out = []
        with self._db.write() as conn:
            for draft, reason in zip(drafts, reasons, strict=True):
                values = _order_values(draft, _INSERTED)
                order_id = conn.execute(_INSERT_ORDER, values).inserted_primary_key[0]
                conn.execute(
                    _INSERT_EVENT,
                    _event_values(
                        order_id, "CREATED", None, draft.status, reason, None, draft.created_at
                    ),
                )
                out.append(draft.copy(id=order_id))
        return out

    def save(
        self,
        before: Order,
        after: Order,
        event_type: str,
        reason: str | None = None,
        details: dict | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Persist an order change and its audit event atomically."""
        if self._batch is not None and conn is None:
            self._buffer_save(self._batch, before, after, event_type, reason, details)
        elif conn is None:
            with self._db.write() as own:
                self._save(own, before, after, event_type, reason, details)
        else:
            self._save(conn, before, after, event_type, reason, details)

    @staticmethod
    def _buffer_save(batch: _Batch, before, after, event_type, reason, details) -> None:
        batch.orders[after.id] = after
        batch.changed_terms.add(after.id)
        batch.events.append(
            _event_row(
                after.id,
                event_type,
                before.status,
                after.status,
                reason,
                _details_json(details),
                after.updated_at,
            )
        )

    def _save(self, conn, before, after, event_type, reason, details) -> None:
        conn.execute(_UPDATE_ORDER, _update_params(after))
        conn.execute(
            _INSERT_EVENT,
            _event_values(
                after.id, event_type, before.status, after.status, reason, details, after.updated_at
            ),
        )

    def add_event(
        self,
        order_id: int,
        event_type: str,
        reason: str | None,
        status: OrderStatus | None = None,
        details: dict | None = None,
    ) -> None:
        if self._batch is not None:
            self._batch.events.append(
                _event_row(
                    order_id, event_type, status, status, reason, _details_json(details), None
                )
            )
            return
        values = _event_values(order_id, event_type, status, status, reason, details, None)
        with self._db.write() as conn:
            conn.execute(_INSERT_EVENT, values)

    def record_fill(
        self,
        fill: Fill,
        before: Order,
        after: Order,
        position: Position,
        realized_pnl: Decimal,
        charges: Decimal = Decimal(0),
    ) -> bool:
        """Trade row + order change + position in one transaction. False if the trade id is known.

        Inside `batch()` the rows are buffered (the caller dedups by trade id in memory; a
        duplicate reaching the database fails the whole batch, which writes nothing).
        `before` is the order as the journal has it (or as buffered): when `after` differs
        from it only in what a fill changes (filled quantity, average price, status,
        updated at), only those columns are written."""
        recorded_at = after.updated_at or utcnow()
        reason, details = _fill_event(fill)
        batch = self._batch
        if batch is not None:
            batch.trades.append(_trade_row(fill, realized_pnl, charges, recorded_at))
            order_id = after.id
            batch.orders[order_id] = after
            if _terms(after) != _terms(before):  # more than the fill changed
                batch.changed_terms.add(order_id)
            batch.events.append(
                _event_row(order_id, "FILL", before.status, after.status, reason, details,
                           after.updated_at)
            )  # fmt: skip
            batch.positions[position.key] = position
            return True
        trade_row = _trade_values(fill, realized_pnl, charges, recorded_at)
        try:
            with self._db.write() as conn:
                conn.execute(_INSERT_TRADE, trade_row)
                self._save(conn, before, after, "FILL", reason, details)
                self._positions.upsert(position, conn=conn)
        except IntegrityError as exc:
            if _is_duplicate_trade(exc):
                return False
            raise
        return True

    # -------------------------------------------------------------- reads
    def get(self, order_id: int) -> Order | None:
        if self._batch is not None and order_id in self._batch.orders:
            return self._batch.orders[order_id]
        with self._db.read() as conn:
            row = conn.execute(orders.select().where(orders.c.id == order_id)).first()
        return None if row is None else order_from_row(row)

    def get_by_client_id(self, client_order_id: str) -> Order | None:
        if self._batch is not None and (found := self._batch.find(client_order_id=client_order_id)):
            return found
        with self._db.read() as conn:
            row = conn.execute(
                orders.select().where(orders.c.client_order_id == client_order_id)
            ).first()
        return None if row is None else order_from_row(row)

    def get_by_broker_id(self, broker_order_id: str) -> Order | None:
        if self._batch is not None and (found := self._batch.find(broker_order_id=broker_order_id)):
            return found
        with self._db.read() as conn:
            row = conn.execute(
                orders.select().where(orders.c.broker_order_id == broker_order_id)
            ).first()
        return None if row is None else order_from_row(row)

    def list_orders(
        self,
        *,
        active_only: bool = False,
        statuses: Iterable[OrderStatus] | None = None,
        strategy_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        query = orders.select()
        if active_only:
            statuses = ACTIVE_STATUSES
        if statuses is not None:
            query = query.where(orders.c.status.in_([s.value for s in statuses]))
        if strategy_id is not None:
            query = query.where(orders.c.strategy_id == str(strategy_id))
        if since is not None:
            query = query.where(orders.c.created_at >= since)
        query = query.order_by(orders.c.id)
        if limit is not None:
            query = query.order_by(None).order_by(orders.c.id.desc()).limit(limit)
        with self._db.read() as conn:
            # Streamed: fetching 100,000 rows at once held every raw row and its Order together.
            rows = conn.execution_options(yield_per=2_000).execute(query)
            result = [order_from_row(r) for r in rows]
        if limit is not None:
            result.reverse()
        return result

    def slice_group(self, group: str) -> list[Order]:
        """The slices of one sliced order (`slice_group` = its first slice's client order
        id), first slice first."""
        query = orders.select().where(orders.c.slice_group == group).order_by(orders.c.id)
        with self._db.read() as conn:
            return [order_from_row(r) for r in conn.execute(query)]

    def events(self, order_id: int) -> list[OrderEventRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                order_events.select()
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.id)
            ).all()
        return [
            OrderEventRecord(
                id=r.id,
                order_id=r.order_id,
                at=r.at,
                event_type=r.event_type,
                old_status=OrderStatus(r.old_status) if r.old_status else None,
                new_status=OrderStatus(r.new_status) if r.new_status else None,
                reason=r.reason,
                details=json.loads(r.details) if r.details else None,
            )
            for r in rows
        ]

    def trades(
        self, *, order_id: int | None = None, since: datetime | None = None
    ) -> list[TradeRecord]:
        query = trades.select().order_by(trades.c.id)
        if order_id is not None:
            query = query.where(trades.c.order_id == order_id)
        if since is not None:
            query = query.where(trades.c.timestamp >= since)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [_trade_from_row(r) for r in rows]

    def last_client_order_id(self, prefix: str) -> str | None:
        """Highest client order id with this prefix (ids are fixed-width and time-first)."""
        with self._db.read() as conn:
            return conn.execute(
                select(func.max(orders.c.client_order_id)).where(
                    orders.c.client_order_id.like(prefix + "%")
                )
            ).scalar()

    def trade_keys(self, since: datetime | None = None) -> set[tuple[str, str]]:
        """(exchange, trade id) of the trades recorded (executed at or after `since`)."""
        query = select(trades.c.exchange, trades.c.trade_id)
        if since is not None:
            query = query.where(trades.c.timestamp >= since)
        with self._db.read() as conn:
            return {(r.exchange, r.trade_id) for r in conn.execute(query)}

    def filled_by_trades(self, order_id: int) -> int:
        with self._db.read() as conn:
            return int(
                conn.execute(
                    select(func.coalesce(func.sum(trades.c.quantity), 0)).where(
                        trades.c.order_id == order_id
                    )
                ).scalar()
            )

    def realized_since(self, since: datetime) -> Decimal:
        total = Decimal(0)
        for t in self.trades(since=since):
            total += t.realized_pnl
        return total
