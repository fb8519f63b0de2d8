"""The order journal: orders, their append-only events, and trades (fills)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from ..domain import (
    ACTIVE_STATUSES,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
    Variety,
)
from .tables import order_events, orders, trades
from .types import utcnow

if TYPE_CHECKING:
    from .database import Database


@dataclass(frozen=True, slots=True)
class OrderEventRecord:
    id: int
    order_id: int
    at: datetime
    event_type: str
    old_status: OrderStatus | None
    new_status: OrderStatus | None
    reason: str | None
    details: dict | None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    trade_id: str
    order_id: int
    broker_order_id: str | None
    symbol: str
    exchange: str
    product: Product
    side: OrderSide
    quantity: int
    price: Decimal
    multiplier: Decimal
    realized_pnl: Decimal
    timestamp: datetime
    charges: Decimal = Decimal(0)


_MUTABLE = (
    "broker_order_id",
    "status",
    "status_message",
    "filled_quantity",
    "average_price",
    "quantity",
    "price",
    "trigger_price",
    "order_type",
    "modification_count",
    "updated_at",
)


def order_from_row(row) -> Order:
    return Order(
        id=row.id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        exchange=row.exchange,
        side=OrderSide(row.side),
        order_type=OrderType(row.order_type),
        product=Product(row.product),
        validity=Validity(row.validity),
        variety=Variety(row.variety),
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        price=row.price,
        trigger_price=row.trigger_price,
        average_price=row.average_price,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        status=OrderStatus(row.status),
        status_message=row.status_message,
        strategy_id=row.strategy_id,
        parent_order_id=row.parent_order_id,
        source=row.source,
        modification_count=row.modification_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _trade_from_row(r) -> TradeRecord:
    return TradeRecord(
        trade_id=r.trade_id,
        order_id=r.order_id,
        broker_order_id=r.broker_order_id,
        symbol=r.symbol,
        exchange=r.exchange,
        product=Product(r.product),
        side=OrderSide(r.side),
        quantity=r.quantity,
        price=r.price,
        multiplier=r.multiplier,
        realized_pnl=r.realized_pnl,
        timestamp=r.timestamp,
        charges=r.charges,
    )


def _order_values(order: Order, names: Iterable[str]) -> dict:
    values = {}
    for name in names:
        value = getattr(order, name)
        values[name] = (
            value.value if hasattr(value, "value") and not isinstance(value, Decimal) else value
        )
    return values


def _event_values(order_id, event_type, old, new, reason, details, at) -> dict:
    return {
        "order_id": order_id,
        "at": at or utcnow(),
        "event_type": event_type,
        "old_status": old.value if old is not None else None,
        "new_status": new.value if new is not None else None,
        "reason": reason,
        "details": json.dumps(details, default=str, sort_keys=True) if details else None,
    }


class OrderJournal:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -------------------------------------------------------------- writes
    def insert_pending(self, draft: Order, reason: str = "journaled before sending") -> Order:
        """Write a new PENDING order and its first event in one durable transaction."""
        names = [n for n in Order.__slots__ if n not in ("id",)]
        values = _order_values(draft, names)
        with self._db.write() as conn:
            order_id = conn.execute(orders.insert().values(**values)).inserted_primary_key[0]
            conn.execute(
                order_events.insert().values(
                    _event_values(
                        order_id, "CREATED", None, draft.status, reason, None, draft.created_at
                    )
                )
            )
        return draft.copy(id=order_id)

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
        if conn is None:
            with self._db.write() as own:
                self._save(own, before, after, event_type, reason, details)
        else:
            self._save(conn, before, after, event_type, reason, details)

    def _save(self, conn, before, after, event_type, reason, details) -> None:
        conn.execute(
            orders.update().where(orders.c.id == after.id).values(**_order_values(after, _MUTABLE))
        )
        old = before.status
        new = after.status
        conn.execute(
            order_events.insert().values(
                _event_values(after.id, event_type, old, new, reason, details, after.updated_at)
            )
        )

    def add_event(
        self,
        order_id: int,
        event_type: str,
        reason: str | None,
        status: OrderStatus | None = None,
        details: dict | None = None,
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                order_events.insert().values(
                    _event_values(order_id, event_type, status, status, reason, details, None)
                )
            )

    def record_fill(
        self,
        fill: Fill,
        before: Order,
        after: Order,
        position: Position,
        realized_pnl: Decimal,
        charges: Decimal = Decimal(0),
    ) -> bool:
        """Trade row + order change + position in one transaction. False if the trade id is known."""
        try:
            with self._db.write() as conn:
                conn.execute(
                    trades.insert().values(
                        trade_id=fill.trade_id,
                        order_id=fill.order_id,
                        broker_order_id=fill.broker_order_id,
                        symbol=fill.symbol,
                        exchange=fill.exchange,
                        product=fill.product.value,
                        side=fill.side.value,
                        quantity=fill.quantity,
                        price=fill.price,
                        multiplier=fill.multiplier,
                        realized_pnl=realized_pnl,
                        charges=charges,
                        timestamp=fill.timestamp,
                        recorded_at=utcnow(),
                    )
                )
                details = {
                    "trade_id": fill.trade_id,
                    "quantity": fill.quantity,
                    "price": str(fill.price),
                }
                reason = f"filled {fill.quantity} @ {fill.price} (trade {fill.trade_id})"
                self._save(conn, before, after, "FILL", reason, details)
                self._db.positions.upsert(position, conn=conn)
        except IntegrityError as exc:
            if "uq_trades_exchange_trade_id" in str(
                exc
            ) or "trades.exchange, trades.trade_id" in str(exc):
                return False
            raise
        return True

    # -------------------------------------------------------------- reads
    def get(self, order_id: int) -> Order | None:
        with self._db.read() as conn:
            row = conn.execute(orders.select().where(orders.c.id == order_id)).first()
        return None if row is None else order_from_row(row)

    def get_by_client_id(self, client_order_id: str) -> Order | None:
        with self._db.read() as conn:
            row = conn.execute(
                orders.select().where(orders.c.client_order_id == client_order_id)
            ).first()
        return None if row is None else order_from_row(row)

    def get_by_broker_id(self, broker_order_id: str) -> Order | None:
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
            rows = conn.execute(query).all()
        result = [order_from_row(r) for r in rows]
        if limit is not None:
            result.reverse()
        return result

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

    def trade_keys(self) -> set[tuple[str, str]]:
        with self._db.read() as conn:
            return {
                (r.exchange, r.trade_id)
                for r in conn.execute(select(trades.c.exchange, trades.c.trade_id))
            }

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
