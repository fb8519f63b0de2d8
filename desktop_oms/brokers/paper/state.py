"""The paper exchange's state, changed only by applying events.

Every change of the paper broker's book is an event (a JSON-ready dict: Decimals as
strings, datetimes as ISO text). `PaperState.apply` is the only mutator, so replaying the
journal of events rebuilds exactly the state the broker had. Events:

    init          a fresh book: funds and id counters
    snapshot      the whole book at once (written by compaction)
    accepted      a new order (its full description)
    triggered     a stop order's trigger was hit
    protected     a triggered SL-M became a LIMIT at the market-protection price
    trade         one execution of an order (updates order, position, funds)
    modified      new quantity / price / trigger / order type
    cancelled     cancelled (by the trader, or IOC remainder)
    rejected      an open order rejected by the exchange (test helper)
    position_set  broker-side position changed without orders (test helper)
    prices        last prices
    funds         the account's cash set anew (test helper)

The records (`PaperOrder`, trades, positions) and their JSON codecs live in `records`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import cast

from desktop_oms.brokers.paper.records import (
    PaperOrder,
    PaperStateError,
    _int,
    _trade_from_json,
    dec,
    need_dec,
    position_from_json,
    position_to_json,
    price_key,
    split_price_key,
    trade_to_json,
    undec,
    when,
)
from desktop_oms.domain import (
    OrderReport,
    OrderStatus,
    OrderType,
    Position,
    PositionReport,
    Product,
    TradeReport,
    apply_fill,
)

JOURNAL_FORMAT = "desktop-oms-paper-broker"
JOURNAL_VERSION = 1

PositionKey = tuple[str, str, Product]


class PaperState:
    """Orders, trades, positions, prices, cash and id counters of the paper exchange."""

    def __init__(self) -> None:
        self.initialised = False
        self.funds = Decimal(0)
        self.last_order_id = 0
        self.last_trade_id = 0
        self.orders: dict[str, PaperOrder] = {}
        self.trades: list[TradeReport] = []
        self.trade_ids: set[str] = set()
        self.positions: dict[PositionKey, Position] = {}
        self.prices: dict[tuple[str, str], Decimal] = {}
        self._multiplier_of_trade: dict[str, Decimal] = {}
        # Derived from `orders` and kept in step by `apply` (the one mutator), so queries
        # cost what they return rather than the whole day's orders; all in the order of
        # acceptance (an order never becomes active again once it is not). Reports are
        # built when first asked for after a change (`_stale`: changed since), so a
        # replayed journal builds each once.
        self._reports: dict[str, OrderReport | None] = {}
        self._stale: set[str] = set()
        self._active: dict[str, PaperOrder] = {}
        self._active_by_key: dict[tuple[str, str], dict[str, PaperOrder]] = {}
        # Told of every order change, after the indexes above (the margin book).
        self.order_listeners: list[Callable[[PaperOrder], None]] = []

    # -- queries -----------------------------------------------------------------------

    def active_orders(
        self, exchange: str | None = None, symbol: str | None = None
    ) -> list[PaperOrder]:
        """Live orders (of one instrument when given), in the order they were accepted."""
        if exchange is None:
            return list(self._active.values())
        of_key = self._active_by_key.get((exchange, symbol)) if symbol is not None else None
        return list(of_key.values()) if of_key else []

    def report(self, broker_order_id: str) -> OrderReport:
        """The order's report as of its last change (built once per change)."""
        report = self._reports[broker_order_id]
        if report is None or broker_order_id in self._stale:  # None: never built (stale)
            report = self._reports[broker_order_id] = self.orders[broker_order_id].report()
            self._stale.discard(broker_order_id)
        return report

    def order_reports(self) -> list[OrderReport]:
        """Every order's report, in the order they were accepted."""
        if self._stale:
            for order_id in self._stale:
                self._reports[order_id] = self.orders[order_id].report()
            self._stale.clear()
        return cast("list[OrderReport]", list(self._reports.values()))  # none is stale now

    def position_quantity(self, exchange: str, symbol: str, product: Product) -> int:
        position = self.positions.get((exchange, symbol, product))
        return position.quantity if position else 0

    def realized_pnl(self) -> Decimal:
        return sum((p.realized_pnl for p in self.positions.values()), Decimal(0))

    def position_reports(self) -> list[PositionReport]:
        return [
            PositionReport(
                symbol=p.symbol,
                exchange=p.exchange,
                product=p.product,
                quantity=p.quantity,
                average_price=p.average_price,
                multiplier=p.multiplier,
                last_price=self.prices.get((p.exchange, p.symbol)),
            )
            for p in self.positions.values()
        ]

    def snapshot(self) -> dict:
        """The whole book as one `snapshot` event (what compaction writes)."""
        return {
            "type": "snapshot",
            "format": JOURNAL_FORMAT,
            "version": JOURNAL_VERSION,
            "funds": dec(self.funds),
            "last_order_id": self.last_order_id,
            "last_trade_id": self.last_trade_id,
            "orders": [o.to_json() for o in self.orders.values()],
            "trades": [
                trade_to_json(t, self._multiplier_of_trade[t.trade_id]) for t in self.trades
            ],
            "positions": [position_to_json(p) for p in self.positions.values()],
            "prices": {price_key(*k): dec(v) for k, v in self.prices.items()},
        }

    # -- the one mutator ---------------------------------------------------------------

    def apply(self, event: dict) -> PaperOrder | TradeReport | None:
        """Apply one event. Returns the order it changed (or the trade, for `trade`)."""
        if not isinstance(event, dict):
            raise PaperStateError(f"event must be an object, got {type(event).__name__}")
        kind = event.get("type")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is None:
            raise PaperStateError(f"unknown event type {kind!r}")
        if not self.initialised and kind not in ("init", "snapshot"):
            raise PaperStateError(f"{kind!r} event before the journal's init record")
        try:
            changed = handler(self, event)
        except PaperStateError:
            self._resync(event)
            raise
        except (KeyError, TypeError, ValueError) as exc:
            self._resync(event)
            detail = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise PaperStateError(f"bad {kind!r} event: {detail}") from None
        if isinstance(changed, PaperOrder):
            self._order_changed(changed)
        elif isinstance(changed, TradeReport):
            self._order_changed(self.orders[changed.broker_order_id])
        return changed

    def _resync(self, event: object) -> None:
        """After a failed event: a handler may have changed its order before failing."""
        order_id = event.get("order_id") if isinstance(event, dict) else None
        order = self.orders.get(order_id) if isinstance(order_id, str) else None
        if order is not None:
            self._order_changed(order)

    def _order_changed(self, order: PaperOrder) -> None:
        """Mark the order's report stale and bring the active-order index up to date."""
        order_id = order.broker_order_id
        self._reports.setdefault(order_id, None)  # its place: the order of acceptance
        self._stale.add(order_id)
        if order.is_active:
            self._active[order_id] = order
            self._active_by_key.setdefault(order.key, {})[order_id] = order
        elif self._active.pop(order_id, None) is not None:
            of_key = self._active_by_key.get(order.key)
            if of_key is not None:
                of_key.pop(order_id, None)
                if not of_key:
                    del self._active_by_key[order.key]
        for listener in self.order_listeners:
            listener(order)

    def _order(self, event: dict) -> PaperOrder:
        order_id = event["order_id"]
        order = self.orders.get(order_id)
        if order is None:
            raise PaperStateError(f"{event['type']!r} event for unknown order {order_id}")
        return order

    def _live_order(self, event: dict) -> PaperOrder:
        order = self._order(event)
        if not order.is_active:
            raise PaperStateError(
                f"{event['type']!r} event for order {order.broker_order_id} already {order.status.value}"
            )
        return order

    def _check_header(self, event: dict) -> None:
        if self.initialised:
            raise PaperStateError(f"{event['type']!r} record in the middle of the journal")
        if event.get("format") != JOURNAL_FORMAT:
            raise PaperStateError(f"not a paper broker journal (format {event.get('format')!r})")
        version = event.get("version")
        if version != JOURNAL_VERSION:
            raise PaperStateError(
                f"journal version {version!r} is not supported (this program reads version {JOURNAL_VERSION})"
            )

    def _on_init(self, event: dict) -> None:
        self._check_header(event)
        self.funds = need_dec(event["funds"], "funds")
        self.last_order_id = _int(event["last_order_id"], "last order id")
        self.last_trade_id = _int(event["last_trade_id"], "last trade id")
        self.initialised = True

    def _on_snapshot(self, event: dict) -> None:
        self._check_header(event)
        self.funds = need_dec(event["funds"], "funds")
        self.last_order_id = _int(event["last_order_id"], "last order id")
        self.last_trade_id = _int(event["last_trade_id"], "last trade id")
        for data in event["orders"]:
            order = PaperOrder.from_json(data)
            self.orders[order.broker_order_id] = order
            self._order_changed(order)
        for data in event["trades"]:
            trade = _trade_from_json(data)
            if trade.trade_id in self.trade_ids:
                raise PaperStateError(f"duplicate trade id {trade.trade_id}")
            self.trades.append(trade)
            self.trade_ids.add(trade.trade_id)
            self._multiplier_of_trade[trade.trade_id] = need_dec(data["multiplier"], "multiplier")
        for data in event["positions"]:
            position = position_from_json(data)
            self.positions[position.key] = position
        self._set_prices(event["prices"])
        self.initialised = True

    def _on_accepted(self, event: dict) -> PaperOrder:
        order = PaperOrder.from_json(event["order"])
        if order.broker_order_id in self.orders:
            raise PaperStateError(f"order {order.broker_order_id} accepted twice")
        self.orders[order.broker_order_id] = order
        if order.broker_order_id.isdigit():
            self.last_order_id = max(self.last_order_id, int(order.broker_order_id))
        return order

    def _on_triggered(self, event: dict) -> PaperOrder:
        order = self._live_order(event)
        order.triggered = True
        order.updated_at = when(event["at"])
        order.settle_status()
        return order

    def _on_protected(self, event: dict) -> PaperOrder:
        order = self._live_order(event)
        order.order_type = OrderType.LIMIT
        order.price = need_dec(event["price"], "protected price")
        order.trigger_price = None
        order.protection_pct = need_dec(event["percent"], "protection percent")
        order.updated_at = when(event["at"])
        order.settle_status()
        return order

    def _on_trade(self, event: dict) -> TradeReport:
        order = self._live_order(event)
        trade_id = str(event["trade_id"])
        if trade_id in self.trade_ids:
            raise PaperStateError(f"duplicate trade id {trade_id}")
        quantity = _int(event["quantity"], "trade quantity")
        if not 0 < quantity <= order.remaining:
            raise PaperStateError(
                f"trade {trade_id} of {quantity} exceeds the {order.remaining} pending on order {order.broker_order_id}"
            )
        price = need_dec(event["price"], "trade price")
        multiplier = need_dec(event.get("multiplier", "1"), "multiplier")
        at = when(event["at"])
        filled = order.filled_quantity + quantity
        previous = (order.average_price or Decimal(0)) * order.filled_quantity
        order.average_price = (previous + price * quantity) / filled
        order.filled_quantity = filled
        if order.order_type.needs_trigger:
            order.triggered = True
        order.updated_at = at
        order.settle_status()
        trade = TradeReport(
            trade_id=trade_id,
            broker_order_id=order.broker_order_id,
            symbol=order.symbol,
            exchange=order.exchange,
            side=order.side,
            quantity=quantity,
            price=price,
            timestamp=at,
            product=order.product,
        )
        self.trades.append(trade)
        self.trade_ids.add(trade_id)
        self._multiplier_of_trade[trade_id] = multiplier
        if trade_id.isdigit():
            self.last_trade_id = max(self.last_trade_id, int(trade_id))
        key = (order.exchange, order.symbol, order.product)
        position = self.positions.get(key) or Position(
            symbol=order.symbol,
            exchange=order.exchange,
            product=order.product,
            multiplier=multiplier,
        )
        self.positions[key] = apply_fill(position, order.side, quantity, price, at).position
        return trade

    def _on_modified(self, event: dict) -> PaperOrder:
        order = self._live_order(event)
        quantity = _int(event["quantity"], "quantity")
        if quantity < order.filled_quantity or quantity <= 0:
            raise PaperStateError(
                f"order {order.broker_order_id} modified below its filled quantity"
            )
        order.quantity = quantity
        order.price = undec(event.get("price"), "price")
        order.trigger_price = undec(event.get("trigger_price"), "trigger price")
        order.order_type = OrderType(event["order_type"])
        if "protection_pct" in event:
            order.protection_pct = undec(event["protection_pct"], "protection percent")
        order.modification_count += 1
        order.updated_at = when(event["at"])
        order.settle_status()
        return order

    def _on_cancelled(self, event: dict) -> PaperOrder:
        order = self._live_order(event)
        order.status = OrderStatus.CANCELLED
        order.status_message = event.get("message")
        order.updated_at = when(event["at"])
        return order

    def _on_rejected(self, event: dict) -> PaperOrder:
        order = self._live_order(event)
        order.status = OrderStatus.REJECTED
        order.status_message = event.get("message")
        order.updated_at = when(event["at"])
        return order

    def _on_position_set(self, event: dict) -> None:
        product = Product(event["product"])
        key = (str(event["exchange"]), str(event["symbol"]), product)
        quantity = _int(event["quantity"], "position quantity")
        average = need_dec(event["average_price"], "average price") if quantity else Decimal(0)
        at = when(event["at"])
        old = self.positions.get(key)
        if old is None:
            old = Position(
                symbol=key[1],
                exchange=key[0],
                product=product,
                multiplier=need_dec(event.get("multiplier", "1"), "multiplier"),
            )
        opened = old.opened_at if old.quantity and quantity else (at if quantity else old.opened_at)
        self.positions[key] = replace(
            old, quantity=quantity, average_price=average, opened_at=opened, updated_at=at
        )

    def _on_prices(self, event: dict) -> None:
        self._set_prices(event["prices"])

    def _set_prices(self, prices: dict) -> None:
        if not isinstance(prices, dict):
            raise PaperStateError("prices must be an object")
        for key, value in prices.items():
            price = need_dec(value, f"price of {key}")
            if price <= 0:
                raise PaperStateError(f"price of {key} must be positive")
            self.prices[split_price_key(key)] = price

    def _on_funds(self, event: dict) -> None:
        self.funds = need_dec(event["amount"], "funds")


_HANDLERS = {
    "init": PaperState._on_init,
    "snapshot": PaperState._on_snapshot,
    "accepted": PaperState._on_accepted,
    "triggered": PaperState._on_triggered,
    "protected": PaperState._on_protected,
    "trade": PaperState._on_trade,
    "modified": PaperState._on_modified,
    "cancelled": PaperState._on_cancelled,
    "rejected": PaperState._on_rejected,
    "position_set": PaperState._on_position_set,
    "prices": PaperState._on_prices,
    "funds": PaperState._on_funds,
}
