"""Checks the OMS makes itself (shape, instrument and exchange rules: no SL-M on options, no
modification above the freeze quantity), before anything is journaled."""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain import Order, OrderRequest, OrderType, Validity
from desktop_oms.domain.instrument import NO_SL_M_OPTION_EXCHANGES
from desktop_oms.domain.money import MAX_PRICE, ZERO, format_inr, to_decimal
from desktop_oms.domain.orders import EXIT_SOURCES, MAX_QUANTITY
from desktop_oms.marketdata.options.symbols import SymbolError, parse_symbol
from desktop_oms.oms.errors import OrderRejected

# Kite refuses IOC for API orders on MCX (since April 2026).
_NO_IOC_EXCHANGES = frozenset({"MCX"})


def allowed_validities(exchange: str) -> tuple[Validity, ...]:
    """The validities an order on this exchange may carry (what the ticket offers):
    DAY everywhere, IOC except on MCX. TTL is not sent by this app."""
    if str(exchange).strip().upper() in _NO_IOC_EXCHANGES:
        return (Validity.DAY,)
    return (Validity.DAY, Validity.IOC)


def validity_problem(exchange: str, validity: Validity) -> str | None:
    """Why this validity cannot go on this exchange, or None."""
    if validity is Validity.IOC and validity not in allowed_validities(exchange):
        return (
            f"IOC orders are not accepted on {exchange.upper()} for API orders (Kite's rule "
            "since April 2026): send it as DAY"
        )
    return None


def instrument_problem(instruments, request: OrderRequest) -> str | None:
    """Exchange rules for the instrument: validity allowed on the exchange, known,
    tradable, lot multiple, prices on the tick."""
    problem = validity_problem(request.exchange, request.validity)
    if problem:
        return problem
    if instruments is None:
        return None
    instrument = instruments.get(request.exchange, request.symbol)
    if instrument is None:
        return f"Unknown instrument {request.exchange}:{request.symbol}"
    if not instrument.tradable:
        return f"{request.exchange}:{request.symbol} is not tradable"
    if request.quantity % instrument.lot_size:
        return (
            f"Quantity {request.quantity} is not a multiple of the lot size {instrument.lot_size}"
        )
    for label, value in (
        ("Price", request.price),
        ("Trigger price", request.trigger_price),
        ("Stop-loss", request.stop_loss),
        ("Take-profit", request.take_profit),
    ):
        if value is not None and not instrument.price_on_tick(value):
            return f"{label} {format_inr(value)} is not a multiple of the tick size {instrument.tick_size}"
    return None


def is_exchange_option(instruments, exchange: str, symbol: str) -> bool:
    """An option on NFO/BFO (no SL-M there): by the instrument when listed, else by its
    Kite tradingsymbol (NIFTY26D0826400CE)."""
    instrument = instruments.get(exchange, symbol) if instruments is not None else None
    if instrument is not None:
        return not instrument.sl_m_allowed
    if exchange not in NO_SL_M_OPTION_EXCHANGES or not symbol.endswith(("CE", "PE")):
        return False
    try:
        return parse_symbol(symbol).is_option
    except SymbolError:
        return False


def sl_m_refusal(request: OrderRequest) -> str:
    return (
        f"SL-M orders are not allowed on options ({request.exchange}:{request.symbol}): "
        "the exchange refuses them. Use an SL order (a trigger and a limit price)"
    )


def order_type_problem(instruments, request: OrderRequest) -> str | None:
    """What the exchange refuses of the order type: SL-M on an option (NSE since 2021)."""
    if request.order_type is OrderType.SL_M and is_exchange_option(
        instruments, request.exchange, request.symbol
    ):
        return sl_m_refusal(request)
    return None


