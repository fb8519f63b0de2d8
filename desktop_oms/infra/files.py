"""FileSyncer: a file's fsync on a writer thread, so a slow disk never freezes the window.

The event loop writes (an SQLite commit into the journal's WAL, a line of the paper
broker's journal) into the OS cache, which takes microseconds, and calls
`mark_written()`. One thread per file flushes it to the disk: every write made while a
flush runs rides on the next one (group commit). Code that must not act before its
writes are on disk, such as an order about to reach the broker, awaits `durable()`;
`when_durable()` runs a callback once they are. The loop waits without blocking; a
flush that takes longer than `slow_s` is logged as a warning.

If a flush fails, every waiter (now and later) gets `DurabilityError`: the caller must
stop acting on writes that may not be on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SLOW_SYNC_S = 1.0
_sync = getattr(os, "fdatasync", os.fsync)  # the file's size and data; Windows has fsync only


class DurabilityError(OSError):
    """Writes could not be flushed to the disk."""


class FileSyncer:
    def __init__(
        self,
        path: Path,
        *,
        name: str,
        after_sync: Callable[[], None] | None = None,
        at_exit: Callable[[], None] | None = None,
        slow_s: float = SLOW_SYNC_S,
    ) -> None:
        """`after_sync` runs on the thread after each flush (e.g. an SQLite checkpoint);
        `at_exit` runs on the thread when it stops. Neither may touch the loop."""
        self.path = Path(path)
        self.name = name
        self.slow_s = slow_s
        self._after_sync = after_sync
        self._at_exit = at_exit
        self.written = 0  # marks handed out (loop thread)
        self.synced = 0  # marks known on disk (set by the thread, read by the loop)
        self.failure: DurabilityError | None = None
        self.slowest_s = 0.0
        self._requested = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._waiters: deque[tuple[int, Callable[[DurabilityError | None], None]]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=f"sync-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ loop side
    def mark_written(self) -> int:
        """Something was written to the file: returns its mark and asks for a flush."""
        self.written += 1
        with self._cond:
            self._requested = self.written
            self._cond.notify()
        return self.written

    async def durable(self, mark: int | None = None) -> None:
        """Return once everything written up to `mark` (default: so far) is on disk."""
        mark = self.written if mark is None else mark
        if self.failure is not None:
            raise self.failure
        if self.synced >= mark:
            return
        future = asyncio.get_running_loop().create_future()

        def done(failure: DurabilityError | None) -> None:
            if future.done():
                return
            if failure is None:
                future.set_result(None)
            else:
                future.set_exception(failure)

        self._add_waiter(mark, done)
        await future

    def when_durable(self, mark: int, callback: Callable[[DurabilityError | None], None]) -> None:
        """Call `callback(None)` on the loop once `mark` is on disk (now, if it is), or
        `callback(error)` if it cannot be. Callbacks run in the order they were added."""
        if self.failure is None and self.synced >= mark and not self._waiters:
            callback(None)
        elif self.failure is not None:
            callback(self.failure)
        else:
            self._add_waiter(mark, callback)

    def _add_waiter(self, mark: int, callback) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._waiters.append((mark, callback))
        if self.synced >= mark or self.failure is not None:
            self._wake()  # finished between the check and the append

    def _wake(self) -> None:
        failure, synced = self.failure, self.synced
        while self._waiters:
            mark, callback = self._waiters[0]
            if mark > synced and failure is None:
                return
            self._waiters.popleft()
            try:
                callback(None if mark <= synced else failure)
            except Exception:
                log.exception("%s: a callback waiting for the disk failed", self.name)

    def flush_now(self) -> None:
        """Flush on the calling thread (for callers with no loop to wait on)."""
        if self.failure is not None:
            raise self.failure
        target = self.written
        self._sync_file()
        if target > self.synced:
            self.synced = target

    def stop(self, timeout: float = 30.0) -> None:
        """Flush what is pending, stop the thread (blocking: for shut-down)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("%s: the disk did not finish a flush within %.0f s", self.name, timeout)

    # ------------------------------------------------------------------ thread side
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._requested <= self.synced and not self._stopping:
                        self._cond.wait()
                    if self._requested <= self.synced:
                        return  # stopping, nothing pending
                    target = self._requested
                if not self._flush(target):
                    return
        finally:
            if self._at_exit is not None:
                try:
                    self._at_exit()
                except Exception:
                    log.exception("%s: closing the sync thread failed", self.name)

    def _flush(self, target: int) -> bool:
        started = time.perf_counter()
        try:
            self._sync_file()
        except OSError as exc:
            log.error("%s: could not flush %s to the disk: %s", self.name, self.path, exc)
            self.failure = DurabilityError(
                exc.errno, f"{self.path.name} could not be saved to the disk: {exc.strerror or exc}"
            )
            self._notify_loop()
            return False
        took = time.perf_counter() - started
        self.slowest_s = max(self.slowest_s, took)
        if took > self.slow_s:
            log.warning("%s: the disk took %.1f s to save %s", self.name, took, self.path.name)
        self.synced = target
        self._notify_loop()
        if self._after_sync is not None:
            try:
                self._after_sync()
            except Exception:
                log.exception("%s: after-flush work failed", self.name)
        return True

    def _sync_file(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return  # nothing written since the file was folded back and removed
        try:
            _sync(fd)
        finally:
            os.close(fd)

    def _notify_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more
