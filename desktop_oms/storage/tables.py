"""The schema (SQLAlchemy Core). Created and changed only through Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from desktop_oms.storage.types import DecimalText, UTCDateTime

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_order_id", String(20), nullable=False, unique=True),
    Column("broker_order_id", String(40), nullable=True, unique=True),
    Column("symbol", String(40), nullable=False),
    Column("exchange", String(8), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("product", String(8), nullable=False),
    Column("validity", String(8), nullable=False),
    Column("variety", String(12), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("filled_quantity", Integer, nullable=False, default=0),
    Column("price", DecimalText, nullable=True),
    Column("trigger_price", DecimalText, nullable=True),
    Column("average_price", DecimalText, nullable=True),
    Column("stop_loss", DecimalText, nullable=True),
    Column("take_profit", DecimalText, nullable=True),
    Column("status", String(20), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("strategy_id", String(64), nullable=True),
    Column("parent_order_id", Integer, ForeignKey("orders.id"), nullable=True),
    Column("source", String(20), nullable=False, default="manual"),
    Column("modification_count", Integer, nullable=False, default=0),
    Column("protected_from", String(8), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The slices of one order sent above the freeze quantity: its first slice's client
    # order id (migration 0006).
    Column("slice_group", String(20), nullable=True),
    Index("ix_orders_status", "status"),
    Index("ix_orders_strategy", "strategy_id"),
    Index("ix_orders_created", "created_at"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event_type", String(24), nullable=False),
    Column("old_status", String(20), nullable=True),
    Column("new_status", String(20), nullable=True),
    Column("reason", Text, nullable=True),
    Column("details", Text, nullable=True),
    Index("ix_order_events_order", "order_id", "id"),
)

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trade_id", String(40), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("broker_order_id", String(40), nullable=True),
    Column("symbol", String(40), nullable=False),
    Column("exchange", String(8), nullable=False),
    Column("product", String(8), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("multiplier", DecimalText, nullable=False),
    Column("realized_pnl", DecimalText, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("charges", DecimalText, nullable=False, server_default="0"),
    # Trade ids are unique per exchange at Kite; (exchange, trade_id) is the idempotency key.
    UniqueConstraint("exchange", "trade_id", name="uq_trades_exchange_trade_id"),
    Index("ix_trades_order", "order_id"),
    Index("ix_trades_timestamp", "timestamp"),
)

positions = Table(
    "positions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(40), nullable=False),
    Column("exchange", String(8), nullable=False),
    Column("product", String(8), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("average_price", DecimalText, nullable=False),
    Column("realized_pnl", DecimalText, nullable=False),
    Column("unrealized_pnl", DecimalText, nullable=False),
    Column("multiplier", DecimalText, nullable=False),
    Column("last_price", DecimalText, nullable=True),
    Column("highest_price", DecimalText, nullable=True),
    Column("lowest_price", DecimalText, nullable=True),
    Column("peak_unrealized_pnl", DecimalText, nullable=False),
    Column("max_drawdown", DecimalText, nullable=False),
    Column("charges", DecimalText, nullable=False),
    Column("strategy_id", String(64), nullable=True),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("exchange", "symbol", "product", name="uq_positions_key"),
)

reconciliation_log = Table(
    "reconciliation_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("symbol", String(40), nullable=False),
    Column("exchange", String(8), nullable=False),
    Column("product", String(8), nullable=False),
    Column("local_quantity", Integer, nullable=False),
    Column("broker_quantity", Integer, nullable=False),
    Column("action", Text, nullable=False),
    Column("resolved", Boolean, nullable=False, default=True),
)

pnl_snapshots = Table(
    "pnl_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("realized_pnl", DecimalText, nullable=False),
    Column("unrealized_pnl", DecimalText, nullable=False),
    Column("total_pnl", DecimalText, nullable=False),
    Column("charges", DecimalText, nullable=False),
    Column("net_pnl", DecimalText, nullable=False),
    Column("open_positions", Integer, nullable=False),
    Index("ix_pnl_snapshots_at", "at"),
)

app_state = Table(
    "app_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

instruments_cache = Table(
    "instruments_cache",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("exchange", String(8), primary_key=True),
    Column("symbol", String(40), primary_key=True),
    Column("instrument_token", Integer, nullable=False),
    Column("name", String(120), nullable=False),
    Column("tick_size", DecimalText, nullable=False),
    Column("lot_size", Integer, nullable=False),
    Column("multiplier", DecimalText, nullable=False),
    Column("instrument_type", String(12), nullable=False),
    Column("segment", String(16), nullable=False),
    Column("expiry", String(10), nullable=True),
    Column("tradable", Boolean, nullable=False),
)

setups = Table(
    "setups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True, unique=True),
    Column("position_key", String(80), nullable=True, unique=True),
    Column("text", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

watchlists = Table(
    "watchlists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("position", Integer, nullable=False),
)

watchlist_items = Table(
    "watchlist_items",
    metadata,
    Column(
        "watchlist_id", Integer, ForeignKey("watchlists.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("exchange", String(8), primary_key=True),
    Column("symbol", String(40), primary_key=True),
    Column("position", Integer, nullable=False),
)
