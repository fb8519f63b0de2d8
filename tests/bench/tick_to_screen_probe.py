"""Tick to screen (issue 19): how long from a tick handed to the app until the market
watch cell showing it is painted, with Kite's per-connection maximum of instruments
streaming (a fresh process, offscreen Qt, qasync as in the app):

    python -m tests.bench.tick_to_screen_probe DATA_DIR N_INSTRUMENTS DURATION_S

Set-up (untimed): an in-memory PaperBroker with N_INSTRUMENTS synthetic NSE equities,
the real Application on it (simulated market off), the window shown at 1920x1080, and
one watchlist holding every instrument (all subscribed, as with Kite at 3,000).

Load for DURATION_S: 2,000 ticks/s spread over all the instruments (batches every 10 ms
through broker.set_last_prices, as window_load_probe does).

Probes: every 40-60 ms one of the rows on screen gets a price it never had (a unique
offset), handed to the broker at t0; the viewport's next Paint event after the model
holds that price (the row is on screen) ends the probe. The path measured is the app's:
the quote cache, the mark-to-market flush (the coalescing interval), QuotesUpdated, the
market watch's model, Qt's repaint. Meters: probe latency p50/p99/max, the 5 ms loop-lag
sampler (p99/max) and CPU use. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICKS_PER_S = 2000


def main() -> int:
    data_dir = Path(sys.argv[1])
    n_instruments = int(sys.argv[2])
    duration = float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else None  # a flush interval to try
    logging.basicConfig(level=logging.ERROR)
    import qasync
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from desktop_oms.app import application as app_module
    from desktop_oms.ui.common.theme import apply_dark_theme
    from tests.bench.common import LagSampler, shown_app, synthetic_instruments

    qapp = QApplication.instance() or QApplication([])
    qapp.setApplicationName("Desktop OMS bench")
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    if interval is not None:
        app_module.MARK_INTERVAL_S = interval
    instruments = synthetic_instruments(n_instruments)
    keys = sorted(instruments.last_prices())
    out: dict = {
        "instruments": n_instruments,
        "duration_s": duration,
        "coalescing_interval_ms": app_module.MARK_INTERVAL_S * 1e3,
    }
    data_dir.mkdir(parents=True, exist_ok=True)

    class PaintWatch(QObject):
        """Ends the probes whose price the model holds when the viewport is painted."""

        def __init__(self, model) -> None:  # noqa: ANN001
            super().__init__()
            self.model = model
            self.pending: dict[tuple[str, str], tuple[Decimal, float]] = {}
            self.latencies: list[float] = []
            self.paints = 0

        def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802
            if event.type() == QEvent.Type.Paint and self.pending:
                self.paints += 1
                now = time.perf_counter()
                for key, (price, t0) in list(self.pending.items()):
                    row = self.model.row_of(key)
                    tick = self.model.row_at(row).tick if row is not None else None
                    if tick is not None and tick.last_price == price:
                        self.latencies.append(now - t0)
                        del self.pending[key]
            return False

    async def scenario() -> None:
        app, broker = await shown_app(data_dir, instruments, load_timeout=300)
        try:
            window = app.window
            watch = window.market_watch
            list_id, model, table = watch.current()
            model.set_items(keys)
            watch._save(list_id, model)
            watch._subscribe_all()
            watch.raise_()
            await asyncio.sleep(1.0)
            out["rows_in_watch"] = model.rowCount()
            visible = []
            for row in range(model.rowCount()):
                if table.rowViewportPosition(row) < 0:
                    continue
                if table.rowViewportPosition(row) + table.rowHeight(row) > (
                    table.viewport().height()
                ):
                    break
                visible.append(model.row_at(row).key)
            out["rows_on_screen"] = len(visible)
            if not visible:
                raise RuntimeError("no market watch row is on screen")
            painter = PaintWatch(model)
            table.viewport().installEventFilter(painter)

            rng = random.Random(7)
            base = dict(instruments.last_prices())
            last = dict(base)
            probe_keys = set(visible)
            sent = {"ticks": 0, "probes": 0}
            stop = asyncio.Event()

            async def ticks() -> None:
                t0 = time.perf_counter()
                i = 0
                while not stop.is_set():
                    due = int((time.perf_counter() - t0) * TICKS_PER_S) - sent["ticks"]
                    if due > 0:
                        batch = {}
                        for _ in range(due):
                            key = keys[i % len(keys)]
                            i += 1
                            if key in probe_keys:
                                continue  # probed rows move only by their probes
                            step = Decimal(rng.choice((-1, 1))) * Decimal("0.05")
                            price = last[key] + step
                            if abs(price - base[key]) > base[key] * Decimal("0.03"):
                                price = last[key] - step
                            last[key] = price
                            batch[key] = price
                        broker.set_last_prices(batch)
                        sent["ticks"] += due
                    await asyncio.sleep(0.01)

            async def probes() -> None:
                n = 0
                while not stop.is_set():
                    await asyncio.sleep(rng.uniform(0.04, 0.06))
                    key = visible[n % len(visible)]
                    n += 1
                    if key in painter.pending:
                        continue
                    price = base[key] + Decimal("0.05") * (n % 400 + 1)
                    if price == last[key]:
                        price += Decimal("0.05")
                    last[key] = price
                    painter.pending[key] = (price, time.perf_counter())
                    broker.set_last_prices({key: price})
                    sent["probes"] += 1

            sampler = LagSampler(0.005)
            await asyncio.sleep(0.3)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            sampler.start()
            drivers = [asyncio.ensure_future(ticks()), asyncio.ensure_future(probes())]
            await asyncio.sleep(duration)
            stop.set()
            await asyncio.gather(*drivers)
            await asyncio.sleep(1.0)  # the last probes reach the screen
            await sampler.stop()
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            lat = sorted(painter.latencies)
            lags = sorted(sampler.lags)

            def pct(values, q):  # noqa: ANN001, ANN202
                if not values:
                    return None
                return values[min(len(values) - 1, max(0, int(round(q / 100 * len(values))) - 1))]

            out.update(
                {
                    "probes_sent": sent["probes"],
                    "probes_painted": len(lat),
                    "probes_never_painted": len(painter.pending),
                    "tick_to_paint_p50_ms": pct(lat, 50) * 1e3 if lat else None,
                    "tick_to_paint_p99_ms": pct(lat, 99) * 1e3 if lat else None,
                    "tick_to_paint_max_ms": lat[-1] * 1e3 if lat else None,
                    "viewport_paints": painter.paints,
                    "ticks_per_s": sent["ticks"] / wall,
                    "lag_p99_ms": pct(lags, 99) * 1e3 if lags else None,
                    "lag_max_ms": lags[-1] * 1e3 if lags else None,
                    "cpu_util": cpu / wall,
                }
            )
        finally:
            await app.stop()

    qasync.run(scenario())
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
