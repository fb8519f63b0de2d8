"""Market depth: the depth ladder.

Entry point: `DepthLadder` (ladder.py), objectName "depthLadder": price rows centred on
the last price with the book's bid and ask sizes (the paper exchange's five levels, or
Kite's full-mode depth) and the trader's own working orders; click a Bid / Ask cell to
place a limit there, click an own order to cancel it, drag it to modify; every action
has a key. Orders go through the OMS (`place_order`, `cancel_order`, `modify_order`) and
its risk checks.

Invariant: plain Qt (no numpy, no pyqtgraph): built with the window.
"""

from desktop_oms.ui.depth.ladder import DepthLadder, LadderModel

__all__ = ["DepthLadder", "LadderModel"]
