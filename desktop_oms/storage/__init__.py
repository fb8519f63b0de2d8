"""Persistence: SQLite (WAL) through SQLAlchemy Core, schema by Alembic migrations."""

from desktop_oms.storage.alerts import AlertLog, AlertRecord
from desktop_oms.storage.database import (
    Database,
    DatabaseError,
    DatabaseLocked,
    DatabaseTooNew,
    NotAnOmsDatabase,
    explain_storage_error,
)

__all__ = [
    "AlertLog",
    "AlertRecord",
    "Database",
    "DatabaseError",
    "DatabaseLocked",
    "DatabaseTooNew",
    "NotAnOmsDatabase",
    "explain_storage_error",
]
