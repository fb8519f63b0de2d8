"""Window under load: see window_load_probe.py. 100,000 orders in the blotter and 500
positions; 2,000 ticks/s and 200 order updates/s for 10 s; loop lag sampled every 5 ms.
Target: lag p99 < 16 ms, max < 50 ms. Median of the runs (a fresh process each)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.bench.common import bench_tmp, log, median_of_runs, run_probe, runs, scale, scaled


def skip_reason() -> str | None:
    from tests.bench.common import window_missing

    return window_missing()


def run() -> dict:
    n_orders = scaled(100_000, 2_000)
    n_positions = scaled(500, 50)
    duration = max(3.0, round(10.0 * min(1.0, scale()), 1))
    results = []
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-window-", dir=bench_tmp()) as tmp:
            results.append(
                run_probe(
                    "tests.bench.window_load_probe",
                    Path(tmp) / "data",
                    n_orders,
                    n_positions,
                    duration,
                )
            )
            x = results[-1]
            log(
                f"window run {r + 1}: lag p99 {x['lag_p99_ms']:.1f} ms, max {x['lag_max_ms']:.1f} ms, block {x['longest_block_ms']:.1f} ms"
            )
    m = median_of_runs(results)
    m["pass_p99"] = m["lag_p99_ms"] < 16
    m["pass_max"] = m["lag_max_ms"] < 50
    return m
