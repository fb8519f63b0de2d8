"""Alembic environment: always run against the connection handed in by Database.open."""

from __future__ import annotations

from alembic import context

from desktop_oms.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only used by `alembic` CLI with a URL
    raise RuntimeError("run migrations through desktop_oms.storage.Database.open")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
