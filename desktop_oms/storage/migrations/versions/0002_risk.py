"""Risk: bracket links, achievements, risk audit events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.String(64)
TS = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "bracket_links",
        sa.Column("entry_order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("exchange", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("product", sa.String(8), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("stop_loss", MONEY, nullable=True),
        sa.Column("take_profit", MONEY, nullable=True),
        sa.Column("stop_enabled", sa.Boolean, nullable=False),
        sa.Column("target_enabled", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_message", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'closed')", name="ck_bracket_links_status"),
    )
    op.create_index("ix_bracket_links_status", "bracket_links", ["status"])

    op.create_table(
        "achievements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=True),
        sa.Column("achieved_at", TS, nullable=False),
        sa.UniqueConstraint("code", "period", name="uq_achievements_code_period"),
    )

    op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=True),
    )
    op.create_index("ix_risk_events_at", "risk_events", ["at"])
    # Append-only, like order_events: the audit trail can be added to, never rewritten.
    op.execute(
        "CREATE TRIGGER risk_events_no_update BEFORE UPDATE ON risk_events "
        "BEGIN SELECT RAISE(ABORT, 'risk_events is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER risk_events_no_delete BEFORE DELETE ON risk_events "
        "BEGIN SELECT RAISE(ABORT, 'risk_events is append-only'); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS risk_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS risk_events_no_delete")
    op.drop_table("risk_events")
    op.drop_table("achievements")
    op.drop_table("bracket_links")
