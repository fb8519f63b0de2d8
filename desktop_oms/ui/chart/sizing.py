"""How many to trade at a price with a stop: the quantity whose loss at the stop is
within `risk_per_trade_pct` of capital, in whole lots, and within the other limits an
order must pass (maximum quantity, maximum order value). No Qt.

    sizing = size_from_stop(entry, stop, lot_size=1, multiplier=1, limits=limits)
    sizing.quantity, sizing.risk, sizing.problem, sizing.text()

`default_stop_distance` proposes where a stop goes when the trader has not said: one and
a half times the average true range of the chart's last 14 candles (at least five ticks,
0.5 % of the price without candles), rounded to the tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from desktop_oms.domain import OrderSide
from desktop_oms.domain.money import round_to_tick
from desktop_oms.risk import RiskLimits
from desktop_oms.ui.common import format as fmt

__all__ = ["Sizing", "default_stop_distance", "size_from_stop", "stop_for", "target_for"]

ATR_PERIOD = 14
ATR_MULTIPLE = Decimal("1.5")
MIN_STOP_TICKS = 5
FALLBACK_STOP_PCT = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Sizing:
    """The quantity for an entry with a stop, what it risks and why it is not more."""

    quantity: int
    risk: Decimal  # rupees lost at the stop with this quantity
    risk_limit: Decimal  # risk_per_trade in rupees
    risk_pct: Decimal  # risk as % of capital
    value: Decimal  # order value (quantity x entry x multiplier)
    capped_by: str | None = None  # "max_quantity" / "max_order_value" when they bound it
    problem: str | None = None  # why nothing can be sent (quantity 0)

    def text(self) -> str:
        if self.problem:
            return self.problem
        cap = {
            "max_quantity": " (capped by your maximum quantity)",
            "max_order_value": " (capped by your maximum order value)",
        }.get(self.capped_by or "", "")
        return (
            f"risk {fmt.rupees(self.risk, 0)} = {fmt.percent(self.risk_pct)} of capital "
            f"(limit {fmt.rupees(self.risk_limit, 0)}){cap}"
        )


def size_from_stop(
    entry: Decimal,
    stop: Decimal,
    *,
    lot_size: int,
    multiplier: Decimal,
    limits: RiskLimits,
) -> Sizing:
    """The largest whole-lot quantity whose loss from `entry` to `stop` is within the
    risk per trade, and that passes the quantity and value limits."""
    lot = max(int(lot_size), 1)
    allowed = limits.risk_per_trade
    per_unit = abs(entry - stop) * multiplier
    if per_unit <= 0:
        return Sizing(0, Decimal(0), allowed, Decimal(0), Decimal(0),
                      problem="The stop is at the entry price: move it away to size the order")  # fmt: skip
    lots = int((allowed / (per_unit * lot)).to_integral_value(rounding=ROUND_FLOOR))
    capped_by = None
    max_lots = limits.max_quantity // lot
    if lots > max_lots:
        lots, capped_by = max_lots, "max_quantity"
    unit_value = entry * multiplier * lot
    if unit_value > 0:
        value_lots = int(
            (limits.max_order_value / unit_value).to_integral_value(rounding=ROUND_FLOOR)
        )
        if lots > value_lots:
            lots, capped_by = value_lots, "max_order_value"
    quantity = lots * lot
    risk = per_unit * quantity
    pct = risk / limits.capital * 100 if limits.capital > 0 else Decimal(0)
    if quantity <= 0:
        one = per_unit * lot
        if capped_by == "max_order_value":
            why = (f"One lot is worth {fmt.rupees(unit_value, 0)}, more than your maximum "
                   f"order value {fmt.rupees(limits.max_order_value, 0)}")  # fmt: skip
        else:
            why = (f"The stop is too far: one lot risks {fmt.rupees(one, 0)}, more than your "
                   f"{fmt.rupees(allowed, 0)} per trade")  # fmt: skip
        return Sizing(0, Decimal(0), allowed, Decimal(0), Decimal(0), capped_by, why)
    return Sizing(quantity, risk, allowed, pct, entry * multiplier * quantity, capped_by)


def default_stop_distance(
    entry: Decimal,
    tick: Decimal,
    high: np.ndarray | None = None,
    low: np.ndarray | None = None,
    close: np.ndarray | None = None,
) -> Decimal:
    """1.5 x the ATR of the last 14 candles (>= 5 ticks; 0.5 % of the price without
    candles), on the tick."""
    distance = entry * FALLBACK_STOP_PCT / 100
    if high is not None and low is not None and close is not None and len(close) > ATR_PERIOD:
        h, lo, c = high[-ATR_PERIOD:], low[-ATR_PERIOD:], close[-ATR_PERIOD - 1 : -1]
        true_range = np.maximum(h - lo, np.maximum(np.abs(h - c), np.abs(lo - c)))
        atr = float(np.nanmean(true_range))
        if atr > 0 and np.isfinite(atr):
            distance = Decimal(f"{atr:.6f}") * ATR_MULTIPLE
    distance = max(distance, tick * MIN_STOP_TICKS)
    return max(round_to_tick(distance, tick, "nearest"), tick)


def stop_for(side: OrderSide, entry: Decimal, distance: Decimal) -> Decimal:
    """The stop `distance` away from `entry` on the losing side of a `side` entry."""
    return entry - distance if side is OrderSide.BUY else entry + distance


def target_for(side: OrderSide, entry: Decimal, stop: Decimal, reward_risk: Decimal) -> Decimal:
    """The target `reward_risk` times the risk away from `entry`, on the winning side."""
    reach = abs(entry - stop) * reward_risk
    return entry + reach if side is OrderSide.BUY else entry - reach
