"""The price chart and the depth ladder (issue 17), in a fresh process (offscreen Qt,
qasync as in the app):

    python -m tests.bench.chart_probe DATA_DIR N_CANDLES DURATION_S

1. Pan / zoom with N_CANDLES one-minute candles loaded (375 a day, days apart): our
   `PricePlot` (candles and volume that draw only the visible range, VWAP, two EMAs,
   the IST axis, the price axis fitting what is in view) and, as the floor, a bare
   pyqtgraph candle plot of the same data (the CandlestickItem of pyqtgraph's own
   example: every candle drawn once into a QPicture, replayed each frame), both
   1200 x 700. The same frames for both: 120 pans of 20 candles at 200 candles wide,
   then zooming out x1.25 a frame to the whole history and back in. A frame is: set the
   x range, let Qt process its events, repaint the viewport synchronously.
2. The window under load: the real Application (paper broker in memory, 500 synthetic
   instruments) and MainWindow, the chart and the depth ladder showing one instrument,
   2,000 ticks/s over all the instruments for DURATION_S, the charted one getting a new
   price every 250 ms among them. Tick-to-paint: from `set_last_prices` with a new price
   of the charted instrument to the first paint of the chart's candles whose forming
   candle closes at it, and to the first paint of the ladder whose last price is it.
   Both refresh on 100 ms timers (ticks are coalesced): a tick waits up to one
   interval, then a paint. Loop lag: a 5 ms sampler.

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
CHARTED_EVERY_S = 0.25  # longer than the views' 100 ms: every one is painted
SIZE = (1200, 700)


def _pct(values, q):  # noqa: ANN001
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def _candles(n: int):
    import numpy as np

    from desktop_oms.domain.candles import Candle
    from tests.bench.common import T0

    rng = np.random.default_rng(5)
    steps = rng.normal(0, 0.0008, n)
    close = 2450.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([2450.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.6, n)) + 0.05
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 20_000, n)
    day0 = int(T0.timestamp()) - (n // 375 + 1) * 86_400
    out = []
    for i in range(n):
        start = day0 + (i // 375) * 86_400 + (i % 375) * 60
        out.append(Candle(start, Decimal(f"{open_[i]:.2f}"), Decimal(f"{high[i]:.2f}"),
                          Decimal(f"{low[i]:.2f}"), Decimal(f"{close[i]:.2f}"), int(volume[i])))  # fmt: skip
    return out


def _frames(n: int) -> list[tuple[float, float]]:
    """(x0, x1) of each frame: pans at 200 wide, then zoom out to everything and back."""
    frames = []
    x1 = n - 1 + 6
    for _ in range(120):
        frames.append((x1 - 200, x1))
        x1 -= 20
    width = 200.0
    end = n - 1 + 6
    outward = []
    while width < n:
        width = min(width * 1.25, float(n))
        outward.append((end - width, end))
    frames += outward + outward[::-1]
    return frames


def _bare_plot(candles):
    """pyqtgraph's own candlestick example (QPicture of every candle) in a PlotWidget."""
    import pyqtgraph as pg
    from PySide6.QtCore import QPointF, QRectF

    class CandlestickItem(pg.GraphicsObject):
        def __init__(self, data):
            super().__init__()
            self.data = data
            self.generatePicture()

        def generatePicture(self):  # noqa: N802 - the example's name
            self.picture = pg.QtGui.QPicture()
            p = pg.QtGui.QPainter(self.picture)
            p.setPen(pg.mkPen("w"))
            w = 1 / 3.0
            for t, o, c, lo, h in self.data:
                p.drawLine(QPointF(t, lo), QPointF(t, h))
                p.setBrush(pg.mkBrush("r" if o > c else "g"))
                p.drawRect(QRectF(t - w, o, w * 2, c - o))
            p.end()

        def paint(self, p, *args):
            p.drawPicture(0, 0, self.picture)

        def boundingRect(self):  # noqa: N802
            return QRectF(self.picture.boundingRect())

    data = [
        (float(i), float(c.open), float(c.close), float(c.low), float(c.high))
        for i, c in enumerate(candles)
    ]
    widget = pg.PlotWidget()
    widget.addItem(CandlestickItem(data))
    return widget, widget.getPlotItem().getViewBox()


