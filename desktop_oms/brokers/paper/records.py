"""The paper exchange's records and their JSON form (the journal's vocabulary).

`PaperOrder` (an order as the paper exchange holds it), trades and positions to and from
JSON-ready dicts, and the decimal / timestamp / price-key codecs they use. Anything that
does not fit raises `PaperStateError`. The book that applies events is `state.PaperState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain import (
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    TradeReport,
    Validity,
    Variety,
)


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
    protection_pct: Decimal | None = None  # Kite's market protection made it this LIMIT

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
            protected=self.protection_pct is not None,
            protection_pct=self.protection_pct,
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
            "protection_pct": dec(self.protection_pct),
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
                protection_pct=undec(data.get("protection_pct"), "protection percent"),
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
