"""Parent side of the power-loss suite: the simulated disk, power cuts, recovery, audit.

A *cut* runs one OMS worker (child.py, forked from its zygote) with its data directory on
the simulated disk (simdisk.py) and the paper exchange's state outside it, and cuts the
power at a seeded moment (crash_harness.plan_kill: a progress marker, a delay after
start-up recovery, or during it) by SIGKILL. A barrier mark then closes the disk's log,
and crash_images.py turns the log into images of the data directory as the power cut
may have left it. Each image is *recovered* like the app starts (Database.open, the
OrderManager's start-up recovery and reconciliation against the exchange, crash_child's
settle mode) in a copy, with a copy of the exchange's state, and audited with the crash
suite's audit (crash_harness.audit) plus SQLite's integrity_check. A *trial* chains
cuts: the next worker starts from one of the images (so power also fails during the
recovery from a power failure) and trades on against the same exchange.
"""

from __future__ import annotations

import asyncio
import ctypes.util
import itertools
import json
import os
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.crash_harness import (
    CrashTestFailure,
    KillPlan,
    Zygote,
    audit,
    check_after_kill,
    truth_from_paper,
)
from tests.reliability.powerloss.crash_images import CrashImages, Image, in_flight_cuts
from tests.reliability.powerloss.simdisk import MARK, MARK_NAME, read_log

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).resolve().parent / "child.py"
SIMDISK = Path(__file__).resolve().parent / "simdisk.py"
KINDS = ("flushed", "torn-512", "torn-4096", "prefix")
_RUNS = itertools.count(1)  # worker numbers, unique for the zygote's lifetime
_SESSIONS = itertools.count(1)


class SimDiskUnavailable(RuntimeError):
    """FUSE cannot be used here (the reason says why)."""


def fuse_unavailable() -> str | None:
    """Why this machine cannot mount the simulated disk, or None."""
    if os.environ.get("OMS_POWERLOSS_NO_FUSE"):
        return "OMS_POWERLOSS_NO_FUSE is set (as if this machine had no FUSE)"
    if sys.platform != "linux":
        return "the simulated disk needs Linux FUSE"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE in this sandbox)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as exc:
        return f"/dev/fuse cannot be opened: {exc.strerror}"
    if ctypes.util.find_library("fuse3") is None and ctypes.util.find_library("fuse") is None:
        return "libfuse is not installed (Debian: apt-get install fuse3 libfuse3-3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"the FUSE binding mfusepy cannot be loaded: {exc}"
    return None