def _time_frames(qapp, widget, viewbox, frames) -> list[float]:
    """Each frame: the new x range, then Qt's events until the view has painted it."""
    times = []
    for x0, x1 in frames:
        t = time.perf_counter()
        viewbox.setXRange(x0, x1, padding=0)
        qapp.processEvents()  # the range's update request: one paint of the viewport
        times.append(time.perf_counter() - t)
    return times


def pan_zoom(qapp, n: int) -> dict:
    from desktop_oms.ui.chart.plot import PricePlot
    from desktop_oms.ui.chart.series import ChartSeries

    t = time.perf_counter()
    candles = _candles(n)
    series = ChartSeries()
    series.load(candles, candles[-1].start + 60)
    load_s = time.perf_counter() - t
    frames = _frames(n)
    out: dict = {"candles": n, "frames": len(frames), "series_load_s": load_s}

    ours = PricePlot()
    ours.resize(*SIZE)
    ours.show()
    ours.set_series(series, Decimal("0.05"))
    for _ in range(5):
        qapp.processEvents()
    ours.viewport().repaint()
    paints = ours.candles.paints
    times = _time_frames(qapp, ours, ours.price_plot.getViewBox(), frames)
    out["ours_paints"] = ours.candles.paints - paints
    out["ours_most_drawn"] = ours.candles.drawn
    ours.close()

    t = time.perf_counter()
    bare, vb = _bare_plot(candles)
    out["bare_build_s"] = time.perf_counter() - t
    bare.resize(*SIZE)
    bare.show()
    for _ in range(5):
        qapp.processEvents()
    bare.viewport().repaint()
    floor = _time_frames(qapp, bare, vb, frames)
    bare.close()
    for name, values in (("ours", times), ("bare", floor)):
        out[f"{name}_frame_p50_ms"] = _pct(values, 50) * 1e3
        out[f"{name}_frame_p99_ms"] = _pct(values, 99) * 1e3
        out[f"{name}_frame_max_ms"] = max(values) * 1e3
    return out


