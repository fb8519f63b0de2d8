"""The order blotter's model: domain `Order` rows keyed by order id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Qt

from desktop_oms.domain import Order, OrderStatus, OrderType
from desktop_oms.ui.common import (
    Column,
    KeyedTableModel,
    enum_column,
    num_column,
    side_column,
    text_column,
    theme,
    time_column,
)
from desktop_oms.ui.common import format as fmt


def _fields(column: Column) -> dict:
    return {name: getattr(column, name) for name in Column.__dataclass_fields__}


class OrderFilter(StrEnum):
    """Blotter filter. OPEN: not terminal. EXECUTED: anything with a fill (incl. partial)."""

    ALL = "All"
    OPEN = "Open"
    EXECUTED = "Executed"
    REJECTED = "Rejected"

    @classmethod
    def parse(cls, value: OrderFilter | str) -> OrderFilter:
        if isinstance(value, OrderFilter):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value.lower(), member.name.lower()):
                return member
        raise ValueError(f"unknown order filter {value!r}")

    def accepts(self, order: Order) -> bool:
        if self is OrderFilter.OPEN:
            return order.status.is_active
        if self is OrderFilter.EXECUTED:
            return order.filled_quantity > 0
        if self is OrderFilter.REJECTED:
            return order.status is OrderStatus.REJECTED
        return True


def _status_tip(order: Order) -> str:
    parts = [fmt.enum_text(order.status)]
    if order.status_message:
        parts.append(order.status_message)
    parts.append(f"updated {fmt.ist_datetime(order.updated_at)}")
    return " \u2014 ".join(parts)


EXIT_MARK = "\u21b3"  # ↳


def bracket_leg(order: Order) -> str | None:
    """ "SL" (its resting stop), "EXIT" (its exit at market: the target reached, or the
    stop already crossed) or "TGT" (a resting target, from brackets made before targets
    were watched) for a bracket's exit under its entry; None for any other order."""
    if order.parent_order_id is None or order.source != "bracket":
        return None
    kind = order.sent_type  # as sent: a protected LIMIT (Kite's mktp) is still the exit
    if kind is OrderType.MARKET:
        return "EXIT"
    return "TGT" if kind is OrderType.LIMIT else "SL"


def group_id(order: Order) -> int:
    """The bracket group an order sorts with: its entry's id for an exit, else its own."""
    return order.parent_order_id if bracket_leg(order) is not None else order.id


def _symbol_text(order: Order) -> str:
    leg = bracket_leg(order)
    return order.symbol if leg is None else f"{EXIT_MARK} {leg}  {order.symbol}"


@dataclass(frozen=True, slots=True)
class RowColumn(Column):
    """A column whose text and sort key are computed from the whole row (the base Column
    only sees its value). Export (`value`) is unchanged."""

    row_text: Callable[[Any], str] | None = None
    row_sort: Callable[[Any], object] | None = None
    row_key: Callable[[Any], object] | None = None  # kept per row; orders as row_sort does

    def text(self, row: Any) -> str:
        if self.row_text is not None:
            return self.row_text(row)
        return Column.text(self, row)

    def sort_value(self, row: Any) -> object:
        if self.row_sort is not None:
            return self.row_sort(row)
        return Column.sort_value(self, row)

    def stored_sort_value(self, row: Any) -> object:
        if self.row_key is not None:
            return self.row_key(row)
        return self.sort_value(row)

    def changed(self, old: Any, new: Any) -> bool:
        if self.row_text is not None:  # drawn from more of the row than its value
            return self.row_text(old) != self.row_text(new)
        return Column.changed(self, old, new)


# The time column's (group, leg, id) sort key packed into one int for the model to keep
# per row (a 3-tuple and a negated id cost ~90 bytes a row; the int ~36): the id part
# takes the low 63 bits, offset so that any id with |id| < 2**62 fits.
_ID_SPAN = 1 << 63
_ID_OFFSET = 1 << 62


