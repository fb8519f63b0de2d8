"""Risk in the window: the risk panel, the risk-limits dialog and the kill switch button.

Entry points: `RiskPanel` (panel.py; day P&L gross and net, loss-limit use, drawdown, from
RiskSnapshot), `RiskSettingsDialog(limits, apply, parent)` (limits_dialog.py),
`KillSwitchButton` (kill_switch_button.py; hold to engage, or the shortcut twice;
`engageRequested`).

Invariant: the button never engages on a single accidental press; what engaging does is
the window's business (through the kill switch service).
"""

from desktop_oms.ui.risk.kill_switch_button import KillSwitchButton, KillSwitchState
from desktop_oms.ui.risk.limits_dialog import RiskSettingsDialog, changes
from desktop_oms.ui.risk.panel import RiskPanel

__all__ = ["KillSwitchButton", "KillSwitchState", "RiskPanel", "RiskSettingsDialog", "changes"]
