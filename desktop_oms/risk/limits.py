"""RiskLimits: the trader's configurable limits (contract field names and defaults).

The first ten fields are the contract (ARCHITECTURE.md). The rest configure what the
risk monitor and the kill switch do; they live here so that `Settings.risk` saves them
with the limits (settings.toml `[risk]`), and all have defaults, so older settings files
load unchanged.

RiskLimits is frozen: to change limits, build a new one (`dataclasses.replace`) and hand
it to `RiskServices.update_limits` (or set `validator.limits` / `monitor.limits`).
`RISK_FIELDS` describes every field for a settings dialog (label, unit, kind, help).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import time
from decimal import Decimal
from enum import StrEnum

from desktop_oms.domain.money import to_decimal

_DECIMALS = (
    "capital",
    "risk_per_trade_pct",
    "daily_loss_limit_pct",
    "min_risk_reward",
    "price_band_pct",
    "max_order_value",
    "warn_at_loss_pct",
)
_INTS = ("max_open_positions", "max_quantity")
_BOOLS = ("require_stop_loss", "flatten_on_kill_switch", "kill_switch_cool_off", "auto_square_off")
_PERCENTS = ("risk_per_trade_pct", "daily_loss_limit_pct", "price_band_pct", "warn_at_loss_pct")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)


class LossLimitAction(StrEnum):
    """What the risk monitor does when the daily loss limit is breached."""

    ALERT = "alert"  # alert only
    HALT = "halt"  # kill switch without flattening: new orders refused, entries cancelled
    HALT_AND_FLATTEN = "halt_and_flatten"  # the full kill switch


@dataclass(frozen=True, slots=True)
class RiskLimits:
    capital: Decimal = Decimal("1000000")
    risk_per_trade_pct: Decimal = Decimal("2")
    daily_loss_limit_pct: Decimal = Decimal("6")
    max_open_positions: int = 5
    min_risk_reward: Decimal = Decimal("2")
    price_band_pct: Decimal = Decimal("10")
    max_order_value: Decimal = Decimal("500000")
    max_quantity: int = 5000
    duplicate_window_s: float = 2.0
    require_stop_loss: bool = False
    # ---- monitor and kill switch behaviour (not contract names; all optional)
    warn_at_loss_pct: Decimal = Decimal("5")  # alert when the day's net loss reaches this
    loss_limit_action: LossLimitAction = LossLimitAction.HALT_AND_FLATTEN
    flatten_on_kill_switch: bool = True
    kill_switch_cool_off: bool = False  # re-arm only on the next trading day
    # Off by default ("optional" in the brief): a trader turns it on; nothing then depends on
    # the wall clock unless asked to.
    auto_square_off: bool = False  # square off MIS positions at square_off_time (IST)
    square_off_time: str = "15:15"

    def __post_init__(self) -> None:
        for name in _DECIMALS:
            value = to_decimal(getattr(self, name), name.replace("_", " "))
            if value <= 0:
                raise ValueError(f"{name.replace('_', ' ')} must be positive, got {value}")
            object.__setattr__(self, name, value)
        for name in _INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"{name.replace('_', ' ')} must be a positive whole number, got {value!r}"
                )
        window = self.duplicate_window_s
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, float))
            or window < 0
            or window != window
            or window == float("inf")
        ):
            raise ValueError(
                f"duplicate window must be a non-negative number of seconds, got {window!r}"
            )
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name.replace('_', ' ')} must be true or false")
        for name in _PERCENTS:
            if getattr(self, name) > 100:
                raise ValueError(f"{name.replace('_', ' ')} is a percentage and cannot exceed 100")
        try:
            object.__setattr__(self, "loss_limit_action", LossLimitAction(self.loss_limit_action))
        except ValueError:
            allowed = ", ".join(a.value for a in LossLimitAction)
            raise ValueError(
                f"loss limit action must be one of {allowed}, got {self.loss_limit_action!r}"
            ) from None
        if not isinstance(self.square_off_time, str) or not _HHMM.fullmatch(self.square_off_time):
            raise ValueError(f"square off time must be HH:MM, got {self.square_off_time!r}")
        if not SESSION_OPEN <= self.square_off_at <= SESSION_CLOSE:
            raise ValueError("square off time must be within market hours (09:15-15:30 IST)")

    # ------------------------------------------------------------------ amounts
    @property
    def daily_loss_limit(self) -> Decimal:
        """The daily loss limit in rupees (a positive number)."""
        return self.capital * self.daily_loss_limit_pct / 100

    @property
    def loss_warning(self) -> Decimal:
        """The loss (rupees, positive) at which the monitor warns; never beyond the limit."""
        return self.capital * min(self.warn_at_loss_pct, self.daily_loss_limit_pct) / 100

    @property
    def risk_per_trade(self) -> Decimal:
        return self.capital * self.risk_per_trade_pct / 100

    @property
    def square_off_at(self) -> time:
        hours, minutes = self.square_off_time.split(":")
        return time(int(hours), int(minutes))

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        out = {}
        for key, value in asdict(self).items():
            if isinstance(value, Decimal):
                out[key] = str(value)
            elif isinstance(value, StrEnum):
                out[key] = value.value
            else:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RiskLimits:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown risk setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How a settings dialog shows one RiskLimits field."""

    name: str
    label: str
    kind: str  # money | percent | int | seconds | ratio | bool | choice | time
    help: str
    choices: tuple[str, ...] = ()


RISK_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("capital", "Trading capital (₹)", "money", "Percent limits are taken of this."),
    FieldSpec("risk_per_trade_pct", "Risk per trade (%)", "percent",
              "Largest loss to the stop-loss on one order, as % of capital."),
    FieldSpec("require_stop_loss", "Require a stop-loss", "bool",
              "Refuse orders that open a position without a stop-loss."),
    FieldSpec("min_risk_reward", "Minimum reward:risk", "ratio",
              "With stop-loss and take-profit, the target must be at least this many times the risk."),
    FieldSpec("daily_loss_limit_pct", "Daily loss limit (%)", "percent",
              "Net of charges, realized + unrealized today. Beyond it only reducing orders pass."),
    FieldSpec("warn_at_loss_pct", "Warn at daily loss (%)", "percent",
              "An alert when the day's net loss reaches this."),
    FieldSpec("loss_limit_action", "On breaching the daily loss limit", "choice",
              "Alert only; halt (refuse new orders, cancel open ones, keep stops); halt and flatten.",
              tuple(a.value for a in LossLimitAction)),
    FieldSpec("max_open_positions", "Maximum open positions", "int",
              "An order that would open one more position than this is refused."),
    FieldSpec("price_band_pct", "Price band (%)", "percent",
              "Limit and trigger prices must be within this of the last price."),
    FieldSpec("max_order_value", "Maximum order value (₹)", "money", "Fat-finger limit."),
    FieldSpec("max_quantity", "Maximum quantity", "int", "Fat-finger limit."),
    FieldSpec("duplicate_window_s", "Duplicate window (s)", "seconds",
              "The same order again within this many seconds is refused as a likely duplicate."),
    FieldSpec("flatten_on_kill_switch", "Kill switch flattens positions", "bool",
              "Off: the kill switch cancels entries but keeps positions and their stops."),
    FieldSpec("kill_switch_cool_off", "Kill switch cool-off", "bool",
              "Once engaged, it can be re-armed only on the next trading day."),
    FieldSpec("auto_square_off", "Auto square-off MIS", "bool",
              "Square off intraday (MIS) positions at the time below, before the broker does."),
    FieldSpec("square_off_time", "Square-off time (IST)", "time", "HH:MM, 09:15-15:30."),
)  # fmt: skip
