"""Risk: limits, pre-trade validation, real-time monitor, kill switch."""

from .kill_switch import KillSwitch
from .limits import RiskLimits

__all__ = ["KillSwitch", "RiskLimits"]
