"""Parent side of the crash-recovery suite: drive the zygote, kill workers, audit the journal.

See crash_child.py for the worker and its kill points. The audit reads the SQLite file
read-only (`mode=ro`, so a dead worker's WAL is left for the next worker to recover) and
compares it with the broker's truth (the paper broker's journal, or the Kite test
server's book).

Bracket mode (issue 18): `bracket_problems` checks the brackets' promises against the
broker's book — never doubled, never unprotected once the restarted OMS has settled —
and `audit_checkpoint` audits a worker's checkpoint (its journal copy and the broker's
book taken together after its restart had settled) with both.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from desktop_oms.domain import TRANSITIONS, OrderStatus

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).resolve().parent / "crash_child.py"

MARKER_WEIGHTS = {
    "journaled": 4,
    "submitted": 4,
    "fill_txn": 4,
    "fill_done": 2,
    "journal_save": 3,
    "modify_sent": 1,
    "cancel_sent": 1,
    "positions_read": 2,
    "trades_read": 1,
    "orders_read": 1,
    "paper_durable": 3,
}
FREQUENT = {"orders_read": 12, "trades_read": 12, "journal_save": 8, "paper_durable": 8}
# Bracket mode: the kill points of a bracket's life (crash_child.BRACKET_MARKERS).
BRACKET_WEIGHTS = {
    "stop_journaled": 3,
    "stop_submitted": 3,
    "stop_modified": 2,
    "stop_cancelled": 2,
    "target_cancel": 3,
    "exit_journaled": 3,
    "exit_submitted": 3,
}


class CrashTestFailure(AssertionError):
    pass


@dataclass
class KillPlan:
    kind: str  # marker | delay | early
    marker: str | None = None
    at: int | None = None
    delay: float = 0.0

    def describe(self) -> str:
        if self.kind == "marker":
            return f"at marker {self.marker} #{self.at}"
        if self.kind == "early":
            return f"{self.delay:.3f}s after fork (start-up/recovery)"
        return f"{self.delay:.3f}s after recovery"


def plan_kill(rng: random.Random, broker: str, brackets: bool = False) -> KillPlan:
    if brackets and rng.random() < 0.5:
        names = list(BRACKET_WEIGHTS)
        marker = rng.choices(names, weights=[BRACKET_WEIGHTS[m] for m in names])[0]
        return KillPlan("marker", marker, rng.randint(1, 3))
    roll = rng.random()
    if roll < 0.65:
        names = [m for m in MARKER_WEIGHTS if broker == "paper" or m != "paper_durable"]
        marker = rng.choices(names, weights=[MARKER_WEIGHTS[m] for m in names])[0]
        return KillPlan("marker", marker, rng.randint(1, FREQUENT.get(marker, 3)))
    if roll < 0.8:
        return KillPlan("early", delay=rng.uniform(0.0, 0.25))
    return KillPlan("delay", delay=rng.uniform(0.0, 0.9))


class Zygote:
    """The child program in zygote mode; one forked worker per run."""

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
        self.checkpoints: dict[int, Path] = {}  # run -> its checkpoint (bracket mode, B lines)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.expect(lambda parts: parts[0] == "Z", 60, "zygote start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def send(self, command: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def expect(self, want, timeout: float, what: str) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CrashTestFailure(f"timed out waiting for {what}\n{self.log_tail()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise CrashTestFailure(
                    f"the zygote died while waiting for {what}\n{self.log_tail()}"
                )
            parts = line.split(" ", 2)
            if parts[0] == "B" and len(parts) > 2:
                self.checkpoints[int(parts[1])] = Path(parts[2])
            if parts[0] == "E":
                detail = json.loads(parts[2]) if len(parts) > 2 else ""
                raise CrashTestFailure(
                    f"worker run {parts[1]} failed:\n{detail}\n{self.log_tail()}"
                )
            if want(parts):
                return parts

    def log_tail(self, lines: int = 40) -> str:
        try:
            self._log.flush()
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "child stderr (tail):\n" + "\n".join(text[-lines:])

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send({"cmd": "quit"})
                self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        finally:
            self._log.close()


@dataclass
class RunResult:
    run: int
    plan: KillPlan
    killed: bool
    where: str
    seconds: float


@dataclass
class CrashSession:
    """Runs workers one after another in one data dir, killing them per plan."""

    zygote: Zygote
    data_dir: Path
    broker: str
    seed: int
    kite: dict | None = None
    duration: float = 1.2
    pause: float = 0.01
    monitor_interval: float = 0.05
    reconcile_interval: float = 0.3
    brackets: bool = False
    results: list[RunResult] = field(default_factory=list)
    events_seen: list[tuple] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "oms.db"

    def worker_args(self, run: int, plan: KillPlan | None, mode: str = "trade") -> dict:
        args = {
            "run": run,
            "seed": f"{self.seed}-{self.broker}-{run}",
            "data_dir": str(self.data_dir),
            "broker": self.broker,
            "mode": mode,
            "duration": self.duration,
            "pause": self.pause,
            "monitor_interval": self.monitor_interval,
            "reconcile_interval": self.reconcile_interval,
            "kite": self.kite,
            "brackets": self.brackets,
        }
        if plan is not None and plan.kind == "marker":
            args["kill_marker"], args["kill_at"] = plan.marker, plan.at
        return args

    def run_once(self, run: int, plan: KillPlan) -> RunResult:
        z = self.zygote
        started = time.monotonic()
        z.send({"cmd": "run", "args": self.worker_args(run, plan)})
        _, _, pid_text = z.expect(
            lambda p: p[0] == "F" and p[1] == str(run), 30, f"fork of run {run}"
        )
        pid = int(pid_text)
        try:
            return self._supervise(run, plan, pid, started)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # never leave a worker behind
            raise

    def _supervise(self, run: int, plan: KillPlan, pid: int, started: float) -> RunResult:
        z = self.zygote
        where = ""
        timeout = self.duration + 20
        mine = lambda kinds: lambda p: p[0] in kinds and p[1:2] == [str(run)]  # noqa: E731
        if plan.kind == "marker":
            parts = z.expect(mine("KDX"), timeout, f"run {run}")
            if parts[0] == "K":
                os.kill(pid, signal.SIGKILL)
                where = f"marker {parts[2]}"
        else:
            parts = z.expect(mine("RDX"), timeout, f"run {run}") if plan.kind == "delay" else ["F"]
            if parts[0] in "RF":
                time.sleep(plan.delay)
                os.kill(pid, signal.SIGKILL)  # a zombie until the zygote reaps it: no error
                where = plan.describe()
        if parts[0] != "X":
            parts = z.expect(mine("X"), 30, f"exit of run {run}")
        exit_parts = parts
        status = exit_parts[2]
        if status not in ("signal 9", "exit 0"):
            raise CrashTestFailure(f"run {run} ended with {status}\n{z.log_tail()}")
        killed = status == "signal 9"
        result = RunResult(run, plan, killed, where, time.monotonic() - started)
        self.results.append(result)
        self.events_seen = check_after_kill(self.db_path, self.events_seen)
        return result

    def settle(self, run: int) -> dict:
        z = self.zygote
        z.send({"cmd": "run", "args": self.worker_args(run, None, mode="settle")})
        parts = z.expect(lambda p: p[0] == "S" and p[1] == str(run), 60, "settle run")
        summary = json.loads(parts[2])
        exit_parts = z.expect(lambda p: p[0] == "X" and p[1] == str(run), 30, "settle exit")
        if exit_parts[2] != "exit 0":
            raise CrashTestFailure(f"settle run ended with {exit_parts[2]}\n{z.log_tail()}")
        self.events_seen = check_after_kill(self.db_path, self.events_seen)
        return summary

    def away(self, run: int) -> dict:
        """The market while no OMS runs (bracket mode): the paper exchange alone moves
        prices and fills resting orders in part, then closes (crash_child mode "away")."""
        z = self.zygote
        z.send({"cmd": "run", "args": self.worker_args(run, None, mode="away")})
        parts = z.expect(lambda p: p[0] in "DX" and p[1] == str(run), 30, f"away run {run}")
        if parts[0] != "D":
            raise CrashTestFailure(f"away run {run} ended with {parts[2]}\n{z.log_tail()}")
        exit_parts = z.expect(lambda p: p[0] == "X" and p[1] == str(run), 30, "away exit")
        if exit_parts[2] != "exit 0":
            raise CrashTestFailure(f"away run {run} ended with {exit_parts[2]}\n{z.log_tail()}")
        return json.loads(parts[2])

    @property
    def kills(self) -> int:
        return sum(1 for r in self.results if r.killed)


# ------------------------------------------------------------------------------ journal audit


def connect_ro(db_path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    return con


def check_after_kill(db_path: Path, previous: list[tuple]) -> list[tuple]:
    """Cheap invariants that hold at every instant: append-only events, nothing half-written."""
    if not db_path.exists():
        return previous
    con = connect_ro(db_path)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "order_events" not in tables:
            return previous
        events = [tuple(r) for r in con.execute("SELECT * FROM order_events ORDER BY id")]
        problems = []
        if events[: len(previous)] != previous:
            problems.append("order_events is not append-only: earlier rows changed or vanished")
        orphans = con.execute(
            "SELECT COUNT(*) FROM order_events e LEFT JOIN orders o ON o.id = e.order_id "
            "WHERE o.id IS NULL"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} order_events rows without an order")
        silent = con.execute(
            "SELECT o.id FROM orders o WHERE NOT EXISTS "
            "(SELECT 1 FROM order_events e WHERE e.order_id = o.id)"
        ).fetchall()
        if silent:
            problems.append(f"orders without any event: {[r[0] for r in silent]}")
        lost = con.execute(
            "SELECT COUNT(*) FROM trades t LEFT JOIN orders o ON o.id = t.order_id WHERE o.id IS NULL"
        ).fetchone()[0]
        if lost:
            problems.append(f"{lost} trades without an order")
        bad_fill = con.execute(
            "SELECT o.id, o.filled_quantity, COALESCE(SUM(t.quantity), 0) AS traded FROM orders o "
            "LEFT JOIN trades t ON t.order_id = o.id GROUP BY o.id "
            "HAVING o.filled_quantity != COALESCE(SUM(t.quantity), 0)"
        ).fetchall()
        if bad_fill:
            problems.append(
                "orders whose filled_quantity differs from their trades: "
                + ", ".join(f"#{r[0]} filled {r[1]} traded {r[2]}" for r in bad_fill)
            )
    finally:
        con.close()
    if problems:
        raise CrashTestFailure("; ".join(problems))
    return events


@dataclass
class BrokerTruth:
    """What the broker says, reduced to plain values."""

    orders: list[dict]  # broker_order_id, tag, status (OrderStatus name), quantity, filled
    trades: list[dict]  # trade_id, broker_order_id, quantity
    positions: dict[tuple[str, str, str], int]
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (paper) last prices


KITE_STATUS = {
    "COMPLETE": "FILLED",
    "CANCELLED": "CANCELLED",
    "REJECTED": "REJECTED",
    "OPEN": "OPEN",
    "TRIGGER PENDING": "TRIGGER_PENDING",
}


def truth_from_kite_book(book) -> BrokerTruth:
    with book.lock:
        orders = [
            {
                "broker_order_id": str(o["order_id"]),
                "tag": o.get("tag"),
                "status": KITE_STATUS.get(o["status"], o["status"]),
                "quantity": int(o["quantity"]),
                "filled": int(o["filled_quantity"]),
            }
            for o in book.orders.values()
        ]
        trades = [
            {
                "trade_id": str(t["trade_id"]),
                "broker_order_id": str(t["order_id"]),
                "quantity": int(t["quantity"]),
            }
            for t in book.trades
        ]
        positions = {
            (p["exchange"], p["tradingsymbol"], p["product"]): int(p["quantity"])
            for p in book.positions()["net"]
        }
    return BrokerTruth(orders, trades, positions)


async def paper_book(broker) -> dict:
    """A paper broker's book as plain JSON values: orders (with their terms), trades,
    positions and last prices. Used on the closed journal (truth_from_paper) and, in
    bracket mode, by the worker itself at its checkpoints."""
    orders = [
        {
            "broker_order_id": r.broker_order_id,
            "tag": r.client_order_id,
            "status": r.status.name,
            "quantity": r.quantity,
            "filled": r.filled_quantity,
            "order_type": r.order_type.value,
            "side": r.side.value,
            "exchange": r.exchange,
            "symbol": r.symbol,
            "product": r.product.value,
            "trigger": None if r.trigger_price is None else str(r.trigger_price),
        }
        for r in await broker.orders()
    ]
    trades = [
        {"trade_id": t.trade_id, "broker_order_id": t.broker_order_id, "quantity": t.quantity}
        for t in await broker.trades()
    ]
    positions = [
        [p.exchange, p.symbol, p.product.value, p.quantity] for p in await broker.positions()
    ]
    prices = [[e, s, str(v)] for (e, s), v in sorted(broker.last_prices().items())]
    return {"orders": orders, "trades": trades, "positions": positions, "prices": prices}


def truth_from_book(book: dict) -> BrokerTruth:
    return BrokerTruth(
        book["orders"],
        book["trades"],
        {(e, s, p): q for e, s, p, q in book["positions"]},
        {(e, s): Decimal(v) for e, s, v in book["prices"]},
    )


async def truth_from_paper(state_path: Path, instruments) -> BrokerTruth:
    from desktop_oms.brokers.paper import PaperBroker

    broker = PaperBroker(state_path=state_path, instruments=instruments)
    try:
        return truth_from_book(await paper_book(broker))
    finally:
        broker._store.journal.close()  # read only: no close() (it would write unsaved prices)


def expected_status(status: str, filled: int, quantity: int) -> str:
    if status in ("OPEN", "PARTIALLY_FILLED", "TRIGGER_PENDING") and 0 < filled < quantity:
        return "PARTIALLY_FILLED"
    return status


# Events written by OrderJournal.add_event: notes about a request (old == new status), not
# status changes. Their status is read before the broker call is awaited, so a fill that
# lands meanwhile makes it stale (a known bug, pinned by strict xfail tests in
# test_broker_faults.py). With strict=False they are counted, not failed on.
ANNOTATIONS = frozenset(
    {"CANCEL_REQUESTED", "MODIFY_REQUESTED", "MODIFY_REJECTED", "OUTCOME_UNKNOWN"}
)


def audit(
    db_path: Path, truth: BrokerTruth, *, strict: bool = True, known_stale: frozenset = frozenset()
) -> tuple[list[str], dict]:
    """Every check of the suite against the settled journal. Returns (problems, figures).
    `known_stale`: kinds of note events (old == new status) whose stale status is counted
    (figure stale_annotations), not failed on, even when `strict`."""
    problems: list[str] = []
    con = connect_ro(db_path)
    try:
        orders = {r["client_order_id"]: dict(r) for r in con.execute("SELECT * FROM orders")}
        by_id = {o["id"]: o for o in orders.values()}
        trades = [dict(r) for r in con.execute("SELECT * FROM trades ORDER BY id")]
        events = [dict(r) for r in con.execute("SELECT * FROM order_events ORDER BY id")]
        positions = {
            (r["exchange"], r["symbol"], r["product"]): r["quantity"]
            for r in con.execute("SELECT * FROM positions")
        }
        recon = [dict(r) for r in con.execute("SELECT * FROM reconciliation_log ORDER BY id")]
    finally:
        con.close()

    # 1. Orders: at the broker once per tag, in the journal exactly once, same facts.
    tags = Counter(o["tag"] for o in truth.orders)
    for tag, count in tags.items():
        if tag is None:
            problems.append(f"{count} broker order(s) without a tag (not sent by the OMS?)")
        elif count > 1:
            problems.append(f"order {tag} was sent {count} times")
    at_broker = {o["tag"]: o for o in truth.orders if o["tag"]}
    for tag, report in at_broker.items():
        mine = orders.get(tag)
        if mine is None:
            problems.append(
                f"broker order {report['broker_order_id']} (tag {tag}) is not in the journal"
            )
            continue
        if mine["broker_order_id"] != report["broker_order_id"]:
            problems.append(
                f"order {tag}: journal broker id {mine['broker_order_id']} != broker {report['broker_order_id']}"
            )
        want = expected_status(report["status"], report["filled"], report["quantity"])
        if mine["status"] != want:
            problems.append(f"order {tag}: journal status {mine['status']} != broker {want}")
        if mine["filled_quantity"] != report["filled"]:
            problems.append(
                f"order {tag}: journal filled {mine['filled_quantity']} != broker {report['filled']}"
            )
        if mine["quantity"] != report["quantity"]:
            problems.append(
                f"order {tag}: journal quantity {mine['quantity']} != broker {report['quantity']}"
            )
    for tag, mine in orders.items():
        if tag in at_broker:
            continue
        if mine["broker_order_id"] is not None:
            problems.append(
                f"order {tag} has broker id {mine['broker_order_id']} the broker does not know"
            )
        if mine["status"] != OrderStatus.REJECTED.name:
            problems.append(f"order {tag} never reached the broker but is {mine['status']}")

    # 2. Fills: the journal's trades are the broker's trades, each once.
    broker_trades = {t["trade_id"]: t for t in truth.trades}
    journal_trades = Counter(t["trade_id"] for t in trades)
    for trade_id, count in journal_trades.items():
        if count > 1:
            problems.append(f"trade {trade_id} applied {count} times")
        if trade_id not in broker_trades:
            problems.append(f"trade {trade_id} is in the journal but not at the broker")
    for trade_id, t in broker_trades.items():
        if trade_id not in journal_trades:
            problems.append(
                f"broker trade {trade_id} (order {t['broker_order_id']}) was never applied"
            )
    for t in trades:
        ref = broker_trades.get(t["trade_id"])
        if ref is None:
            continue
        order = by_id.get(t["order_id"])
        if order is None or order["broker_order_id"] != ref["broker_order_id"]:
            problems.append(f"trade {t['trade_id']} is booked against the wrong order")
        if t["quantity"] != ref["quantity"]:
            problems.append(f"trade {t['trade_id']}: quantity {t['quantity']} != {ref['quantity']}")

    # 3. Positions equal the broker's.
    keys = {k for k, q in positions.items() if q} | {k for k, q in truth.positions.items() if q}
    for key in sorted(keys):
        if positions.get(key, 0) != truth.positions.get(key, 0):
            problems.append(
                f"position {':'.join(key)}: journal {positions.get(key, 0)} != broker {truth.positions.get(key, 0)}"
            )
    if recon:
        problems.append(
            "reconciliation had to fix positions (the journal diverged at some point): "
            + "; ".join(
                f"{r['kind']} {r['symbol']} {r['local_quantity']}->{r['broker_quantity']}"
                for r in recon
            )
        )

    # 4. order_events tell each order's story: legal transitions, ending in its status.
    per_order: dict[int, list[dict]] = {}
    for e in events:
        per_order.setdefault(e["order_id"], []).append(e)
    transitions = {old.name: {n.name for n in news} for old, news in TRANSITIONS.items()}
    stale_annotations = 0
    notes = (frozenset() if strict else ANNOTATIONS) | known_stale
    for order_id, order in by_id.items():
        story = per_order.get(order_id, [])
        if not story:
            problems.append(f"order #{order_id} has no events")
            continue
        first = story[0]
        if first["event_type"] != "CREATED" or first["new_status"] != "PENDING":
            problems.append(f"order #{order_id} does not start with CREATED/PENDING")
        status = first["new_status"]
        for e in story[1:]:
            old, new = e["old_status"], e["new_status"]
            if e["event_type"] in notes and old == new:
                stale_annotations += old != status
                continue
            if old is not None and old != status:
                problems.append(
                    f"order #{order_id} event {e['id']} {e['event_type']} starts from {old} "
                    f"but the order was {status}"
                )
            if old is not None and new is not None and old != new and new not in transitions[old]:
                problems.append(
                    f"order #{order_id} event {e['id']}: illegal transition {old} -> {new}"
                )
            if new is not None:
                status = new
        if status != order["status"]:
            problems.append(
                f"order #{order_id}: last status event says {status}, orders.status is {order['status']}"
            )

    figures = {
        "orders": len(orders),
        "broker_orders": len(truth.orders),
        "trades": len(trades),
        "events": len(events),
        "open_positions": sum(1 for q in truth.positions.values() if q),
        "stale_annotations": stale_annotations,
    }
    return problems, figures


# ------------------------------------------------------------------------------ bracket audit

STOP_TYPES = frozenset({"SL", "SL-M", "SL_M"})


def _active_at_broker(report: dict | None) -> bool:
    return report is not None and OrderStatus[report["status"]].is_active


def bracket_problems(db_path: Path, truth: BrokerTruth) -> tuple[list[str], dict]:
    """The brackets' promises against the broker's book, on a settled journal:

    (a) never doubled: for every bracket, what its exits filled at the broker never
        exceeds what its entry filled there, and no position is on the other side of its
        brackets' entries (crash_child keeps one side per bracketed instrument);
    (b) never unprotected beyond the restart: the working stop orders at the broker of a
        position's active brackets whose stop is enabled cover it — at least the smaller
        of what those brackets hold (entry filled - exits filled) and the position left
        after the trader's own working exits and brackets whose stop is off; and never
        more than the position (a stop larger than it could reverse it). A bracket whose
        target the last price is beyond holds nothing (it exits when it sees it).
    Returns (problems, figures)."""
    con = connect_ro(db_path)
    try:
        orders = [dict(r) for r in con.execute("SELECT * FROM orders ORDER BY id")]
        links = [
            dict(r) for r in con.execute("SELECT * FROM bracket_links ORDER BY entry_order_id")
        ]
    finally:
        con.close()
    at_broker = {o["tag"]: o for o in truth.orders if o["tag"]}
    by_id = {o["id"]: o for o in orders}
    exits: dict[int, list[dict]] = {}
    for o in orders:
        if o["source"] == "bracket" and o["parent_order_id"] is not None:
            exits.setdefault(o["parent_order_id"], []).append(o)

    def filled(order: dict) -> int:
        report = at_broker.get(order["client_order_id"])
        return report["filled"] if report is not None else 0

    def working(order: dict) -> int:
        report = at_broker.get(order["client_order_id"])
        return report["quantity"] - report["filled"] if _active_at_broker(report) else 0

    problems: list[str] = []
    held_by: dict[int, int] = {}
    keys: dict[tuple[str, str, str], list[dict]] = {}
    for link in links:
        entry = by_id.get(link["entry_order_id"])
        if entry is None:
            problems.append(f"bracket #{link['entry_order_id']} has no entry order")
            continue
        entry_filled = filled(entry)
        exits_filled = sum(filled(x) for x in exits.get(entry["id"], ()))
        if exits_filled > entry_filled:
            problems.append(
                f"DOUBLED: bracket #{entry['id']} {entry['side']} {entry['symbol']}: its exits "
                f"filled {exits_filled} at the broker, its entry {entry_filled}"
            )
        held_by[entry["id"]] = entry_filled - exits_filled
        keys.setdefault((link["exchange"], link["symbol"], link["product"]), []).append(link)

    unprotected = protected = 0
    for key, group in sorted(keys.items()):
        sides = {link["side"] for link in group}
        position = truth.positions.get(key, 0)
        if len(sides) != 1:
            continue  # both sides bracketed: the sign says nothing (crash_child never does it)
        side = sides.pop()
        sign = 1 if side == "BUY" else -1
        exit_side = "SELL" if side == "BUY" else "BUY"
        if position * sign < 0:
            problems.append(
                f"DOUBLED: {':'.join(key)} is {position}, the other side of its {side} brackets"
            )
        held = max(position * sign, 0)
        last = truth.prices.get(key[:2])
        active = [link for link in group if link["status"] == "active"]
        on_key = [
            o for o in orders
            if (o["exchange"], o["symbol"], o["product"]) == key and o["side"] == exit_side
        ]  # fmt: skip
        others = sum(working(o) for o in on_key if o["source"] != "bracket")
        legs = sum(working(o) for o in on_key if o["source"] == "bracket")
        if legs > held:
            problems.append(
                f"{':'.join(key)}: bracket exits working for {legs}, the position is {position} "
                "(a fill could reverse it)"
            )

        def beyond_target(link: dict, last=last, side=side) -> bool:
            target = link["take_profit"]
            if not link["target_enabled"] or target is None or last is None:
                return False
            target = Decimal(str(target))
            return last >= target if side == "BUY" else last <= target

        # What each active bracket holds of the position, as the brackets' rule has it
        # (risk/brackets/manager.py): its entry filled less its exits filled, capped by the
        # position left after the trader's working exits and earlier brackets.
        available = max(held - others, 0)
        need = 0
        stopped = []
        for link in sorted(active, key=lambda link: link["entry_order_id"]):
            holds = min(max(held_by.get(link["entry_order_id"], 0), 0), available)
            available -= holds
            mine = sum(working(x) for x in exits.get(link["entry_order_id"], ()))
            if mine > max(held_by.get(link["entry_order_id"], 0), 0):
                problems.append(
                    f"bracket #{link['entry_order_id']} {':'.join(key)}: exits working for "
                    f"{mine}, it holds {max(held_by.get(link['entry_order_id'], 0), 0)}"
                )
            if beyond_target(link):
                if holds > 0:
                    problems.append(
                        f"bracket #{link['entry_order_id']} {':'.join(key)}: the last price "
                        f"{last} is beyond its target {link['take_profit']} and it still holds "
                        f"{holds} (position {position})"
                    )
            elif link["stop_enabled"] and link["stop_loss"] is not None:
                need += holds
                stopped.append(link)
        covered = sum(
            working(x)
            for link in stopped
            for x in exits.get(link["entry_order_id"], ())
            if x["order_type"] in STOP_TYPES
        )
        if need > 0:
            if covered < need:
                unprotected += 1
                problems.append(
                    f"UNPROTECTED: {':'.join(key)} position {position}: its brackets with a stop "
                    f"({', '.join('#' + str(link['entry_order_id']) for link in stopped)}) hold "
                    f"{need}, working stops at the broker cover {covered}"
                )
            else:
                protected += 1
    figures = {
        "brackets": len(links),
        "active_brackets": sum(1 for link in links if link["status"] == "active"),
        "protected_positions": protected,
        "unprotected_positions": unprotected,
        "bracket_exits": sum(len(v) for v in exits.values()),
    }
    return problems, figures


def audit_checkpoint(stem: Path) -> tuple[list[str], dict]:
    """A bracket-mode worker's checkpoint (its journal copy and the broker's book when it
    had restarted and settled): the usual audit and the brackets' promises."""
    meta = json.loads(stem.with_suffix(".json").read_text())
    truth = truth_from_book(meta["book"])
    db_path = stem.with_suffix(".db")
    problems, figures = audit(db_path, truth, strict=True)
    more, bracket_figures = bracket_problems(db_path, truth)
    problems += more
    if not meta["settled"]:
        problems.append("the OMS and its brackets did not settle within 10 s of the restart")
    if not meta["consistent"]:
        problems.append("the broker's book changed while the journal was copied")
    return problems, {**figures, **bracket_figures, "settle_seconds": meta["seconds"]}
