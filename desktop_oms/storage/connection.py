"""What the repositories need of the database, and its errors: the `Store` interface
(read and write transactions, the engine, the key-value state) that `Database`
implements, so repositories depend on it and not on the facade that builds them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection, Engine


class Store(Protocol):
    engine: Engine

    @property
    def closed(self) -> bool: ...

    def write(self) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...

    def get_state(self, key: str, default: str | None = None) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...


def explain_storage_error(exc: BaseException) -> str:
    """A write failure in words a trader understands (no SQL, no library links)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "locked" in text or "busy" in text:
        return "the database is locked by another program"
    if "full" in text or "no space" in text or getattr(exc, "errno", None) == 28:
        return "the disk is full"
    if "readonly" in text or "read-only" in text:
        return "the database is read-only"
    if "disk i/o" in text or "i/o error" in text:
        return "the disk reported an I/O error"
    if "closed" in text:
        return "the database is closed"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


class DatabaseError(Exception):
    """The database cannot be used; the message says why and what to do."""


class DatabaseLocked(DatabaseError):
    pass


class DatabaseTooNew(DatabaseError):
    pass


class NotAnOmsDatabase(DatabaseError):
    pass
