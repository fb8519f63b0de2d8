"""The day's P&L chart.

Entry point: `PnlChartSlot` (slot.py), the P&L dock's widget: it keeps the points it is
given and builds the chart (`PnlChart`, chart.py, objectName "pnlChart") once pyqtgraph is
imported on a worker thread after the window is up.

Invariant: pyqtgraph and numpy are not on the way to the first window: importing this
package does not import them (`PnlChart` is loaded when first asked for).
"""

from typing import Any

from desktop_oms.ui.pnl.slot import PnlChartSlot

__all__ = ["PnlChart", "PnlChartSlot"]


def __getattr__(name: str) -> Any:
    if name == "PnlChart":  # pyqtgraph: only when asked for
        from desktop_oms.ui.pnl.chart import PnlChart

        return PnlChart
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
