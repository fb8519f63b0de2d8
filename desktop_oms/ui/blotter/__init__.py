"""The blotter: the day's orders (filterable), trades and an order's audit trail.

Entry points: `BlotterPanel(orders_model, trades_model, audit)` (panel.py) with the views
`blotter` (orders) and `tradesView` and the actions the window connects (cancel, modify,
cancel all, export, note); `OrdersModel` / `TradesModel` (keyed by order id / trade id);
`AuditView(load_events, run)` (audit.py); `bracket_tooltip(brackets, orders_model)`
(brackets.py) for the orders' bracket tooltips.

Invariants: the panel only shows and offers actions; what an action does is the window's
business. Rows are keyed: an order's updates change its row in place, and a bracket's
exits sort under their entry.
"""

from desktop_oms.ui.blotter.audit import AuditView
from desktop_oms.ui.blotter.brackets import bracket_tooltip, describe_bracket
from desktop_oms.ui.blotter.orders_model import OrderFilter, OrdersModel, bracket_leg
from desktop_oms.ui.blotter.panel import BlotterPanel
from desktop_oms.ui.blotter.trades_model import TradeRow, TradesModel

__all__ = [
    "AuditView",
    "BlotterPanel",
    "OrderFilter",
    "OrdersModel",
    "TradeRow",
    "TradesModel",
    "bracket_leg",
    "bracket_tooltip",
    "describe_bracket",
]
