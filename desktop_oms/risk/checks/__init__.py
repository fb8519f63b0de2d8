"""The named pre-trade checks, each a small function that returns a reason or None.

`CHECK_NAMES` is the contract vocabulary of `OrderRejected.failed_check`, in the order
PreTradeValidator runs them. The functions are pure (no I/O, no clock): the validator
gathers what they need into an `OrderContext` once per order and calls them.
"""

from __future__ import annotations

from desktop_oms.risk.checks.context import OrderContext
from desktop_oms.risk.checks.rate import OrderRateWindow, RateLimit
from desktop_oms.risk.checks.state import (
    DuplicateTracker,
    check_daily_loss_limit,
    check_kill_switch,
    check_margin,
    check_max_open_positions,
)
from desktop_oms.risk.checks.static import (
    check_instrument,
    check_max_order_value,
    check_max_quantity,
    check_order_shape,
    check_price_band,
    check_risk_per_trade,
    check_risk_reward,
)

CHECK_NAMES = (
    "kill_switch",
    "instrument",
    "order_shape",
    "price_band",
    "max_quantity",
    "max_order_value",
    "risk_per_trade",
    "risk_reward",
    "daily_loss_limit",
    "max_open_positions",
    "duplicate_order",
    "order_rate",
    "margin",
)

__all__ = [
    "CHECK_NAMES",
    "DuplicateTracker",
    "OrderContext",
    "OrderRateWindow",
    "RateLimit",
    "check_daily_loss_limit",
    "check_instrument",
    "check_kill_switch",
    "check_margin",
    "check_max_open_positions",
    "check_max_order_value",
    "check_max_quantity",
    "check_order_shape",
    "check_price_band",
    "check_risk_per_trade",
    "check_risk_reward",
]
