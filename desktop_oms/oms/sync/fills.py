"""Applying one broker trade: the fill, the order's fill state, the position (with the
fill's charges) and the trade row in one journal write, then memory and the events.
Idempotent by (exchange, trade id)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from desktop_oms.domain import TradeReport
from desktop_oms.domain.events import FillApplied
from desktop_oms.domain.positions import apply_fill
from desktop_oms.domain.records import evolve
from desktop_oms.oms.sync.reports import fill_from_trade, order_after_fill
from desktop_oms.storage import explain_storage_error

if TYPE_CHECKING:
    from desktop_oms.oms.sync.order_sync import OrderSync


class FillApplyingMixin:
    """OrderSync's fill path (a mixin: it works on OrderSync's state)."""

    def _apply_trade(self: OrderSync, trade: TradeReport, now: datetime) -> None:
        key = (trade.exchange, trade.trade_id)
        if key in self._trade_keys:
            return
        order = self._find(trade.broker_order_id, None)
        if order is None:
            self._orphan_trades[key] = trade
            return
        om = self.om
        position = om.positions.peek(order.exchange, order.symbol, order.product)
        instrument = (
            om.instruments.get(order.exchange, order.symbol) if om.instruments is not None else None
        )
        multiplier = instrument.multiplier if instrument is not None else position.multiplier
        fill = fill_from_trade(order, trade, multiplier)
        if position.multiplier != multiplier:
            position = evolve(position, multiplier=multiplier)
        fee = Decimal(0)
        if om.charges is not None:  # this fill's charges, in the same transaction
            fee = om.charges.for_fill(fill, order, instrument)
        outcome = apply_fill(
            position,
            order.side,
            fill.quantity,
            fill.price,
            now,
            charges=fee,
            strategy_id=order.strategy_id,
        )
        new_position = outcome.position
        after = order_after_fill(order, fill, now)
        if after.filled_quantity > after.quantity:
            om.alert(
                "error",
                f"Order #{order.id} {order.symbol}: broker reports {after.filled_quantity} filled of {after.quantity}",
            )
        try:
            recorded = om.db.journal.record_fill(
                fill, order, after, new_position, outcome.realized_pnl, fee
            )
        except Exception as exc:  # (inside a group nothing is written yet: it cannot fail here)
            # Not applied: the broker will report the trade again (poll) and it is retried.
            reason = explain_storage_error(exc)
            if "storage" not in om.halts():
                om.halt(
                    f"The journal cannot be written ({reason}); new orders are held",
                    source="storage",
                )
                om.alert(
                    "error",
                    f"A fill of {order.symbol} could not be recorded ({reason}); it will be retried. New orders are held until the journal can be written.",
                    "storage",
                )
            raise
        if not om.db.journal.batching:
            self._journal_writable()
        if not recorded:
            self._trade_keys.add(key)
            return
        self._trade_keys.add(key)
        om.positions.commit(new_position)
        self._fills_by_key[new_position.key] = self._fills_by_key.get(new_position.key, 0) + 1
        self._published(order, after, f"filled {fill.quantity} @ {fill.price}")
        om.events.publish(
            FillApplied(fill, after, new_position, outcome.action, outcome.realized_pnl)
        )

    def _journal_writable(self: OrderSync) -> None:
        """A fill was durably recorded: lift the halt a failed one raised."""
        om = self.om
        syncer = getattr(om.db, "syncer", None)
        if "storage" in om.halts() and (syncer is None or syncer.failure is None):
            om.resume("storage")
            om.alert("info", "The journal can be written again: new orders allowed", "storage")
