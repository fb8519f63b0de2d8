"""Opening the journal: pragmas, permissions, and refusing files it must not touch."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from desktop_oms.storage import Database, DatabaseLocked, DatabaseTooNew, NotAnOmsDatabase


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_new_database_is_migrated_with_safe_pragmas(tmp_path):
    db = await Database.open(f"sqlite:///{tmp_path / 'oms.db'}")
    try:
        with db.read() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            # FULL durability with the flush on the journal's thread: the loop's connection
            # commits into the OS cache (NORMAL) and never checkpoints itself.
            assert db.synchronous == "FULL" and db.syncer is not None
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
            tables = {
                r[0]
                for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            }
        assert {
            "orders",
            "order_events",
            "trades",
            "positions",
            "reconciliation_log",
            "pnl_snapshots",
            "alembic_version",
        } <= tables
    finally:
        await db.close()


async def test_extra_keeps_sqlites_own_flush_in_each_commit(tmp_path):
    db = await Database.open(tmp_path / "oms.db", synchronous="EXTRA")
    try:
        assert db.syncer is None
        with db.read() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 3
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
        await db.durable()  # nothing to wait for
    finally:
        await db.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
async def test_new_database_is_owner_only(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    await db.close()
    assert (tmp_path / "oms.db").stat().st_mode & 0o777 == 0o600


async def test_not_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "oms.db"
    path.write_bytes(b"this is a spreadsheet, not a database" * 10)
    before = _digest(path)
    with pytest.raises(NotAnOmsDatabase, match="not an SQLite database"):
        await Database.open(path)
    assert _digest(path) == before


async def test_someone_elses_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "oms.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.commit()
    con.close()
    before = _digest(path)
    with pytest.raises(NotAnOmsDatabase, match="another program"):
        await Database.open(path)
    assert _digest(path) == before


async def test_newer_schema_is_refused_and_untouched(tmp_path):
    path = tmp_path / "oms.db"
    db = await Database.open(path)
    with db.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await db.close()
    before = _digest(path)
    with pytest.raises(DatabaseTooNew, match="newer version"):
        await Database.open(path)
    assert _digest(path) == before


async def test_second_instance_is_refused(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    try:
        with pytest.raises(DatabaseLocked, match="already in use"):
            await Database.open(tmp_path / "oms.db")
    finally:
        await db.close()
    (await Database.open(tmp_path / "oms.db")).close_sync()


async def test_order_events_are_append_only(tmp_path, paper_oms):
    from tests.helpers import limit

    h = paper_oms
    await h.om.place_order(limit(qty=1))
    with pytest.raises(SADatabaseError, match="append-only"):
        with h.db.write() as conn:
            conn.execute(text("UPDATE order_events SET reason = 'rewritten'"))
    with pytest.raises(SADatabaseError, match="append-only"):
        with h.db.write() as conn:
            conn.execute(text("DELETE FROM order_events"))


async def test_journal_failure_sends_nothing(paper_oms, monkeypatch):
    from desktop_oms.oms import StorageError
    from tests.helpers import limit

    h = paper_oms

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h.db.journal, "insert_pending", disk_full)
    with pytest.raises(StorageError, match="not sent"):
        await h.om.place_order(limit(qty=1))
    assert await h.broker.orders() == []


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores permissions")
async def test_read_only_data_dir_gives_clear_error(tmp_path):
    from desktop_oms.storage import DatabaseError

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(DatabaseError):
            await Database.open(ro / "oms.db")
    finally:
        ro.chmod(0o700)
