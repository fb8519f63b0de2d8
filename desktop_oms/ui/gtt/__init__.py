"""The GTT tab: GTTs resting at the broker for carried positions.

Entry points: `GttPanel(service, run, positions=..., last_price=..., tick_size=...)`
(panel.py; objectName "gttPanel", its table "gttView"), `GttModel` (model.py) and the
dialogs `ProtectDialog` / `ModifyGttDialog` (dialogs.py).
"""

from desktop_oms.ui.gtt.dialogs import ModifyGttDialog, ProtectDialog
from desktop_oms.ui.gtt.model import GttModel
from desktop_oms.ui.gtt.panel import GttPanel

__all__ = ["GttModel", "GttPanel", "ModifyGttDialog", "ProtectDialog"]
