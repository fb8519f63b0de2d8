"""Statements compiled once and run straight on the SQLite driver, for hot paths.

A burst of broker updates is written by one `executemany` per table (group commit).
Through SQLAlchemy each row still pays for building its parameter dict from the compiled
statement (~4/5 of the flush's time when profiled); here the SQL is compiled once, each
parameter's converter (the column type's bind processor: exact Decimal text, UTC ISO
timestamps) is looked up once, and rows go to the driver as tuples, inside the
connection's current transaction. A hot caller may build the tuples itself
(`executemany_rows`): it names the parameter order its tuples follow (`row`), which must
be the compiled statement's, or the statement is refused when built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


def _one(name: str) -> Callable[[dict], tuple]:
    return lambda p: (p[name],)


def _converter(type_, dialect: Dialect) -> Callable | None:
    """The column type's own conversion (our types name a plain function for it)."""
    return getattr(type_, "to_driver", None) or type_.bind_processor(dialect)


class DriverStatement:
    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        column_keys: list[str] | None = None,
        *,
        row: tuple[str, ...] | None = None,
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        if compiled.positiontup is None:
            raise ValueError("DriverStatement needs a positional paramstyle (SQLite's qmark)")
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup)
        if row is not None and tuple(row) != self.names:
            raise ValueError(
                f"rows built as {tuple(row)} do not match the statement's parameters {self.names}"
            )
        self._values = itemgetter(*self.names) if len(self.names) > 1 else _one(self.names[0])
        # Only parameters whose type converts values (Decimal text, UTC timestamps); the
        # rest go to the driver as they are.
        self._converters = tuple(
            (index, converter)
            for index, name in enumerate(self.names)
            if (converter := _converter(compiled.binds[name].type, dialect)) is not None
        )

    def rows(self, params: Iterable[dict]) -> list:
        values, converters = self._values, self._converters
        if not converters:
            return [values(p) for p in params]
        rows = []
        for p in params:
            row = list(values(p))
            for index, convert in converters:
                row[index] = convert(row[index])
            rows.append(row)
        return rows

    def executemany(self, conn: Connection, params: Iterable[dict]) -> None:
        self.executemany_rows(conn, self.rows(params))

    def executemany_rows(self, conn: Connection, rows: list) -> None:
        """Rows already in parameter order and converted (see the module docstring)."""
        if not rows:
            return
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(self.sql, rows)
        finally:
            cursor.close()
