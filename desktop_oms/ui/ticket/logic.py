"""What the order ticket checks and computes, without Qt: parse the typed text, refuse
bad input field by field, build the domain OrderRequest, compute value / risk / reward.

Field names used in `problems`: symbol, quantity, price, trigger, stop_loss, take_profit,
order (the form as a whole).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from desktop_oms.domain import (
    Instrument,
    OrderRequest,
    OrderSide,
    OrderType,
    Product,
    Validity,
    order_shape_problem,
)
from desktop_oms.domain.money import MAX_PRICE, ZERO
from desktop_oms.domain.orders import MAX_QUANTITY
from desktop_oms.ui.common import clean_number_text, parse_decimal_text, parse_int_text
from desktop_oms.ui.common import format as fmt

FIELDS = ("symbol", "quantity", "price", "trigger", "stop_loss", "take_profit", "order")
_LABELS = {
    "price": "Price",
    "trigger": "Trigger price",
    "stop_loss": "Stop-loss",
    "take_profit": "Take-profit",
}


@dataclass(frozen=True, slots=True)
class TicketInput:
    """The ticket's fields as typed."""

    side: OrderSide
    exchange: str
    symbol: str
    quantity: str
    order_type: OrderType
    price: str = ""
    trigger: str = ""
    product: Product = Product.MIS
    validity: Validity = Validity.DAY
    stop_loss: str = ""
    take_profit: str = ""
    setup: str = ""  # the trader's setup (OrderRequest.strategy_id); empty: none


@dataclass(frozen=True, slots=True)
class TicketMetrics:
    last_price: Decimal | None = None
    entry: Decimal | None = None  # price the order is expected to trade at
    value: Decimal | None = None  # qty x entry x multiplier
    risk: Decimal | None = None  # |entry - stop| x qty x multiplier
    risk_pct: Decimal | None = None  # of capital
    reward: Decimal | None = None  # |target - entry| x qty x multiplier
    reward_risk: Decimal | None = None


@dataclass(slots=True)
class TicketCheck:
    request: OrderRequest | None
    problems: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # problems that are "not filled in yet"
    metrics: TicketMetrics = field(default_factory=TicketMetrics)
    instrument: Instrument | None = None

    @property
    def ok(self) -> bool:
        return self.request is not None and not self.problems

    def reason(self) -> str:
        return "; ".join(self.problems[f] for f in FIELDS if f in self.problems)

    def invalid_only(self) -> dict[str, str]:
        """Problems with what was typed (not fields merely left empty)."""
        return {k: v for k, v in self.problems.items() if k not in self.missing}


def _price_field(
    name: str, text: str, tick: Decimal | None, problems: dict[str, str]
) -> Decimal | None:
    label = _LABELS[name]
    if not text.strip():
        return None
    value = parse_decimal_text(text)
    if value is None:
        problems[name] = f"{label} '{text.strip()}' is not a number"
        return None
    if value <= ZERO:
        problems[name] = f"{label} must be more than zero"
        return None
    if value > MAX_PRICE:
        problems[name] = f"{label} {fmt.money(value)} is not a plausible price"
        return None
    if tick is not None and tick > 0 and value % tick != 0:
        problems[name] = f"{label} {value} is not a multiple of the tick size {tick}"
        return None
    return value


