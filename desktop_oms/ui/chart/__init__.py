"""The instrument's price chart, and trading from it.

Entry point: `PriceChartPanel` (panel.py), objectName "priceChart": the chart dock's
widget. It holds the toolbar (interval, averages, VWAP), the readout, the notice line
and the order preview, and does what the chart's lines and keys mean (modify an order,
move a bracket's stop or target, prepare an order at a price sized from its stop). Its
drawing, `PricePlot` (plot.py: candles and volume that draw only the visible range,
VWAP, moving averages, crosshair, draggable lines), is built once pyqtgraph is imported
on a worker thread after the window is up.

Invariant: importing this package imports neither pyqtgraph nor numpy (the panel loads
them when it builds its plot).
"""

from desktop_oms.ui.chart.panel import PriceChartPanel

__all__ = ["PriceChartPanel"]
