"""Order request, order, fill: the values that flow through the OMS."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.enums import OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from desktop_oms.domain.money import MAX_PRICE, ZERO, to_decimal
from desktop_oms.domain.records import evolve

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9&\-_.]{0,39}$")
_EXCHANGES = frozenset({"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"})
MAX_QUANTITY = 10_000_000
MAX_MODIFICATIONS = 25  # Kite's limit per order (forum 9201)


def _price(value: object, field_name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    price = to_decimal(value, field_name)
    if price <= ZERO:
        raise ValueError(f"{field_name} must be positive, got {price}")
    if price > MAX_PRICE:
        raise ValueError(f"{field_name} {price} is not a plausible price")
    return price


def _enum(enum_type, value, field_name):
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(str(value).upper() if enum_type is not Variety else str(value).lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        raise ValueError(f"{field_name} must be one of {allowed}, got {value!r}") from None


def normalise_symbol(symbol: object) -> str:
    if not isinstance(symbol, str):
        raise ValueError(f"symbol must be text, got {type(symbol).__name__}")
    text = symbol.strip()
    if not text.isascii():
        raise ValueError(f"symbol {symbol!r} is not a valid trading symbol")
    text = text.upper()
    if not _SYMBOL.fullmatch(text):
        raise ValueError(f"symbol {symbol!r} is not a valid trading symbol")
    return text


# Sources of the reduce-only orders that protect or close a position: the trader's Exit
# (positions grid), the kill switch, a bracket's legs and the square-off. They only reduce,
# so limits meant for new exposure do not apply to them, and they may go while trading is
# halted (an exit must always exit).
EXIT_SOURCES = frozenset({"exit", "kill_switch", "bracket", "square_off"})
# Of those, the ones that may go while trading is halted: the kill switch's flattening and
# the trader's Exit (a bracket leg or the square-off wait: the kill switch owns the position).
HALT_EXEMPT_SOURCES = frozenset({"exit", "kill_switch"})


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a trader (or the kill switch, or a bracket) asks for. Validated when built."""

    symbol: str
    exchange: str
    side: OrderSide
    quantity: int
    order_type: OrderType
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    product: Product = Product.MIS
    validity: Validity = Validity.DAY
    variety: Variety = Variety.REGULAR
    strategy_id: str | int | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    tag: str | None = None  # informational label; the broker tag is the client order id
    parent_order_id: int | None = None  # set for bracket exits
    reduce_only: bool = False  # set by the kill switch, square-off, brackets and exits
    source: str = "manual"  # manual | exit | kill_switch | bracket | square_off | api

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "symbol", normalise_symbol(self.symbol))
        exchange = str(self.exchange).strip().upper() if isinstance(self.exchange, str) else ""
        if exchange not in _EXCHANGES:
            raise ValueError(
                f"exchange must be one of {', '.join(sorted(_EXCHANGES))}, got {self.exchange!r}"
            )
        set_(self, "exchange", exchange)
        set_(self, "side", _enum(OrderSide, self.side, "side"))
        set_(self, "order_type", _enum(OrderType, self.order_type, "order type"))
        set_(self, "product", _enum(Product, self.product, "product"))
        set_(self, "validity", _enum(Validity, self.validity, "validity"))
        set_(self, "variety", _enum(Variety, self.variety, "variety"))
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValueError(f"quantity must be a whole number, got {self.quantity!r}")
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
        if self.quantity > MAX_QUANTITY:
            raise ValueError(f"quantity {self.quantity} is not plausible")
        for name in ("price", "trigger_price", "stop_loss", "take_profit"):
            set_(self, name, _price(getattr(self, name), name.replace("_", " ")))
        if self.strategy_id is not None and (
            isinstance(self.strategy_id, bool) or not isinstance(self.strategy_id, (str, int))
        ):
            raise ValueError("strategy id must be text or a number")
        if isinstance(self.strategy_id, str) and len(self.strategy_id) > 64:
            raise ValueError("strategy id is longer than 64 characters")


