"""The price chart (issue 17), in a fresh process (offscreen Qt):

    python -m tests.bench.chart_probe N_CANDLES

Pan / zoom with N_CANDLES one-minute candles loaded (375 a day, days apart): our
`PricePlot` (candles and volume that draw only the visible range, VWAP, two EMAs, the IST
axis, the price axis fitting what is in view) and, as the floor, a bare pyqtgraph candle
plot of the same data (the CandlestickItem of pyqtgraph's own example: every candle drawn
once into a QPicture, replayed each frame), both 1200 x 700. The same frames for both:
120 pans of 20 candles at 200 candles wide, then zooming out x1.25 a frame to the whole
history and back in. A frame is: set the x range, let Qt process its events, repaint the
viewport synchronously.

The chart and the depth ladder under streaming load (tick to paint) are measured by
tick_to_screen_probe.py, with the market watch and the option chain open beside them.

Prints one JSON line.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from decimal import Decimal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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


def main() -> int:
    n_candles = int(sys.argv[1])
    logging.basicConfig(level=logging.ERROR)
    from PySide6.QtWidgets import QApplication

    from desktop_oms.ui.common.theme import apply_dark_theme

    qapp = QApplication.instance() or QApplication([])
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    out = pan_zoom(qapp, n_candles)
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
