"""Start-up probe (run as a script, so only the app's own imports count):

    python tests/bench/startup_probe.py app DATA_DIR     # the trading window
    python tests/bench/startup_probe.py floor            # a bare PySide6 window

"app" does what `desktop-oms` does (desktop_oms.app.gui_runner.run_gui: QApplication, theme,
qasync, Application(Settings.load(data_dir)).start(), window.show()) with the paper
broker and its simulated market (the defaults), and prints READY once the window is
shown and has painted, the OMS has reconciled with the broker (order_manager.ready) and
the window's initial load (the day's orders and trades) is done, then CHARTS once the
P&L chart and the price chart are built and painted. "floor" prints READY
once a QMainWindow with a QTableView is shown and has painted. The parent times process
start -> READY line. Stages (seconds since this script started running) go to stderr.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def stage(name: str) -> None:
    print(f"STAGE {name} {time.perf_counter() - _T0:.4f}", file=sys.stderr, flush=True)


def floor() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    app = QApplication(sys.argv)
    window = QMainWindow()
    window.setCentralWidget(QTableView())
    window.resize(1600, 950)
    window.show()

    def ready() -> None:
        window.repaint()
        print("READY", flush=True)
        app.quit()

    QTimer.singleShot(0, ready)
    app.exec()
    return 0


def app(data_dir: str) -> int:
    import asyncio
    from pathlib import Path

    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_oms.app import Application
    from desktop_oms.config import Settings
    from desktop_oms.ui.common.theme import apply_dark_theme

    stage("imports")
    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Desktop OMS")
    qapp.setOrganizationName("desktop-oms")
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    settings, _warning = Settings.load(Path(data_dir))
    stage("qapplication")

    async def main() -> None:
        application = Application(settings)
        await application.start()
        stage("app.start")
        window = application.window
        window.show()
        om = application.order_manager
        load_task = getattr(window, "load_task", None)
        while not om.ready or (load_task is not None and not load_task.done()):
            await asyncio.sleep(0.002)
        await asyncio.sleep(0)
        window.repaint()
        stage("ready")
        print("READY", flush=True)
        # then the charts (pyqtgraph is imported on a worker thread after the first
        # frames): the P&L chart, then the price chart
        charts = (window.pnl_slot, window.price_chart)
        end = time.perf_counter() + 30
        while not all(c.is_built for c in charts) and time.perf_counter() < end:
            await asyncio.sleep(0.002)
        if all(c.is_built for c in charts):
            window.repaint()
            stage("charts")
            print("CHARTS", flush=True)
        await application.stop()

    qasync.run(main())
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        sys.exit(floor())
    sys.exit(app(sys.argv[2]))
