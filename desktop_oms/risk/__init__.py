"""Risk: limits, pre-trade validation, real-time monitor, kill switch, brackets, charges,
achievements. `from desktop_oms.risk import PreTradeValidator, RiskLimits, KillSwitch`."""

from .achievements import Achievements
from .brackets import BracketManager
from .charges import Charges, ChargesCalculator, ChargesSchedule, ContractNote, Segment
from .checks import CHECK_NAMES
from .events import BracketChanged, BracketView, PositionRisk, RiskSnapshot, RiskUpdated
from .kill_switch import KillSwitch, KillSwitchResult, RearmRefused
from .limits import RISK_FIELDS, LossLimitAction, RiskLimits
from .monitor import RealTimeRiskMonitor
from .pnl import DayPnl, DayPnlLedger
from .validator import PreTradeValidator

__all__ = [
    "CHECK_NAMES",
    "RISK_FIELDS",
    "Achievements",
    "BracketChanged",
    "BracketManager",
    "BracketView",
    "Charges",
    "ChargesCalculator",
    "ChargesSchedule",
    "ContractNote",
    "DayPnl",
    "DayPnlLedger",
    "KillSwitch",
    "KillSwitchResult",
    "LossLimitAction",
    "PositionRisk",
    "PreTradeValidator",
    "RealTimeRiskMonitor",
    "RearmRefused",
    "RiskLimits",
    "RiskSnapshot",
    "RiskUpdated",
    "Segment",
]
