"""Tick to screen (issue 19): how long from a tick handed to the app until the screen shows
it, in the market watch, the price chart and the depth ladder, with Kite's per-connection
maximum of instruments streaming and the option chain open (a fresh process, offscreen
Qt, qasync as in the app):

    python -m tests.bench.tick_to_screen_probe DATA_DIR N_INSTRUMENTS DURATION_S [INTERVAL_S]

Set-up (untimed): paper mode's market (the bundled stocks and indices, the index futures
and option chains priced from the indices) plus synthetic NSE equities up to
N_INSTRUMENTS streamed, on an in-memory PaperBroker; the real Application on it
(simulated market off), the window shown at 1920x1080; one watchlist holding every
stock, index and future (all subscribed), the NIFTY option chain open (its nearest
expiry, ATM +/- 20 strikes subscribed: they count in the N), the price chart and the
depth ladder showing one stock.

Load for DURATION_S: 2,000 ticks/s spread over the watchlist (batches every 10 ms through
broker.set_last_prices, as window_load_probe does), and NIFTY 50 moving 5 times a second
(its futures and options are repriced and tick too: the chain streams).

Probes, each timed from `set_last_prices` to the first paint that shows the new price:
- cell: every 40-60 ms one of the market watch rows on screen gets a price it never had;
  ends at the viewport's next Paint event after the watch's model holds that price (the
  path: the quote cache, the mark-to-market flush (the coalescing interval),
  QuotesUpdated, the market watch's model, Qt's repaint);
- candle / ladder: every 250 ms the charted stock gets a new price; ends at the first
  paint of the chart's candles whose forming candle closes at it, and at the first paint
  of the ladder whose last price is it (both refresh on their own timers).
Meters: latency p50/p99/max per probe, the 5 ms loop-lag sampler (p99/max), CPU use, the
ticks the app received per second. INTERVAL_S tries another mark-to-market interval.
Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICKS_PER_S = 2000
INDEX_MOVES_PER_S = 5.0
CHARTED_EVERY_S = 0.25  # longer than the views' refresh: every one of them is painted
CHAIN_OPTIONS = 82  # ATM +/- 20 strikes, calls and puts: subscribed by the open chain
SPOT = Decimal("26000")
CHARTED = ("NSE", "RELIANCE")


def _pct(values, q):  # noqa: ANN001
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def _market(n_streamed: int):
    """Paper mode's instruments and derivatives, plus synthetic equities so that the
    watchlist and the chain stream `n_streamed` instruments together."""
    from desktop_oms.infra.clock import utcnow
    from desktop_oms.marketdata.options import paper_market
    from tests.bench.common import synthetic_instruments

    store, derivatives = paper_market(utcnow())
    listed = [i for i in store if not i.is_option]
    extra = synthetic_instruments(max(0, n_streamed - CHAIN_OPTIONS - len(listed)))
    store.put(list(extra))
    watched = [i.key for i in listed] + sorted(extra.last_prices())
    # what the driver moves: stocks (the indices move on their own beat; their
    # futures and options are priced from them)
    walk = {i.key for i in listed if i.segment != "INDICES" and i.underlying is None}
    walk |= set(extra.last_prices())
    return store, derivatives, watched, walk, extra.last_prices()


def _paint_hooks(rec: dict) -> None:
    """The chart's candles and the ladder report their paints (bench only)."""
    from desktop_oms.ui.chart.candle_item import CandleItem
    from desktop_oms.ui.depth.ladder import LadderView

    original_paint = CandleItem.paint

    def paint(self, p, *args):  # noqa: ANN001, ANN002
        original_paint(self, p, *args)
        if rec["on"] and len(self.series):
            sent = rec["chart_pending"].pop(float(self.series.close[-1]), None)
            if sent is not None:
                rec["candle"].append(time.perf_counter() - sent)

    CandleItem.paint = paint  # type: ignore[method-assign]

    def paint_event(self, event):  # noqa: ANN001
        super(LadderView, self).paintEvent(event)
        last = self.model().last
        if rec["on"] and last is not None:
            sent = rec["ladder_pending"].pop(last, None)
            if sent is not None:
                rec["ladder"].append(time.perf_counter() - sent)

    LadderView.paintEvent = paint_event  # type: ignore[attr-defined]


