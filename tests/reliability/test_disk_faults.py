"""Disk faults: the journal locked by another process, a full disk, a read-only data dir.

The rule under test: an order whose journal row could not be written is never sent, the
trader gets a clear error, and nothing is left half-written."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import OrderStatus
from desktop_oms.domain.events import BackgroundTaskFailed
from desktop_oms.oms import StorageError
from desktop_oms.storage import Database, DatabaseError, DatabaseLocked
from tests.helpers import limit, until
from tests.reliability.conftest import PLACE, Oms
from tests.reliability.crash_harness import check_after_kill

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process/file limits")


def digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative name -> sha256)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rows(db_path: Path, table: str) -> int:
    con = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
    finally:
        con.close()


def child_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


# ---------------------------------------------------------------------- locked by another process


HOLD_OMS = """
import sys, asyncio
from desktop_oms.storage import Database
db = Database.open_sync(sys.argv[1])
print("OPEN", flush=True)
sys.stdin.readline()
db.close_sync()
"""

HOLD_WRITE_LOCK = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("LOCKED", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


class Holder:
    """Another process holding the journal (`code` prints one line once it holds it)."""

    def __init__(self, code: str, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(self.proc.stderr.read())

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(10)


@posix_only
async def test_second_instance_is_refused_clearly_and_the_file_is_untouched(tmp_path):
    db = await Database.open(tmp_path / "oms.db")
    await db.close()
    holder = Holder(HOLD_OMS, tmp_path / "oms.db")
    try:
        before = digest(tmp_path)
        with pytest.raises(DatabaseLocked) as caught:
            await Database.open(tmp_path / "oms.db")
        assert "already in use" in str(caught.value) and str(tmp_path) in str(caught.value)
        assert digest(tmp_path) == before
    finally:
        holder.release()
    db = await Database.open(tmp_path / "oms.db")  # free again once the other one quit
    await db.close()


async def test_journal_locked_by_another_program_refuses_orders_and_loses_no_fill(
    tmp_path, instruments
):
    broker = PaperBroker(state_path=tmp_path / "paper.jsonl", instruments=instruments)
    broker.set_last_price("NSE", "INFY", Decimal("1500"))
    h = Oms(path=tmp_path, broker=broker, instruments=instruments)
    await h.open(db_options={"busy_timeout_ms": 200})  # the app waits 5 s for a lock
    try:
        resting = await h.om.place_order(limit("INFY", qty=3, price="1495"))
        holder = Holder(HOLD_WRITE_LOCK, tmp_path / "oms.db")
        try:
            orders_before = rows(tmp_path / "oms.db", "orders")
            with pytest.raises(StorageError, match="Order not sent") as caught:
                await h.om.place_order(limit("INFY", qty=1, price="1400"))
            assert "locked" in str(caught.value)
            assert [o.broker_order_id for o in await broker.orders()] == [resting.broker_order_id]
            assert rows(tmp_path / "oms.db", "orders") == orders_before
            broker.set_last_price("NSE", "INFY", Decimal("1494"))  # fills while locked
            await until(lambda: any(isinstance(e, BackgroundTaskFailed) for e in h.recorded), 5)
            assert (await h.om.get_order(resting.order_id)).filled_quantity == 0
        finally:
            holder.release()
        await until(lambda: h.om.sync.current(resting.order_id) is None, 5)
        order = await h.om.get_order(resting.order_id)
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 3
        assert (await h.pm.get_position("INFY")).quantity == 3
        await h.audit()
        check_after_kill(tmp_path / "oms.db", [])
    finally:
        await h.close()


# ---------------------------------------------------------------------- disk full


def fail_statement(db: Database, prefix: str):
    """Make the next statement starting with `prefix` fail as SQLite does on a full disk."""
    state = {"armed": True}

    def before(conn, cursor, statement, parameters, context, executemany):
        if state["armed"] and statement.lstrip().upper().startswith(prefix):
            state["armed"] = False
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(db.engine, "before_cursor_execute", before)
    return lambda: event.remove(db.engine, "before_cursor_execute", before)


@pytest.mark.parametrize("statement", ["INSERT INTO ORDERS", "INSERT INTO ORDER_EVENTS", "COMMIT"])
async def test_disk_full_on_the_journal_write_sends_nothing(kite_oms, statement):
    h = kite_oms
    if statement == "COMMIT":  # pysqlite commits through the driver, not a statement
        real = h.db.write

        def write():
            from contextlib import contextmanager

            @contextmanager
            def failing():
                with real() as conn:
                    yield conn
                    raise sqlite3.OperationalError("database or disk is full")

            return failing()

        h.db.write = write
        undo = lambda: setattr(h.db, "write", real)  # noqa: E731
    else:
        undo = fail_statement(h.db, statement)
    try:
        with pytest.raises(StorageError) as caught:
            await h.om.place_order(limit("INFY", qty=2, price="1490"))
    finally:
        undo()
    text = str(caught.value)
    assert text.startswith("Order not sent") and "disk is full" in text
    assert h.server.count("POST", PLACE) == 0  # the broker never saw it
    assert rows(h.path / "oms.db", "orders") == 0
    assert rows(h.path / "oms.db", "order_events") == 0
    assert await h.om.get_active_orders() == []
    ok = await h.om.place_order(limit("INFY", qty=2, price="1490"))  # space again: works
    assert ok.broker_order_id and h.server.count("POST", PLACE) == 1
    await h.audit()


@posix_only
def test_disk_full_for_real_refuses_orders_and_applies_the_fill_once_space_is_back(
    tmp_path, kite_server
):
    """RLIMIT_FSIZE in a child: real EFBIG from write(2) inside SQLite, not a mock."""
    kite = {
        "api_key": kite_server.api_key,
        "access_token": kite_server.access_token,
        "root": kite_server.root,
    }
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "disk_child.py"), "full", str(tmp_path), json.dumps(kite)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    drain.start()
    try:
        first = proc.stdout.readline().split()
        assert first[:1] == ["FULL"], "".join(errors)
        kite_server.book.fill(first[1], 4, "1490")
        proc.stdin.write("FILLED\n")
        proc.stdin.flush()
        refused = proc.stdout.readline().split(" ", 1)
        assert refused[0] == "REFUSED", f"{refused} {''.join(errors)[-3000:]}"
        message = json.loads(refused[1])
        assert message.startswith("StorageError: Order not sent"), message
        assert kite_server.count("POST", PLACE) == 1  # only the first order ever went out
        applied = proc.stdout.readline().split()
        assert applied[:3] == ["APPLIED", "FILLED", "4"], "".join(errors)[-3000:]
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rows(tmp_path / "oms.db", "trades") == 1
    assert rows(tmp_path / "oms.db", "orders") == 1  # the refused order left nothing behind
    check_after_kill(tmp_path / "oms.db", [])


# ---------------------------------------------------------------------- read-only data dir


def read_only_runner() -> list[str] | None:
    """A command prefix that runs the rest with the data dir (arg 1) mounted read-only."""
    unshare = shutil.which("unshare")
    if sys.platform != "linux" or unshare is None:
        return None
    user_ns = [] if os.geteuid() == 0 else ["-r"]
    probe = subprocess.run(
        [unshare, *user_ns, "-m", "--propagation", "private", "true"], capture_output=True
    )
    if probe.returncode != 0:
        return None
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return [unshare, *user_ns, "-m", "--propagation", "private", "sh", "-c", script, "sh"]


def start_read_only(data_dir: Path) -> str:
    runner = read_only_runner()
    if runner is None:
        pytest.skip("needs a mount namespace (unshare) to make the data dir read-only")
    result = subprocess.run(
        [
            *runner,
            str(data_dir),
            sys.executable,
            str(HERE / "disk_child.py"),
            "start",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    out = result.stdout.strip().splitlines()
    assert out, result.stderr
    return out[-1]


@posix_only
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "with-journal"])
async def test_read_only_data_dir_is_a_clear_start_error_and_nothing_is_written(tmp_path, existing):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if existing:
        db = await Database.open(data_dir / "oms.db")
        await db.close()
        (data_dir / "settings.toml").write_text('broker = "paper"\n')
    before = digest(data_dir)
    line = start_read_only(data_dir)
    assert digest(data_dir) == before  # nothing half-written
    assert line.startswith("ERROR "), line
    names, _, message = line[len("ERROR ") :].partition(" | ")
    assert str(data_dir) in message and "read-only" in message.lower(), message
    presented = gui_start_errors()
    assert presented & set(names.split(",")), f"{names} is not among {presented}: {message}"


@posix_only
def test_read_only_data_dir_error_names_the_folder(tmp_path):
    """The message names the folder and says it is read-only."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    before = digest(data_dir)
    line = start_read_only(data_dir)
    assert digest(data_dir) == before
    assert line.startswith("ERROR ") and str(data_dir) in line and "read-only" in line.lower(), line


def gui_start_errors() -> set[str]:
    """Exception names gui_runner.run_gui presents (a dialog) when app.start() fails."""
    source = (ROOT / "desktop_oms" / "app" / "gui_runner.py").read_text()
    match = re.search(
        r"await app\.start\(\)\s*\n\s*except\s*\(?([\w\s,.]+?)\)?\s*as\s+\w+:", source
    )
    assert match, "run_gui no longer catches start-up errors around app.start()"
    return {name.strip().rsplit(".", 1)[-1] for name in match.group(1).split(",")}


def test_the_gui_presents_database_errors_at_start():
    assert "DatabaseError" in gui_start_errors()
    assert issubclass(DatabaseLocked, DatabaseError)