ORDER_COLUMNS: tuple[Column, ...] = (
    time_column(
        "time", "Time", lambda o: o.created_at, tooltip=lambda o: fmt.ist_datetime(o.created_at)
    ),
    text_column("client_id", "Client ID", lambda o: o.client_order_id),
    text_column("broker_id", "Broker ID", lambda o: o.broker_order_id),
    text_column(
        "symbol", "Symbol", lambda o: o.symbol, tooltip=lambda o: f"{o.exchange}:{o.symbol}"
    ),
    side_column(lambda o: o.side),
    enum_column("type", "Type", lambda o: o.order_type),
    num_column("quantity", "Qty", lambda o: o.quantity, display=fmt.quantity),
    num_column("filled", "Filled", lambda o: o.filled_quantity, display=fmt.quantity),
    num_column("price", "Price", lambda o: o.price, display=fmt.price),
    num_column("trigger", "Trigger", lambda o: o.trigger_price, display=fmt.price),
    num_column("avg_price", "Avg price", lambda o: o.average_price, display=fmt.price),
    enum_column(
        "status",
        "Status",
        lambda o: o.status,
        colour=lambda o: theme.status_colour(o.status),
        tooltip=_status_tip,
    ),
    text_column(
        "message", "Message", lambda o: o.status_message, tooltip=lambda o: o.status_message or None
    ),
    enum_column("product", "Product", lambda o: o.product),
    text_column("strategy", "Strategy", lambda o: o.strategy_id),
    # the slices of an order sent above the freeze quantity: "2/3 <group>" (the model
    # fills the text in: it knows the group's members)
    text_column("slice", "Slice", lambda o: o.slice_group),
)


