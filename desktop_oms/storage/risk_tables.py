"""Tables of the risk layer (issue 4), created by migration 0002_risk.

Kept apart from tables.py; they share its MetaData so Alembic sees one schema.
- bracket_links: an entry order with stop-loss / take-profit and the state of its
  one-cancels-other exits (the exits are orders with parent_order_id = entry and
  source = 'bracket').
- achievements: discipline achievements, at most one per code and day.
- risk_events: append-only audit of risk actions (kill switch steps, re-arm, loss-limit
  alerts, square-off), beside order_events for the orders themselves.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from desktop_oms.storage.tables import metadata
from desktop_oms.storage.types import DecimalText, UTCDateTime

bracket_links = Table(
    "bracket_links",
    metadata,
    Column("entry_order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("exchange", String(8), nullable=False),
    Column("symbol", String(40), nullable=False),
    Column("product", String(8), nullable=False),
    Column("side", String(4), nullable=False),  # the entry's side; exits are the opposite
    Column("stop_loss", DecimalText, nullable=True),
    Column("take_profit", DecimalText, nullable=True),
    Column("stop_enabled", Boolean, nullable=False),
    Column("target_enabled", Boolean, nullable=False),
    Column("status", String(12), nullable=False),  # active | closed
    Column("status_message", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_bracket_links_status", "status"),
)

achievements = Table(
    "achievements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(40), nullable=False),
    Column("period", String(16), nullable=False),  # IST day (2026-05-04), ISO week, or 'ever'
    Column("title", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("details", Text, nullable=True),
    Column("achieved_at", UTCDateTime, nullable=False),
    UniqueConstraint("code", "period", name="uq_achievements_code_period"),
)

risk_events = Table(
    "risk_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", Text, nullable=True),
    Index("ix_risk_events_at", "at"),
)
