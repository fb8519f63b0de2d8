"""Memory: RSS with 100,000 orders loaded.

A data directory whose journal holds 100,000 orders over 20 sessions (5,000 a day: Kite
takes at most 5,000 orders a day; FILLED with their trade and 3 events each, except 50
OPEN ones today with 2 events; written straight into the tables) is
opened by the real composition root in a fresh process (`memory_probe`, offscreen Qt,
qasync): Application(Settings(data_dir, broker="paper", simulate_market=False)).start().
Then the blotter holds all 100,000 orders: the MainWindow's own blotter when
desktop_oms.ui.shell.main_window exists (window shown; if the window does not load the day's
orders itself, they are loaded into its blotter model), else a stand-in: OrdersModel in
a shown QTableView, reset with journal.list_orders() (what a blotter shows).
Then what a trader keeps open besides: the NIFTY option chain (nearest expiry,
streaming), the price chart of RELIANCE with its history, and the depth ladder.
RSS (VmRSS) after gc at each stage, and the peak (VmHWM). Target: < 300 MB.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from tests.bench.common import bench_tmp, bulk_journal, log, median_of_runs, run_probe, runs, scaled

DAYS = 20  # 100,000 orders = 20 sessions at Kite's cap of 5,000 orders a day


def build_data_dir(path: Path, n_orders: int) -> dict:
    from desktop_oms.storage import Database

    path.mkdir(parents=True, exist_ok=True)
    db = Database.open_sync(path / "oms.db")
    try:
        t = time.perf_counter()
        counts = bulk_journal(db, n_orders, days=DAYS)
        counts["build_s"] = time.perf_counter() - t
    finally:
        db.close_sync()
    return counts


def run() -> dict:
    n_orders = scaled(100_000, 2_000)
    results = []
    with tempfile.TemporaryDirectory(prefix="oms-bench-mem-", dir=bench_tmp()) as tmp:
        master = Path(tmp) / "master"
        counts = build_data_dir(master, n_orders)
        log(f"memory: journal with {counts['orders']} orders built in {counts['build_s']:.1f} s")
        for r in range(runs()):
            data = Path(tmp) / f"run{r}"
            shutil.copytree(master, data)
            results.append(run_probe("tests.bench.memory_probe", data, n_orders, timeout=900))
            log(
                f"memory run {r + 1}: {results[-1]['rss_loaded_mb']:.0f} MB ({results[-1]['blotter']})"
            )
            shutil.rmtree(data, ignore_errors=True)
    m = median_of_runs(results)
    m["journal"] = counts
    m["pass"] = m["rss_loaded_mb"] < 300 and all(r["rows_in_blotter"] == n_orders for r in results)
    return m