def order_shape_problem(request: OrderRequest) -> str | None:
    """Reason the order's own shape is wrong, or None. Needs no market data."""
    kind = request.order_type
    if kind is OrderType.LIMIT and request.price is None:
        return "A LIMIT order needs a price"
    if kind is OrderType.SL and (request.price is None or request.trigger_price is None):
        return "An SL order needs both a price and a trigger price"
    if kind is OrderType.SL_M and request.trigger_price is None:
        return "An SL-M order needs a trigger price"
    if kind is OrderType.SL_M and request.price is not None:
        return "An SL-M order takes a trigger price only, not a price"
    if kind is OrderType.MARKET and (
        request.price is not None or request.trigger_price is not None
    ):
        return "A MARKET order takes neither a price nor a trigger price"
    if kind is OrderType.LIMIT and request.trigger_price is not None:
        return "A LIMIT order takes no trigger price"
    if kind is OrderType.SL and request.price is not None and request.trigger_price is not None:
        # Exchange rule: a buy stop triggers at or below its limit, a sell stop at or above.
        if request.side is OrderSide.BUY and request.trigger_price > request.price:
            return "A buy SL order's trigger must not be above its limit price"
        if request.side is OrderSide.SELL and request.trigger_price < request.price:
            return "A sell SL order's trigger must not be below its limit price"
    if request.stop_loss is not None and request.take_profit is not None:
        if request.side is OrderSide.BUY and request.stop_loss >= request.take_profit:
            return "A buy order's stop-loss must be below its take-profit"
        if request.side is OrderSide.SELL and request.stop_loss <= request.take_profit:
            return "A sell order's stop-loss must be above its take-profit"
    entry = request.price if request.price is not None else request.trigger_price
    if entry is not None and request.stop_loss is not None:
        if request.side is OrderSide.BUY and request.stop_loss >= entry:
            return "A buy order's stop-loss must be below its entry price"
        if request.side is OrderSide.SELL and request.stop_loss <= entry:
            return "A sell order's stop-loss must be above its entry price"
    if entry is not None and request.take_profit is not None:
        if request.side is OrderSide.BUY and request.take_profit <= entry:
            return "A buy order's take-profit must be above its entry price"
        if request.side is OrderSide.SELL and request.take_profit >= entry:
            return "A sell order's take-profit must be below its entry price"
    return None


@dataclass(slots=True)
class Order:
    """One row of the order journal, as the OMS sees it."""

    id: int
    client_order_id: str
    symbol: str
    exchange: str
    side: OrderSide
    order_type: OrderType
    product: Product
    validity: Validity
    variety: Variety
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    broker_order_id: str | None = None
    filled_quantity: int = 0
    average_price: Decimal | None = None
    status_message: str | None = None
    strategy_id: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    parent_order_id: int | None = None
    source: str = "manual"
    modification_count: int = 0
    slice_group: str | None = None
    """Set on every slice of an order sent as several (above the freeze quantity): the
    client order id of its first slice. The blotter groups the slices by it. (Not
    `parent_order_id`: that links a bracket's exits to their entry, and every slice of a
    bracketed entry is an entry of its own.)"""
    # The type the order was sent as when the broker's market protection made it a LIMIT
    # (MARKET, or SL-M once it triggered; Kite's "mktp" tags): the order is a LIMIT at the
    # broker now (it can be repriced), but it is still a market exit / a stop to the app.
    protected_from: OrderType | None = None

    @property
    def sent_type(self) -> OrderType:
        """The order's type as sent: a protected LIMIT is still the MARKET / SL-M order
        the app sent (what tells a bracket's stop from its target, an exit at market from
        a resting order)."""
        return self.protected_from or self.order_type

    @property
    def pending_quantity(self) -> int:
        if self.status.is_terminal:
            return 0
        return max(self.quantity - self.filled_quantity, 0)

    @property
    def fill_percentage(self) -> float:
        if self.quantity <= 0:
            return 0.0
        return 100.0 * self.filled_quantity / self.quantity

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    def copy(self, **changes) -> Order:
        return evolve(self, **changes)


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What `place_order` did. For an order sent as slices (above the freeze quantity) the
    fields are its first slice's and `slices` holds every slice's result, first included
    (empty for an order sent whole); `message` then says how many went."""

    order_id: int
    client_order_id: str
    broker_order_id: str | None
    status: OrderStatus
    message: str | None = None
    slices: tuple[OrderResult, ...] = ()

    @property
    def sliced(self) -> bool:
        return len(self.slices) > 1

    @property
    def slice_group(self) -> str | None:
        """The slices' group (the first slice's client order id), None if sent whole."""
        return self.client_order_id if self.slices else None

    @property
    def order_ids(self) -> tuple[int, ...]:
        """Every journaled order of this request (one unless sliced)."""
        return tuple(s.order_id for s in self.slices) if self.slices else (self.order_id,)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, keyed by the broker's trade id (idempotency key)."""

    trade_id: str
    order_id: int
    broker_order_id: str | None
    symbol: str
    exchange: str
    product: Product
    side: OrderSide
    quantity: int
    price: Decimal
    timestamp: datetime
    multiplier: Decimal = field(default=Decimal("1"))
