"""A simulated disk: a FUSE passthrough that records every change, in order, for crash images.

    python tests/reliability/powerloss/simdisk.py BACKING MOUNTPOINT LOG

Everything done under MOUNTPOINT happens in BACKING (a plain directory), and every change
is appended to LOG with a sequence number: writes (path, offset, bytes), truncates,
fsync / fdatasync of a file, fsync of a directory, creates, unlinks, renames, mkdir and
rmdir. Reads are not recorded. The daemon never flushes BACKING itself: what reached
"the platter" is decided afterwards from the log, by crash_images.py.

The daemon runs single-threaded (`-s`), so the log's order is the order in which the
kernel handed the operations over: an fsync recorded after a write covers it, and a
request in flight when the writing process died is finished (and recorded) before the
next one is read.

Control file: a write to any file named `.powerloss-mark` is not data but a MARK record
whose label is the written bytes; the log is flushed to LOG before the write returns.
The parent uses it as a barrier after it killed a writer (every record before the mark
is in LOG), a writer uses it to say "here" (e.g. just before it calls the broker).

Binding: mfusepy (ctypes over Debian's libfuse3.so.3, no compiler, no build step; the
maintained fork of fusepy, which only knows libfuse 2). pyfuse3 needs libfuse3-dev and a
C build, llfuse is in maintenance mode.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MARK_NAME = ".powerloss-mark"

# Operation codes of the log (stable: the log is read by crash_images.py).
CREATE, WRITE, TRUNCATE, FSYNC, FDATASYNC, FSYNCDIR = 1, 2, 3, 4, 5, 6
UNLINK, RENAME, MKDIR, RMDIR, MARK = 7, 8, 9, 10, 11
OP_NAMES = {
    CREATE: "create",
    WRITE: "write",
    TRUNCATE: "truncate",
    FSYNC: "fsync",
    FDATASYNC: "fdatasync",
    FSYNCDIR: "fsyncdir",
    UNLINK: "unlink",
    RENAME: "rename",
    MKDIR: "mkdir",
    RMDIR: "rmdir",
    MARK: "mark",
}
# seq, op, offset (write) or size (truncate), len(path), len(path2), len(data)
HEADER = struct.Struct("<QBqHHI")


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    op: int
    path: str  # relative to the mount point, '/'-separated, no leading '/'
    path2: str = ""  # rename target
    offset: int = 0  # write offset, truncate size
    data: bytes = b""  # written bytes, mark label

    def describe(self) -> str:
        what = f"#{self.seq} {OP_NAMES[self.op]} {self.path}"
        if self.op == WRITE:
            return f"{what} @{self.offset}+{len(self.data)}"
        if self.op == TRUNCATE:
            return f"{what} to {self.offset}"
        if self.op == RENAME:
            return f"{what} -> {self.path2}"
        if self.op == MARK:
            return f"#{self.seq} mark {self.data.decode(errors='replace')}"
        return what


def read_log(path: Path, start: int = 0) -> Iterator[tuple[int, Record]]:
    """(end offset, record) for each complete record of LOG from byte `start`."""
    with open(path, "rb") as fh:
        fh.seek(start)
        offset = start
        while True:
            head = fh.read(HEADER.size)
            if len(head) < HEADER.size:
                return
            seq, op, off, n1, n2, n3 = HEADER.unpack(head)
            body = fh.read(n1 + n2 + n3)
            if len(body) < n1 + n2 + n3:
                return
            offset += HEADER.size + len(body)
            yield (
                offset,
                Record(
                    seq,
                    op,
                    body[:n1].decode("utf-8", "surrogateescape"),
                    body[n1 : n1 + n2].decode("utf-8", "surrogateescape"),
                    off,
                    body[n1 + n2 :],
                ),
            )


def _make_operations(base):
    """The Operations class (built lazily: importing this module needs no libfuse)."""

    class RecordingPassthrough(base):
        use_ns = True

        def __init__(self, backing: Path, log_path: Path) -> None:
            self.root = str(backing)
            self.log = open(log_path, "ab", buffering=1 << 20)  # noqa: SIM115 - closed in destroy
            self.seq = 0
            self.paths: dict[int, str] = {}  # fh -> path at open (for ops without a path)
            self.marks: set[int] = set()  # fhs of control files

        # -------------------------------------------------------------- recording
        def _rel(self, path: str | None) -> str:
            return (path or "").lstrip("/")

        def _record(self, op: int, path: str, offset: int = 0, data: bytes = b"", path2=""):
            self.seq += 1
            p1 = path.encode("utf-8", "surrogateescape")
            p2 = path2.encode("utf-8", "surrogateescape")
            header = HEADER.pack(self.seq, op, offset, len(p1), len(p2), len(data))
            self.log.write(header + p1 + p2 + data)

        def _full(self, path: str | None) -> str:
            return os.path.join(self.root, self._rel(path))

        def _path_of(self, path: str | None, fh) -> str:
            if path:
                return self._rel(path)
            return self.paths.get(fh, "?")

        # -------------------------------------------------------------- namespace
        def init(self, path):
            print("READY", flush=True)

        def destroy(self, path):
            self.log.flush()
            self.log.close()

        def getattr(self, path, fh=None):
            st = os.fstat(fh) if fh is not None else os.lstat(self._full(path))
            return {
                "st_mode": st.st_mode,
                "st_nlink": st.st_nlink,
                "st_size": st.st_size,
                "st_uid": st.st_uid,
                "st_gid": st.st_gid,
                "st_ino": st.st_ino,
                "st_atime": st.st_atime_ns,
                "st_mtime": st.st_mtime_ns,
                "st_ctime": st.st_ctime_ns,
                "st_blocks": st.st_blocks,
                "st_blksize": st.st_blksize,
            }

        def access(self, path, amode):
            if not os.access(self._full(path), amode):
                raise OSError(errno.EACCES, "access denied")
            return 0

        def readdir(self, path, fh):
            return [".", "..", *os.listdir(self._full(path))]

        def statfs(self, path):
            sv = os.statvfs(self._full(path))
            return {
                key: getattr(sv, key)
                for key in (
                    "f_bsize",
                    "f_frsize",
                    "f_blocks",
                    "f_bfree",
                    "f_bavail",
                    "f_files",
                    "f_ffree",
                    "f_favail",
                    "f_flag",
                    "f_namemax",
                )
            }

        def mkdir(self, path, mode):
            os.mkdir(self._full(path), mode)
            self._record(MKDIR, self._rel(path))
            return 0

        def rmdir(self, path):
            os.rmdir(self._full(path))
            self._record(RMDIR, self._rel(path))
            return 0

        def unlink(self, path):
            os.unlink(self._full(path))
            if os.path.basename(path) != MARK_NAME:
                self._record(UNLINK, self._rel(path))
            return 0

        def rename(self, old, new):
            os.rename(self._full(old), self._full(new))
            self._record(RENAME, self._rel(old), path2=self._rel(new))
            for fh, p in list(self.paths.items()):
                if p == self._rel(old):
                    self.paths[fh] = self._rel(new)
            return 0

        def chmod(self, path, mode):
            os.chmod(self._full(path), mode)
            return 0

        def chown(self, path, uid, gid):
            os.chown(self._full(path), uid, gid)
            return 0

        def utimens(self, path, times=None):
            os.utime(self._full(path), ns=times)
            return 0

        # -------------------------------------------------------------- files
        @staticmethod
        def _flags(flags: int) -> int:
            # The kernel passes explicit offsets and sends truncation separately.
            return flags & ~(os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_TRUNC)

        def open(self, path, flags):
            fh = os.open(self._full(path), self._flags(flags))
            self.paths[fh] = self._rel(path)
            if os.path.basename(path) == MARK_NAME:
                self.marks.add(fh)
            return fh

        def create(self, path, mode, flags):
            fh = os.open(self._full(path), self._flags(flags) | os.O_CREAT | os.O_EXCL, mode)
            self.paths[fh] = self._rel(path)
            if os.path.basename(path) == MARK_NAME:
                self.marks.add(fh)
            else:
                self._record(CREATE, self._rel(path))
            return fh

        def read(self, path, size, offset, fh):
            return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):
            if fh in self.marks:
                self._record(MARK, "", data=bytes(data))
                self.log.flush()
                return len(data)
            written = os.pwrite(fh, data, offset)
            self._record(WRITE, self._path_of(path, fh), offset, bytes(data[:written]))
            return written

        def truncate(self, path, length, fh=None):
            if fh is not None:
                os.ftruncate(fh, length)
            else:
                os.truncate(self._full(path), length)
            self._record(TRUNCATE, self._path_of(path, fh), length)
            return 0

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            self.paths.pop(fh, None)
            self.marks.discard(fh)
            os.close(fh)
            return 0

        def fsync(self, path, datasync, fh):
            if fh not in self.marks:
                self._record(FDATASYNC if datasync else FSYNC, self._path_of(path, fh))
                self.log.flush()
            return 0

        def fsyncdir(self, path, datasync, fh):
            self._record(FSYNCDIR, self._rel(path))
            self.log.flush()
            return 0

    return RecordingPassthrough


def main(argv: list[str]) -> int:
    import logging

    import mfusepy

    backing, mountpoint, log_path = (Path(a) for a in argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    operations = _make_operations(mfusepy.Operations)(backing, log_path)
    mfusepy.FUSE(
        operations,
        str(mountpoint),
        foreground=True,
        nothreads=True,
        hard_remove=True,  # no .fuse_hidden renames of unlinked open files
        fsname="powerloss-simdisk",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
