"""FileSyncer (one file's flushes on a thread) and LoopWatchdog (says what held the loop)."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time

import pytest

from desktop_oms.infra import files as file_sync
from desktop_oms.infra.files import DurabilityError, FileSyncer
from desktop_oms.infra.watchdog import LoopWatchdog


@pytest.fixture
def flushes(monkeypatch):
    """Every flush the thread makes, as the file's content at that moment."""
    seen: list[bytes] = []
    real = file_sync._sync

    def record(fd):
        seen.append(b"flush")
        return real(fd)

    monkeypatch.setattr(file_sync, "_sync", record)
    return seen


async def test_durable_returns_once_the_mark_is_flushed(tmp_path, flushes):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    syncer = FileSyncer(path, name="t")
    try:
        await syncer.durable()  # nothing written: at once
        assert flushes == []
        mark = syncer.mark_written()
        await asyncio.wait_for(syncer.durable(mark), 5)
        assert syncer.synced >= mark and flushes
    finally:
        syncer.stop()


async def test_callbacks_run_in_order_and_a_later_write_waits_behind_an_earlier_one(
    tmp_path, monkeypatch
):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    gate = threading.Event()
    monkeypatch.setattr(file_sync, "_sync", lambda fd: gate.wait(5))
    syncer = FileSyncer(path, name="t")
    order: list[str] = []
    try:
        first = syncer.mark_written()
        syncer.when_durable(first, lambda failure: order.append(f"first {failure}"))
        # Already "synced" marks still queue behind a waiting one: order is kept.
        syncer.when_durable(0, lambda failure: order.append("second"))
        await asyncio.sleep(0.02)
        assert order == []
        gate.set()
        await asyncio.wait_for(syncer.durable(first), 5)
        await asyncio.sleep(0)
        assert order == ["first None", "second"]
    finally:
        gate.set()
        syncer.stop()


async def test_a_failed_flush_fails_every_waiter_now_and_later(tmp_path, monkeypatch, caplog):
    path = tmp_path / "f"
    path.write_bytes(b"x")

    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(file_sync, "_sync", broken)
    syncer = FileSyncer(path, name="t")
    try:
        seen = []
        mark = syncer.mark_written()
        syncer.when_durable(mark, seen.append)
        with (
            caplog.at_level(logging.ERROR),
            pytest.raises(DurabilityError, match="could not be saved"),
        ):
            await asyncio.wait_for(syncer.durable(mark), 5)
        await asyncio.sleep(0)
        assert len(seen) == 1 and isinstance(seen[0], DurabilityError)
        with pytest.raises(DurabilityError):
            await syncer.durable(syncer.mark_written())
        assert "could not flush" in caplog.text
    finally:
        syncer.stop()


async def test_a_slow_flush_is_logged(tmp_path, monkeypatch, caplog):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    monkeypatch.setattr(file_sync, "_sync", lambda fd: time.sleep(0.05))
    syncer = FileSyncer(path, name="journal", slow_s=0.01)
    try:
        with caplog.at_level(logging.WARNING):
            await asyncio.wait_for(syncer.durable(syncer.mark_written()), 5)
        assert "the disk took" in caplog.text and syncer.slowest_s >= 0.05
    finally:
        syncer.stop()


def test_stop_flushes_what_is_pending(tmp_path, flushes):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    syncer = FileSyncer(path, name="t")
    syncer.mark_written()
    syncer.stop()
    assert syncer.synced == syncer.written and flushes


async def test_the_watchdog_names_what_held_the_loop(caplog):
    watchdog = LoopWatchdog(threshold_s=0.05, beat_s=0.01)
    watchdog.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.05)

        def hold_the_loop():
            time.sleep(0.2)

        with caplog.at_level(logging.WARNING, logger="desktop_oms.infra.watchdog"):
            hold_the_loop()
            for _ in range(20):
                await asyncio.sleep(0.01)
                if watchdog.stalls:
                    break
        (stall,) = watchdog.stalls
        assert 0.1 < stall.seconds < 0.5
        assert "hold_the_loop" in stall.stack
        assert "event loop blocked for" in caplog.text
    finally:
        watchdog.stop()


async def test_the_watchdog_is_quiet_while_the_loop_answers():
    watchdog = LoopWatchdog(threshold_s=0.1, beat_s=0.01)
    watchdog.start(asyncio.get_running_loop())
    try:
        for _ in range(20):
            await asyncio.sleep(0.01)
    finally:
        watchdog.stop()
    assert list(watchdog.stalls) == []
