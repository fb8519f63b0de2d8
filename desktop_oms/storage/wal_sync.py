"""The journal's disk work off the event loop: WAL flushes and checkpoints on one thread.

With `synchronous=FULL` SQLite flushes the write-ahead log inside every COMMIT, on the
thread that commits: the event loop, which also draws the window. A disk that stalls for
a second (a busy laptop disk, antivirus, a shared CI volume) froze the window for a
second. So the loop's connections run `synchronous=NORMAL` (a commit only writes into
the OS cache) with automatic checkpoints off, and this module's thread does both disk
jobs instead:

- it flushes the WAL file after commits (`FileSyncer`, several commits per flush when
  they come fast); `Database.durable()` awaits that flush, and the OMS awaits it before
  the broker hears of an order, a modify or a cancel: durable before acting, as before;
- when the WAL passes `CHECKPOINT_BYTES`, or every `CHECKPOINT_INTERVAL_S` while the
  journal is written, it folds the WAL back into the database file with a PASSIVE
  checkpoint on its own connection, which never waits for the loop's writes.

What SQLite still does on the loop: when a fully checkpointed WAL is reused, the first
commit rewrites and flushes its header, so once per checkpoint at most.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from desktop_oms.infra.files import FileSyncer

log = logging.getLogger(__name__)

CHECKPOINT_BYTES = 4 * 2**20  # SQLite's own default is 1,000 pages (4 MB)
CHECKPOINT_INTERVAL_S = 5.0


class WalCheckpointer:
    """Runs on the sync thread only (its connection is made and closed there)."""

    def __init__(
        self, path: Path, busy_timeout_ms: int, limit_bytes: int = CHECKPOINT_BYTES
    ) -> None:
        self.path = path
        self.wal_path = wal_path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.limit_bytes = limit_bytes
        self.checkpoints = 0
        self._conn: sqlite3.Connection | None = None
        self._checkpointed_at = time.monotonic()
        self._size_at_checkpoint = 0

    def maybe_checkpoint(self) -> None:
        """Checkpoint when the WAL file grew past the limit (and past its size at the
        last checkpoint: a reused WAL keeps its size), else every CHECKPOINT_INTERVAL_S.
        Each checkpoint costs the loop one flush later (the reused WAL's header), so
        they are kept rare."""
        try:
            size = self.wal_path.stat().st_size
        except FileNotFoundError:
            return
        grown = size > max(self.limit_bytes, self._size_at_checkpoint)
        due = time.monotonic() - self._checkpointed_at >= CHECKPOINT_INTERVAL_S
        if not (grown or due):
            return
        if self._conn is None:
            self._conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA synchronous=FULL")
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        self._checkpointed_at = time.monotonic()
        self._size_at_checkpoint = size
        log.debug("journal checkpoint: %s of %s frames copied (busy=%s)", copied, frames, busy)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wal_path(path: Path) -> Path:
    return Path(str(path) + "-wal")


def journal_syncer(path: Path, busy_timeout_ms: int) -> FileSyncer:
    checkpointer = WalCheckpointer(path, busy_timeout_ms)
    syncer = FileSyncer(
        wal_path(path),
        name="journal",
        after_sync=checkpointer.maybe_checkpoint,
        at_exit=checkpointer.close,
    )
    syncer.checkpointer = checkpointer
    return syncer
