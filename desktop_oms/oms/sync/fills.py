"""FillApplier: one broker trade becomes the fill, the order's fill state, the position
(with the fill's charges) and the trade row in one journal write, then memory and the
events. Idempotent by (exchange, trade id): the ids seen are kept for TRADE_KEY_DAYS and
the trades table's unique key refuses an older duplicate. A trade whose order is not known
yet waits as an orphan until it is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from desktop_oms.domain import Order, TradeReport
from desktop_oms.domain.events import FillApplied
from desktop_oms.domain.positions import apply_fill
from desktop_oms.domain.records import evolve, positional
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms.sync.live_orders import LiveOrders
from desktop_oms.oms.sync.reports import fill_from_trade, order_after_fill
from desktop_oms.storage import explain_storage_error

# Trade ids kept in memory for dedup: the days a broker can still report (Kite: today's).
TRADE_KEY_DAYS = 7

TradeKey = tuple[str, str]

_fill_applied = positional(FillApplied)  # one per fill (see domain.records)


def known_multiplier(listed: Decimal | None, held: Decimal) -> Decimal:
    """The contract multiplier a fill uses: the instrument's, unless it says 1 (or is not
    listed) while the position knows another (Kite's positions show MCX/CDS multipliers
    the instruments dump lacks): a known multiplier is never overwritten with 1."""
    if listed is None or (listed == 1 and held != 1):
        return held
    return listed


def _oldest_first(trade: TradeReport) -> tuple:
    return (trade.timestamp, trade.trade_id)


class FillApplier:
    """Applies broker trades (see the module docstring). `control` is the OrderManager's
    halting side (halt / resume / halts / alert): a fill that cannot be recorded holds new
    orders until the journal can be written again."""

    def __init__(
        self,
        db,
        orders: LiveOrders,
        positions,
        events,
        control,
        publish: Callable[[Order, Order, str | None], None],
        *,
        instruments=None,
        charges=None,
    ) -> None:
        self._db = db
        self._orders = orders
        self._positions = positions
        self._events = events
        self._control = control
        self._publish = publish
        self.instruments = instruments
        self.charges = charges
        self.trade_keys: set[TradeKey] = set()
        self.orphans: dict[TradeKey, TradeReport] = {}
        # Fills applied per position key: reconciliation leaves alone a position a fill
        # changed while it was reading the broker (the broker's snapshot may predate it).
        self.fills_by_key: dict[tuple, int] = {}

    def reload(self) -> None:
        """The trade ids the journal has (start-up, and after a failed group)."""
        self.trade_keys = self._db.journal.trade_keys(
            since=utcnow() - timedelta(days=TRADE_KEY_DAYS)
        )

    def forget(self) -> None:
        self.trade_keys.clear()

    def pending(self, trades) -> list[TradeReport]:
        """Orphans waiting for their order, then the trades not applied yet, oldest first."""
        keys = self.trade_keys
        waiting = [t for t in trades if (t.exchange, t.trade_id) not in keys]
        if self.orphans:
            waiting = list(self.orphans.values()) + waiting
            self.orphans.clear()
        if len(waiting) > 1:  # a pushed update has one trade: nothing to sort
            waiting.sort(key=_oldest_first)
        return waiting

    def apply(self, trade: TradeReport, now: datetime) -> None:
        key = (trade.exchange, trade.trade_id)
        if key in self.trade_keys:
            return
        order = self._orders.find(trade.broker_order_id, None)
        if order is None:
            self.orphans[key] = trade
            return
        positions = self._positions
        position = positions.peek(order.exchange, order.symbol, order.product)
        instruments = self.instruments
        instrument = (
            instruments.get(order.exchange, order.symbol) if instruments is not None else None
        )
        multiplier = known_multiplier(
            instrument.multiplier if instrument is not None else None, position.multiplier
        )
        fill = fill_from_trade(order, trade, multiplier)
        if position.multiplier != multiplier:
            position = evolve(position, multiplier=multiplier)
        fee = Decimal(0)
        if self.charges is not None:  # this fill's charges, in the same transaction
            fee = self.charges.for_fill(fill, order, instrument)
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
        control = self._control
        if after.filled_quantity > after.quantity:
            control.alert(
                "error",
                f"Order #{order.id} {order.symbol}: broker reports {after.filled_quantity} filled of {after.quantity}",
            )
        journal = self._db.journal
        try:
            recorded = journal.record_fill(
                fill, order, after, new_position, outcome.realized_pnl, fee
            )
        except Exception as exc:  # (inside a group nothing is written yet: it cannot fail here)
            # Not applied: the broker will report the trade again (poll) and it is retried.
            reason = explain_storage_error(exc)
            if "storage" not in control.halts():
                control.halt(
                    f"The journal cannot be written ({reason}); new orders are held",
                    source="storage",
                )
                control.alert(
                    "error",
                    f"A fill of {order.symbol} could not be recorded ({reason}); it will be retried. New orders are held until the journal can be written.",
                    "storage",
                )
            raise
        if not journal.batching:
            self.journal_writable()
        self.trade_keys.add(key)
        if not recorded:
            return
        positions.commit(new_position)
        self.fills_by_key[new_position.key] = self.fills_by_key.get(new_position.key, 0) + 1
        self._publish(order, after, f"filled {fill.quantity} @ {fill.price}")
        self._events.publish(
            _fill_applied(
                fill=fill,
                order=after,
                position=new_position,
                action=outcome.action,
                realized_pnl=outcome.realized_pnl,
            )
        )

    def journal_writable(self) -> None:
        """A fill was durably recorded: lift the halt a failed one raised."""
        control = self._control
        syncer = getattr(self._db, "syncer", None)
        if "storage" in control.halts() and (syncer is None or syncer.failure is None):
            control.resume("storage")
            control.alert("info", "The journal can be written again: new orders allowed", "storage")
