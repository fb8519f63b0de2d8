"""The GTT table's model: one row per GTT, keyed by its id (Kite's trigger id)."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop_oms.domain import OrderSide
from desktop_oms.domain.gtt import Gtt, GttLeg, GttStatus, GttType
from desktop_oms.ui.common import KeyedTableModel, num_column, text_column, theme
from desktop_oms.ui.common import format as fmt


def _type_text(gtt: Gtt) -> str:
    return "OCO" if gtt.gtt_type is GttType.OCO else "Single"


def _triggers_text(gtt: Gtt) -> str:
    return " / ".join(fmt.price(v) for v in gtt.trigger_values)


def _leg_text(leg: GttLeg) -> str:
    return (
        f"{fmt.enum_text(leg.side)} {fmt.quantity(leg.quantity)} @ {fmt.price(leg.price)} "
        f"{leg.product.value}"
    )


def _legs_text(gtt: Gtt) -> str:
    return " | ".join(_leg_text(leg) for leg in gtt.legs)


def outcome_text(gtt: Gtt) -> str:
    """What a fired GTT did: which leg, at what price, the order or why it failed."""
    index = gtt.fired_leg
    if index is None:
        return ""
    result = gtt.legs[index].result
    # Kite's OCO: the lower trigger first - a long's stop (its legs sell), a short's target.
    lower = "stop" if gtt.legs[0].side is OrderSide.SELL else "target"
    upper = "target" if lower == "stop" else "stop"
    name = (lower if index == 0 else upper) if gtt.gtt_type is GttType.OCO else "leg"
    at = f" at {fmt.price(result.triggered_at)}" if result.triggered_at is not None else ""
    if result.placed:
        return f"{name}{at}: order {result.order_id}"
    return f"{name}{at}: failed \u2014 {result.rejection_reason or 'no order placed'}"


def _status_colour(gtt: Gtt):
    if gtt.status is GttStatus.ACTIVE:
        return theme.qcolor(theme.PROFIT)
    if gtt.status is GttStatus.TRIGGERED:
        return theme.qcolor(theme.WARNING)
    return None


GTT_COLUMNS = (
    num_column("id", "GTT id", lambda g: g.gtt_id, display=str),
    text_column("symbol", "Symbol", lambda g: f"{g.exchange}:{g.symbol}"),
    text_column("type", "Type", _type_text),
    text_column("triggers", "Triggers", _triggers_text),
    text_column("legs", "Orders", _legs_text),
    text_column(
        "status", "Status", lambda g: g.status.value, display=str.upper, colour=_status_colour
    ),
    text_column("outcome", "Outcome", outcome_text),
    text_column("created", "Created (IST)", lambda g: g.created_at, display=fmt.ist_datetime),
    text_column("last_price", "LTP at creation", lambda g: fmt.price(g.last_price)),
)


class GttModel(KeyedTableModel):
    """Rows of `Gtt`, keyed by gtt_id; `reset(gtts)` replaces them with the broker's list."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(GTT_COLUMNS, lambda g: g.gtt_id, parent=parent)
