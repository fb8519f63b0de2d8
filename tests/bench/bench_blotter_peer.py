"""Blotter vs peer: the same 20,000 order events (5,000 orders x 4 states, see
blotter_events.py) into our blotter (blotter_ours.py: OrdersModel in the house QTableView,
fed through the EventBus like the MainWindow) and into vn.py's OrderMonitor (vnpy_peer.py,
in vn.py's own environment: `uv run --isolated --no-project --with vnpy`), each in a fresh
offscreen process; time until all are on screen. Target: ours >= 10x faster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.bench.common import REPO, log, median, runs, scaled

HERE = Path(__file__).resolve().parent
PEER_TIMEOUT_S = 900


def _run(cmd: list[str], cwd: Path, timeout: float) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> dict:
    n_orders = scaled(5000, 200)
    uv = shutil.which("uv")
    ours, peer = [], []
    peer_error = None
    for r in range(runs()):
        ours.append(
            _run([sys.executable, "-m", "tests.bench.blotter_ours", str(n_orders)], REPO, 600)
        )
        if uv and peer_error is None:
            try:
                peer.append(
                    _run(
                        [
                            uv,
                            "run",
                            "--isolated",
                            "--no-project",
                            "--with",
                            "vnpy",
                            "python",
                            str(HERE / "vnpy_peer.py"),
                            str(n_orders),
                            str(PEER_TIMEOUT_S),
                        ],
                        Path("/tmp"),
                        PEER_TIMEOUT_S + 300,
                    )
                )
            except Exception as exc:  # noqa: BLE001 - reported, ours still measured
                peer_error = str(exc)[-1500:]
        log(
            f"blotter run {r + 1}: ours {ours[-1]['seconds']:.3f} s"
            + (f", vn.py {peer[-1]['seconds']:.2f} s" if peer else "")
        )
    ours_s = median(o["seconds"] for o in ours)
    out = {
        "orders": n_orders,
        "events": ours[0]["events"],
        "ours_s": ours_s,
        "ours_applied_s": median(o["applied_s"] for o in ours),
        "ours_publish_s": median(o["publish_s"] for o in ours),
        "ours_qt": ours[0]["qt"],
        "ours_rows_ok": all(o["rows"] == n_orders and o["filled_rows"] == n_orders for o in ours),
        "ours_per_run": ours,
        "runs": len(ours),
    }
    if peer:
        peer_s = median(p["seconds"] for p in peer)
        out.update(
            {
                "peer_s": peer_s,
                "peer_vnpy": peer[0]["vnpy"],
                "peer_qt": peer[0]["qt"],
                "peer_timed_out": any(p["timed_out"] for p in peer),
                "peer_rows_ok": all(
                    p["rows"] == n_orders and p["processed"] == p["events"] for p in peer
                ),
                "peer_per_run": peer,
                "speedup": peer_s / ours_s,
                "pass": peer_s / ours_s >= 10 and out["ours_rows_ok"],
            }
        )
    else:
        out["peer_error"] = peer_error or "uv not found"
        out["pass"] = None
    return out
