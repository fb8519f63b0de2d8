"""Brackets: the exit orders themselves - placing a leg (SL-M stop, or MARKET when the
price is already through it; LIMIT target), growing one when the entry fills more,
shrinking or cancelling one when the other leg fills (one-cancels-other), with an audit
note on the order for each change.

A mixin of `BracketManager` (risk/brackets.py); its state lives there.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from desktop_oms.domain import (
    MODIFIABLE_STATUSES,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Validity,
)
from desktop_oms.oms.errors import OrderNotCancellable, OrderNotModifiable, OrderRejected
from desktop_oms.risk.brackets_records import MAX_MODIFICATIONS, STOP
from desktop_oms.risk.store import BracketLink

log = logging.getLogger("desktop_oms.risk.brackets")  # the logger of the original module


class BracketLegsMixin:
    """Placing, growing and shrinking the bracket's exit orders."""

    # ------------------------------------------------------------------ legs
    async def _shrink(self, working: list[Order], excess: int) -> bool:
        for order in sorted(working, key=lambda o: o.id, reverse=True):
            if order.broker_order_id is None or order.status not in MODIFIABLE_STATUSES:
                continue  # in flight: shrink it once it is acknowledged
            remaining = order.quantity - order.filled_quantity
            new_quantity = order.quantity - excess
            try:
                if (
                    remaining <= excess
                    or new_quantity <= order.filled_quantity
                    or order.order_type is OrderType.MARKET
                ):
                    self._cancelling.add(order.id)
                    await self.om.cancel_order(order.id)
                    self._note(
                        order,
                        f"cancelled by the bracket (one-cancels-other): {remaining} no longer needed",
                    )
                else:
                    await self.om.modify_order(order.id, quantity=new_quantity)
                    self._note(
                        order, f"reduced by the bracket (one-cancels-other) to {new_quantity}"
                    )
            except (OrderNotCancellable, OrderNotModifiable):
                self._cancelling.discard(order.id)  # filled or gone meanwhile: look again
            return True
        return False

    async def _grow(
        self, link: BracketLink, entry: Order, leg: str, working: list[Order], more: int
    ) -> None:
        for order in sorted(working, key=lambda o: o.id, reverse=True):
            if (
                order.status in MODIFIABLE_STATUSES
                and order.broker_order_id is not None
                and order.modification_count < MAX_MODIFICATIONS
                and order.order_type is not OrderType.MARKET
            ):
                try:
                    await self.om.modify_order(order.id, quantity=order.quantity + more)
                    self._note(
                        order,
                        f"increased by the bracket to {order.quantity + more} (entry filled more)",
                    )
                    return
                except OrderNotModifiable:
                    break  # place a new one instead
        await self._place(link, entry, leg, more)

    async def _place(self, link: BracketLink, entry: Order, leg: str, quantity: int) -> None:
        side = link.side.opposite
        kind, price, trigger = OrderType.LIMIT, link.take_profit, None
        if leg == STOP:
            kind, price, trigger = OrderType.SL_M, None, link.stop_loss
            last = self.last_price(link.exchange, link.symbol) if self.last_price else None
            if last is not None and (
                last <= link.stop_loss if side is OrderSide.SELL else last >= link.stop_loss
            ):
                kind, trigger = OrderType.MARKET, None
                self.om.alert(
                    "warning",
                    f"Bracket of order #{entry.id}: {link.symbol} is already through the stop "
                    f"{link.stop_loss} (last {last}): exiting {quantity} at market",
                    "brackets",
                )
        request = OrderRequest(
            symbol=link.symbol,
            exchange=link.exchange,
            side=side,
            quantity=quantity,
            order_type=kind,
            price=price,
            trigger_price=trigger,
            product=link.product,
            validity=Validity.DAY,
            strategy_id=entry.strategy_id,
            parent_order_id=entry.id,
            reduce_only=True,
            source="bracket",
        )
        try:
            try:
                result = await self.om.place_order(request)
            except OrderRejected as exc:
                if kind is not OrderType.SL_M or exc.failed_check != "order_shape":
                    raise
                # The price crossed the stop since we looked: the stop is hit, exit at market.
                self.om.alert(
                    "warning",
                    f"Bracket of order #{entry.id}: {link.symbol} crossed the stop {link.stop_loss} "
                    f"while it was being placed: exiting {quantity} at market",
                    "brackets",
                )
                kind, trigger = OrderType.MARKET, None
                result = await self.om.place_order(
                    replace(request, order_type=kind, trigger_price=None)
                )
        except OrderRejected as exc:
            self._failed(entry.id, leg, exc.reason)
            return
        except Exception as exc:  # noqa: BLE001 - not sent (broker down, not reconciled): retry
            self._alert_once(
                entry.id,
                f"unsent-{leg}",
                "warning",
                f"Bracket of order #{entry.id}: exit not sent ({exc}); retrying",
            )
            self._retry_later(entry.id)
            return
        self._parent[result.order_id] = entry.id
        self._exits.setdefault(entry.id, set()).add(result.order_id)
        if result.status is OrderStatus.REJECTED:
            return  # counted by the status event
        what = "stop-loss" if leg == STOP else "take-profit"
        self.om.alert(
            "info",
            f"Bracket of order #{entry.id}: {what} #{result.order_id} {side.value} {quantity} {link.symbol} "
            + (
                f"@ {price}"
                if price is not None
                else f"trigger {trigger}"
                if trigger is not None
                else "at market"
            ),
            "brackets",
        )

    def _note(self, order: Order, reason: str) -> None:
        try:
            self.om.db.journal.add_event(order.id, "BRACKET", reason, order.status)
        except Exception:  # noqa: BLE001 - an audit note must not stop the bracket
            log.exception("could not write the bracket audit event")