def main() -> int:
    data_dir = Path(sys.argv[1])
    n_instruments = int(sys.argv[2])
    duration = float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else None  # a flush interval to try
    logging.basicConfig(level=logging.ERROR)
    import qasync
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtWidgets import QApplication

    from desktop_oms.app import application as app_module
    from desktop_oms.ui.chart.panel import REFRESH_MS as CHART_REFRESH_MS
    from desktop_oms.ui.common.theme import apply_dark_theme
    from desktop_oms.ui.depth.ladder import REFRESH_MS as LADDER_REFRESH_MS
    from tests.bench.common import BlockMonitor, LagSampler, open_chain_and_chart, shown_app

    qapp = QApplication.instance() or QApplication([])
    qapp.setApplicationName("Desktop OMS bench")
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    if interval is not None:
        app_module.MARK_INTERVAL_S = interval
    store, derivatives, watched, walk, extra_prices = _market(n_instruments)
    out: dict = {
        "instruments": n_instruments,
        "duration_s": duration,
        "coalescing_interval_ms": app_module.MARK_INTERVAL_S * 1e3,
        "chart_refresh_ms": CHART_REFRESH_MS,
        "ladder_refresh_ms": LADDER_REFRESH_MS,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    rec: dict = {"on": False, "chart_pending": {}, "ladder_pending": {}, "candle": [], "ladder": []}
    _paint_hooks(rec)

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
        app, broker = await shown_app(
            data_dir,
            store,
            load_timeout=300,
            derivatives=derivatives,
            prices={**extra_prices, ("NSE", "NIFTY 50"): SPOT},
        )
        window = app.window
        try:
            prices = broker.last_prices()
            # the app's quotes know a price once it ticks after the start
            broker.set_last_prices({CHARTED: prices[CHARTED], ("NSE", "NIFTY 50"): SPOT})
            watch = window.market_watch
            list_id, model, table = watch.current()
            model.set_items(watched)
            watch._save(list_id, model)
            watch._subscribe_all()
            watch.raise_()
            # the option chain, the chart and the ladder, open beside the watch
            chain, chart = await open_chain_and_chart(window, CHARTED)
            # at 1920x1080 the ladder is a tab behind the watch: beside it, as a trader
            # who wants both would drag it
            window.splitDockWidget(watch, window.ladder_dock, Qt.Orientation.Horizontal)
            window.ladder_dock.show()
            watch.raise_()
            await asyncio.sleep(1.0)
            out["rows_in_watch"] = model.rowCount()
            out["chain_rows"] = chain.model.rowCount()
            out["streamed"] = len(app._subscribed)  # noqa: SLF001 - what the app subscribed
            out["views_visible"] = {
                "watch": table.isVisible(),
                "chain": chain.view.isVisible(),
                "chart": chart.plot.isVisible(),
                "ladder": window.depth_ladder.view.isVisible(),
            }
            visible = []
            for row in range(model.rowCount()):
                if table.rowViewportPosition(row) < 0:
                    continue
                if table.rowViewportPosition(row) + table.rowHeight(row) > (
                    table.viewport().height()
                ):
                    break
                key = model.row_at(row).key
                if key in walk and key != CHARTED:  # a stock: nothing else moves it
                    visible.append(key)
            out["rows_on_screen"] = len(visible)
            if not visible:
                raise RuntimeError("no market watch row is on screen")
            painter = PaintWatch(model)
            table.viewport().installEventFilter(painter)

            rng = random.Random(7)
            base = {k: prices[k] for k in watched if k in prices}
            last = dict(base)
            spot = {"price": SPOT}
            quiet = set(visible) | {CHARTED, ("NSE", "NIFTY 50")}
            walkers = [k for k in watched if k in walk and k in base and k not in quiet]
            sent = {"ticks": 0, "probes": 0, "charted": 0, "index_moves": 0}
            stop = asyncio.Event()

            def move(key):  # noqa: ANN001, ANN202
                step = Decimal(rng.choice((-1, 1))) * Decimal("0.05")
                price = last[key] + step
                if abs(price - base[key]) > base[key] * Decimal("0.03"):
                    price = last[key] - step
                last[key] = price
                return price

            async def ticks() -> None:
                t0 = time.perf_counter()
                next_charted = next_index = t0
                i = 0
                while not stop.is_set():
                    now = time.perf_counter()
                    due = int((now - t0) * TICKS_PER_S) - sent["ticks"]
                    batch = {}
                    for _ in range(max(due, 0)):
                        key = walkers[i % len(walkers)]
                        i += 1
                        batch[key] = move(key)
                    sent["ticks"] += max(due, 0)
                    if now >= next_index:  # the chain's underlying: its options reprice
                        next_index += 1.0 / INDEX_MOVES_PER_S
                        spot["price"] += Decimal(rng.choice((-5, 5)))
                        batch[("NSE", "NIFTY 50")] = spot["price"]
                        sent["index_moves"] += 1
                    if now >= next_charted:  # the charted stock, among the others
                        next_charted += CHARTED_EVERY_S
                        price = move(CHARTED)
                        # only the latest price can be painted (the views coalesce)
                        rec["chart_pending"].clear()
                        rec["ladder_pending"].clear()
                        t = time.perf_counter()
                        rec["chart_pending"][float(price)] = t
                        rec["ladder_pending"][price] = t
                        batch[CHARTED] = price
                        sent["charted"] += 1
                    if batch:  # far expiries follow in turn, as in paper mode's own feed
                        broker.set_last_prices(batch, coalesce=True)
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
            ticks_before = app.quotes.tick_count
            cpu0, wall0 = time.process_time(), time.perf_counter()
            rec["on"] = True
            with BlockMonitor() as blocks:
                sampler.start()
                drivers = [asyncio.ensure_future(ticks()), asyncio.ensure_future(probes())]
                await asyncio.sleep(duration)
                stop.set()
                await asyncio.gather(*drivers)
                driven = time.perf_counter() - wall0
            out["longest_block_ms"] = blocks.max_s * 1e3
            out["longest_block_in"] = blocks.max_what
            out["blocks_over_8ms_by_owner"] = dict(
                sorted(blocks.slow.items(), key=lambda kv: -kv[1])[:8]
            )
            await asyncio.sleep(1.0)  # the last probes reach the screen
            await sampler.stop()
            rec["on"] = False
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            lat = painter.latencies
            lags = sampler.lags

            def ms(values, q):  # noqa: ANN001, ANN202
                v = _pct(values, q)
                return None if v is None else v * 1e3

            out.update(
                {
                    "probes_sent": sent["probes"],
                    "probes_painted": len(lat),
                    "probes_never_painted": len(painter.pending),
                    "tick_to_paint_p50_ms": ms(lat, 50),
                    "tick_to_paint_p99_ms": ms(lat, 99),
                    "tick_to_paint_max_ms": max(lat) * 1e3 if lat else None,
                    "viewport_paints": painter.paints,
                    "charted_ticks": sent["charted"],
                    "candle_painted": len(rec["candle"]),
                    "ladder_painted": len(rec["ladder"]),
                    "candle_tick_to_paint_p50_ms": ms(rec["candle"], 50),
                    "candle_tick_to_paint_p99_ms": ms(rec["candle"], 99),
                    "ladder_tick_to_paint_p50_ms": ms(rec["ladder"], 50),
                    "ladder_tick_to_paint_p99_ms": ms(rec["ladder"], 99),
                    "index_moves": sent["index_moves"],
                    "ticks_per_s": sent["ticks"] / driven,
                    "app_ticks_per_s": (app.quotes.tick_count - ticks_before) / driven,
                    "lag_p99_ms": ms(lags, 99),
                    "lag_max_ms": max(lags) * 1e3 if lags else None,
                    "cpu_util": cpu / wall,
                }
            )
        finally:
            await app.stop()
            window.close()

    qasync.run(scenario())
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
