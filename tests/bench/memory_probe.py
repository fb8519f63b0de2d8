"""Fresh-process RSS probe for bench_memory: python -m tests.bench.memory_probe DATA_DIR N."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss() -> tuple[float, float]:
    from tests.bench.common import rss_mb

    gc.collect()
    return rss_mb()


SPOT = "26000"  # NIFTY 50 in paper mode: its chain is priced around it
CHARTED = ("NSE", "RELIANCE")


async def _open_views(app, window, out: dict) -> None:  # noqa: ANN001
    """What a trader has open besides the blotter: the NIFTY option chain (its nearest
    expiry, streaming), the price chart with its history, and the depth ladder."""
    from decimal import Decimal

    from tests.bench.common import open_chain_and_chart

    app.broker.set_last_price("NSE", "NIFTY 50", Decimal(SPOT))
    app.broker.set_last_price(*CHARTED, Decimal("2450"))
    chain, chart = await open_chain_and_chart(window, CHARTED)
    window.ladder_dock.raise_()
    out["chain_rows"] = chain.model.rowCount()
    out["chart_candles"] = len(chart.series)
    out["chart_visible"] = chart.plot.isVisible()
    out["ladder_visible"] = window.depth_ladder.view.isVisible()
    out["chain_visible"] = chain.view.isVisible()
    await asyncio.sleep(0.5)  # timers: the chain, chart and ladder refresh and paint


def main() -> int:
    data_dir = Path(sys.argv[1])
    expected = int(sys.argv[2])
    logging.basicConfig(level=logging.ERROR)
    start_rss = rss()[0]
    import qasync
    from PySide6.QtWidgets import QApplication, QTableView

    from desktop_oms.app import Application
    from desktop_oms.config import Settings
    from desktop_oms.ui.blotter.orders_model import OrdersModel
    from desktop_oms.ui.common.theme import apply_dark_theme

    try:
        import desktop_oms.ui.shell.main_window  # noqa: F401

        has_window = True
    except ImportError:
        has_window = False

    qapp = QApplication.instance() or QApplication([])
    apply_dark_theme(qapp)
    out: dict = {"rss_python_mb": start_rss}
    out["rss_imports_mb"] = rss()[0]

    async def scenario() -> None:
        settings = Settings(data_dir=data_dir, broker="paper", simulate_market=False)
        app = Application(settings, with_window=has_window)
        await app.start()
        try:
            out["rss_oms_started_mb"] = rss()[0]
            out["active_orders_tracked"] = len(app.order_manager.sync.active_orders())
            keep = []
            if has_window:
                window = app.window
                window.show()
                load_task = getattr(window, "load_task", None)
                if load_task is not None:
                    await asyncio.wait_for(asyncio.shield(load_task), 300)
                await asyncio.sleep(0.3)  # flush timers, paint
                source = window.orders_model
                out["rows_loaded_by_window"] = len(source)
                out["rss_window_own_load_mb"] = rss()[0]
                if len(source) < expected:
                    # The window loads the most recent orders itself; put all of them in.
                    source.load(await app.order_manager.list_orders())
                    out["blotter_loaded_by"] = (
                        f"window ({out['rows_loaded_by_window']}) + bench (all)"
                    )
                else:
                    out["blotter_loaded_by"] = "window"
                out["blotter"] = "MainWindow blotter (window.orders_model)"
                await asyncio.sleep(0.5)
                window.blotter.scrollToBottom()
                await asyncio.sleep(0.2)
                out["rows_in_blotter"] = len(source)
                out["rss_blotter_loaded_mb"] = rss()[0]
                await _open_views(app, window, out)
            else:
                model = OrdersModel()
                view = QTableView()
                view.setModel(model)
                view.setSortingEnabled(True)
                view.resize(1400, 700)
                view.show()
                model.reset(app.db.journal.list_orders())
                await asyncio.sleep(0.3)
                keep = [model, view]
                out["blotter"] = "stand-in OrdersModel+QTableView (no MainWindow yet)"
                out["blotter_loaded_by"] = "bench"
                out["rows_in_blotter"] = len(model)
            cur, peak = rss()
            out["rss_loaded_mb"] = cur
            out["rss_peak_mb"] = peak
            del keep
        finally:
            await app.stop()

    qasync.run(scenario())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
