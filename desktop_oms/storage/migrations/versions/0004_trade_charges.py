"""Charges per trade (brokerage, taxes and fees of that fill), for the review and exports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("charges", sa.String(64), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("charges")
