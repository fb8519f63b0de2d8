"""The chart's candle cache: candles per instrument and interval, and the days it holds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("open", sa.String(32), nullable=False),
        sa.Column("high", sa.String(32), nullable=False),
        sa.Column("low", sa.String(32), nullable=False),
        sa.Column("close", sa.String(32), nullable=False),
        sa.Column("volume", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "interval", "start"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "candle_days",
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "interval", "day"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("candle_days")
    op.drop_table("candles")
