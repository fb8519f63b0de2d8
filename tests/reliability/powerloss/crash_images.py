"""Crash images: what a directory may hold after the power went off, from simdisk's log.

The disk model (what a journaling Linux file system on a disk with a volatile write
cache promises, and no more):

- File data: a write is on the platter once an fsync or fdatasync of that file (any
  descriptor) completed after it. Until then it lives in the page cache, which the disk
  writes back whenever it likes, sector by sector, in any order.
- Names (create, unlink, rename, mkdir, rmdir): the file system's metadata journal keeps
  them in order and commits them all at the next fsync of any file or directory
  (`metadata="journal"`: ext4, XFS); `metadata="strict"` commits them only at an fsync of
  a directory (the letter of POSIX).
- The power cut happens at `cut` (a sequence number of the log, default: after the last
  record): nothing after it exists.

From one log and one cut, `CrashImages.build` makes images of three kinds:

- "flushed": only what was flushed: every name committed, every file's data as of its
  last flush. The harshest legal outcome, and the one that catches a missing fsync.
- "torn": flushed, plus any mixture of the rest. Each sector (512 B or 4 KiB of the
  file) holds the cache's content at some moment: its flushed state plus the first k of
  the later writes that touched it (k random per sector, so a write may land in some of
  its sectors and not others, and a sector never holds bytes it did not hold in the
  cache); each file's size is one of the sizes it had; a random prefix of the
  uncommitted names survives.
- "prefix": everything before a random moment P between the last flush and the cut
  reached the disk, nothing after: an in-order disk cut short.

Volatile files are left out of every image: SQLite's `-shm` (its shared-memory index,
rebuilt from the WAL when the first connection opens the database) and the control
file `.powerloss-mark`.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.powerloss.simdisk import (
    CREATE,
    FDATASYNC,
    FSYNC,
    FSYNCDIR,
    MARK,
    MARK_NAME,
    MKDIR,
    RENAME,
    RMDIR,
    TRUNCATE,
    UNLINK,
    WRITE,
    Record,
)

KINDS = ("flushed", "torn", "prefix")
VOLATILE_SUFFIXES = ("-shm",)


def is_volatile(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name == MARK_NAME or name.endswith(VOLATILE_SUFFIXES)


@dataclass
class FileLog:
    path: str  # its name when the run started or when it was created
    base: bytes  # content when the run started (baseline files) or b"" (created)
    ops: list[Record] = field(default_factory=list)  # writes and truncates, in order
    synced_seq: int = 0  # the last fsync / fdatasync of this file
    size: int = -1  # in the cache, as the log is read

    def add(self, op: Record) -> None:
        if self.size < 0:
            self.size = len(self.base)
        if op.op == TRUNCATE:
            if op.offset == self.size:
                return  # changes nothing (a lock file opened with O_TRUNC)
            self.size = op.offset
        else:
            self.size = max(self.size, op.offset + len(op.data))
        self.ops.append(op)

    def durable_ops(self) -> list[Record]:
        return [op for op in self.ops if op.seq < self.synced_seq]

    def unflushed_ops(self) -> list[Record]:
        return [op for op in self.ops if op.seq > self.synced_seq]


def apply(content: bytearray, op: Record, lo: int = 0, hi: int | None = None) -> None:
    """Apply a write or truncate to `content`, only within bytes [lo, hi) if given."""
    if op.op == WRITE:
        start, end = op.offset, op.offset + len(op.data)
        a, b = max(start, lo), end if hi is None else min(end, hi)
        if a >= b:
            return
        if len(content) < b:
            content.extend(bytes(b - len(content)))
        content[a:b] = op.data[a - start : b - start]
    elif op.op == TRUNCATE:
        if hi is None:
            if op.offset < len(content):
                del content[op.offset :]
            else:
                content.extend(bytes(op.offset - len(content)))
        else:  # within a sector: the truncated part reads as zeros from then on
            a, b = max(op.offset, lo), min(len(content), hi)
            if a < b:
                content[a:b] = bytes(b - a)


def replay(base: bytes, ops: Iterable[Record]) -> bytearray:
    content = bytearray(base)
    for op in ops:
        apply(content, op)
    return content


@dataclass
class Image:
    kind: str
    files: dict[str, bytes]  # relative path -> content
    dirs: set[str]
    detail: str  # how it was made (granularity, P, ...)

    def write(self, target: Path) -> None:
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for d in sorted(self.dirs):
            (target / d).mkdir(parents=True, exist_ok=True)
        for path, content in self.files.items():
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(content)

    def describe(self) -> str:
        sizes = ", ".join(f"{p} {len(c)} B" for p, c in sorted(self.files.items()))
        return f"{self.kind} image ({self.detail}): {sizes or 'no files'}"


def in_flight_cuts(records: Iterable[Record], root: str, first: int, last: int) -> list[int]:
    """Cut points in [first, last] at which a lasting file of `root` has unflushed writes
    (cutting at s keeps the records before s)."""
    prefix = root.strip("/") + "/"
    pending: dict[str, int] = {}
    points = []
    for rec in records:
        if first <= rec.seq <= last and any(pending.values()):
            points.append(rec.seq)
        if rec.seq >= last:
            break
        if not rec.path.startswith(prefix) or is_volatile(rec.path):
            continue
        if rec.op == WRITE:
            pending[rec.path] = pending.get(rec.path, 0) + 1
        elif rec.op in (FSYNC, FDATASYNC):
            pending[rec.path] = 0
        elif rec.op == RENAME:
            pending[rec.path2] = pending.pop(rec.path, 0)
        elif rec.op == UNLINK:
            pending.pop(rec.path, None)
    return points


class CrashImages:
    """The run's directory `root` (relative to the mount point) as the power cut left it."""

    def __init__(
        self,
        records: Iterable[Record],
        root: str,
        baseline: dict[str, bytes] | None = None,
        *,
        cut: int | None = None,
        metadata: str = "journal",
    ) -> None:
        if metadata not in ("journal", "strict"):
            raise ValueError("metadata must be 'journal' or 'strict'")
        self.root = root.strip("/")
        self.metadata = metadata
        self.anomalies: list[str] = []
        self.marks: dict[str, int] = {}
        self.baseline = dict(baseline or {})
        self._next_id = 0
        self.files: dict[int, FileLog] = {}
        self.base_names: dict[str, int] = {}
        for path, content in self.baseline.items():
            self.base_names[path] = self._new_file(path, content)
        self.ns_ops: list[tuple[Record, int | None]] = []  # (record, file id it names)
        self.commit_seq = 0  # names committed before this
        self.last_seq = 0
        self.writes = 0
        self.syncs = 0
        names = dict(self.base_names)
        prefix = self.root + "/"
        for rec in records:
            if cut is not None and rec.seq >= cut:
                break
            self.last_seq = rec.seq
            if rec.op == MARK:
                self.marks[rec.data.decode(errors="replace")] = rec.seq
                continue
            if rec.op == FSYNCDIR and (rec.path == self.root or rec.path.startswith(prefix)):
                self.commit_seq = rec.seq
                self.syncs += 1
                continue
            if not rec.path.startswith(prefix):
                if rec.op in (FSYNC, FDATASYNC) and metadata == "journal":
                    self.commit_seq = rec.seq  # one journal for the whole file system
                continue
            path = rec.path[len(prefix) :]
            if rec.op == CREATE:
                names[path] = self._new_file(path, b"")
                self.ns_ops.append((rec, names[path]))
            elif rec.op in (WRITE, TRUNCATE):
                fid = names.get(path)
                if fid is None:
                    if not is_volatile(path):
                        self.anomalies.append(f"{rec.describe()}: no such file")
                    continue
                self.files[fid].add(rec)
                self.writes += rec.op == WRITE
            elif rec.op in (FSYNC, FDATASYNC):
                fid = names.get(path)
                if fid is not None:
                    self.files[fid].synced_seq = rec.seq
                self.syncs += 1
                if metadata == "journal":
                    self.commit_seq = rec.seq
            elif rec.op == UNLINK:
                names.pop(path, None)
                self.ns_ops.append((rec, None))
            elif rec.op == RENAME:
                fid = names.pop(path, None)
                target = rec.path2[len(prefix) :] if rec.path2.startswith(prefix) else None
                if fid is not None and target is not None:
                    names[target] = fid
                self.ns_ops.append((rec, fid))
            elif rec.op in (MKDIR, RMDIR):
                self.ns_ops.append((rec, None))

    def _new_file(self, path: str, base: bytes) -> int:
        self._next_id += 1
        self.files[self._next_id] = FileLog(path, base)
        return self._next_id

    # ------------------------------------------------------------------ names
    def _names(self, survive) -> tuple[dict[str, int], set[str]]:
        """Replay the surviving namespace operations over the baseline."""
        names = dict(self.base_names)
        dirs: set[str] = set()
        prefix = self.root + "/"
        for rec, fid in self.ns_ops:
            if not survive(rec):
                continue
            path = rec.path[len(prefix) :]
            if rec.op == CREATE:
                names[path] = fid
            elif rec.op == UNLINK:
                names.pop(path, None)
            elif rec.op == RENAME:
                moved = names.pop(path, None)
                if rec.path2.startswith(prefix) and moved is not None:
                    names[rec.path2[len(prefix) :]] = moved
            elif rec.op == MKDIR:
                dirs.add(path)
            elif rec.op == RMDIR:
                dirs.discard(path)
        return names, dirs

    # ------------------------------------------------------------------ images
    def flushed(self) -> Image:
        names, dirs = self._names(lambda r: r.seq < self.commit_seq)
        files = {
            path: bytes(replay(self.files[fid].base, self.files[fid].durable_ops()))
            for path, fid in names.items()
            if not is_volatile(path)
        }
        return Image("flushed", files, dirs, f"cut #{self.last_seq}, {self.metadata} metadata")

    def prefix(self, rng: random.Random) -> Image:
        unflushed = [
            op.seq
            for f in self.files.values()
            if not is_volatile(f.path)
            for op in f.unflushed_ops()
        ]
        unflushed += [rec.seq for rec, _ in self.ns_ops if rec.seq > self.commit_seq]
        point = rng.randint(min(unflushed, default=self.last_seq + 1), self.last_seq + 1)
        names, dirs = self._names(lambda r: r.seq < max(point, self.commit_seq))
        files = {}
        for path, fid in names.items():
            if is_volatile(path):
                continue
            log = self.files[fid]
            files[path] = bytes(
                replay(
                    log.base, [op for op in log.ops if op.seq < log.synced_seq or op.seq < point]
                )
            )
        return Image("prefix", files, dirs, f"writes before #{point} of #{self.last_seq}")

    def torn(self, rng: random.Random, sector: int = 512) -> Image:
        keep = rng.uniform(0.1, 0.9)  # how much of the unflushed tail tends to survive
        pending = [rec for rec, _ in self.ns_ops if rec.seq > self.commit_seq]
        lost_from = next(
            (r.seq for r in pending if rng.random() > keep), self.last_seq + 1
        )  # the journal commits in order: a prefix of the pending names survives
        names, dirs = self._names(lambda r: r.seq < self.commit_seq or r.seq < lost_from)
        files = {}
        kept = total = 0
        for path, fid in names.items():
            if is_volatile(path):
                continue
            content, k, n = self._torn_file(self.files[fid], rng, sector, keep)
            files[path] = content
            kept += k
            total += n
        detail = (
            f"{sector} B sectors, {kept} of {total} unflushed sector versions kept, "
            f"names lost from #{lost_from}"
        )
        return Image(f"torn-{sector}", files, dirs, detail)

    @staticmethod
    def _torn_file(
        log: FileLog, rng: random.Random, sector: int, keep: float
    ) -> tuple[bytes, int, int]:
        durable = replay(log.base, log.durable_ops())
        unflushed = log.unflushed_ops()
        if not unflushed:
            return bytes(durable), 0, 0
        cache = bytearray(durable)
        sizes = [len(cache)]
        touched: dict[int, list[int]] = {}
        for i, op in enumerate(unflushed):
            if op.op == WRITE:
                lo, hi = op.offset, op.offset + len(op.data)
            else:
                lo, hi = sorted((op.offset, len(cache)))
            for s in range(lo // sector, (hi - 1) // sector + 1 if hi > lo else lo // sector):
                touched.setdefault(s, []).append(i)
            apply(cache, op)
            sizes.append(len(cache))

        def version(n: int) -> int:
            return n if rng.random() < keep else rng.randint(0, n - 1) if n else 0

        out = bytearray(durable)
        out.extend(bytes(max(sizes) - len(out)))
        kept = 0
        for s in sorted(touched):
            ops = touched[s]
            k = version(len(ops))
            kept += k == len(ops)
            for i in ops[:k]:
                apply(out, unflushed[i], s * sector, (s + 1) * sector)
        size = sizes[version(len(unflushed))]
        del out[size:]
        return bytes(out), kept, len(touched)

    def build(self, rng: random.Random, kinds: Iterable[str]) -> list[Image]:
        images = []
        for kind in kinds:
            if kind == "flushed":
                images.append(self.flushed())
            elif kind == "prefix":
                images.append(self.prefix(rng))
            elif kind.startswith("torn"):
                _, _, size = kind.partition("-")
                images.append(self.torn(rng, int(size or rng.choice((512, 4096)))))
            else:
                raise ValueError(f"unknown image kind {kind!r}")
        return images

    def written_files(self) -> set[str]:
        """Lasting files written during the run (e.g. oms.db: a checkpoint ran)."""
        return {
            f.path
            for f in self.files.values()
            if not is_volatile(f.path) and any(op.op == WRITE for op in f.ops)
        }

    def unflushed_files(self) -> set[str]:
        """Lasting files with writes not flushed at the cut (names when created)."""
        return {
            f.path
            for f in self.files.values()
            if not is_volatile(f.path) and any(op.op == WRITE for op in f.unflushed_ops())
        }

    def unflushed_writes(self) -> int:
        """Writes to lasting files that were not flushed at the cut."""
        return sum(len(f.unflushed_ops()) for f in self.files.values() if not is_volatile(f.path))

    def summary(self) -> str:
        unflushed = self.unflushed_writes()
        return (
            f"{self.writes} writes, {self.syncs} flushes, {unflushed} writes unflushed at the "
            f"cut (#{self.last_seq}), {len(self.ns_ops)} name changes "
            f"({sum(1 for r, _ in self.ns_ops if r.seq > self.commit_seq)} uncommitted)"
        )
