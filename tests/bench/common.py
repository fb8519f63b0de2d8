"""Shared pieces of the benchmark suite: sizes, statistics, floors, loop-block and
loop-lag meters, synthetic instruments, a bulk journal builder and a small OMS rig.

Nothing here is imported by the default test run (the suite is started by
`uv run python -m tests.bench`, see tests/bench/README.md).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------- sizes


def scale() -> float:
    return float(os.environ.get("OMS_BENCH_SCALE", "1") or 1)


def scaled(full: int, minimum: int = 1) -> int:
    """`full` times OMS_BENCH_SCALE (at least `minimum`)."""
    return max(minimum, int(round(full * scale())))


def runs(default: int = 3) -> int:
    return max(1, int(os.environ.get("OMS_BENCH_RUNS", default)))


# ---------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Iterable[float]) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def median_of_runs(run_results: list[dict]) -> dict:
    """Median, key by key, of the numeric figures of several runs (others from run 1)."""
    merged: dict = {}
    for key, first in run_results[0].items():
        if isinstance(first, bool) or not isinstance(first, (int, float)):
            merged[key] = first
            continue
        merged[key] = median(r[key] for r in run_results if key in r)
    merged["runs"] = len(run_results)
    merged["per_run"] = run_results
    return merged


# ---------------------------------------------------------------------------- machine


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    info = {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": [round(x, 2) for x in load],
    }
    try:
        import PySide6
        from PySide6 import QtCore

        info["pyside6"] = PySide6.__version__
        info["qt"] = QtCore.qVersion()
    except Exception:  # noqa: BLE001 - informational
        pass
    try:
        import sqlalchemy

        info["sqlalchemy"] = sqlalchemy.__version__
    except Exception:  # noqa: BLE001
        pass
    return info


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc/self/status."""
    cur = peak = math.nan
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


# ---------------------------------------------------------------------------- floors


def _fresh_sqlite(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(str(path) + suffix)
        except FileNotFoundError:
            pass
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA busy_timeout=5000")
    return con


class CommitFloor:
    """The order path's floor, sampled in small bursts between the OMS's own orders so both
    see the same disk (other processes' I/O comes and goes): one raw sqlite3
    BEGIN IMMEDIATE; INSERT; COMMIT, WAL, synchronous=FULL, in the same directory."""

    def __init__(self, directory: Path) -> None:
        self.con = _fresh_sqlite(directory / "floor_commit.db")
        self.con.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, client_order_id TEXT UNIQUE, symbol TEXT, "
            "side TEXT, quantity INTEGER, price TEXT, status TEXT, created_at TEXT)"
        )
        self.lat: list[float] = []
        self._i = 0
        self.sample(20, record=False)

    def sample(self, k: int, record: bool = True) -> None:
        now = datetime.now(UTC).isoformat()
        for _ in range(k):
            self._i += 1
            t = time.perf_counter()
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(
                "INSERT INTO t (client_order_id, symbol, side, quantity, price, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"FLOOR{self._i:012d}", "RELIANCE", "BUY", 1, "2450.00", "PENDING", now),
            )
            self.con.execute("COMMIT")
            if record:
                self.lat.append(time.perf_counter() - t)

    def close(self) -> None:
        self.con.close()