def check_ticket(
    data: TicketInput,
    *,
    instrument: Callable[[str, str], Instrument | None],
    last_price: Callable[[str, str], Decimal | None],
    capital: Decimal,
    max_quantity: int | None = None,
    max_order_value: Decimal | None = None,
) -> TicketCheck:
    """Every refusal the ticket makes before anything is submitted, plus live metrics."""
    problems: dict[str, str] = {}
    missing: set[str] = set()
    exchange = data.exchange.strip().upper()
    symbol = data.symbol.strip().upper()
    inst: Instrument | None = None
    ltp: Decimal | None = None
    if not symbol:
        problems["symbol"] = "Enter a symbol"
        missing.add("symbol")
    else:
        inst = instrument(exchange, symbol)
        if inst is None:
            problems["symbol"] = f"Unknown symbol {symbol} on {exchange}"
        elif not inst.tradable:
            problems["symbol"] = f"{symbol} is not tradable"
        else:
            ltp = last_price(exchange, symbol)
    tick = inst.tick_size if inst else None
    lot = inst.lot_size if inst else 1
    multiplier = inst.multiplier if inst else Decimal(1)

    # quantity
    qty: int | None = None
    qty_text = data.quantity.strip()
    if not qty_text:
        problems["quantity"] = "Enter a quantity"
        missing.add("quantity")
    else:
        number = parse_int_text(qty_text)
        if number is None:
            if parse_decimal_text(qty_text) is not None:
                problems["quantity"] = f"Quantity {qty_text} must be a whole number"
            else:
                problems["quantity"] = f"Quantity '{qty_text}' is not a number"
        elif number <= 0:
            problems["quantity"] = "Quantity must be more than zero"
        elif max_quantity is not None and number > max_quantity:
            problems["quantity"] = (
                f"Quantity {fmt.quantity(number)} exceeds the limit of {fmt.quantity(max_quantity)}"
            )
        elif number > MAX_QUANTITY:
            problems["quantity"] = f"Quantity {fmt.quantity(number)} is not plausible"
        elif number % lot != 0:
            problems["quantity"] = (
                f"Quantity {fmt.quantity(number)} is not a multiple of the lot size {lot}"
            )
        else:
            qty = number

    # price and trigger, only where the order type takes them
    kind = data.order_type
    price = trigger = None
    if kind.needs_price:
        if not data.price.strip():
            problems["price"] = f"A {kind.value} order needs a price"
            missing.add("price")
        else:
            price = _price_field("price", data.price, tick, problems)
    if kind.needs_trigger:
        if not data.trigger.strip():
            problems["trigger"] = f"An {kind.value} order needs a trigger price"
            missing.add("trigger")
        else:
            trigger = _price_field("trigger", data.trigger, tick, problems)

    if kind is OrderType.MARKET:
        entry = ltp
    elif kind is OrderType.SL_M:
        entry = trigger
    else:
        entry = price

    stop = _price_field("stop_loss", data.stop_loss, tick, problems)
    target = _price_field("take_profit", data.take_profit, tick, problems)
    side = data.side
    if ltp is not None and fills_at_once(side, kind, price, trigger, ltp):
        # It fills at about the last price: an exit already crossed there would trigger
        # (stop) or fill (target) as soon as the bracket is placed, at a loss.
        _check_exit_sides(problems, side, stop, target, ltp, "the last price", at_once=True)
    where = "the last price" if kind is OrderType.MARKET else "the entry price"
    _check_exit_sides(problems, side, stop, target, entry, where)

    metrics = compute_metrics(
        side=side,
        quantity=qty if qty is not None else _loose_int(qty_text),
        entry=entry,
        stop=stop,
        target=target,
        multiplier=multiplier,
        capital=capital,
        last_price=ltp,
    )
    if (
        max_order_value is not None
        and metrics.value is not None
        and metrics.value > max_order_value
        and "quantity" not in problems
    ):
        problems["quantity"] = (
            f"Order value {fmt.rupees(metrics.value)} exceeds your limit of {fmt.rupees(max_order_value)}"
        )

    request = None
    if not problems and qty is not None:
        try:
            request = OrderRequest(
                symbol=symbol,
                exchange=exchange,
                side=side,
                quantity=qty,
                order_type=kind,
                price=price,
                trigger_price=trigger,
                product=data.product,
                validity=data.validity,
                stop_loss=stop,
                take_profit=target,
                strategy_id=" ".join(data.setup.split()) or None,
            )
        except ValueError as exc:
            problems["order"] = str(exc)
        else:
            shape = order_shape_problem(request)
            if shape is not None:
                problems["trigger" if "trigger" in shape else "order"] = shape
                request = None
    return TicketCheck(
        request=request if not problems else None,
        problems=problems,
        missing=missing,
        metrics=metrics,
        instrument=inst,
    )


def fills_at_once(
    side: OrderSide,
    kind: OrderType,
    price: Decimal | None,
    trigger: Decimal | None,
    last: Decimal,
) -> bool:
    """True if the order would trade at about the last price as soon as it arrives: a
    MARKET order, a marketable LIMIT, a stop order whose trigger is already crossed (an
    SL's limit then marketable too). A resting order fills at its own price instead."""
    buy = side is OrderSide.BUY

    def marketable(limit: Decimal | None) -> bool:
        return limit is not None and (limit >= last if buy else limit <= last)

    def triggered(level: Decimal | None) -> bool:
        return level is not None and (level <= last if buy else level >= last)

    if kind is OrderType.MARKET:
        return True
    if kind is OrderType.LIMIT:
        return marketable(price)
    if kind is OrderType.SL_M:
        return triggered(trigger)
    return triggered(trigger) and marketable(price)  # SL


def _check_exit_sides(
    problems: dict[str, str],
    side: OrderSide,
    stop: Decimal | None,
    target: Decimal | None,
    reference: Decimal | None,
    where: str,
    *,
    at_once: bool = False,
) -> None:
    """The stop-loss below (buy) / above (sell) the reference price, the target on the
    other side; a field already refused keeps its first reason."""
    if reference is None:
        return
    buy = side is OrderSide.BUY
    name = "buy" if buy else "sell"
    ref = fmt.price(reference)
    if (
        stop is not None
        and "stop_loss" not in problems
        and (stop >= reference if buy else stop <= reference)
    ):
        problems["stop_loss"] = (
            f"A {name} order's stop-loss must be {'below' if buy else 'above'} {where} {ref}"
            + (
                f": at {fmt.price(stop)} it is already reached and would trigger as soon as "
                "the order fills"
                if at_once
                else ""
            )
        )
    if (
        target is not None
        and "take_profit" not in problems
        and (target <= reference if buy else target >= reference)
    ):
        problems["take_profit"] = (
            f"A {name} order's take-profit must be {'above' if buy else 'below'} {where} {ref}"
            + (
                f": at {fmt.price(target)} it would fill as soon as the order fills, at a loss"
                if at_once
                else ""
            )
        )


def _loose_int(text: str) -> int | None:
    number = parse_int_text(text) if clean_number_text(text) else None
    return number if number is not None and number > 0 else None


def compute_metrics(
    *,
    side: OrderSide,
    quantity: int | None,
    entry: Decimal | None,
    stop: Decimal | None,
    target: Decimal | None,
    multiplier: Decimal,
    capital: Decimal,
    last_price: Decimal | None = None,
) -> TicketMetrics:
    value = risk = risk_pct = reward = rr = None
    if quantity and entry is not None:
        value = quantity * entry * multiplier
        if stop is not None:
            risk = abs(entry - stop) * quantity * multiplier
            if capital > 0:
                risk_pct = risk / capital * 100
        if target is not None:
            reward = abs(target - entry) * quantity * multiplier
            if risk:
                rr = reward / risk
    return TicketMetrics(
        last_price=last_price,
        entry=entry,
        value=value,
        risk=risk,
        risk_pct=risk_pct,
        reward=reward,
        reward_risk=rr,
    )