def under_load(data_dir: Path, duration: float) -> dict:
    import qasync

    from desktop_oms.ui.chart.candle_item import CandleItem
    from desktop_oms.ui.depth.ladder import LadderView
    from tests.bench.common import LagSampler, shown_app, synthetic_instruments

    instruments = synthetic_instruments(500)
    keys = sorted(instruments.last_prices())
    charted = keys[0]
    pending_chart: dict[float, float] = {}  # price -> when it was sent
    pending_ladder: dict[Decimal, float] = {}
    chart_lat: list[float] = []
    ladder_lat: list[float] = []
    recording = {"on": False}
    original_paint = CandleItem.paint

    def paint(self, p, *args):
        original_paint(self, p, *args)
        if recording["on"] and len(self.series):
            sent = pending_chart.pop(float(self.series.close[-1]), None)
            if sent is not None:
                chart_lat.append(time.perf_counter() - sent)

    CandleItem.paint = paint  # type: ignore[method-assign]

    def paint_event(self, event):
        super(LadderView, self).paintEvent(event)
        last = self.model().last
        if recording["on"] and last is not None:
            sent = pending_ladder.pop(last, None)
            if sent is not None:
                ladder_lat.append(time.perf_counter() - sent)

    LadderView.paintEvent = paint_event  # type: ignore[attr-defined]
    out: dict = {"instruments": len(keys), "duration_s": duration}

    async def scenario() -> None:
        app, broker = await shown_app(data_dir, instruments, load_timeout=120)
        try:
            window = app.window
            broker.set_last_prices(instruments.last_prices())  # the app's quotes know them
            chart = window.price_chart
            chart.build_now()
            window.show_instrument(*charted)
            window.chart_dock.raise_()
            window.ladder_dock.raise_()
            t = time.perf_counter()
            while (chart.loading or chart.series is None or not len(chart.series)) and (
                time.perf_counter() - t < 60 and chart.load_problem is None
            ):
                await asyncio.sleep(0.05)
            out["chart_history_load_s"] = time.perf_counter() - t
            out["chart_load_problem"] = chart.load_problem
            out["chart_candles"] = len(chart.series) if chart.series is not None else 0
            out["chart_visible"] = chart.plot.isVisible()
            out["ladder_visible"] = window.depth_ladder.view.isVisible()
            await asyncio.sleep(0.5)
            rng = random.Random(3)
            base = dict(instruments.last_prices())
            last = dict(base)
            sent = {"ticks": 0, "charted": 0}
            stop = asyncio.Event()

            def move(key):
                step = Decimal(rng.choice((-1, 1))) * Decimal("0.05")
                price = last[key] + step
                if abs(price - base[key]) > base[key] * Decimal("0.03"):
                    price = last[key] - step
                last[key] = price
                return price

            async def ticks() -> None:
                t0 = time.perf_counter()
                next_charted = t0
                i = 0
                while not stop.is_set():
                    now = time.perf_counter()
                    due = int((now - t0) * TICKS_PER_S) - sent["ticks"]
                    if due > 0:
                        batch = {}
                        for _ in range(due):
                            key = keys[1 + i % (len(keys) - 1)]
                            i += 1
                            if key in batch:
                                broker.set_last_prices(batch)
                                batch = {}
                            batch[key] = move(key)
                        if now >= next_charted:  # the charted instrument, among the others
                            next_charted += CHARTED_EVERY_S
                            price = move(charted)
                            # only the latest price can be painted (the views
                            # coalesce): an earlier one not painted yet never will be
                            now = time.perf_counter()
                            pending_chart.clear()
                            pending_ladder.clear()
                            pending_chart[float(price)] = now
                            pending_ladder[price] = now
                            batch[charted] = price
                            sent["charted"] += 1
                        broker.set_last_prices(batch)
                        sent["ticks"] += len(batch)
                    await asyncio.sleep(0.01)

            sampler = LagSampler(0.005)
            recording["on"] = True
            sampler.start()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            driver = asyncio.ensure_future(ticks())
            await asyncio.sleep(duration)
            stop.set()
            await driver
            await asyncio.sleep(0.3)  # the last paints
            await sampler.stop()
            recording["on"] = False
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            out.update(
                {
                    "ticks_per_s": sent["ticks"] / wall,
                    "charted_ticks": sent["charted"],
                    "chart_painted": len(chart_lat),
                    "ladder_painted": len(ladder_lat),
                    "chart_tick_to_paint_p50_ms": _pct(chart_lat, 50) * 1e3,
                    "chart_tick_to_paint_p99_ms": _pct(chart_lat, 99) * 1e3,
                    "ladder_tick_to_paint_p50_ms": _pct(ladder_lat, 50) * 1e3,
                    "ladder_tick_to_paint_p99_ms": _pct(ladder_lat, 99) * 1e3,
                    "lag_p50_ms": _pct(sampler.lags, 50) * 1e3,
                    "lag_p99_ms": _pct(sampler.lags, 99) * 1e3,
                    "lag_max_ms": max(sampler.lags) * 1e3 if sampler.lags else None,
                    "cpu_util": cpu / wall,
                }
            )
        finally:
            await app.stop()
            window.close()

    qasync.run(scenario())
    return out


def main() -> int:
    data_dir = Path(sys.argv[1])
    n_candles, duration = int(sys.argv[2]), float(sys.argv[3])
    logging.basicConfig(level=logging.ERROR)
    from PySide6.QtWidgets import QApplication

    from desktop_oms.ui.common.theme import apply_dark_theme

    qapp = QApplication.instance() or QApplication([])
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    out = pan_zoom(qapp, n_candles)
    data_dir.mkdir(parents=True, exist_ok=True)
    out.update(under_load(data_dir, duration))
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
