"""Exchange-like checks and a simple margin model for the paper broker.

Index derivatives: an order above the instrument's freeze quantity is refused as NSE
refuses it (17070), so is an SL-M order on an NFO/BFO option (16052, since 2021); both at
placement and on a modification.

Failures raise BrokerRejected with a message in the broker's voice, so the trader sees
the same kind of reason the real exchange/RMS would give.

Margins follow the documented model in domain/margin.py (the OMS's `margin` check uses
the same one, so it refuses exactly what the paper broker would).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from desktop_oms.brokers.errors import BrokerRejected
from desktop_oms.brokers.paper.records import PaperOrder
from desktop_oms.brokers.paper.state import PaperState
from desktop_oms.domain import Instrument, Order, OrderSide, OrderType, Product, Validity, Variety
from desktop_oms.domain.cutoffs import circuit_problem, mis_cutoff_problem
from desktop_oms.domain.margin import (
    DERIVATIVE_EXCHANGES,
    margin_rate,
    order_margin,
    position_margin,
)
from desktop_oms.infra.clock import IST

MAX_TAG_LENGTH = 20
MAX_MODIFICATIONS = 25


def label(exchange: str, symbol: str) -> str:
    return f"{exchange}:{symbol}"


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """An order's price terms after validation (what the exchange will hold)."""

    order_type: OrderType
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None


def check_instrument(
    instrument: Instrument | None, exchange: str, symbol: str, product: Product, today: date
) -> Instrument:
    name = label(exchange, symbol)
    if instrument is None:
        raise BrokerRejected(
            f"Unknown instrument {name}: the instrument does not exist or has expired"
        )
    if not instrument.tradable:
        raise BrokerRejected(f"{name} is not a tradable instrument")
    if instrument.expiry is not None and instrument.expiry < today:
        raise BrokerRejected(f"{name} expired on {instrument.expiry.isoformat()}")
    if instrument.exchange in DERIVATIVE_EXCHANGES and product in (Product.CNC, Product.MTF):
        raise BrokerRejected(
            f"Product {product.value} is not allowed for {instrument.exchange}; use NRML or MIS"
        )
    return instrument


def check_terms(instrument: Instrument, side: OrderSide, terms: OrderTerms) -> None:
    """Shape, lot size and tick size of an order's terms (placement and modification)."""
    name = label(instrument.exchange, instrument.symbol)
    kind = terms.order_type
    if (
        isinstance(terms.quantity, bool)
        or not isinstance(terms.quantity, int)
        or terms.quantity <= 0
    ):
        raise BrokerRejected(f"Quantity must be a positive whole number, got {terms.quantity!r}")
    if terms.quantity % instrument.lot_size:
        raise BrokerRejected(
            f"Quantity {terms.quantity} is not a multiple of the lot size {instrument.lot_size} for {name}"
        )
    if kind is OrderType.SL_M and not instrument.sl_m_allowed:
        raise BrokerRejected(
            f"16052: Function not available. SL-M orders are not allowed for options on "
            f"{instrument.exchange} ({name}): place an SL order with a limit price"
        )
    freeze = instrument.freeze_quantity
    if freeze is not None and terms.quantity > freeze:
        raise BrokerRejected(
            f"17070: Order quantity {terms.quantity} is more than the freeze quantity {freeze} "
            f"of {name}: split it into orders of at most {freeze}"
        )
    if kind.needs_price and terms.price is None:
        raise BrokerRejected(f"Price is required for a {kind.value} order")
    if not kind.needs_price and terms.price is not None:
        raise BrokerRejected(f"A {kind.value} order takes no price")
    if kind.needs_trigger and terms.trigger_price is None:
        raise BrokerRejected(f"Trigger price is required for an {kind.value} order")
    if not kind.needs_trigger and terms.trigger_price is not None:
        raise BrokerRejected(f"A {kind.value} order takes no trigger price")
    for what, value in (("Price", terms.price), ("Trigger price", terms.trigger_price)):
        if value is None:
            continue
        if value <= 0:
            raise BrokerRejected(f"{what} must be positive, got {value}")
        if not instrument.price_on_tick(value):
            raise BrokerRejected(
                f"{what} {value} is not a multiple of the tick size {instrument.tick_size} for {name}"
            )
    if kind is OrderType.SL and terms.price is not None and terms.trigger_price is not None:
        if side is OrderSide.BUY and terms.trigger_price > terms.price:
            raise BrokerRejected(
                "Trigger price for stoploss buy orders should be less than or equal to the price"
            )
        if side is OrderSide.SELL and terms.trigger_price < terms.price:
            raise BrokerRejected(
                "Trigger price for stoploss sell orders should be greater than or equal to the price"
            )


def check_new_order(
    order: Order,
    instrument: Instrument | None,
    last: Decimal | None,
    today: date,
) -> tuple[Instrument, OrderTerms]:
    if order.variety is not Variety.REGULAR:
        raise BrokerRejected(f"Variety {order.variety.value} is not supported by the paper broker")
    tag = order.client_order_id
    if tag is not None and (len(tag) > MAX_TAG_LENGTH or not tag.isalnum() or not tag.isascii()):
        raise BrokerRejected(f"Tag {tag!r} is invalid: at most {MAX_TAG_LENGTH} letters and digits")
    instrument = check_instrument(instrument, order.exchange, order.symbol, order.product, today)
    terms = OrderTerms(order.order_type, order.quantity, order.price, order.trigger_price)
    check_terms(instrument, order.side, terms)
    if order.validity not in (Validity.DAY, Validity.IOC, Validity.TTL):
        raise BrokerRejected(f"Validity {order.validity.value} is not supported")
    if order.validity is Validity.IOC and instrument.exchange == "MCX":
        raise BrokerRejected(
            "IOC orders are not allowed for API orders on MCX (Kite, since April 2026): "
            "send it as a DAY order"
        )
    if order.order_type in (OrderType.MARKET, OrderType.SL_M) and last is None:
        raise BrokerRejected(f"No market price for {label(order.exchange, order.symbol)}")
    return instrument, terms


