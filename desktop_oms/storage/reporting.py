"""Read-only queries for the day's review and exports (joins of trades and orders)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import select

from desktop_oms.domain import Order, OrderSide, Product
from desktop_oms.domain.history import TradeRecord
from desktop_oms.domain.review import ReviewFill
from desktop_oms.storage.connection import Store
from desktop_oms.storage.journal import _trade_from_row, order_from_row
from desktop_oms.storage.tables import orders, trades


class Reporting:
    def __init__(self, db: Store) -> None:
        self._db = db

    def review_fills(self, since: datetime, until: datetime) -> list:
        """Fills in [since, until) with their order's setup and stop-loss, for the review."""
        query = (
            select(trades, orders.c.strategy_id, orders.c.stop_loss)
            .join(orders, orders.c.id == trades.c.order_id)
            .where(trades.c.timestamp >= since, trades.c.timestamp < until)
            .order_by(trades.c.timestamp, trades.c.id)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            ReviewFill(
                trade_id=r.trade_id,
                symbol=r.symbol,
                exchange=r.exchange,
                product=Product(r.product),
                side=OrderSide(r.side),
                quantity=r.quantity,
                price=r.price,
                multiplier=r.multiplier,
                timestamp=r.timestamp,
                setup=r.strategy_id,
                had_stop_loss=r.stop_loss is not None,
                charges=r.charges,
            )
            for r in rows
        ]

    def trades_between(self, since: datetime, until: datetime) -> list[tuple[TradeRecord, Order]]:
        """Trades in [since, until) with the order each belongs to (exports)."""
        query = (
            select(trades, *[c.label(f"o_{c.name}") for c in orders.c])
            .join(orders, orders.c.id == trades.c.order_id)
            .where(trades.c.timestamp >= since, trades.c.timestamp < until)
            .order_by(trades.c.timestamp, trades.c.id)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        result = []
        for r in rows:
            m = r._mapping
            order_row = SimpleNamespace(**{c.name: m[f"o_{c.name}"] for c in orders.c})
            result.append((_trade_from_row(r), order_from_row(order_row)))
        return result