def check_modification(order: Order, instruments, price, quantity, trigger_price):
    """Validate modify arguments; returns (price, quantity, trigger_price) normalised."""
    if price is None and quantity is None and trigger_price is None:
        raise ValueError("Nothing to modify: give a price, quantity or trigger price")
    if price is not None:
        price = to_decimal(price, "price")
        if price <= ZERO or price > MAX_PRICE:
            raise ValueError(f"price must be positive and plausible, got {price}")
        if order.order_type in (OrderType.MARKET, OrderType.SL_M):
            raise OrderRejected(
                f"A {order.order_type.value} order has no price to modify", "order_shape"
            )
    if trigger_price is not None:
        trigger_price = to_decimal(trigger_price, "trigger price")
        if trigger_price <= ZERO or trigger_price > MAX_PRICE:
            raise ValueError(f"trigger price must be positive and plausible, got {trigger_price}")
        if not order.order_type.needs_trigger:
            raise OrderRejected(
                f"A {order.order_type.value} order has no trigger price", "order_shape"
            )
    if quantity is not None:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ValueError(f"quantity must be a whole number, got {quantity!r}")
        if quantity <= 0 or quantity > MAX_QUANTITY:
            raise ValueError(f"quantity must be positive and plausible, got {quantity}")
        if quantity <= order.filled_quantity:
            raise OrderRejected(
                f"Quantity {quantity} must be above the {order.filled_quantity} already filled",
                "order_shape",
            )
    instrument = instruments.get(order.exchange, order.symbol) if instruments is not None else None
    if instrument is not None:
        if quantity is not None and quantity % instrument.lot_size:
            raise OrderRejected(
                f"Quantity {quantity} is not a multiple of the lot size {instrument.lot_size}",
                "instrument",
            )
        freeze = instrument.freeze_quantity
        if quantity is not None and freeze is not None and quantity > freeze:
            raise OrderRejected(
                f"Quantity {quantity:,} is above the freeze quantity {freeze:,} of "
                f"{order.exchange}:{order.symbol}: one order may not carry more (place "
                "another order for the rest)",
                "max_quantity",
            )
        for label, value in (("Price", price), ("Trigger price", trigger_price)):
            if value is not None and not instrument.price_on_tick(value):
                raise OrderRejected(
                    f"{label} {value} is not a multiple of the tick size {instrument.tick_size}",
                    "instrument",
                )
    new_price = price if price is not None else order.price
    new_trigger = trigger_price if trigger_price is not None else order.trigger_price
    if order.order_type is OrderType.SL and new_price is not None and new_trigger is not None:
        if order.side.value == "BUY" and new_trigger > new_price:
            raise OrderRejected(
                "A buy SL order's trigger must not be above its limit price", "order_shape"
            )
        if order.side.value == "SELL" and new_trigger < new_price:
            raise OrderRejected(
                "A sell SL order's trigger must not be below its limit price", "order_shape"
            )
    return price, quantity, trigger_price


def as_decimal_or_none(value) -> Decimal | None:
    return None if value is None else to_decimal(value, "value")


def reducing_total(active: list[Order], request: OrderRequest) -> int:
    """What the reduce-only orders working on the request's side and key (exits, the kill
    switch's, square-off, bracket legs), plus the request, could take off the position. A
    trader's own resting orders are not reduce-only and do not count: they never block an
    exit. A bracket's stop and target legs are one-cancels-other, so each bracket counts
    its larger leg once, not both."""
    single = 0
    legs: dict[int, dict[str, int]] = {}

    def add(order, quantity: int) -> None:
        nonlocal single
        if order.source == "bracket" and order.parent_order_id is not None:
            kind = getattr(order, "sent_type", order.order_type)  # a request has none
            leg = "target" if kind is OrderType.LIMIT else "stop"
            group = legs.setdefault(order.parent_order_id, {})
            group[leg] = group.get(leg, 0) + quantity
        else:
            single += quantity

    key = (request.exchange, request.symbol, request.product, request.side)
    for o in active:
        if (o.exchange, o.symbol, o.product, o.side) == key and o.source in EXIT_SOURCES:
            add(o, o.quantity - o.filled_quantity)
    add(request, request.quantity)
    return single + sum(max(group.values()) for group in legs.values())
