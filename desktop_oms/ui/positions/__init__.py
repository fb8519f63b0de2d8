"""The positions grid: net positions with live P&L, per-row Exit, Exit all and a totals
footer.

Entry points: `PositionsPanel(model)` (panel.py; the grid `positionsGrid`, signals
`exitRequested(position)` / `exitAllRequested()`); `PositionsModel` (model.py; keyed by
exchange, symbol and product; `totals_changed(PositionTotals)`).

Invariant: the panel asks for an exit; closing a position (after a confirmation) is the
window's business.
"""

from desktop_oms.ui.positions.model import PositionsModel, PositionTotals
from desktop_oms.ui.positions.panel import PositionsPanel

__all__ = ["PositionTotals", "PositionsModel", "PositionsPanel"]
