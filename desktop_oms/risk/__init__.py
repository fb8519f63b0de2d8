"""Risk: limits, pre-trade validation, real-time monitor, kill switch, brackets, charges,
achievements, GTTs for carried positions. `from desktop_oms.risk import PreTradeValidator, RiskLimits, KillSwitch`."""

from desktop_oms.risk.achievements import Achievements
from desktop_oms.risk.basket import BasketPreview, BasketPreviewer, LegPreview
from desktop_oms.risk.brackets.manager import BracketManager
from desktop_oms.risk.charges.calculator import (
    Charges,
    ChargesCalculator,
    ChargesSchedule,
    ContractNote,
    Segment,
)
from desktop_oms.risk.checks import CHECK_NAMES
from desktop_oms.risk.events import (
    BracketChanged,
    BracketView,
    PositionRisk,
    RiskSnapshot,
    RiskUpdated,
)
from desktop_oms.risk.gtt import GttManager, GttRefused, protective_oco
from desktop_oms.risk.kill_switch.switch import KillSwitch, KillSwitchResult, RearmRefused
from desktop_oms.risk.limits import RISK_FIELDS, LossLimitAction, RiskLimits
from desktop_oms.risk.monitor import RealTimeRiskMonitor
from desktop_oms.risk.pnl import DayPnl, DayPnlLedger
from desktop_oms.risk.validator import PreTradeValidator

__all__ = [
    "CHECK_NAMES",
    "RISK_FIELDS",
    "Achievements",
    "BasketPreview",
    "BasketPreviewer",
    "BracketChanged",
    "BracketManager",
    "BracketView",
    "Charges",
    "ChargesCalculator",
    "ChargesSchedule",
    "ContractNote",
    "DayPnl",
    "DayPnlLedger",
    "GttManager",
    "GttRefused",
    "KillSwitch",
    "KillSwitchResult",
    "LegPreview",
    "LossLimitAction",
    "PositionRisk",
    "PreTradeValidator",
    "RealTimeRiskMonitor",
    "RearmRefused",
    "RiskLimits",
    "RiskSnapshot",
    "RiskUpdated",
    "Segment",
    "protective_oco",
]
