"""Benchmark suite runner: each benchmark in its own process, one table, one JSON file.

    uv run python -m tests.bench                     # everything, full size (~6 min)
    uv run python -m tests.bench --scale 0.1 --runs 1 --only order_path,fills
    uv run pytest tests/bench -m bench -s            # the same, as a test that fails on a missed target

Writes bench-results.json at the repo root (git-ignored) unless --json says otherwise.
Exit status: 0 when every target is met, 1 when one is missed or a benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.common import REPO, bench_tmp, filesystem_of, machine

BENCHES = (
    "order_path",
    "fills",
    "reconcile",
    "kill_switch",
    "memory",
    "blotter_peer",
    "startup",
    "window",
    "option_chains",
    "tick_to_screen",
    "chart",
)


def _git() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=20
            ).stdout.strip()
        except Exception:  # noqa: BLE001
            return "?"

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "desktop_oms")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "desktop_oms_modified_files": len(dirty.splitlines()) if dirty and dirty != "?" else 0,
    }


def run_bench(name: str, env: dict) -> dict:
    with tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "tests.bench.worker", name, out], cwd=REPO, env=env
        )
        try:
            payload = json.loads(Path(out).read_text() or "{}")
        except ValueError:
            payload = {}
        if not payload:
            payload = {
                "ok": False,
                "error": f"worker exited with {proc.returncode} and no result",
                "seconds": time.perf_counter() - t,
            }
        return payload
    finally:
        try:
            os.remove(out)
        except OSError:
            pass


# ------------------------------------------------------------------ table rows


def _f(value, unit: str = "", digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}"


def _ok(flag) -> str:
    return "n/a" if flag is None else ("PASS" if flag else "FAIL")


def rows_for(name: str, r: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(benchmark, figure, value, floor / peer, target, result)."""
    rows = []
    if name == "order_path":
        fl = r["floor_commit_p50_ms"]
        for mode in ("marketable", "resting", "working"):
            m = r[mode]
            fl = m["floor_p50_ms"]
            label = f"order path, {mode} ({r['orders']:,} orders)"
            rows.append(
                (
                    label,
                    "place_order->ack p50",
                    _f(m["ack_p50_ms"], " ms", 3),
                    f"commit {_f(fl, ' ms', 3)} x {m['commits_per_order']:.0f} commits = {_f(fl * m['commits_per_order'], ' ms', 3)} (ratio {m['p50_ratio_to_floor_per_commit']:.1f}x)",
                    f"<= {_f(m['p50_budget_ms'], ' ms', 3)} (3x)",
                    _ok(m["pass_p50"]),
                )
            )
            rows.append(
                (
                    label,
                    "place_order->ack p99",
                    _f(m["ack_p99_ms"], " ms", 3),
                    f"commit p99 {_f(m['floor_p99_ms'], ' ms', 3)}",
                    "< 5 ms",
                    _ok(m["pass_p99"]),
                )
            )
            rows.append(
                (
                    label,
                    "click->broker p50 / p99",
                    f"{_f(m['to_broker_p50_ms'], '', 3)} / {_f(m['to_broker_p99_ms'], ' ms', 3)}",
                    "",
                    "info",
                    "",
                )
            )
        w = r["working"]
        bands = sorted(
            (int(k.split("_")[2]), v)
            for k, v in w.items()
            if k.startswith("p50_ms_") and k.endswith("_working")
        )
        if bands:
            rows.append(
                (
                    f"order path, orders left working (to {r['orders']:,})",
                    "p50 by orders working",
                    " / ".join(
                        f"{n:,}: {_f(v, '', 3)}" for n, v in bands[:: max(1, len(bands) // 5)]
                    )
                    + " ms",
                    "p50 with 0 working",
                    "4,000 working within 10% of 0",
                    _ok(w.get("pass_flat")),
                )
            )
    elif name == "fills":
        rows.append(
            (
                f"fill throughput ({r['fills']:,} fills)",
                "fills applied/s",
                _f(r["fills_per_s"], "/s", 0),
                f"executemany {_f(r['floor_fills_per_s'], '/s', 0)} (ours {r['ratio_floor_to_ours']:.0f}x slower); raw txn/fill {_f(r['floor_txn_per_fill_fills_per_s'], '/s', 0)}",
                ">= 20,000/s",
                _ok(r["pass"]),
            )
        )
    elif name == "reconcile":
        label = f"reconciliation ({r['positions']:,} pos, {r['orders']:,} orders, {r['open_orders']:,} open)"
        rows.append(
            (
                label,
                "cycle (reconcile+poll)",
                _f(r["cycle_ms"], " ms"),
                f"reconcile {_f(r['reconcile_ms'], ' ms')} + poll {_f(r['poll_ms'], ' ms')}",
                "< 100 ms",
                _ok(r["pass_cycle"]),
            )
        )
        rows.append(
            (
                label,
                "longest loop block",
                _f(r["longest_block_ms"], " ms"),
                f"lag sampler max {_f(r['lag_sampler_max_ms'], ' ms')}",
                "<= 16 ms",
                _ok(r["pass_block"]),
            )
        )
    elif name == "kill_switch":
        variants = [(r, "")]
        if isinstance(r.get("with_options"), dict):
            variants.append((r["with_options"], ", 2 option positions in 2 slices each"))
        for v, extra in variants:
            label = (
                f"kill switch ({v['orders']} orders, {v['positions']} positions{extra}, 10 req/s)"
            )
            rows.append(
                (
                    label,
                    "halt latency",
                    _f(v["halt_ms"], " ms", 3),
                    f"refused before first yield: {v['halt_before_first_yield']}",
                    "< 10 ms",
                    _ok(v["pass_halt"]),
                )
            )
            rows.append(
                (
                    label,
                    "time to verified flat",
                    _f(v["total_s"], " s"),
                    f"{v['requests']} req / 10/s = {_f(v['floor_s'], ' s', 1)} (ratio {v['ratio_to_floor']:.2f}; bucket min {_f(v['bucket_min_s'], ' s', 1)})",
                    "<= 1.15x floor",
                    _ok(v["pass_total"]),
                )
            )
    elif name == "memory":
        rows.append(
            (
                f"memory ({r['rows_in_blotter']:,} orders in blotter; chain, chart, ladder open)",
                "RSS loaded (peak)",
                f"{_f(r['rss_loaded_mb'], ' MB', 0)} ({_f(r['rss_peak_mb'], ' MB', 0)})",
                f"after imports {_f(r['rss_imports_mb'], ' MB', 0)}; OMS started {_f(r['rss_oms_started_mb'], ' MB', 0)}; blotter loaded {_f(r.get('rss_blotter_loaded_mb'), ' MB', 0)}",
                "< 300 MB",
                _ok(r["pass"]),
            )
        )
    elif name == "blotter_peer":
        peer = (
            f"vn.py {r.get('peer_vnpy', '?')} OrderMonitor {_f(r.get('peer_s'), ' s')}"
            if "peer_s" in r
            else f"peer failed: {r.get('peer_error', '')[:80]}"
        )
        rows.append(
            (
                f"blotter vs peer ({r['events']:,} events)",
                "time to all on screen",
                _f(r["ours_s"], " s", 3),
                f"{peer} (speedup {_f(r.get('speedup'), 'x', 0)})",
                ">= 10x faster",
                _ok(r.get("pass")),
            )
        )
    elif name == "startup":
        rows.append(
            (
                "start-up (offscreen)",
                "process -> window ready",
                _f(r["app_s"], " s"),
                f"bare PySide6 window {_f(r['floor_s'], ' s')} (ratio {r['ratio_to_floor']:.1f}x)",
                "ratio reported",
                "-",
            )
        )
        rows.append(
            (
                "start-up (offscreen)",
                "process -> window ready, P&L and price charts built",
                _f(r.get("charts_s"), " s"),
                f"window ready {_f(r['app_s'], ' s')}; first run ever {_f(r['first_run_s'], ' s')}",
                "< 1.5 s",
                _ok(r["pass_abs"]),
            )
        )
    elif name == "window":
        label = f"window under load ({r['rows_in_blotter']:,} orders, {r['positions']} pos, {r['duration_s']:.0f} s)"
        rows.append(
            (
                label,
                "loop lag p99 (5 ms sampler)",
                _f(r["lag_p99_ms"], " ms"),
                f"p50 {_f(r['lag_p50_ms'], ' ms')}; {_f(r['ticks_per_s'], ' ticks/s', 0)}, {_f(r['updates_per_s'], ' upd/s', 0)}",
                "< 16 ms",
                _ok(r["pass_p99"]),
            )
        )
        rows.append(
            (
                label,
                "loop lag max",
                _f(r["lag_max_ms"], " ms"),
                f"longest block {_f(r['longest_block_ms'], ' ms')}; CPU {r['cpu_util'] * 100:.0f}%",
                "< 50 ms",
                _ok(r["pass_max"]),
            )
        )
    elif name == "tick_to_screen":
        label = (
            f"tick to screen ({r['streamed']:,.0f} instruments streaming, "
            f"{_f(r['ticks_per_s'], ' ticks/s', 0)} + NIFTY 5/s; watch, chain, chart, ladder open)"
        )
        rows.append(
            (
                label,
                "tick -> watch cell painted p50 / p99",
                f"{_f(r['tick_to_paint_p50_ms'], '', 1)} / {_f(r['tick_to_paint_p99_ms'], ' ms', 1)}",
                f"coalescing interval {_f(r['coalescing_interval_ms'], ' ms', 0)} + one frame = {_f(r['p50_budget_ms'], ' ms', 0)}; {r['probes_painted']:.0f} probes",
                "p50 <= interval + frame; p99 <= 100 ms",
                f"{_ok(r['pass_p50'])} / {_ok(r['pass_p99'])}",
            )
        )
        rows.append(
            (
                label,
                "tick -> candle / ladder painted p50 / p99",
                f"candle {_f(r['candle_tick_to_paint_p50_ms'], '', 1)} / "
                f"{_f(r['candle_tick_to_paint_p99_ms'], ' ms', 1)}; ladder "
                f"{_f(r['ladder_tick_to_paint_p50_ms'], '', 1)} / "
                f"{_f(r['ladder_tick_to_paint_p99_ms'], ' ms', 1)}",
                f"refresh {_f(r['chart_refresh_ms'], ' ms', 0)} + one frame = {_f(r['views_p50_budget_ms'], ' ms', 0)}",
                "p50 <= refresh + frame; p99 <= 100 ms",
                f"{_ok(r['pass_views_p50'])} / {_ok(r['pass_views_p99'])}",
            )
        )
        rows.append(
            (
                label,
                "loop lag p99 / max",
                f"{_f(r['lag_p99_ms'], '', 1)} / {_f(r['lag_max_ms'], ' ms', 1)}",
                f"app received {_f(r['app_ticks_per_s'], ' ticks/s', 0)}; process CPU {_f(r['cpu_util'] * 100, '%', 0)}",
                "< 16 / < 50 ms",
                _ok(r["pass_lag"]),
            )
        )
    elif name == "option_chains":
        label = (
            f"option chains ({r['options_listed']:,} options, {r['underlyings']} indices, "
            f"{r['duration_s']:.0f} s)"
        )
        rows.append(
            (
                label,
                "loop lag p99 (5 ms sampler)",
                _f(r["lag_p99_ms"], " ms"),
                f"max {_f(r['lag_max_ms'], ' ms')}; {_f(r['updates_per_s'], ' price batches/s', 1)}",
                "< 16 ms",
                _ok(r["pass_p99"]),
            )
        )
        rows.append(
            (
                label,
                "CPU per index update",
                f"reprice {_f(r['reprice_ms_per_update'], ' ms')}, whole batch {_f(r['batch_ms_per_update'], ' ms')}",
                f"{_f(r['quotes_per_update'], ' quotes', 0)} per update; process CPU {_f(r['process_cpu_pct'], '%', 0)}",
                "info",
                "",
            )
        )
        rows.append(
            (
                label,
                "IV + Greeks, one chain (82 options)",
                _f(r["greeks_ms_per_chain"], " ms"),
                "",
                "info",
                "",
            )
        )
    elif name == "chart":
        rows.append(
            (
                f"price chart ({r['candles']:,.0f} candles)",
                "pan / zoom frame p50 / p99",
                f"{_f(r['ours_frame_p50_ms'], '', 1)} / {_f(r['ours_frame_p99_ms'], ' ms', 1)}",
                f"bare pyqtgraph candles {_f(r['bare_frame_p50_ms'], '', 1)} / "
                f"{_f(r['bare_frame_p99_ms'], ' ms', 1)} ({r['frames']:.0f} frames)",
                "p99 < 16 ms",
                _ok(r["pass_frame"]),
            )
        )
    return rows


def passes(name: str, r: dict) -> list[bool | None]:
    if name == "order_path":
        modes = ("marketable", "resting", "working")
        return (
            [r[m]["pass_p50"] for m in modes]
            + [r[m]["pass_p99"] for m in modes]
            + [r["working"].get("pass_flat")]
        )
    keys = {
        "fills": ["pass"],
        "reconcile": ["pass_cycle", "pass_block"],
        "kill_switch": ["pass_halt", "pass_total"],
        "memory": ["pass"],
        "blotter_peer": ["pass"],
        "startup": ["pass_abs"],
        "window": ["pass_p99", "pass_max"],
        "option_chains": ["pass_p99"],
        "tick_to_screen": ["pass_p50", "pass_p99", "pass_views_p50", "pass_views_p99", "pass_lag"],
        "chart": ["pass_frame"],
    }[name]
    return [r.get(k) for k in keys]


def render(rows: list[tuple]) -> str:
    head = (
        "benchmark",
        "figure",
        "value",
        "floor / peer (same run, same machine)",
        "target",
        "result",
    )
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join([line, sep, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("OMS_BENCH_SCALE", "1") or 1),
        help="size factor (dev runs: 0.1); default 1 = the issue's sizes",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("OMS_BENCH_RUNS", "3")),
        help="runs per benchmark (figures are medians); default 3",
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument(
        "--json", default=str(REPO / "bench-results.json"), help="where to write the results"
    )
    args = parser.parse_args(argv)
    selected = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHES)
    unknown = set(selected) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    env = {
        **os.environ,
        "OMS_BENCH_SCALE": str(args.scale),
        "OMS_BENCH_RUNS": str(args.runs),
        "QT_QPA_PLATFORM": "offscreen",
    }
    info = machine()
    info["bench_tmp"] = filesystem_of(bench_tmp() or tempfile.gettempdir())
    started = datetime.now(UTC)
    results: dict = {}
    rows: list[tuple] = []
    verdicts: list[bool | None] = []
    for name in selected:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        payload = run_bench(name, env)
        results[name] = payload
        if not payload.get("ok"):
            rows.append(
                (
                    name,
                    "ERROR",
                    "-",
                    payload.get("error", "").strip().splitlines()[-1][:100]
                    if payload.get("error")
                    else "",
                    "",
                    "ERROR",
                )
            )
            verdicts.append(False)
            print(payload.get("error", ""), file=sys.stderr)
        elif "skipped" in payload:
            rows.append((name, "SKIPPED", "-", payload["skipped"][:100], "", "SKIP"))
        else:
            rows.extend(rows_for(name, payload["result"]))
            verdicts.extend(passes(name, payload["result"]))
        print(
            f"[bench] {name} done in {payload.get('seconds', 0):.0f} s", file=sys.stderr, flush=True
        )
    table = render(rows)
    doc = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": "uv run python -m tests.bench "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "scale": args.scale,
        "runs": args.runs,
        "machine": info,
        "git": _git(),
        "table": table,
        "results": results,
    }
    Path(args.json).write_text(json.dumps(doc, indent=2, default=str))
    print()
    print(
        f"Machine: {info['nproc']} x {info['cpu']}, Python {info['python']}, SQLite {info['sqlite']}, PySide6 {info.get('pyside6', '?')}; journal on {info['bench_tmp']}; scale {args.scale}, {args.runs} run(s) each (medians)"
    )
    print(table)
    print(f"\nResults: {args.json}")
    failed = [v for v in verdicts if v is False]
    return 1 if failed else 0
