"""RiskLimits: the trader's configurable limits (contract field names and defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from decimal import Decimal

from ..domain.money import to_decimal

_DECIMALS = ("capital", "risk_per_trade_pct", "daily_loss_limit_pct", "min_risk_reward", "price_band_pct", "max_order_value")
_INTS = ("max_open_positions", "max_quantity")


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

    def __post_init__(self) -> None:
        for name in _DECIMALS:
            value = to_decimal(getattr(self, name), name.replace("_", " "))
            if value <= 0:
                raise ValueError(f"{name.replace('_', ' ')} must be positive, got {value}")
            object.__setattr__(self, name, value)
        for name in _INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name.replace('_', ' ')} must be a positive whole number, got {value!r}")
        window = self.duplicate_window_s
        if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0 or window != window:
            raise ValueError(f"duplicate window must be a non-negative number of seconds, got {window!r}")
        if not isinstance(self.require_stop_loss, bool):
            raise ValueError("require stop loss must be true or false")
        for name in ("risk_per_trade_pct", "daily_loss_limit_pct", "price_band_pct"):
            if getattr(self, name) > 100:
                raise ValueError(f"{name.replace('_', ' ')} is a percentage and cannot exceed 100")

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> RiskLimits:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown risk setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)
