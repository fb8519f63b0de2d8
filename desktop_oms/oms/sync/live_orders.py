"""LiveOrders: the OMS's memory of its orders.

Live orders by id, broker order id and client order id (the Kite tag); orders that
finished recently (for the answers that follow them: place_order's result, a late trade);
and two negative caches so a poll does not look the whole day up in the journal — broker
ids of our orders already final, and broker ids that are not ours. What memory does not
hold is read through from the journal. Changed only on the loop thread, under OrderSync's
lock.
"""

from __future__ import annotations

from collections import OrderedDict

from desktop_oms.domain import Order, OrderStatus

# Orders that reached a final status, kept in memory for the answers that follow them.
RECENT_FINISHED = 1024


class LiveOrders:
    def __init__(self, journal) -> None:
        self._journal = journal
        self._active: dict[int, Order] = {}
        self._sorted = True  # `_active` iterates in id order (ids only grow, as a rule)
        # Live orders per (exchange, symbol, product), and those not yet acknowledged: the
        # pre-trade checks read them per order, so their cost must not grow with the book.
        self._by_key: dict[tuple, dict[int, Order]] = {}
        self._pending: dict[int, Order] = {}
        # Unfilled quantity per (exchange, symbol, product, side) of live orders other than
        # bracket exits (the bracket manager sizes those itself).
        self._open_qty: dict[tuple, int] = {}
        self._by_broker: dict[str, int] = {}
        self._by_client: dict[str, int] = {}
        self._finished: OrderedDict[int, Order] = OrderedDict()
        self._settled: set[str] = set()  # broker ids of our orders already final
        self._foreign: set[str] = set()  # broker ids that are not ours (Kite web, ...)

    # ------------------------------------------------------------------ changes
    def track(self, order: Order) -> bool:
        """Remember the order as it is now; False when it is final (kept as finished)."""
        if order.status.is_terminal:
            self._finish(order)
            return False
        before = self._active.get(order.id)
        if before is None and self._active and order.id < next(reversed(self._active)):
            self._sorted = False
        self._count_open(before, -1)
        self._count_open(order, +1)
        self._active[order.id] = order
        self._by_key.setdefault((order.exchange, order.symbol, order.product), {})[order.id] = order
        if order.status is OrderStatus.PENDING:
            self._pending[order.id] = order
        else:
            self._pending.pop(order.id, None)
        self._finished.pop(order.id, None)
        self._by_client[order.client_order_id] = order.id
        if order.broker_order_id:
            self._by_broker[order.broker_order_id] = order.id
            self._foreign.discard(order.broker_order_id)
        return True

    def _count_open(self, order: Order | None, sign: int) -> None:
        if order is None or order.source == "bracket":
            return
        key = (order.exchange, order.symbol, order.product, order.side)
        left = self._open_qty.get(key, 0) + sign * max(order.quantity - order.filled_quantity, 0)
        if left:
            self._open_qty[key] = left
        else:
            self._open_qty.pop(key, None)

    def _finish(self, order: Order) -> None:
        self._count_open(self._active.get(order.id), -1)
        self._active.pop(order.id, None)
        self._pending.pop(order.id, None)
        key = (order.exchange, order.symbol, order.product)
        same_key = self._by_key.get(key)
        if same_key is not None:
            same_key.pop(order.id, None)
            if not same_key:
                del self._by_key[key]
        self._finished[order.id] = order
        self._finished.move_to_end(order.id)
        if len(self._finished) > RECENT_FINISHED:
            self._finished.popitem(last=False)
        self._by_client.pop(order.client_order_id, None)
        if order.broker_order_id:
            self._by_broker.pop(order.broker_order_id, None)
            self._settled.add(order.broker_order_id)
            self._foreign.discard(order.broker_order_id)

    def clear(self) -> None:
        """Forget everything (no I/O): what is read next comes from the journal."""
        self._sorted = True
        for cache in (
            self._active,
            self._by_key,
            self._pending,
            self._open_qty,
            self._by_broker,
            self._by_client,
            self._settled,
            self._foreign,
            self._finished,
        ):
            cache.clear()

    # ------------------------------------------------------------------ reads
    def current(self, order_id: int) -> Order | None:
        """The live order (None once it is final)."""
        return self._active.get(order_id)

    def latest(self, order_id: int) -> Order | None:
        """The order as the OMS has it now, live or final (memory first, then the journal)."""
        order = self._active.get(order_id) or self._finished.get(order_id)
        return order if order is not None else self._journal.get(order_id)

    def active(self) -> list[Order]:
        """Live orders, oldest first."""
        if not self._sorted:
            self._active = dict(sorted(self._active.items()))
            self._sorted = True
        return list(self._active.values())

    def active_on(self, exchange: str, symbol: str, product) -> list[Order]:
        """Live orders of one position key (exchange, symbol, product), in the order they
        were tracked (id order, as a rule)."""
        same_key = self._by_key.get((exchange, symbol, product))
        return list(same_key.values()) if same_key else []

    def open_quantity(self, exchange: str, symbol: str, product, side) -> int:
        """Unfilled quantity of live orders on one side of a position key, bracket exits
        excluded: kept as orders change, so reading it costs nothing per order."""
        return self._open_qty.get((exchange, symbol, product, side), 0)

    def active_keys(self) -> set[tuple]:
        """The (exchange, symbol, product) keys that have live orders."""
        return set(self._by_key)

    def pending(self) -> list[Order]:
        """Live orders the broker has not acknowledged yet."""
        return sorted(self._pending.values(), key=lambda o: o.id)

    def live_count(self) -> int:
        return len(self._active)

    def finished_count(self) -> int:
        return len(self._finished)

    def has_client_id(self, client_order_id: str | None) -> bool:
        return client_order_id in self._by_client

    def settled_elsewhere(self, broker_order_id: str) -> bool:
        """Our order with this broker id is final: its reports cannot change it."""
        return broker_order_id in self._settled and broker_order_id not in self._by_broker

    def foreign(self, broker_order_id: str) -> bool:
        return broker_order_id in self._foreign

    def find(self, broker_order_id: str | None, client_order_id: str | None) -> Order | None:
        """Our order with this broker id or tag: live from memory, else from the journal."""
        if broker_order_id:
            oid = self._by_broker.get(broker_order_id)
            if oid is not None:
                return self._active[oid]
        if client_order_id:
            oid = self._by_client.get(client_order_id)
            if oid is not None:
                return self._active[oid]
        if broker_order_id in self._foreign and not client_order_id:
            return None
        journal = self._journal
        order = journal.get_by_broker_id(broker_order_id) if broker_order_id else None
        if order is None and client_order_id:
            order = journal.get_by_client_id(client_order_id)
        if order is None and broker_order_id:
            self._foreign.add(broker_order_id)
        elif order is not None and order.broker_order_id and order.status.is_terminal:
            self._settled.add(order.broker_order_id)
        return order
