"""PnL chart: buffered points, throttled redraws, history restore."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyqtgraph as pg
import pytest

from desktop_oms.ui.pnl.chart import PnlChart

T_OPEN = datetime(2026, 5, 4, 3, 47, 12, tzinfo=UTC)  # 09:17:12 IST
D0 = Decimal(0)


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
    x, y = chart.total_curve.getOriginalDataset()
    assert len(x) == 2000 and y[-1] == 1999.0
    _, realized = chart.realized_curve.getOriginalDataset()
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
    x, y = chart.total_curve.getOriginalDataset()
    assert len(x) == 30 and x[0] == t0.timestamp() and y[-1] == 2900.0
    assert chart.realized_curve.getOriginalDataset()[1][-1] == -1450.0
    assert chart.point_count() == 30
    labels = [label.text for _s, label in chart.legend.items]
    assert labels == ["Total \u20b92,900", "Realized -\u20b91,450"]
    chart.load([(t0, Decimal(1), Decimal(2), Decimal("0.5"))])  # tuples, with net
    assert chart.point_count() == 1 and chart.net_curve.isVisible()
    assert chart.net_curve.getOriginalDataset()[1][-1] == 0.5


def test_time_never_goes_backwards(qtbot, t0):
    chart = make_chart(qtbot)
    chart.add_point(t0 + timedelta(seconds=10), Decimal(1), Decimal(0))
    chart.add_point(t0, Decimal(2), Decimal(0))
    chart.flush()
    x, _ = chart.total_curve.getOriginalDataset()
    assert list(x) == [x[0], x[0]]


def axis_texts(chart, name: str) -> list[str]:
    """The tick labels the axis draws for the current view."""
    item = chart.getPlotItem()
    axis = item.getAxis(name)
    (x0, x1), (y0, y1) = item.viewRange()
    low, high, size = (x0, x1, 500) if name == "bottom" else (y0, y1, 250)
    return [
        text
        for spacing, values in axis.tickValues(low, high, size)
        for text in axis.tickStrings(values, 1.0, spacing)
    ]


def settled(qtbot, chart) -> None:
    chart.flush()
    qtbot.waitUntil(
        lambda: (
            chart.getPlotItem().viewRange()[0][1] - chart.getPlotItem().viewRange()[0][0] >= 30 * 60
        ),
        timeout=3000,
    )


@pytest.mark.parametrize(
    "points",
    [
        [],
        [(T_OPEN, Decimal(0), Decimal(0))],  # flat at zero: the axis showed "x0.001"
        [(T_OPEN, Decimal("12.5"), Decimal(0))],
        [(T_OPEN, Decimal("0.004"), Decimal(0)), (T_OPEN + timedelta(seconds=3), D0, D0)],
    ],
    ids=["empty", "one point at zero", "one point", "two points seconds apart"],
)
def test_small_charts_have_clock_times_and_plain_rupees(qtbot, points):
    chart = make_chart(qtbot)
    chart.load(points)
    settled(qtbot, chart)
    item = chart.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        assert not axis.autoSIPrefix and axis.autoSIPrefixScale == 1.0
        assert "(x" not in axis.labelString()  # no "x0.001"
    (x0, x1), (y0, y1) = item.viewRange()
    assert x1 - x0 >= 30 * 60 and y0 <= -100 and y1 >= 100  # readable spans, zero shown
    if points:  # the axis starts at the first point (auto range padding aside)
        first = points[0][0].timestamp()
        assert x0 <= first <= x0 + 0.05 * (x1 - x0)
    times = axis_texts(chart, "bottom")
    assert times and all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
    if points:
        assert {"09:20", "09:30"} & set(times)  # IST: the first point is 09:17:12 IST
    rupees = axis_texts(chart, "left")
    assert "0" in rupees and "100" in rupees and "-100" in rupees
    assert all(re.fullmatch(r"-?[\d,]+", t) for t in rupees), rupees


def test_large_pnl_reads_in_indian_grouping(qtbot):
    chart = make_chart(qtbot)
    chart.load([(T_OPEN + timedelta(minutes=i), Decimal(2500 * i), Decimal(0)) for i in range(100)])
    settled(qtbot, chart)
    rupees = axis_texts(chart, "left")
    assert "1,00,000" in rupees or "2,00,000" in rupees, rupees
    assert all(re.fullmatch(r"-?[\d,]+", t) for t in rupees), rupees
    times = axis_texts(chart, "bottom")
    assert "10:00" in times and all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
