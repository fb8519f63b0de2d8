"""Brackets: what a bracket is - its two legs, which orders are entries, the link rows
(`bracket_links`) that make it survive a restart - and keeping those records: attaching a
saved link, linking a new entry, turning a leg off, closing a bracket and publishing it.

A mixin of `BracketManager` (risk/brackets.py); its state lives there.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from desktop_oms.domain import Order, OrderType
from desktop_oms.risk.checks.context import SYSTEM_SOURCES
from desktop_oms.risk.events import BracketChanged
from desktop_oms.risk.store import BracketLink

log = logging.getLogger("desktop_oms.risk.brackets")  # the logger of the original module

STOP = "stop"
TARGET = "target"
MAX_MODIFICATIONS = 24  # Kite allows 25 per order; keep one for the trader


def leg_of(order: Order) -> str:
    return TARGET if order.order_type is OrderType.LIMIT else STOP


def is_entry(order: Order) -> bool:
    return (
        (order.stop_loss is not None or order.take_profit is not None)
        and order.source not in SYSTEM_SOURCES
        and order.parent_order_id is None
    )


class BracketRecordsMixin:
    """Bracket links: attach, link, disable a leg, close, publish."""

    def _attach(self, link: BracketLink) -> None:
        self._links[link.entry_order_id] = link
        exits = set(self.store.exit_order_ids(link.entry_order_id))
        self._exits[link.entry_order_id] = exits
        for exit_id in exits:
            self._parent[exit_id] = link.entry_order_id

    def _link(self, order: Order) -> None:
        link = BracketLink(
            entry_order_id=order.id,
            exchange=order.exchange,
            symbol=order.symbol,
            product=order.product,
            side=order.side,
            stop_loss=order.stop_loss,
            take_profit=order.take_profit,
            stop_enabled=order.stop_loss is not None,
            target_enabled=order.take_profit is not None,
        )
        try:
            if not self.store.add_bracket(link):
                link = self.store.bracket(order.id) or link
        except Exception:  # noqa: BLE001 - managed in memory; re-linked from the order at restart
            log.exception("could not persist the bracket of order %s", order.id)
        self._links[order.id] = link
        self._exits.setdefault(order.id, set())

    # ------------------------------------------------------------------ records
    def _disable(self, entry_id: int, leg: str, why: str) -> None:
        link = self._links.get(entry_id)
        if link is None:
            return
        field = "stop_enabled" if leg == STOP else "target_enabled"
        if not getattr(link, field):
            return
        self._links[entry_id] = replace(link, **{field: False})
        try:
            self.store.update_bracket(entry_id, **{field: False})
        except Exception:  # noqa: BLE001
            log.exception("could not save bracket #%s", entry_id)
        name = "stop-loss" if leg == STOP else "take-profit"
        self.om.alert("info", f"Bracket of order #{entry_id}: {name} {why}", "brackets")

    def _close(self, link: BracketLink, why: str) -> None:
        closed = replace(link, status="closed", status_message=why)
        self._links[link.entry_order_id] = closed
        try:
            self.store.update_bracket(link.entry_order_id, status="closed", status_message=why)
        except Exception:  # noqa: BLE001
            log.exception("could not save bracket #%s", link.entry_order_id)
        entry = self._order(link.entry_order_id)
        if entry is not None:
            self._publish(closed, entry, self._exit_orders(link.entry_order_id), 0)

    def _publish(self, link: BracketLink, entry: Order, exits: list[Order], exposure: int) -> None:
        self.events.publish(BracketChanged(self._view(link, entry, exits, exposure)))
