"""Orders remember the type they were sent as when the broker's market protection made
them a LIMIT (issue 14: Kite converts MARKET and triggered SL-M orders into protected
LIMITs): `orders.protected_from` (MARKET / SL-M, or NULL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy): order_events and trades refer to orders.
    op.add_column("orders", sa.Column("protected_from", sa.String(8), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; a batch copy would break the references.
    op.execute("ALTER TABLE orders DROP COLUMN protected_from")
