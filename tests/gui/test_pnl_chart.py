"""PnL chart: buffered points, throttled redraws, history restore."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pyqtgraph as pg

from desktop_oms.ui.pnl_chart import PnlChart


def make_chart(qtbot, **kw):
    chart = PnlChart(**kw)
    qtbot.addWidget(chart)
    chart.resize(600, 300)
    chart.show()
    return chart


def test_is_a_plot_widget_with_a_time_axis_and_legend(qtbot):
    chart = make_chart(qtbot)
    assert isinstance(chart, pg.PlotWidget)
    assert chart.objectName() == "pnlChart"
    assert isinstance(chart.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    names = [label.text for _sample, label in chart.legend.items]
    assert names == ["Total", "Realized"]
    assert chart.zero_line.value() == 0


def test_add_point_is_buffered_and_redraws_are_throttled(qtbot, t0):
    chart = make_chart(qtbot, max_fps=4)
    qtbot.wait(300)
    base = chart.redraw_count
    for i in range(2000):  # a burst of ticks
        chart.add_point(t0 + timedelta(milliseconds=i), Decimal(i), Decimal(i // 2))
    assert chart.redraw_count == base  # nothing drawn synchronously
    qtbot.waitUntil(lambda: chart.redraw_count == base + 1, timeout=1000)
    qtbot.wait(600)  # nothing new: no further redraws
    assert chart.redraw_count == base + 1
    x, y = chart.total_curve.getData()
    assert len(x) == 2000 and y[-1] == 1999.0
    _, realized = chart.realized_curve.getData()
    assert realized[-1] == 999.0
    # 1 s of continuous updates: at most ~4 redraws
    start = chart.redraw_count
    for i in range(10):
        chart.add_point(t0 + timedelta(seconds=10 + i), Decimal(i), Decimal(0))
        qtbot.wait(100)
    assert 1 <= chart.redraw_count - start <= 5


def test_load_restores_history_at_once(qtbot, t0):
    chart = make_chart(qtbot)

    class Snapshot:
        def __init__(self, at, total, realized):
            self.at, self.total_pnl, self.realized_pnl = at, total, realized

    points = [
        Snapshot(t0 + timedelta(minutes=i), Decimal(100 * i), Decimal(-50 * i)) for i in range(30)
    ]
    chart.load(points)
    x, y = chart.total_curve.getData()
    assert len(x) == 30 and x[0] == t0.timestamp() and y[-1] == 2900.0
    assert chart.realized_curve.getData()[1][-1] == -1450.0
    assert chart.point_count() == 30
    labels = [label.text for _s, label in chart.legend.items]
    assert labels == ["Total \u20b92,900", "Realized -\u20b91,450"]
    chart.load([(t0, Decimal(1), Decimal(2), Decimal("0.5"))])  # tuples, with net
    assert chart.point_count() == 1 and chart.net_curve.isVisible()
    assert chart.net_curve.getData()[1][-1] == 0.5


def test_time_never_goes_backwards(qtbot, t0):
    chart = make_chart(qtbot)
    chart.add_point(t0 + timedelta(seconds=10), Decimal(1), Decimal(0))
    chart.add_point(t0, Decimal(2), Decimal(0))
    chart.flush()
    x, _ = chart.total_curve.getData()
    assert list(x) == [x[0], x[0]]
