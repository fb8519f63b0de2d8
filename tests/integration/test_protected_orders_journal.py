"""The journal remembers the type an order was sent as when the broker's market
protection made it a LIMIT (issue 14; migration 0008, `orders.protected_from`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import inspect

from desktop_oms.domain import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.storage import Database

T = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)


def draft() -> Order:
    return Order(
        id=0,
        client_order_id="ABC000000001",
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.SELL,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=5,
        price=None,
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=T,
        updated_at=T,
    )


async def test_a_protected_order_keeps_what_it_was_sent_as(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    try:
        order = db.journal.insert_pending(draft())
        assert order.protected_from is None and order.sent_type is OrderType.MARKET
        protected = order.copy(
            order_type=OrderType.LIMIT,
            price=Decimal("2401"),
            protected_from=OrderType.MARKET,
            status=OrderStatus.OPEN,
        )
        db.journal.save(order, protected, "TERMS_ADOPTED", "protected")
    finally:
        await db.close()
    db = await Database.open(tmp_path / "oms.db")
    try:
        [back] = db.journal.list_orders()
        assert (back.order_type, back.protected_from, back.sent_type) == (
            OrderType.LIMIT,
            OrderType.MARKET,
            OrderType.MARKET,
        )
    finally:
        await db.close()


async def test_an_older_journal_is_migrated_to_0008(tmp_path):
    from alembic import command

    from desktop_oms.storage.database import _alembic_config

    path = tmp_path / "old.db"
    db = await Database.open(path)
    db.journal.insert_pending(draft())
    with db.engine.begin() as conn:  # back to the schema before protected orders
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    columns = {c["name"] for c in inspect(db.engine).get_columns("orders")}
    assert "protected_from" not in columns
    await db.close()
    db = await Database.open(path)
    try:
        [kept] = db.journal.list_orders()
        assert kept.client_order_id == "ABC000000001" and kept.protected_from is None
    finally:
        await db.close()
