"""Append-only JSON-lines journal of the paper exchange's events.

One event per line, each with a sequence number (`seq`, 1, 2, 3, ... with no gaps). A
record counts only once its terminating newline is on disk: a last line without one (the
process was killed in the middle of writing it) is dropped on load and cut off the file.
Anything else that does not read back (bad JSON, a gap in the sequence, an unknown event)
is reported as `PaperJournalCorrupt`; nothing is ever dropped silently.

A durable append made on the event loop is written at once and flushed to the disk by
the journal's own thread (`FileSyncer`): `append` returns its mark, and the broker
awaits `durable(mark)` (or `when_durable`) before anyone hears of the event. Off the
loop (start-up, scripts) it is fsync'ed before `append` returns. Compaction rewrites
the file as one snapshot record through a temporary file, fsync and atomic rename.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from desktop_oms.infra.files import FileSyncer

log = logging.getLogger(__name__)


class PaperJournalCorrupt(ValueError):
    """The journal cannot be read back. The file is left untouched for inspection."""


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync on Windows; rename is durable there
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(event: dict) -> bytes:
    return (json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


class PaperJournal:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self._seq = 0
        self.lines = 0
        self._syncer: FileSyncer | None = None
        self.mark = 0  # the sync thread's mark of the last durable append on the loop

    # -- reading -----------------------------------------------------------------------

    def load(self) -> list[tuple[int, dict]]:
        """Read every committed record as (line number, event). Cuts off a torn last line."""
        self.close()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._seq = 0
            self.lines = 0
            return []
        complete_end = data.rfind(b"\n") + 1
        tail = data[complete_end:]
        if tail:
            log.warning(
                "paper broker journal %s: dropping an incomplete last record (%d bytes; the program stopped while writing it)",
                self.path,
                len(tail),
            )
        records: list[tuple[int, dict]] = []
        expected = 1
        for number, raw in enumerate(data[:complete_end].split(b"\n")[:-1], start=1):
            try:
                event = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise self.corrupt(number, f"not a JSON record ({exc})") from None
            if not isinstance(event, dict):
                raise self.corrupt(number, "not a JSON object")
            seq = event.pop("seq", None)
            if seq != expected:
                raise self.corrupt(number, f"sequence number {seq!r} where {expected} was expected")
            expected += 1
            records.append((number, event))
        if tail:
            self._truncate(complete_end)
        self._seq = len(records)
        self.lines = len(records)
        return records

    def corrupt(self, line: int, problem: str) -> PaperJournalCorrupt:
        return PaperJournalCorrupt(
            f"Paper broker state {self.path} is damaged at line {line}: {problem}. "
            "Nothing was changed; move the file aside to start with a fresh paper account "
            "(its paper orders and positions will be lost)."
        )

    def _truncate(self, size: int) -> None:
        with open(self.path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())

    # -- writing -----------------------------------------------------------------------

    def _handle(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(
                self.path,
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0),
                0o600,
            )
            self._file = os.fdopen(fd, "ab", buffering=0)
            if created:
                _fsync_dir(self.path.parent)
        return self._file

    def append(self, events: Iterable[dict], durable: bool = True) -> None:
        """Write events as one batch; with `durable`, flushed to the disk: by the sync
        thread when called on the event loop (`mark` tells what to await), else before
        returning.

        On a write error the file is cut back to where the batch began (best effort) and
        the OSError propagates.
        """
        payload = bytearray()
        seq = self._seq
        count = 0
        for event in events:
            seq += 1
            count += 1
            payload += _encode({"seq": seq, **event})
        if not count:
            return
        if durable and self._syncer is not None and self._syncer.failure is not None:
            raise self._syncer.failure  # an earlier flush failed: nothing more is durable
        handle = self._handle()
        start = handle.seek(0, os.SEEK_END)
        try:
            view = memoryview(bytes(payload))
            while view:  # raw writes may be partial
                written = handle.write(view)
                view = view[written:]
            if durable and not _on_loop():
                os.fsync(handle.fileno())
        except OSError:
            try:
                handle.truncate(start)
            except OSError:
                log.exception("paper broker journal %s: could not undo a failed write", self.path)
            raise
        self._seq = seq
        self.lines += count
        if durable and _on_loop():
            if self._syncer is None:
                self._syncer = FileSyncer(self.path, name="paper-broker")
            self.mark = self._syncer.mark_written()

    async def durable(self, mark: int) -> None:
        """Return once the append that returned `mark` is on disk (OSError if it cannot be)."""
        if mark and self._syncer is not None:
            await self._syncer.durable(mark)

    def is_durable(self, mark: int) -> bool:
        return not mark or self._syncer is None or self._syncer.synced >= mark

    def when_durable(self, mark: int, callback: Callable[[OSError | None], None]) -> None:
        """`callback(None)` once `mark` is on disk, `callback(error)` if it cannot be."""
        if not mark or self._syncer is None:
            callback(None)
        elif _on_loop():
            self._syncer.when_durable(mark, callback)
        else:  # no loop to call back on: flush here
            try:
                self._syncer.flush_now()
            except OSError as exc:
                callback(exc)
            else:
                callback(None)

    def rewrite(self, events: list[dict]) -> None:
        """Replace the whole journal with these events, atomically and durably."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".compact.tmp")
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600
        )
        with os.fdopen(fd, "wb") as handle:
            for seq, event in enumerate(events, start=1):
                handle.write(_encode({"seq": seq, **event}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)
        self._seq = len(events)
        self.lines = len(events)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.stop()  # flushes what is pending
            self._syncer = None
            self.mark = 0
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