def sqlite_commit_floor(directory: Path, n: int = 2000) -> dict:
    """One raw sqlite3 INSERT+COMMIT (BEGIN IMMEDIATE; INSERT; COMMIT), WAL,
    synchronous=FULL, on the same disk as the benchmark's journal: latency per commit."""
    con = _fresh_sqlite(directory / "floor_commit.db")
    con.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, client_order_id TEXT UNIQUE, symbol TEXT, "
        "side TEXT, quantity INTEGER, price TEXT, status TEXT, created_at TEXT)"
    )
    lat = []
    now = datetime.now(UTC).isoformat()
    for i in range(n + 50):
        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO t (client_order_id, symbol, side, quantity, price, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (f"FLOOR{i:012d}", "RELIANCE", "BUY", 1, "2450.00", "PENDING", now),
        )
        con.execute("COMMIT")
        if i >= 50:
            lat.append(time.perf_counter() - t)
    con.close()
    return {"p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3, "n": n}


# ---------------------------------------------------------------------------- loop meters


class BlockMonitor:
    """Times every asyncio callback (a task step is one): the longest synchronous block.

    Patches asyncio.events.Handle._run while active (qasync runs handles through it too).
    """

    def __init__(self) -> None:
        self.max_s = 0.0
        self.max_what = ""
        self.count = 0
        self.over_16ms = 0
        self._orig = None
        self.durations: list[float] | None = None
        self.slow: dict[str, int] = {}  # owner -> callbacks longer than 8 ms

    def __enter__(self) -> BlockMonitor:
        import asyncio.events as ev

        orig = ev.Handle._run
        self._orig = orig
        monitor = self

        def _run(handle):  # noqa: ANN001
            t = time.perf_counter()
            try:
                return orig(handle)
            finally:
                d = time.perf_counter() - t
                monitor.count += 1
                if d > 0.016:
                    monitor.over_16ms += 1
                if monitor.durations is not None:
                    monitor.durations.append(d)
                if d > 0.008:
                    what = _describe(handle)
                    monitor.slow[what] = monitor.slow.get(what, 0) + 1
                    if d > monitor.max_s:
                        monitor.max_s = d
                        monitor.max_what = what
                elif d > monitor.max_s:
                    monitor.max_s = d
                    monitor.max_what = _describe(handle)

        ev.Handle._run = _run
        return self

    def reset(self) -> None:
        self.max_s = 0.0
        self.max_what = ""
        self.count = 0
        self.over_16ms = 0
        self.slow = {}

    def __exit__(self, *exc) -> None:
        import asyncio.events as ev

        ev.Handle._run = self._orig


def _describe(handle) -> str:  # noqa: ANN001
    try:
        cb = handle._callback
        owner = getattr(cb, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            code = getattr(coro, "cr_code", None)
            name = code.co_qualname if code is not None else repr(coro)
            return f"task {owner.get_name()}: {name}"[:200]
        return repr(cb)[:200]
    except Exception:  # noqa: BLE001
        return "?"


class LagSampler:
    """A task that sleeps `interval` and records how late it wakes (loop lag)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None
        self.recording = True

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.interval)
            if self.recording:
                self.lags.append(max(0.0, time.perf_counter() - t - self.interval))

    def start(self) -> LagSampler:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lag-sampler")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def summary(self) -> dict:
        lags = self.lags
        return {
            "samples": len(lags),
            "p50_ms": percentile(lags, 50) * 1e3,
            "p99_ms": percentile(lags, 99) * 1e3,
            "max_ms": (max(lags) if lags else math.nan) * 1e3,
        }


class CommitCounter:
    """Counts COMMITs on a SQLAlchemy engine (ConnectionEvents.commit)."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.count = 0
        self._engine = engine
        event.listen(engine, "commit", self._on_commit)

    def _on_commit(self, _conn) -> None:  # noqa: ANN001
        self.count += 1

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._engine, "commit", self._on_commit)


# ---------------------------------------------------------------------------- instruments


def synthetic_instruments(n: int, start_price: Decimal = Decimal("100")):
    """An InstrumentStore of n NSE equities BSYM0000.. (tick 0.05, lot 1) with last prices."""
    from desktop_oms.domain import Instrument
    from desktop_oms.marketdata.instruments import InstrumentStore

    items = [
        Instrument("NSE", f"BSYM{i:04d}", 9_000_000 + i, f"Bench {i}", Decimal("0.05"), 1)
        for i in range(n)
    ]
    prices = {i.key: start_price + Decimal(k % 900) for k, i in enumerate(items)}
    return InstrumentStore(items, prices)


async def shown_app(
    data_dir: Path,
    instruments,
    load_timeout: float = 300.0,
    *,
    derivatives=None,
    prices: dict | None = None,
):
    """The probes' set-up: an in-memory PaperBroker on `instruments` (their last prices
    set, and `prices`; `derivatives`: paper mode's futures and options priced from the
    indices) and the real Application on it (simulated market off), its window shown at
    1920x1080 and done loading. Returns (app, broker); the caller stops the app."""
    from desktop_oms.app import Application
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.config import Settings
    from desktop_oms.risk.limits import RiskLimits

    broker = PaperBroker(
        state_path=None, instruments=instruments, funds=Decimal("1e15"), derivatives=derivatives
    )
    broker.set_last_prices({**instruments.last_prices(), **(prices or {})})
    settings = Settings(
        data_dir=data_dir,
        broker="paper",
        simulate_market=False,
        risk=RiskLimits(capital=Decimal("1e12"), auto_square_off=False),
    )
    app = Application(settings, broker=broker)
    await app.start()
    window = app.window
    window.resize(1920, 1080)
    window.show()
    load_task = getattr(window, "load_task", None)
    if load_task is not None:
        await asyncio.wait_for(asyncio.shield(load_task), load_timeout)
    return app, broker


def off_market_buy(price: Decimal, tick: Decimal = Decimal("0.05")) -> Decimal:
    """A buy limit ~10% under the market, on the tick (rests at the paper broker)."""
    raw = price * Decimal("0.9")
    return (raw / tick).to_integral_value() * tick


# ---------------------------------------------------------------------------- journal


T0 = datetime.now(UTC).replace(hour=3, minute=45, second=0, microsecond=0)  # 09:15 IST today


def bulk_journal(
    db,
    n_orders: int,
    *,
    active_every: int = 100,
    symbols: Sequence[str] = (
        "RELIANCE",
        "TCS",
        "INFY",
        "HDFCBANK",
        "ICICIBANK",
        "SBIN",
        "ITC",
        "LT",
        "AXISBANK",
        "KOTAKBANK",
    ),
    prefix: str = "BNCH",
    batch: int = 10_000,
    days: int = 1,
) -> dict:
    """Write a journal straight into the tables (what n OMS orders leave behind): n orders
    (1 in `active_every` still OPEN, the rest FILLED), each FILLED one with its trade and 3
    events (CREATED, ACKNOWLEDGED, FILL), each open one with 2 events; spread evenly over
    `days` trading sessions ending today (09:15-15:30 IST), oldest first. Open orders are
    all on the last day."""
    from desktop_oms.domain import (
        Order,
        OrderSide,
        OrderStatus,
        OrderType,
        Product,
        Validity,
        Variety,
    )
    from desktop_oms.storage.journal_rows import _order_values
    from desktop_oms.storage.tables import order_events, orders, trades

    names = [n for n in Order.__slots__ if n != "id"]
    counts = {"orders": 0, "events": 0, "trades": 0, "active": 0}
    next_id = 1
    for start in range(0, n_orders, batch):
        order_rows, event_rows, trade_rows = [], [], []
        for i in range(start, min(n_orders, start + batch)):
            oid = next_id
            next_id += 1
            per_day = -(-n_orders // days)
            day, nth = divmod(i, per_day)
            active = active_every and i % active_every == 0 and day == days - 1
            created = (
                T0
                - timedelta(days=days - 1 - day)
                + timedelta(microseconds=int(22_500e6 * nth / per_day))
            )
            price = Decimal(1000 + (i % 500)) + Decimal("0.05") * (i % 20)
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            order = Order(
                id=oid,
                client_order_id=f"{prefix}{i:013d}",
                broker_order_id=f"26{i:016d}",
                symbol=symbols[i % len(symbols)],
                exchange="NSE",
                side=side,
                order_type=OrderType.LIMIT,
                product=Product.MIS,
                validity=Validity.DAY,
                variety=Variety.REGULAR,
                quantity=1 + i % 50,
                price=price,
                trigger_price=None,
                status=OrderStatus.OPEN if active else OrderStatus.FILLED,
                created_at=created,
                updated_at=created + timedelta(milliseconds=50),
                filled_quantity=0 if active else 1 + i % 50,
                average_price=None if active else price,
            )
            values = _order_values(order, names)
            values["id"] = oid
            order_rows.append(values)
            event_rows.append(
                _ev(oid, created, "CREATED", None, "PENDING", "journaled before sending")
            )
            event_rows.append(_ev(oid, created, "ACKNOWLEDGED", "PENDING", "SUBMITTED", "ack"))
            if active:
                counts["active"] += 1
            else:
                event_rows.append(_ev(oid, created, "FILL", "SUBMITTED", "FILLED", "filled"))
                trade_rows.append(
                    {
                        "trade_id": f"{i:012d}",
                        "order_id": oid,
                        "broker_order_id": order.broker_order_id,
                        "symbol": order.symbol,
                        "exchange": "NSE",
                        "product": "MIS",
                        "side": side.value,
                        "quantity": order.quantity,
                        "price": price,
                        "multiplier": Decimal(1),
                        "realized_pnl": Decimal(0),
                        "timestamp": created,
                        "recorded_at": created,
                    }
                )
        with db.write() as conn:
            conn.execute(orders.insert(), order_rows)
            conn.execute(order_events.insert(), event_rows)
            if trade_rows:
                conn.execute(trades.insert(), trade_rows)
        counts["orders"] += len(order_rows)
        counts["events"] += len(event_rows)
        counts["trades"] += len(trade_rows)
    return counts


def _ev(order_id, at, kind, old, new, reason) -> dict:  # noqa: ANN001
    return {
        "order_id": order_id,
        "at": at,
        "event_type": kind,
        "old_status": old,
        "new_status": new,
        "reason": reason,
        "details": None,
    }


# ---------------------------------------------------------------------------- OMS rig


@dataclass
class Rig:
    """Database + PaperBroker + PositionManager + OrderManager (as in the integration Harness)."""

    path: Path
    broker: object
    instruments: object
    synchronous: str = "FULL"
    monitor_interval: float = 3600.0
    reconcile_interval: float = 3600.0
    db: object = None
    events: object = None
    pm: object = None
    om: object = None
    extra: dict = field(default_factory=dict)

    async def open(self) -> Rig:
        from desktop_oms.oms import EventBus, OrderManager, PositionManager
        from desktop_oms.storage import Database

        self.db = await Database.open(self.path / "oms.db", synchronous=self.synchronous)
        self.events = EventBus()
        self.pm = PositionManager(self.db, self.events)
        extra = {}
        if "charges" in inspect.signature(OrderManager).parameters:
            extra["charges"] = _charges(self.instruments)  # as the Application wires it
        self.om = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.pm,
            events=self.events,
            instruments=self.instruments,
            monitor_interval=self.monitor_interval,
            reconcile_interval=self.reconcile_interval,
            **extra,
        )
        await self.om.start()
        return self

    async def close(self) -> None:
        await self.om.stop()
        await self.db.close()

    async def reopen(self, synchronous: str | None = None) -> Rig:
        await self.close()
        if synchronous:
            self.synchronous = synchronous
        return await self.open()


def _charges(instruments):  # noqa: ANN001
    try:
        from desktop_oms.risk.charges.calculator import ChargesCalculator

        return ChargesCalculator.bundled(instruments)
    except Exception:  # noqa: BLE001 - no charges schedule in this tree
        return None


def limit_request(symbol: str, side, quantity: int, price: Decimal, exchange: str = "NSE"):  # noqa: ANN001
    from desktop_oms.domain import OrderRequest, OrderType, Product, Validity

    return OrderRequest(
        symbol=symbol,
        exchange=exchange,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=price,
        product=Product.MIS,
        validity=Validity.DAY,
    )


@contextmanager
def gc_collected():
    gc.collect()
    yield


def dump(obj: object) -> str:
    return json.dumps(obj, default=str, sort_keys=True)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_tmp() -> str | None:
    """Where benchmark journals go: OMS_BENCH_TMP, else the system temp dir (say which disk
    in the report: the floor is measured in the same place)."""
    path = os.environ.get("OMS_BENCH_TMP")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
    return path or None


def filesystem_of(path: str) -> str:
    """The mount (device, fs type) holding `path`, from /proc/mounts."""
    try:
        best = ("", "?", "?")
        real = os.path.realpath(path)
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, fstype = line.split()[:3]
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                best = (mnt, dev, fstype)
        return f"{best[1]} ({best[2]}) at {best[0]}"
    except OSError:
        return "?"


async def until(predicate, timeout: float, what: str, state=None) -> None:  # noqa: ANN001
    """Wait for `predicate()` (a probe's set-up); raise naming `what` (and `state()`)."""
    end = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > end:
            seen = f" ({state()})" if state is not None else ""
            raise RuntimeError(f"{what} did not happen in {timeout:.0f} s{seen}")
        await asyncio.sleep(0.05)


async def open_chain_and_chart(window, charted: tuple[str, str]):  # noqa: ANN001
    """What a trader keeps open besides the blotter and the watch: the option chain (its
    first underlying's nearest expiry, streaming) and the price chart of `charted` with
    its history, the depth ladder following it. Returns (chain panel, chart panel)."""
    options = window.options_ui
    options.show_chain()
    chain = options.chain
    await until(lambda: chain.model.rowCount() > 0, 60, "the option chain")
    chart = window.price_chart
    chart.build_now()
    window.show_instrument(*charted)
    window.chart_dock.raise_()
    await until(
        lambda: chart.series is not None and len(chart.series) > 0 and not chart.loading,
        120,
        "the chart's history",
        lambda: (
            f"key {chart.key} loading {chart.loading} problem {chart.load_problem} "
            f"series {None if chart.series is None else len(chart.series)}"
        ),
    )
    return chain, chart


def run_probe(module: str, *args, timeout: float = 1800, cwd: Path | None = None) -> dict:
    """A probe module in a fresh process (offscreen Qt): its last line of output, parsed
    as JSON. A failing probe raises with the end of its error output."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def window_missing() -> str | None:
    """Why the window benchmarks cannot run (None: desktop_oms.ui.shell.main_window imports)."""
    try:
        import importlib.util

        if importlib.util.find_spec("desktop_oms.ui.shell.main_window") is None:
            return "desktop_oms/ui/shell/main_window.py does not exist yet"
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import desktop_oms.ui.shell.main_window  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return f"desktop_oms.ui.shell.main_window cannot be imported: {type(exc).__name__}: {exc}"
    return None
