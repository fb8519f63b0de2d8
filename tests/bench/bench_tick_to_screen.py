"""Tick to screen: see tick_to_screen_probe.py. 3,000 instruments streaming (Kite's
per-connection maximum: the watchlist and the open option chain) at 2,000 ticks/s, NIFTY
moving 5 times a second, for 10 s, with the chart and the depth ladder open; a probe tick
every ~50 ms on a market watch row on screen, timed until the viewport paints it, and one
every 250 ms on the charted stock, timed until the candle and the ladder show it.
Targets (issue 19), for each of cell, candle and ladder: p50 <= its coalescing interval
+ one frame (16 ms), p99 <= 100 ms; loop lag p99 < 16 ms and max < 50 ms. Median of the
runs (a fresh process each)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.bench.common import bench_tmp, log, median_of_runs, run_probe, runs, scale, scaled

FRAME_MS = 16.0


def skip_reason() -> str | None:
    from tests.bench.common import window_missing

    return window_missing()


def run() -> dict:
    n = scaled(3000, 300)
    duration = max(3.0, round(10.0 * min(1.0, scale()), 1))
    results = []
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-tts-", dir=bench_tmp()) as tmp:
            results.append(
                run_probe(
                    "tests.bench.tick_to_screen_probe", Path(tmp) / "data", n, duration, timeout=900
                )
            )
            x = results[-1]
            log(
                f"tick to screen run {r + 1}: p50 / p99 cell {x['tick_to_paint_p50_ms']:.1f} / "
                f"{x['tick_to_paint_p99_ms']:.1f}, candle {x['candle_tick_to_paint_p50_ms']:.1f} / "
                f"{x['candle_tick_to_paint_p99_ms']:.1f}, ladder {x['ladder_tick_to_paint_p50_ms']:.1f} / "
                f"{x['ladder_tick_to_paint_p99_ms']:.1f} ms; lag p99 {x['lag_p99_ms']:.1f} ms, "
                f"max {x['lag_max_ms']:.1f} ms"
            )
    m = median_of_runs(results)
    budget = m["coalescing_interval_ms"] + FRAME_MS
    m["p50_budget_ms"] = budget
    m["pass_p50"] = m["tick_to_paint_p50_ms"] <= budget and not m["probes_never_painted"]
    m["pass_p99"] = m["tick_to_paint_p99_ms"] <= 100
    views_budget = max(m["chart_refresh_ms"], m["ladder_refresh_ms"]) + FRAME_MS
    m["views_p50_budget_ms"] = views_budget
    m["pass_views_p50"] = (
        m["candle_tick_to_paint_p50_ms"] <= views_budget
        and m["ladder_tick_to_paint_p50_ms"] <= views_budget
        and m["candle_painted"] > 0
        and m["ladder_painted"] > 0
    )
    m["pass_views_p99"] = (
        m["candle_tick_to_paint_p99_ms"] <= 100 and m["ladder_tick_to_paint_p99_ms"] <= 100
    )
    m["pass_lag"] = m["lag_p99_ms"] < 16 and m["lag_max_ms"] < 50
    return m
