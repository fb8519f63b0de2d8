"""Initial schema: order journal, events, trades, positions, reconciliation, PnL, app state.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.String(64)
TS = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_order_id", sa.String(20), nullable=False, unique=True),
        sa.Column("broker_order_id", sa.String(40), nullable=True, unique=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(8), nullable=False),
        sa.Column("product", sa.String(8), nullable=False),
        sa.Column("validity", sa.String(8), nullable=False),
        sa.Column("variety", sa.String(12), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("filled_quantity", sa.Integer, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("trigger_price", MONEY, nullable=True),
        sa.Column("average_price", MONEY, nullable=True),
        sa.Column("stop_loss", MONEY, nullable=True),
        sa.Column("take_profit", MONEY, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.Text, nullable=True),
        sa.Column("strategy_id", sa.String(64), nullable=True),
        sa.Column("parent_order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("modification_count", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        sa.CheckConstraint("filled_quantity >= 0", name="ck_orders_filled_non_negative"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_strategy", "orders", ["strategy_id"])
    op.create_index("ix_orders_created", "orders", ["created_at"])

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event_type", sa.String(24), nullable=False),
        sa.Column("old_status", sa.String(20), nullable=True),
        sa.Column("new_status", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=True),
    )
    op.create_index("ix_order_events_order", "order_events", ["order_id", "id"])
    # Append-only: the audit trail can be added to, never rewritten.
    op.execute(
        "CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events "
        "BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER order_events_no_delete BEFORE DELETE ON order_events "
        "BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END"
    )

    op.create_table(
        "trades",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("trade_id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("broker_order_id", sa.String(40), nullable=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("product", sa.String(8), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("multiplier", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("exchange", "trade_id", name="uq_trades_exchange_trade_id"),
        sa.CheckConstraint("quantity > 0", name="ck_trades_quantity_positive"),
    )
    op.create_index("ix_trades_order", "trades", ["order_id"])
    op.create_index("ix_trades_timestamp", "trades", ["timestamp"])

    op.create_table(
        "positions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("product", sa.String(8), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("average_price", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("unrealized_pnl", MONEY, nullable=False),
        sa.Column("multiplier", MONEY, nullable=False),
        sa.Column("last_price", MONEY, nullable=True),
        sa.Column("highest_price", MONEY, nullable=True),
        sa.Column("lowest_price", MONEY, nullable=True),
        sa.Column("peak_unrealized_pnl", MONEY, nullable=False),
        sa.Column("max_drawdown", MONEY, nullable=False),
        sa.Column("charges", MONEY, nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=True),
        sa.Column("opened_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("exchange", "symbol", "product", name="uq_positions_key"),
    )

    op.create_table(
        "reconciliation_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("product", sa.String(8), nullable=False),
        sa.Column("local_quantity", sa.Integer, nullable=False),
        sa.Column("broker_quantity", sa.Integer, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("resolved", sa.Boolean, nullable=False),
    )

    op.create_table(
        "pnl_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("unrealized_pnl", MONEY, nullable=False),
        sa.Column("total_pnl", MONEY, nullable=False),
        sa.Column("charges", MONEY, nullable=False),
        sa.Column("net_pnl", MONEY, nullable=False),
        sa.Column("open_positions", sa.Integer, nullable=False),
    )
    op.create_index("ix_pnl_snapshots_at", "pnl_snapshots", ["at"])

    op.create_table(
        "app_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("app_state", "pnl_snapshots", "reconciliation_log", "positions", "trades"):
        op.drop_table(table)
    op.execute("DROP TRIGGER IF EXISTS order_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS order_events_no_delete")
    op.drop_table("order_events")
    op.drop_table("orders")
