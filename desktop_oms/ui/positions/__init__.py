"""The positions grid: net positions with live P&L, per-row Exit, Exit all and a totals
footer.

Entry points: `PositionsPanel(model)` (panel.py; the grid `positionsGrid`, signals
`exitRequested(position)` / `exitAllRequested()`); `PositionsModel` (model.py; keyed by
exchange, symbol and product; `totals_changed(PositionTotals)`); `group_positions` and
`UnderlyingGroupsModel` (groups.py; F&O positions by underlying, `positionGroups`,
shown once the window calls `PositionsPanel.set_grouping(describe)`).

Invariant: the panel asks for an exit; closing a position (after a confirmation) is the
window's business.
"""

from desktop_oms.ui.positions.groups import UnderlyingGroup, UnderlyingGroupsModel, group_positions
from desktop_oms.ui.positions.model import PositionsModel, PositionTotals
from desktop_oms.ui.positions.panel import PositionsPanel

__all__ = [
    "PositionTotals",
    "PositionsModel",
    "PositionsPanel",
    "UnderlyingGroup",
    "UnderlyingGroupsModel",
    "group_positions",
]
