"""The alerts log in storage (issue 13 #7): table `alerts` (migration 0005), appended in
batches, read back by time range in the order stored, pruned by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from desktop_oms.storage import AlertRecord, Database, DatabaseError
from desktop_oms.storage.alerts import MAX_MESSAGE, RETENTION_DAYS

T = datetime(2026, 5, 4, 18, 45, tzinfo=UTC)


async def test_append_read_back_in_order_and_prune(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    try:
        assert "alerts" in inspect(db.engine).get_table_names()
        log = db.alerts
        # stored order wins over `at` (a batch may carry an event's earlier time)
        assert (
            log.append(
                [
                    AlertRecord(T + timedelta(seconds=2), "info", "ticket", "Sent BUY 10 TCS #1"),
                    AlertRecord(T + timedelta(seconds=1), "error", "orders", "Rejected #2"),
                    AlertRecord(
                        T + timedelta(seconds=3), "warning", "risk", "x" * (MAX_MESSAGE + 5)
                    ),
                ]
            )
            == 3
        )
        assert log.append([]) == 0
        rows = log.between(T, T + timedelta(hours=1))
        assert [r.message[:10] for r in rows] == ["Sent BUY 1", "Rejected #", "x" * 10]
        assert [r.level for r in rows] == ["info", "error", "warning"]
        assert rows[0].at == T + timedelta(seconds=2) and rows[0].at.tzinfo is not None
        assert len(rows[2].message) == MAX_MESSAGE
        assert [r.message for r in log.between(T, T + timedelta(hours=1), limit=2)] == [
            "Rejected #2",
            rows[2].message,
        ]  # the newest two, still oldest first
        assert log.between(T + timedelta(seconds=3), T + timedelta(hours=1))[0].source == "risk"
        assert log.between(T - timedelta(hours=1), T) == []

        old = T - timedelta(days=RETENTION_DAYS, seconds=1)
        log.append([AlertRecord(old, "info", "app", "long ago")])
        assert log.count() == 4
        assert log.prune(T) == 1 and log.count() == 3
    finally:
        await db.close()
    assert db.alerts.closed
    with pytest.raises(DatabaseError):
        db.alerts.append([AlertRecord(T, "info", "app", "after close")])


async def test_an_older_journal_is_migrated_to_0005(tmp_path):
    from alembic import command

    from desktop_oms.storage.database import _alembic_config

    path = tmp_path / "old.db"
    db = await Database.open(path)
    with db.engine.begin() as conn:  # back to the schema before the alerts log
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "alerts" not in inspect(db.engine).get_table_names()
    await db.close()
    db = await Database.open(path)
    try:
        db.alerts.append([AlertRecord(T, "info", "app", "after the upgrade")])
        assert db.alerts.count() == 1
    finally:
        await db.close()
