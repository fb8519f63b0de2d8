"""The paper exchange's state, changed only by applying events.

Every change of the paper broker's book is an event (a JSON-ready dict: Decimals as
strings, datetimes as ISO text). `PaperState.apply` is the only mutator, so replaying the
journal of events rebuilds exactly the state the broker had. Events:

    init          a fresh book: funds and id counters
    snapshot      the whole book at once (written by compaction)
    accepted      a new order (its full description)
    triggered     a stop order's trigger was hit
    trade         one execution of an order (updates order, position, funds)
    modified      new quantity / price / trigger / order type
    cancelled     cancelled (by the trader, or IOC remainder)
    rejected      an open order rejected by the exchange (test helper)
    position_set  broker-side position changed without orders (test helper)
    prices        last prices
    funds         the account's cash set anew (test helper)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import cast

from ..domain import (
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionReport,
    Product,
    TradeReport,
    Validity,
    Variety,
    apply_fill,
)

JOURNAL_FORMAT = "desktop-oms-paper-broker"
JOURNAL_VERSION = 1

PositionKey = tuple[str, str, Product]


class PaperStateError(ValueError):
    """An event does not fit the state it is applied to (damaged or foreign journal)."""


def dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def undec(value: object, field: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PaperStateError(f"{field} must be a decimal string, got {value!r}")
    try:
        result = Decimal(value)
    except ArithmeticError:
        raise PaperStateError(f"{field} {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise PaperStateError(f"{field} {value!r} is not a finite number")
    return result


def need_dec(value: object, field: str) -> Decimal:
    result = undec(value, field)
    if result is None:
        raise PaperStateError(f"{field} is missing")
    return result


def when(value: object) -> datetime:
    if not isinstance(value, str):
        raise PaperStateError(f"timestamp must be ISO text, got {value!r}")
    try:
        result = datetime.fromisoformat(value)
    except ValueError:
        raise PaperStateError(f"timestamp {value!r} is not ISO 8601") from None
    if result.tzinfo is None:
        raise PaperStateError(f"timestamp {value!r} has no time zone")
    return result


def price_key(exchange: str, symbol: str) -> str:
    return f"{exchange}:{symbol}"


def split_price_key(key: str) -> tuple[str, str]:
    exchange, sep, symbol = key.partition(":")
    if not sep or not exchange or not symbol:
        raise PaperStateError(f"price key {key!r} is not EXCHANGE:SYMBOL")
    return exchange, symbol


@dataclass(slots=True)
class PaperOrder:
    """An order as the paper exchange holds it (mutable; changed only through events)."""

    broker_order_id: str
    tag: str | None
    exchange: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    product: Product
    validity: Validity
    variety: Variety
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    placed_at: datetime
    updated_at: datetime
    filled_quantity: int = 0
    average_price: Decimal | None = None
    status_message: str | None = None
    triggered: bool = False
    modification_count: int = 0

    @property
    def remaining(self) -> int:
        return max(self.quantity - self.filled_quantity, 0)

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    def settle_status(self) -> None:
        """Status implied by fills and trigger state (for a live order)."""
        if self.filled_quantity >= self.quantity:
            self.status = OrderStatus.FILLED
        elif self.order_type.needs_trigger and not self.triggered:
            self.status = OrderStatus.TRIGGER_PENDING
        elif self.filled_quantity > 0:
            self.status = OrderStatus.PARTIALLY_FILLED
        else:
            self.status = OrderStatus.OPEN

    def report(self) -> OrderReport:
        return OrderReport(
            broker_order_id=self.broker_order_id,
            client_order_id=self.tag,
            symbol=self.symbol,
            exchange=self.exchange,
            side=self.side,
            order_type=self.order_type,
            product=self.product,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            pending_quantity=self.remaining if self.is_active else 0,
            price=self.price,
            trigger_price=self.trigger_price,
            average_price=self.average_price if self.filled_quantity else None,
            status=self.status,
            status_message=self.status_message,
            timestamp=self.updated_at,
        )

    def to_json(self) -> dict:
        return {
            "broker_order_id": self.broker_order_id,
            "tag": self.tag,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "side": self.side.value,
            "order_type": self.order_type.value,
            "product": self.product.value,
            "validity": self.validity.value,
            "variety": self.variety.value,
            "quantity": self.quantity,
            "price": dec(self.price),
            "trigger_price": dec(self.trigger_price),
            "status": self.status.value,
            "placed_at": self.placed_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "filled_quantity": self.filled_quantity,
            "average_price": dec(self.average_price),
            "status_message": self.status_message,
            "triggered": self.triggered,
            "modification_count": self.modification_count,
        }

    @classmethod
    def from_json(cls, data: dict) -> PaperOrder:
        try:
            order = cls(
                broker_order_id=str(data["broker_order_id"]),
                tag=data.get("tag"),
                exchange=str(data["exchange"]),
                symbol=str(data["symbol"]),
                side=OrderSide(data["side"]),
                order_type=OrderType(data["order_type"]),
                product=Product(data["product"]),
                validity=Validity(data["validity"]),
                variety=Variety(data["variety"]),
                quantity=_int(data["quantity"], "quantity"),
                price=undec(data.get("price"), "price"),
                trigger_price=undec(data.get("trigger_price"), "trigger price"),
                status=OrderStatus(data["status"]),
                placed_at=when(data["placed_at"]),
                updated_at=when(data["updated_at"]),
                filled_quantity=_int(data.get("filled_quantity", 0), "filled quantity"),
                average_price=undec(data.get("average_price"), "average price"),
                status_message=data.get("status_message"),
                triggered=bool(data.get("triggered", False)),
                modification_count=_int(data.get("modification_count", 0), "modification count"),
            )
        except KeyError as exc:
            raise PaperStateError(f"order is missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PaperStateError):
                raise
            raise PaperStateError(f"bad order record: {exc}") from None
        if order.quantity <= 0 or not 0 <= order.filled_quantity <= order.quantity:
            raise PaperStateError(f"order {order.broker_order_id} has impossible quantities")
        return order


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PaperStateError(f"{field} must be a whole number, got {value!r}")
    return value


def trade_to_json(trade: TradeReport, multiplier: Decimal) -> dict:
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.broker_order_id,
        "exchange": trade.exchange,
        "symbol": trade.symbol,
        "side": trade.side.value,
        "product": trade.product.value if trade.product else None,
        "quantity": trade.quantity,
        "price": dec(trade.price),
        "multiplier": dec(multiplier),
        "at": trade.timestamp.isoformat(),
    }


def position_to_json(position: Position) -> dict:
    return {
        "exchange": position.exchange,
        "symbol": position.symbol,
        "product": position.product.value,
        "quantity": position.quantity,
        "average_price": dec(position.average_price),
        "realized_pnl": dec(position.realized_pnl),
        "multiplier": dec(position.multiplier),
        "opened_at": position.opened_at.isoformat() if position.opened_at else None,
        "updated_at": position.updated_at.isoformat() if position.updated_at else None,
    }


def position_from_json(data: dict) -> Position:
    try:
        return Position(
            symbol=str(data["symbol"]),
            exchange=str(data["exchange"]),
            product=Product(data["product"]),
            quantity=_int(data["quantity"], "position quantity"),
            average_price=need_dec(data["average_price"], "average price"),
            realized_pnl=need_dec(data.get("realized_pnl", "0"), "realized pnl"),
            multiplier=need_dec(data.get("multiplier", "1"), "multiplier"),
            opened_at=when(data["opened_at"]) if data.get("opened_at") else None,
            updated_at=when(data["updated_at"]) if data.get("updated_at") else None,
        )
    except KeyError as exc:
        raise PaperStateError(f"position is missing field {exc.args[0]!r}") from None
    except ValueError as exc:
        if isinstance(exc, PaperStateError):
            raise
        raise PaperStateError(f"bad position record: {exc}") from None


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


def _trade_from_json(data: dict) -> TradeReport:
    product = data.get("product")
    return TradeReport(
        trade_id=str(data["trade_id"]),
        broker_order_id=str(data["order_id"]),
        symbol=str(data["symbol"]),
        exchange=str(data["exchange"]),
        side=OrderSide(data["side"]),
        quantity=_int(data["quantity"], "trade quantity"),
        price=need_dec(data["price"], "trade price"),
        timestamp=when(data["at"]),
        product=Product(product) if product else None,
    )


_HANDLERS = {
    "init": PaperState._on_init,
    "snapshot": PaperState._on_snapshot,
    "accepted": PaperState._on_accepted,
    "triggered": PaperState._on_triggered,
    "trade": PaperState._on_trade,
    "modified": PaperState._on_modified,
    "cancelled": PaperState._on_cancelled,
    "rejected": PaperState._on_rejected,
    "position_set": PaperState._on_position_set,
    "prices": PaperState._on_prices,
    "funds": PaperState._on_funds,
}
