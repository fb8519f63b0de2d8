"""Brackets: reacting to the OMS's events - a new entry, an exit filled or cancelled
(one-cancels-other), an order modified, a position changed - by marking the brackets
concerned for the worker (`mark_dirty`).

A mixin of `BracketManager` (risk/brackets.py); its state lives there.
"""

from __future__ import annotations

from desktop_oms.domain import Order, OrderStatus
from desktop_oms.domain.events import (
    FillApplied,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
)
from desktop_oms.risk.brackets_records import is_entry, leg_of


class BracketEventsMixin:
    """Event handlers of the bracket manager; they only mark brackets dirty."""

    # ------------------------------------------------------------------ events
    def _on_status(self, event: OrderStatusChanged) -> None:
        order = event.order
        if event.old_status is None and is_entry(order) and order.id not in self._links:
            self._link(order)
        if order.id in self._links:
            self.mark_dirty(order.id)
            return
        parent = self._exit_parent(order)
        if parent is None:
            # Another order on a bracketed instrument changes what the exits may cover.
            self._touch((order.exchange, order.symbol, order.product))
            return
        if event.new_status is OrderStatus.CANCELLED:
            if order.id in self._cancelling:
                self._cancelling.discard(order.id)
            else:
                self._disable(
                    parent, leg_of(order), "cancelled outside the bracket: no longer managed"
                )
        elif (
            event.new_status is OrderStatus.REJECTED and event.old_status is not OrderStatus.PENDING
        ):
            # Rejected after the broker took it (a refusal at placement is counted in _place).
            self._failed(parent, leg_of(order), order.status_message or "rejected")
        self.mark_dirty(parent)

    def _on_fill(self, event: FillApplied) -> None:
        order = event.order
        if order.id in self._links:
            self.mark_dirty(order.id)
            return
        parent = self._exit_parent(order)
        if parent is not None:
            self._failures.pop((parent, leg_of(order)), None)
            self._hold.pop((parent, leg_of(order)), None)
            self.mark_dirty(parent)

    def _on_modified(self, event: OrderModified) -> None:
        order = event.order
        parent = order.id if order.id in self._links else self._exit_parent(order)
        if parent is not None:
            self.mark_dirty(parent)

    def _on_position(self, event: PositionChanged) -> None:
        self._touch(event.position.key)

    def _touch(self, key) -> None:
        for entry_id, link in self._links.items():
            if link.active and link.key == key:
                self.mark_dirty(entry_id)

    def _exit_parent(self, order: Order) -> int | None:
        if order.source != "bracket" or order.parent_order_id not in self._links:
            return None
        parent = order.parent_order_id
        if order.id not in self._parent:
            self._parent[order.id] = parent
            self._exits.setdefault(parent, set()).add(order.id)
        return parent

    def mark_dirty(self, entry_id: int) -> None:
        self._dirty.add(entry_id)
        self.idle.clear()
        self._wake.set()
