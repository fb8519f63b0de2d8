"""Start-up: process start -> window shown and ready (offscreen), floor: a bare PySide6 window.

Each sample is a new interpreter (sys.executable, so no `uv run` overhead) running
tests/bench/startup_probe.py; the time is from just before the process is spawned to
the moment its READY line is read. "app" starts on a data dir that was initialised by
one untimed run first (a warm start: schema migrated, settings written), with the
defaults of `desktop-oms` (paper broker, simulated market). The floor is a process
that shows a QMainWindow with a QTableView. Median of 5 each, alternating app/floor.
Also timed: to the CHARTS line (the P&L chart and the price chart built and painted).
Target (issue 19): < 1.5 s with the charts; the ratio to the floor is reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import REPO, bench_tmp, log, median

PROBE = Path(__file__).resolve().parent / "startup_probe.py"
SAMPLES = 5


def _one(args: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "0"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = charts = None
    for line in proc.stdout:
        if line.strip() == "READY":
            ready = time.perf_counter() - t0
            if args[0] == "floor":
                break
        elif line.strip() == "CHARTS":
            charts = time.perf_counter() - t0
            break
    _out, err = proc.communicate(timeout=120)
    if ready is None or (args[0] == "app" and charts is None):
        raise RuntimeError(f"start-up probe {args} never got ready: {err[-2000:]}")
    stages = {}
    for line in err.splitlines():
        if line.startswith("STAGE "):
            _s, name, value = line.split()
            stages[name] = float(value)
    stages["charts_s"] = charts
    return ready, stages


def skip_reason() -> str | None:
    from tests.bench.common import window_missing

    return window_missing()


def run() -> dict:
    app_s, floor_s, first_s, stages = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="oms-bench-start-", dir=bench_tmp()) as tmp:
        data = Path(tmp) / "data"
        first, _ = _one(["app", str(data)])  # first run ever: creates and migrates
        first_s.append(first)
        _one(["floor"])  # warm the OS file cache for Qt alike
        for i in range(SAMPLES):
            t, st = _one(["app", str(data)])
            app_s.append(t)
            stages.append(st)
            floor_s.append(_one(["floor"])[0])
            log(f"start-up sample {i + 1}: app {t:.2f} s, floor {floor_s[-1]:.2f} s")
    app_m, floor_m = median(app_s), median(floor_s)
    stage_m = {k: median(s[k] for s in stages if k in s) for k in stages[0]}
    charts_m = stage_m.pop("charts_s")
    return {
        "app_s": app_m,
        "charts_s": charts_m,
        "floor_s": floor_m,
        "ratio_to_floor": app_m / floor_m,
        "first_run_s": first_s[0],
        "app_samples": app_s,
        "floor_samples": floor_s,
        "app_stages_s": stage_m,
        "runs": SAMPLES,
        "pass_abs": charts_m < 1.5,
    }
