"""The journal's disk flush runs on its own thread (storage/wal_sync.py, file_sync.py):
the loop keeps running while the disk is slow, an order reaches the broker only once its
journal row is on disk, and a disk that refuses holds new orders."""

from __future__ import annotations

import asyncio
import errno
import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from desktop_oms.domain import OrderStatus
from desktop_oms.infra import files as file_sync
from desktop_oms.oms import StorageError
from desktop_oms.storage import Database, DatabaseError
from tests.helpers import limit, until


class SlowDisk:
    """Replaces the thread's flush: each one waits until `release()`; counts flushes."""

    def __init__(self, monkeypatch) -> None:
        self.gate = threading.Event()
        self.flushes = 0
        self.started = threading.Event()
        self.error: OSError | None = None
        real = file_sync._sync

        def flush(fd):
            self.started.set()
            self.gate.wait(10)
            self.flushes += 1
            if self.error is not None:
                raise self.error
            return real(fd)

        monkeypatch.setattr(file_sync, "_sync", flush)

    def release(self) -> None:
        self.gate.set()


async def test_durable_waits_for_the_flush_while_the_loop_runs(tmp_path, monkeypatch):
    db = await Database.open(tmp_path / "oms.db")
    await db.durable()  # the migration's writes
    disk = SlowDisk(monkeypatch)
    try:
        db.set_state("k", "v")
        waiting = asyncio.ensure_future(db.durable())
        beats = 0
        for _ in range(20):  # the loop is free: other work goes on during the flush
            await asyncio.sleep(0.005)
            beats += 1
        assert beats == 20 and not waiting.done()
        disk.release()
        await asyncio.wait_for(waiting, 5)
        assert db.syncer.synced == db.syncer.written
    finally:
        disk.release()
        await db.close()


async def test_writes_during_a_flush_share_the_next_one(tmp_path, monkeypatch):
    db = await Database.open(tmp_path / "oms.db")
    await db.durable()
    disk = SlowDisk(monkeypatch)
    try:
        db.set_state("first", "1")
        await asyncio.to_thread(disk.started.wait, 5)  # the first flush is under way
        for i in range(50):
            db.set_state(f"k{i}", str(i))
        disk.release()
        await asyncio.wait_for(db.durable(), 5)
        assert disk.flushes == 2  # one for the first write, one for the other fifty
    finally:
        disk.release()
        await db.close()


async def test_an_order_reaches_the_broker_only_once_its_row_is_on_disk(paper_oms, monkeypatch):
    h = paper_oms
    await h.db.durable()
    disk = SlowDisk(monkeypatch)
    placing = asyncio.ensure_future(h.om.place_order(limit(qty=1, price="2400")))
    await until(lambda: h.count("orders") == 1, timeout=5)
    await asyncio.sleep(0.05)
    assert await h.broker.orders() == []  # journaled, flushing: not sent
    assert not placing.done()
    disk.release()
    result = await asyncio.wait_for(placing, 5)
    assert result.status == OrderStatus.OPEN
    assert [r.broker_order_id for r in await h.broker.orders()] == [result.broker_order_id]


async def test_a_disk_that_refuses_holds_orders_and_sends_nothing(paper_oms, monkeypatch):
    h = paper_oms
    await h.db.durable()
    disk = SlowDisk(monkeypatch)
    disk.error = OSError(errno.EIO, "Input/output error")
    disk.release()
    with pytest.raises(StorageError, match="could not be saved to the disk"):
        await h.om.place_order(limit(qty=1, price="2400"))
    assert await h.broker.orders() == []
    (order,) = await h.om.list_orders()
    assert order.status == OrderStatus.REJECTED and "not sent" in order.status_message
    assert "storage" in h.om.halts()
    with pytest.raises(StorageError):  # held, not retried against a failed disk
        await h.om.place_order(limit(qty=1, price="2400"))
    with pytest.raises(DatabaseError, match="could not be saved"):
        await h.db.durable()


async def test_the_thread_checkpoints_and_nothing_is_lost(tmp_path):
    path = tmp_path / "oms.db"
    db = await Database.open(path)
    db.syncer.checkpointer.limit_bytes = 64 * 1024
    await db.durable()
    before = path.stat().st_size
    try:
        for i in range(400):
            db.set_state(f"key{i}", "x" * 500)
            if i % 50 == 0:
                await db.durable()
        await db.durable()
        # The loop's connections never checkpoint (wal_autocheckpoint=0): only the sync
        # thread copies pages into the database file. ~200 kB of rows were written.
        await until(lambda: path.stat().st_size - before > 150_000, timeout=5)
        assert db.syncer.checkpointer.checkpoints > 0
    finally:
        await db.close()
    db = await Database.open(path)
    try:
        with db.read() as conn:
            count = conn.execute(
                text("SELECT COUNT(*) FROM app_state WHERE key LIKE 'key%'")
            ).scalar()
        assert count == 400
    finally:
        await db.close()


async def test_paper_fills_reach_the_oms_only_once_on_the_paper_disk(paper_oms, monkeypatch):
    h = paper_oms
    await h.om.place_order(limit(qty=1, price="2400"))  # rests below the market
    await h.om.sync.drain()
    disk = SlowDisk(monkeypatch)
    h.broker.set_last_price("NSE", "RELIANCE", Decimal("2390"))  # crosses: the exchange fills it
    await asyncio.sleep(0.2)  # the OMS polls every 0.05 s meanwhile
    assert h.count("trades") == 0  # not on the exchange's disk yet: neither pushed nor polled
    disk.release()
    await h.om.sync.drain()
    await until(lambda: h.count("trades") == 1, timeout=5)
    assert len(await h.broker.trades()) == 1