class OrdersModel(KeyedTableModel):
    """Orders keyed by `order.id`. Feed with queue_upsert(order) from OMS events.

    View: QTableView.setModel(model); setSortingEnabled(True) sorts numerically in the
    model; set_status_filter("Open") filters.

    Brackets: an exit (source "bracket", parent_order_id = its entry) shows "↳ SL" /
    "↳ TGT" before its symbol, and sorting by time keeps it right under its entry in
    either direction (the time column sorts by (group = entry id, entry first, own id);
    order ids grow with creation time). `set_bracket_tooltip(fn)` adds fn(order) (the
    bracket's state) to the symbol cell's tooltip of entries and exits.
    """

    def __init__(self, *, flush_interval_ms: int = 150, parent: QObject | None = None) -> None:
        self._bracket_tip: Callable[[Order], str | None] | None = None
        self._time_descending = False
        columns = []
        self._open_keys: set[int] = set()  # ids of rows whose order is not terminal
        self._slices: dict[str, list[int]] = {}  # slice group -> its orders' ids, ascending
        for column in ORDER_COLUMNS:
            if column.key == "time":
                column = RowColumn(
                    **_fields(column),
                    row_sort=lambda o: self._time_sort_key(o),
                    row_key=lambda o: self._time_key(o),
                )
            elif column.key == "slice":
                column = RowColumn(**_fields(column), row_text=lambda o: self._slice_text(o))
                column = replace(column, tooltip=lambda o: self._slice_tip(o))
            elif column.key == "symbol":
                column = RowColumn(**_fields(column), row_text=_symbol_text)
                column = replace(column, tooltip=lambda o: self._symbol_tip(o))
            columns.append(column)
        super().__init__(
            columns, lambda o: o.id, flush_interval_ms=flush_interval_ms, parent=parent
        )
        self._status_filter = OrderFilter.ALL

    # ---- bracket grouping ------------------------------------------------------------

    def _time_sort_key(self, order: Order) -> tuple[int, int, int]:
        group = group_id(order)
        exit_leg = group != order.id
        if self._time_descending:  # the view shows the sorted list back to front
            return (group, 0 if exit_leg else 1, -order.id)
        return (group, 1 if exit_leg else 0, order.id)

    def _time_key(self, order: Order) -> int:
        """_time_sort_key as one int, in the same order (see _ID_SPAN)."""
        group = group_id(order)
        own = order.id + _ID_OFFSET
        if self._time_descending:
            return (2 * group + (group == order.id)) * _ID_SPAN + (_ID_SPAN - 1 - own)
        return (2 * group + (group != order.id)) * _ID_SPAN + own

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.flush()  # queued rows are keyed in the current direction before it changes
        self._time_descending = order == Qt.SortOrder.DescendingOrder
        super().sort(column, order)

    def set_bracket_tooltip(self, describe: Callable[[Order], str | None] | None) -> None:
        """describe(order) -> the bracket's state for an entry or exit (None: no bracket)."""
        self._bracket_tip = describe

    def _symbol_tip(self, order: Order) -> str:
        tip = f"{order.exchange}:{order.symbol}"
        leg = bracket_leg(order)
        if leg is not None:
            kind = "stop-loss" if leg == "SL" else "target"
            tip += f"\nBracket {kind} exit of #{order.parent_order_id}"
        if self._bracket_tip is not None and (
            leg is not None or order.stop_loss or order.take_profit
        ):
            try:
                extra = self._bracket_tip(order)
            except Exception:  # a tooltip must never break painting
                extra = None
            if extra:
                tip += "\n" + extra
        return tip

    @property
    def status_filter(self) -> OrderFilter:
        return self._status_filter

    def set_status_filter(self, value: OrderFilter | str) -> None:
        """All / Open / Executed / Rejected (enum or its text, case-insensitive)."""
        value = OrderFilter.parse(value)
        if value is self._status_filter:
            return
        self._status_filter = value
        self.set_filter(None if value is OrderFilter.ALL else value.accepts)

    # ---- open orders (a running set, not a recount of 100,000 rows) --------------------

    def _track(self, key: int, order: Order) -> None:
        if order.status.is_active:
            self._open_keys.add(key)
        else:
            self._open_keys.discard(key)
        group = order.slice_group
        if group is not None:
            members = self._slices.setdefault(group, [])
            if key not in members:
                members.append(key)
                members.sort()
                for other in members:  # their "i/n" text changes with n
                    slot = self._slot_of.get(other)
                    if other != key and slot is not None and slot < len(self._cache):
                        self._cache[slot] = None

    def _untrack(self, key: int) -> None:
        self._open_keys.discard(key)
        for members in self._slices.values():
            if key in members:
                members.remove(key)

    def _untrack_all(self) -> None:
        self._open_keys.clear()
        self._slices.clear()

    # ---- slices of one order (above the freeze quantity) -------------------------------

    def slice_group_ids(self, group: str) -> list[int]:
        """The ids of the orders of one slice group shown, ascending (first slice first)."""
        return list(self._slices.get(group, ()))

    def slice_groups(self) -> dict[str, list[int]]:
        return {group: list(ids) for group, ids in self._slices.items() if ids}

    def _slice_text(self, order: Order) -> str:
        group = order.slice_group
        members = self._slices.get(group) if group is not None else None
        if not members or order.id not in members:
            return ""
        return f"{members.index(order.id) + 1}/{len(members)}  {group}"

    def _slice_tip(self, order: Order) -> str | None:
        group = order.slice_group
        members = self._slices.get(group) if group is not None else None
        if not members or order.id not in members:
            return None
        items = [self.get(i) for i in members]
        total = sum(o.quantity for o in items if o is not None)
        filled = sum(o.filled_quantity for o in items if o is not None)
        return (
            f"Slice {members.index(order.id) + 1} of {len(members)} of one order of "
            f"{total:,} (sent in slices at the freeze quantity); group {group}; "
            f"{filled:,} filled across the slices"
        )

    @property
    def open_count(self) -> int:
        """How many orders are not yet terminal (filtered out or not); O(1)."""
        return len(self._open_keys)

    def open_orders(self) -> list[Order]:
        """Orders not yet terminal, filtered out or not (for "cancel all open"), in the
        order they were added; O(open orders)."""
        slot_of = self._slot_of
        items = self._items
        return [items[slot] for slot in sorted(slot_of[key] for key in self._open_keys)]
