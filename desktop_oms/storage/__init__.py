"""Persistence: SQLite (WAL) through SQLAlchemy Core, schema by Alembic migrations."""

from desktop_oms.storage.alerts import AlertLog, AlertRecord
from desktop_oms.storage.connection import (
    DatabaseError,
    DatabaseLocked,
    DatabaseTooNew,
    NotAnOmsDatabase,
    explain_storage_error,
)
from desktop_oms.storage.database import Database

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