OPTION_TYPES = frozenset({"CE", "PE"})


def price_band(last: Decimal, band_pct: Decimal, tick: Decimal) -> tuple[Decimal, Decimal]:
    """The exchange's circuit limits around the last price, on the tick (inside)."""
    low = last * (1 - band_pct / 100)
    high = last * (1 + band_pct / 100)
    if tick > 0:
        low = (low / tick).to_integral_value(rounding=ROUND_CEILING) * tick
        high = (high / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    return low, high


def circuit_limits(
    instrument: Instrument | None, last: Decimal | None, band_pct: Decimal | None
) -> tuple[Decimal, Decimal] | None:
    """The paper exchange's circuit limits (lower, upper) for `instrument` at `last`, or
    None when it has none (no band, no price yet, an option)."""
    if instrument is None or band_pct is None or last is None:
        return None
    if instrument.instrument_type in OPTION_TYPES:
        return None
    return price_band(last, band_pct, instrument.tick_size)


def check_price_band(
    instrument: Instrument, terms: OrderTerms, last: Decimal | None, band_pct: Decimal | None
) -> None:
    """Limit and trigger prices inside the circuit limits (Kite refuses the rest)."""
    limits = circuit_limits(instrument, last, band_pct)
    if limits is None:
        return
    problem = circuit_problem(
        label(instrument.exchange, instrument.symbol), terms.price, terms.trigger_price, limits
    )
    if problem:
        raise BrokerRejected(problem)


def check_mis_cutoff(
    order: Order,
    position_quantity: int,
    now: datetime,
    cutoffs: Mapping,
) -> None:
    """Zerodha refuses fresh MIS entries from its auto square-off time until the close;
    an order that only reduces the MIS position (an exit) still goes."""
    problem = mis_cutoff_problem(
        product=order.product,
        exchange=order.exchange,
        side=order.side,
        quantity=order.quantity,
        position_quantity=position_quantity,
        now_ist=now.astimezone(IST),
        cutoffs=cutoffs,
    )
    if problem:
        raise BrokerRejected(problem)


def check_funds(required: Decimal, available: Decimal) -> None:
    """An order that adds no exposure (required 0) passes even when funds are negative."""
    if required > 0 and required > available:
        raise BrokerRejected(
            f"Insufficient funds. Required margin is {money(required)} but available margin is {money(available)}."
        )


def modified_terms(
    current: OrderTerms,
    *,
    quantity: int | None,
    price: Decimal | None,
    trigger_price: Decimal | None,
    order_type: OrderType | None,
) -> OrderTerms:
    """The order's terms after a modification request (unset fields keep their value)."""
    kind = order_type if order_type is not None else current.order_type
    if price is None:
        price = current.price if kind.needs_price else None
    if trigger_price is None:
        trigger_price = current.trigger_price if kind.needs_trigger else None
    return OrderTerms(
        kind, current.quantity if quantity is None else quantity, price, trigger_price
    )


def used_margin(state: PaperState, lookup: Callable[[str, str], Instrument | None]) -> Decimal:
    """Margin blocked by open positions (at their average; a short option on its index's
    last price) and by open orders' exposure: the whole book valued at once (the
    exchange keeps the same figure up to date per order: margin_book.MarginBook)."""
    used = positions_margin(state, lookup)
    for order in state.active_orders():
        used += working_order_margin(state, order, lookup(order.exchange, order.symbol))
    return used


def _underlying_price(state: PaperState, instrument: Instrument | None) -> Decimal | None:
    if instrument is None or instrument.underlying is None:
        return None
    return state.prices.get(instrument.underlying)


def positions_margin(state: PaperState, lookup: Callable[[str, str], Instrument | None]) -> Decimal:
    """Margin blocked by the open positions."""
    used = Decimal(0)
    for position in state.positions.values():
        if not position.quantity:
            continue
        instrument = lookup(position.exchange, position.symbol)
        if instrument is not None and instrument.is_option:
            used += position_margin(
                instrument,
                position.product,
                position.quantity,
                position.average_price,
                _underlying_price(state, instrument),
            )
            continue
        rate = margin_rate(instrument, position.product)
        used += abs(position.quantity) * position.average_price * position.multiplier * rate
    return used


def working_order_margin(
    state: PaperState, order: PaperOrder, instrument: Instrument | None
) -> Decimal:
    """What a working order blocks: its remaining quantity at its price (else the last
    price, else its trigger), given the position it may reduce; 0 with no price at all."""
    reference = order.price or state.prices.get(order.key) or order.trigger_price
    if reference is None:
        return Decimal(0)
    return order_margin(
        instrument,
        order.product,
        order.side,
        order.remaining,
        reference,
        state.position_quantity(order.exchange, order.symbol, order.product),
        _underlying_price(state, instrument),
    )
