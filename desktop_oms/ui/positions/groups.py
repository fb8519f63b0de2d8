"""Positions grouped by underlying (issue 16): one row per underlying with options or
futures on it, the legs' combined P&L, and a straddle's or strangle's combined premium.

`group_positions(positions, describe)` is pure: `describe(exchange, symbol)` gives the
instrument of an index derivative (an `Instrument`: its `name` is the underlying, its
`instrument_type` CE / PE / FUT, its strike and expiry) or None for anything outside a
group (a stock). A group's structure is named when its open option legs are
one call and one put of the same expiry, the same quantity and the same direction: a
straddle (same strike) or a strangle (different strikes); its premium is the two legs'
prices added (what one unit of the pair costs now), beside what it was entered at.

`UnderlyingGroupsModel` is a keyed model of those rows (key: the underlying), refreshed
from the positions model whenever its rows change (`PositionsPanel.set_grouping`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QObject

from desktop_oms.domain import Instrument, Position
from desktop_oms.domain.money import ZERO
from desktop_oms.ui.common import KeyedTableModel, num_column, pnl_column, text_column
from desktop_oms.ui.common import format as fmt

__all__ = ["UnderlyingGroup", "UnderlyingGroupsModel", "group_positions"]


@dataclass(frozen=True, slots=True)
class UnderlyingGroup:
    underlying: str
    legs: int  # open legs
    total_pnl: Decimal  # realized + unrealized of every leg (open or closed today)
    unrealized_pnl: Decimal
    structure: str  # "Short straddle 26000", "Long strangle 25900/26100", "" otherwise
    premium: Decimal | None  # the pair's prices added, now
    entry_premium: Decimal | None  # the pair's average prices added

    @property
    def premium_change(self) -> Decimal | None:
        if self.premium is None or self.entry_premium is None:
            return None
        return self.premium - self.entry_premium


Describe = Callable[[str, str], Instrument | None]


def _strike(value: Decimal) -> str:
    """A strike as traders write it: 26000, 47.5."""
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


def group_positions(positions: Iterable[Position], describe: Describe) -> list[UnderlyingGroup]:
    legs: dict[str, list[tuple[Position, Instrument]]] = {}
    for position in positions:
        leg = describe(position.exchange, position.symbol)
        if leg is None or not leg.name:
            continue
        legs.setdefault(leg.name.upper(), []).append((position, leg))
    groups = []
    for underlying, members in sorted(legs.items()):
        open_legs = [(p, leg) for p, leg in members if p.quantity]
        if not open_legs and not any(p.realized_pnl for p, _ in members):
            continue
        structure, premium, entry = "", None, None
        options = [(p, leg) for p, leg in open_legs if leg.is_option]
        if len(options) == 2:
            (a, la), (b, lb) = options
            if (
                {la.instrument_type, lb.instrument_type} == {"CE", "PE"}
                and la.expiry == lb.expiry
                and a.quantity == b.quantity
            ):
                call, put = (la, lb) if la.instrument_type == "CE" else (lb, la)
                side = "Long" if a.quantity > 0 else "Short"
                if call.strike == put.strike:
                    structure = f"{side} straddle {_strike(call.strike)}"
                else:
                    low, high = sorted((call.strike, put.strike))
                    structure = f"{side} strangle {_strike(low)}/{_strike(high)}"
                if a.last_price is not None and b.last_price is not None:
                    premium = a.last_price + b.last_price
                entry = a.average_price + b.average_price
        groups.append(
            UnderlyingGroup(
                underlying=underlying,
                legs=len(open_legs),
                total_pnl=sum((p.realized_pnl + p.unrealized_pnl for p, _ in members), ZERO),
                unrealized_pnl=sum((p.unrealized_pnl for p, _ in members), ZERO),
                structure=structure,
                premium=premium,
                entry_premium=entry,
            )
        )
    return groups


GROUP_COLUMNS = (
    text_column("underlying", "Underlying", lambda g: g.underlying),
    num_column("legs", "Legs", lambda g: g.legs),
    pnl_column("total_pnl", "P&L", lambda g: g.total_pnl),
    pnl_column("unrealized", "Unrealized", lambda g: g.unrealized_pnl),
    text_column("structure", "Structure", lambda g: g.structure),
    num_column("premium", "Premium", lambda g: g.premium, display=fmt.price),
    num_column("entry_premium", "Entry premium", lambda g: g.entry_premium, display=fmt.price),
    num_column("premium_change", "Chg", lambda g: g.premium_change, display=fmt.signed_money),
)


class UnderlyingGroupsModel(KeyedTableModel):
    """One row per underlying (key), in underlying order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(GROUP_COLUMNS, lambda g: g.underlying, flush_interval_ms=0, parent=parent)

    def show_groups(self, groups: list[UnderlyingGroup]) -> None:
        keep = {g.underlying for g in groups}
        for key in [k for k in self._slot_of if k not in keep]:
            self.remove(key)
        if groups:
            self.upsert(groups)
