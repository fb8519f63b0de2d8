"""The price chart (issue 17): see chart_probe.py. 100,000 candles: pan / zoom frame
times against a bare pyqtgraph candle plot of the same data in the same process (the
floor). Target: frame p99 < 16 ms. Median of the runs (a fresh process each). The chart
and the ladder under streaming load: bench_tick_to_screen."""

from __future__ import annotations

from tests.bench.common import log, median_of_runs, run_probe, runs, scaled

FRAME_BUDGET_MS = 16.0


def skip_reason() -> str | None:
    from tests.bench.common import window_missing

    return window_missing()


def run() -> dict:
    n_candles = scaled(100_000, 5_000)
    results = []
    for r in range(runs()):
        results.append(run_probe("tests.bench.chart_probe", n_candles))
        x = results[-1]
        log(
            f"chart run {r + 1}: frame p99 {x['ours_frame_p99_ms']:.1f} ms "
            f"(bare {x['bare_frame_p99_ms']:.1f})"
        )
    m = median_of_runs(results)
    m["pass_frame"] = m["ours_frame_p99_ms"] < FRAME_BUDGET_MS
    return m
