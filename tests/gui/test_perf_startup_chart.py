"""Start-up: the PnL chart (pyqtgraph) is not on the way to the first window, yet it comes
soon after and shows everything it was given meanwhile; PySide6's per-import check is
answered the same, only cheaper. No timing assertions (the machine is shared).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from desktop_oms.ui.pnl.slot import PnlChartSlot

D = Decimal


def _points(t0, n):
    return [
        (t0 + timedelta(seconds=5 * i), D(10 * i), D(i), D(10 * i) - D("1.5")) for i in range(n)
    ]


def test_points_given_before_the_chart_exists_are_drawn_when_it_does(qtbot, t0):
    slot = PnlChartSlot(show_net=True)
    qtbot.addWidget(slot)
    assert not slot.is_built and slot.findChild(QDockWidget) is None
    slot.load(_points(t0, 3))
    slot.add_point(t0 + timedelta(seconds=20), D("250"), D("40"), D("245"))
    assert slot.point_count() == 4
    chart = slot.chart  # built on demand
    assert slot.is_built and chart.objectName() == "pnlChart" and chart.parent() is slot
    assert chart.point_count() == 4
    assert chart.last_values == (D("250"), D("40"), D("245"))
    assert slot.findChild(type(chart), "pnlChart") is chart
    slot.add_point(t0 + timedelta(seconds=25), D("260"), D("40"), None)  # straight through now
    assert chart.point_count() == 5 and slot.point_count() == 5
    slot.load([])
    assert chart.point_count() == 0


def test_the_chart_is_built_after_a_background_import(qtbot, t0):
    slot = PnlChartSlot()
    qtbot.addWidget(slot)
    slot.load(_points(t0, 2))
    with qtbot.waitSignal(slot.chartReady, timeout=10_000) as ready:
        slot._start_import()  # what build_soon does when pyqtgraph is not loaded yet
        assert slot._import is not None  # Qt prepared on this thread, then the worker
    chart = ready.args[0]
    assert chart is slot.chart and chart.point_count() == 2
    slot._import_thread.join(5)
    assert not slot._import_thread.is_alive()
    slot.build_soon()  # nothing more to do
    assert slot.chart is chart


def test_the_window_keeps_its_contracts_with_the_chart_in_a_slot(qtbot, make_app):
    app = make_app()
    w = app.window
    assert w.pnl_dock.widget() is w.pnl_slot
    chart = w.pnl_chart
    assert chart.objectName() == "pnlChart" and chart.parent() is w.pnl_slot
    assert w.findChild(type(chart), "pnlChart") is chart
    # B / S from the chart open the ticket (the shortcuts sit on the slot, the chart's parent)
    keys = {
        s.key().toString()
        for s in w.menus.letter_shortcuts
        if s.parent() is w.pnl_slot and s.context() is Qt.ShortcutContext.WidgetWithChildrenShortcut
    }
    assert keys == {"B", "S"}


_CHILD = textwrap.dedent(
    """
    import asyncio, json, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import qasync
    from PySide6.QtWidgets import QApplication
    from pathlib import Path
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    qapp = QApplication(sys.argv)
    out = {}

    async def main():
        settings = Settings(data_dir=Path(sys.argv[1]), broker="paper", simulate_market=False)
        app = Application(settings)
        await app.start()
        w = app.window
        w.show()
        while not (app.order_manager.ready and w.load_task.done()):
            await asyncio.sleep(0.002)
        await asyncio.sleep(0)
        w.repaint()
        out["pyqtgraph_at_ready"] = "pyqtgraph" in sys.modules
        out["numpy_at_ready"] = "numpy" in sys.modules
        out["built_at_ready"] = w.pnl_slot.is_built
        for _ in range(2500):  # up to ~10 s
            if w.pnl_slot.is_built:
                break
            await asyncio.sleep(0.004)
        out["built_later"] = w.pnl_slot.is_built
        from desktop_oms.ui.pnl.chart import PnlChart
        chart = w.findChild(PnlChart, "pnlChart")
        out["found"] = chart is not None and chart is w.pnl_chart
        out["points"] = chart.point_count() if chart is not None else None
        out["in_dock"] = w.pnl_dock.widget() is w.pnl_slot and chart.parent() is w.pnl_slot
        w.live.pnl_dirty = True
        w.live.add_pnl_point()
        out["points_after"] = chart.point_count()
        out["import_threads"] = [
            t.name for t in __import__("threading").enumerate() if t.name == "pnl-chart-import"
        ]
        await app.stop()
        w.close()

    qasync.run(main())
    print("RESULT " + json.dumps(out), flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="offscreen subprocess start-up (POSIX)")
def test_a_fresh_process_shows_the_window_before_loading_pyqtgraph(tmp_path):
    """What `desktop-oms` does: no pyqtgraph until the window is up and loaded; the chart
    is in its dock soon after, with the day's points. (numpy is loaded before: paper mode
    prices its index option chains from the start, issue 16.)"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    assert out["pyqtgraph_at_ready"] is False, out
    assert out["built_at_ready"] is False, out
    assert out["built_later"] is True, out
    assert out["found"] and out["in_dock"], out
    assert out["points"] >= 1  # the point added at the initial load, kept until then
    assert out["points_after"] == out["points"] + 1
    assert out["import_threads"] == []  # the import finished
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_qt_is_prepared_on_the_gui_thread_before_the_worker_imports(qtbot, tmp_path, monkeypatch):
    """The worker thread must find PySide6's types made (pyqtgraph copies them all; made
    lazily on a worker thread while the GUI thread uses Qt, that segfaulted the app)."""
    from desktop_oms.ui.common import background_import as bi

    (tmp_path / "oms_import_probe.py").write_text(
        "import threading\n"
        "from desktop_oms.ui.common import background_import as bi\n"
        "THREAD = threading.current_thread().name\n"
        "PREPARED = bi._preparation is not None and bi._preparation.ready\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    done = []
    job = bi.BackgroundImport("oms_import_probe", lambda: done.append(True), "test-import")
    job.start()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    probe = sys.modules.pop("oms_import_probe")
    assert {"thread": probe.THREAD, "prepared": probe.PREPARED} == {
        "thread": "test-import",
        "prepared": True,
    }
    assert "PySide6.QtOpenGLWidgets" in sys.modules  # imported on the GUI thread
