"""Persistence: SQLite (WAL) through SQLAlchemy Core, schema by Alembic migrations."""

from .alerts import AlertLog, AlertRecord
from .database import (
    Database,
    DatabaseError,
    DatabaseLocked,
    DatabaseTooNew,
    NotAnOmsDatabase,
    explain_storage_error,
)
from .journal import OrderEventRecord, TradeRecord
from .position_store import PnlSnapshot, ReconciliationRecord

__all__ = [
    "AlertLog",
    "AlertRecord",
    "Database",
    "DatabaseError",
    "DatabaseLocked",
    "DatabaseTooNew",
    "NotAnOmsDatabase",
    "OrderEventRecord",
    "PnlSnapshot",
    "ReconciliationRecord",
    "TradeRecord",
    "explain_storage_error",
]
