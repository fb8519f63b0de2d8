"""Brackets: the read side - `BracketView`s for the GUI, the bracket an order belongs to,
and the nearest working stop on a position (the risk monitor's view).

A mixin of `BracketManager` (risk/brackets.py); its state lives there.
"""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain import Order, OrderSide
from desktop_oms.risk.brackets_records import STOP, TARGET, leg_of
from desktop_oms.risk.events import BracketView
from desktop_oms.risk.store import BracketLink


class BracketQueriesMixin:
    """Views of the brackets (GUI, risk monitor)."""

    # ------------------------------------------------------------------ queries (GUI)
    def _view(
        self, link: BracketLink, entry: Order, exits: list[Order], exposure: int
    ) -> BracketView:
        return BracketView(
            entry_order_id=link.entry_order_id,
            exchange=link.exchange,
            symbol=link.symbol,
            product=link.product,
            side=link.side,
            stop_loss=link.stop_loss,
            take_profit=link.take_profit,
            status=link.status,
            message=link.status_message,
            entry_filled=entry.filled_quantity,
            open_quantity=max(exposure, 0),
            stop_order_ids=tuple(e.id for e in exits if leg_of(e) == STOP),
            target_order_ids=tuple(e.id for e in exits if leg_of(e) == TARGET),
            stop_enabled=link.stop_enabled,
            target_enabled=link.target_enabled,
            exit_order_ids=tuple(e.id for e in exits),
        )

    def view(self, entry_order_id: int) -> BracketView | None:
        link = self._links.get(entry_order_id) or self.store.bracket(entry_order_id)
        if link is None:
            return None
        entry = self._order(entry_order_id)
        if entry is None:
            return None
        if entry_order_id not in self._exits:
            self._exits[entry_order_id] = set(self.store.exit_order_ids(entry_order_id))
        exits = self._exit_orders(entry_order_id)
        return self._view(link, entry, exits, self._exposure(entry, exits))

    def views(self, *, active_only: bool = True) -> list[BracketView]:
        ids = sorted(i for i, link in self._links.items() if link.active or not active_only)
        return [v for v in (self.view(i) for i in ids) if v is not None]

    def entry_of(self, order_id: int) -> int | None:
        """The bracket entry an exit belongs to (or the order itself if it is an entry)."""
        if order_id in self._links:
            return order_id
        return self._parent.get(order_id)

    def working_stop(self, exchange: str, symbol: str, product) -> Decimal | None:
        """The trigger of the nearest working bracket stop on this position (risk view)."""
        best = None
        for entry_id, link in self._links.items():
            if not link.active or link.key != (exchange, symbol, product):
                continue
            for order in self._exit_orders(entry_id):
                if (
                    leg_of(order) == STOP
                    and order.status.is_active
                    and order.trigger_price is not None
                ):
                    best = (
                        order.trigger_price
                        if best is None
                        else (
                            max(best, order.trigger_price)
                            if link.side is OrderSide.BUY
                            else min(best, order.trigger_price)
                        )
                    )
        return best