class SimDisk:
    """The simdisk daemon: BACKING served at MOUNT, every change appended to LOG."""

    def __init__(self, workdir: Path) -> None:
        self.backing = workdir / "backing"
        self.mount = workdir / "mnt"
        self.log_path = workdir / "disk.log"
        self.stderr_path = workdir / "simdisk.stderr"
        for d in (self.backing, self.mount):
            d.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(SIMDISK), str(self.backing), str(self.mount), str(self.log_path)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            ready = lines.get(timeout=20)
        except queue.Empty:
            ready = b""
        if ready.strip() != b"READY" or not os.path.ismount(self.mount):
            self.stop()
            raise SimDiskUnavailable(
                "the simulated disk did not mount: " + (self.stderr_tail() or "no output")
            )
        self.marks = 0

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def mark_path(self) -> Path:
        return self.mount / MARK_NAME

    def mark(self, label: str) -> None:
        """A MARK record; returns once it and every record before it are in the log."""
        fd = os.open(self.mark_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(fd, label.encode())
        finally:
            os.close(fd)

    def position(self, label: str) -> int:
        """A mark, then the log's size: a record boundary from which to read what follows."""
        self.mark(label)
        return self.log_path.stat().st_size

    def stop(self) -> None:
        if self.proc.poll() is None and os.path.ismount(self.mount):
            subprocess.run(["fusermount3", "-u", str(self.mount)], capture_output=True, check=False)
            if os.path.ismount(self.mount):
                subprocess.run(["umount", "-l", str(self.mount)], capture_output=True, check=False)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._stderr.close()


class PowerZygote(Zygote):
    """crash_harness.Zygote running child.py (crash_child's zygote with PowerLossWorker)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), "zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.expect(lambda parts: parts[0] == "Z", 60, "zygote start")


@dataclass
class Cut:
    """One worker's run on the simulated disk, ended by a power cut."""

    run: int
    plan: KillPlan | None
    killed: bool
    where: str
    images: CrashImages
    report: dict | None = None  # the P line of a scripted run
    seconds: float = 0.0
    window: tuple[int, int, int] = (0, 0, 0)  # first and last consistent cut, the cut
    records: list = field(default_factory=list, repr=False)
    root: str = ""
    baseline: dict = field(default_factory=dict, repr=False)

    def images_at(self, seq: int, metadata: str = "journal") -> CrashImages:
        """The same run with the power cut before record `seq`."""
        return CrashImages(self.records, self.root, self.baseline, cut=seq, metadata=metadata)


@dataclass
class Recovery:
    tag: str
    image: Image
    problems: list[str]
    figures: dict
    settle: dict
    seconds: float


@dataclass
class PowerLossSession:
    disk: SimDisk
    zygote: Zygote
    workdir: Path
    seed: int | str
    duration: float = 1.0
    pause: float = 0.01
    metadata: str = "journal"
    keep_failed: bool = True
    instruments: object = None
    cuts: list[Cut] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.exchange_path = self.workdir / "exchange.jsonl"
        self.name = f"session-{next(_SESSIONS)}"

    def next_run(self) -> int:
        return next(_RUNS)

    # ------------------------------------------------------------------ a cut
    def cut(
        self,
        plan: KillPlan | None,
        baseline: dict[str, bytes] | None = None,
        *,
        fault: str | None = None,
        mode: str = "trade",
        rng: random.Random | None = None,
        duration: float | None = None,
        checkpoint_interval: float | None = None,
    ) -> Cut:
        """Run a worker on the simulated disk until `plan` stops it, and cut the power.

        The power fails when the worker stopped, or (with `rng`, three times in four) at
        a random moment between its last request to the exchange and then, mostly while
        a journal write is on its way to the disk: what the exchange holds is the same
        either way (it only served reads and moved its market meanwhile)."""
        run = self.next_run()
        rel = f"{self.name}-run-{run}"
        data_dir = self.disk.backing / rel
        data_dir.mkdir(parents=True)
        files = dict(baseline or {})
        for path, content in files.items():  # the disk as the last power cut left it
            (data_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (data_dir / path).write_bytes(content)
        log_start = self.disk.position(f"start:{rel}")
        args = {
            "run": run,
            "seed": f"{self.seed}-{run}",
            "data_dir": str(self.disk.mount / rel),
            "exchange": str(self.exchange_path),
            "mark_path": str(self.disk.mark_path),
            "power_cut_label": f"power-cut:{rel}",
            "request_label": f"request:{rel}",
            "fault": fault,
            "checkpoint_interval": checkpoint_interval,
            "broker": "paper",
            "mode": mode,
            "duration": duration or self.duration,
            "pause": self.pause,
            "monitor_interval": 0.05,
            "reconcile_interval": 0.3,
            "kite": None,
        }
        if plan is not None and plan.kind == "marker":
            args["kill_marker"], args["kill_at"] = plan.marker, plan.at
        started = time.monotonic()
        killed, where, report = self._supervise(run, plan, args)
        barrier = f"cut:{rel}"
        self.disk.mark(barrier)
        records = [r for _, r in read_log(self.disk.log_path, log_start)]
        marks = {r.data.decode(): r.seq for r in records if r.op == MARK}
        if barrier not in marks:
            raise CrashTestFailure(f"the disk log has no barrier {barrier}")
        # The worker stopped at its mark (a marker plan) or when SIGKILL landed (barrier).
        last = marks.get(f"power-cut:{rel}", marks[barrier])
        requests = [
            seq
            for label, seq in marks.items()
            if label.startswith(f"request:{rel}:") and seq < last
        ]
        first = max(requests, default=records[0].seq - 1) + 1
        at_stop = last + 1 if last == marks[barrier] else last
        in_flight = in_flight_cuts(records, rel, first, last) if rng is not None else []
        roll = rng.random() if rng is not None else 0.0
        if roll < 0.25:
            cut_seq = at_stop
        elif in_flight and roll < 0.9:  # while a commit is on its way to the disk
            cut_seq = rng.choice(in_flight)
        else:
            cut_seq = rng.randint(first, at_stop)
        images = CrashImages(records, rel, files, cut=cut_seq, metadata=self.metadata)
        cut = Cut(run, plan, killed, where, images, report, time.monotonic() - started)
        cut.window = (first, last, cut_seq)
        cut.records, cut.root, cut.baseline = records, rel, files
        self.cuts.append(cut)
        return cut

    def _supervise(self, run: int, plan: KillPlan | None, args: dict):
        z = self.zygote
        z.send({"cmd": "run", "args": args})
        _, _, pid_text = z.expect(lambda p: p[0] == "F" and p[1] == str(run), 30, f"fork {run}")
        pid = int(pid_text)
        mine = lambda kinds: lambda p: p[0] in kinds and p[1:2] == [str(run)]  # noqa: E731
        killed, where, report = False, "", None
        try:
            if plan is None:
                parts = ["?"]
            elif plan.kind == "marker":
                parts = z.expect(mine("KDX"), 60, f"run {run}")
                if parts[0] == "K":
                    os.kill(pid, signal.SIGKILL)
                    where = f"marker {parts[2]}"
            else:
                parts = z.expect(mine("RDX"), 60, f"run {run}") if plan.kind == "delay" else ["F"]
                if parts[0] in "RF":
                    time.sleep(plan.delay)  # the moment of the power cut, not a synchronisation
                    os.kill(pid, signal.SIGKILL)
                    where = plan.describe()
            while parts[0] != "X":
                parts = z.expect(mine("PX"), 60, f"exit of run {run}")
                if parts[0] == "P":
                    report = json.loads(parts[2])
        except BaseException:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise
        status = parts[2]
        if status not in ("signal 9", "exit 0"):
            raise CrashTestFailure(f"run {run} ended with {status}\n{z.log_tail()}")
        killed = status == "signal 9"
        return killed, where or "after a clean stop", report

    # ------------------------------------------------------------------ recovery
    def recover(self, image: Image, tag: str, settle_timeout: float = 10.0) -> Recovery:
        """Start the OMS on a copy of `image` against a copy of the exchange; audit it."""
        run = self.next_run()
        rec_dir = self.workdir / f"recovered-{tag}"
        image.write(rec_dir)
        if self.exchange_path.exists():
            shutil.copyfile(self.exchange_path, rec_dir / "paper.jsonl")
        started = time.monotonic()
        z = self.zygote
        z.send(
            {
                "cmd": "run",
                "args": {
                    "run": run,
                    "seed": f"{self.seed}-{run}",
                    "data_dir": str(rec_dir),
                    "broker": "paper",
                    "mode": "settle",
                    "settle_timeout": settle_timeout,
                    "monitor_interval": 0.05,
                    "reconcile_interval": 0.3,
                    "kite": None,
                },
            }
        )
        problems: list[str] = []
        try:
            parts = z.expect(lambda p: p[0] == "S" and p[1] == str(run), 60, f"recovery of {tag}")
        except CrashTestFailure as exc:
            if f"worker run {run} failed" not in str(exc):
                raise
            # The start-up itself failed (e.g. it refused the journal): a finding, not a crash.
            z.expect(lambda p: p[0] == "X" and p[1] == str(run), 30, f"exit of {tag}")
            reason = str(exc).split("\n")
            problems.append("start-up failed: " + " | ".join(x for x in reason[-12:] if x.strip()))
            recovery = Recovery(tag, image, problems, {}, {}, time.monotonic() - started)
            self.recoveries.append(recovery)
            if self.keep_failed:
                image.write(self.workdir / f"image-{tag}")
            return recovery
        settle = json.loads(parts[2])
        parts = z.expect(lambda p: p[0] == "X" and p[1] == str(run), 30, f"exit of {tag}")
        if parts[2] != "exit 0":
            raise CrashTestFailure(f"recovery of {tag} ended with {parts[2]}\n{z.log_tail()}")
        db_path = rec_dir / "oms.db"
        try:
            check_after_kill(db_path, [])
        except CrashTestFailure as exc:
            problems.append(str(exc))
        truth = asyncio.run(truth_from_paper(rec_dir / "paper.jsonl", self.instruments))
        found, figures = audit(db_path, truth, strict=True)
        problems += found
        problems += integrity_problems(db_path)
        recovery = Recovery(tag, image, problems, figures, settle, time.monotonic() - started)
        self.recoveries.append(recovery)
        if problems and self.keep_failed:
            image.write(self.workdir / f"image-{tag}")  # the image as built, for a post-mortem
        else:
            shutil.rmtree(rec_dir, ignore_errors=True)
        return recovery


def first_journal(workdir: Path) -> dict[str, bytes]:
    """The data directory as the app's first start leaves it (an empty, migrated journal,
    closed cleanly): trials start from here, as a laptop that ran the app before. The
    first start itself is cut record by record in its own test."""
    from desktop_oms.storage import Database

    data_dir = workdir / "first-start"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    Database.open_sync(data_dir / "oms.db").close_sync()
    files = {p.name: p.read_bytes() for p in data_dir.iterdir() if not p.name.endswith("-shm")}
    shutil.rmtree(data_dir)
    return files


def integrity_problems(db_path: Path) -> list[str]:
    con = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()
    return [] if rows == ["ok"] else [f"integrity_check: {'; '.join(rows[:10])}"]


def journal_rows(image: Image, workdir: Path, query: str, params=()) -> list[tuple]:
    """Rows of the image's journal as SQLite reads it (WAL replayed), from a scratch copy."""
    scratch = workdir / "scratch"
    image.write(scratch)
    con = sqlite3.connect(scratch / "oms.db")
    try:
        return list(con.execute(query, params))
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
