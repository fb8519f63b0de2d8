"""Kite instruments cache (one dump a day), setups, trade notes, watchlists.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "instruments_cache",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("exchange", sa.String(8), primary_key=True),
        sa.Column("symbol", sa.String(40), primary_key=True),
        sa.Column("instrument_token", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("tick_size", sa.String(24), nullable=False),
        sa.Column("lot_size", sa.Integer, nullable=False),
        sa.Column("multiplier", sa.String(24), nullable=False),
        sa.Column("instrument_type", sa.String(12), nullable=False),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("expiry", sa.String(10), nullable=True),
        sa.Column("tradable", sa.Boolean, nullable=False),
    )
    op.create_table(
        "setups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=True, unique=True),
        sa.Column("position_key", sa.String(80), nullable=True, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "(order_id IS NULL) != (position_key IS NULL)", name="ck_notes_one_target"
        ),
    )
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "watchlist_items",
        sa.Column(
            "watchlist_id",
            sa.Integer,
            sa.ForeignKey("watchlists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("exchange", sa.String(8), primary_key=True),
        sa.Column("symbol", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("watchlist_items", "watchlists", "notes", "setups", "instruments_cache"):
        op.drop_table(table)
