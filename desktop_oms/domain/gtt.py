"""GTT (good-till-triggered) orders, as Kite keeps them: pure values and rules.

A GTT rests at the broker, not in the app, so it protects a carried (CNC/NRML) position
while the app is closed. Kite's two kinds:

- single: one trigger value and one leg. The trigger's side of the last price when it was
  made says its direction (below it: fires when the price falls to it; above: rises to it).
- two-leg (OCO): a lower and an upper trigger around the last price and one leg each
  (the stop-loss first, the target second). The first trigger hit places its leg; the
  other leg is never placed (one cancels the other).

A fired leg is placed as a LIMIT order at its price. The GTT's id is Kite's trigger id
(an int). Times are aware datetimes (Kite's naive timestamps are IST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from desktop_oms.domain.enums import OrderSide, OrderType, Product

# Products a GTT may carry: it is meant for positions held across days.
GTT_PRODUCTS = frozenset({Product.CNC, Product.NRML})


class GttType(StrEnum):
    """Kite's trigger types (the wire values)."""

    SINGLE = "single"
    OCO = "two-leg"

    @property
    def legs(self) -> int:
        return 1 if self is GttType.SINGLE else 2


class GttStatus(StrEnum):
    """Kite's trigger statuses (the wire values)."""

    ACTIVE = "active"
    TRIGGERED = "triggered"
    DISABLED = "disabled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    DELETED = "deleted"

    @property
    def is_active(self) -> bool:
        return self is GttStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class GttLegResult:
    """What happened when a leg fired (Kite's `result`): the order placed, or why not."""

    triggered_at: Decimal | None  # the price that fired it
    at: datetime | None
    order_id: str | None  # the broker order id ("" / None when placing it failed)
    status: str  # Kite's order_result status: "success" or "failed"
    rejection_reason: str | None = None

    @property
    def placed(self) -> bool:
        return bool(self.order_id) and self.status != "failed"


@dataclass(frozen=True, slots=True)
class GttLeg:
    """One order a GTT places when its trigger is hit (always a LIMIT order)."""

    side: OrderSide
    quantity: int
    price: Decimal
    product: Product
    order_type: OrderType = OrderType.LIMIT
    result: GttLegResult | None = None


@dataclass(frozen=True, slots=True)
class GttRequest:
    """A new GTT, or a GTT's new terms (modify replaces all of them)."""

    gtt_type: GttType
    exchange: str
    symbol: str
    trigger_values: tuple[Decimal, ...]
    last_price: Decimal
    legs: tuple[GttLeg, ...]


@dataclass(frozen=True, slots=True)
class Gtt:
    """A GTT as the broker reports it."""

    gtt_id: int
    gtt_type: GttType
    exchange: str
    symbol: str
    trigger_values: tuple[Decimal, ...]
    last_price: Decimal  # the last price when it was made (or last modified)
    legs: tuple[GttLeg, ...]
    status: GttStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def fired_leg(self) -> int | None:
        """The index of the leg that fired (None: none has)."""
        for index, leg in enumerate(self.legs):
            if leg.result is not None:
                return index
        return None

    def request(self) -> GttRequest:
        """Its terms, as a request (to modify from)."""
        return GttRequest(
            self.gtt_type,
            self.exchange,
            self.symbol,
            self.trigger_values,
            self.last_price,
            tuple(GttLeg(leg.side, leg.quantity, leg.price, leg.product) for leg in self.legs),
        )


def gtt_problem(request: GttRequest) -> str | None:
    """Why the broker would refuse this GTT (Kite's own wording where it has one), or None."""
    kind = request.gtt_type
    triggers = request.trigger_values
    last = request.last_price
    if not request.exchange or not request.symbol:
        return "a GTT needs an exchange and a symbol"
    if last is None or not last.is_finite() or last <= 0:
        return "a GTT needs the last price of its instrument"
    if len(triggers) != kind.legs:
        return f"a {kind.value} GTT needs {kind.legs} trigger value(s), got {len(triggers)}"
    if len(request.legs) != kind.legs:
        return f"a {kind.value} GTT needs {kind.legs} order(s), got {len(request.legs)}"
    for value in triggers:
        if not value.is_finite() or value <= 0:
            return f"trigger value {value} must be a positive price"
        if value == last:
            return (
                "Trigger cannot be created with one of the trigger values equal to the last price."
            )
    if kind is GttType.OCO:
        if triggers[0] > last:
            return (
                "Trigger cannot be created with the first trigger price more than the last price."
            )
        if triggers[1] < last:
            return (
                "Trigger cannot be created with the second trigger price less than the last price."
            )
        if request.legs[0].side is not request.legs[1].side:
            return "both orders of a two-leg GTT must be on the same side"
    for leg in request.legs:
        if isinstance(leg.quantity, bool) or not isinstance(leg.quantity, int) or leg.quantity <= 0:
            return f"order quantity must be a positive whole number, got {leg.quantity!r}"
        if not leg.price.is_finite() or leg.price <= 0:
            return f"order price {leg.price} must be positive"
        if leg.order_type is not OrderType.LIMIT:
            return "a GTT places LIMIT orders only"
        if leg.product not in GTT_PRODUCTS:
            return f"a GTT is for carried positions (CNC/NRML), not {leg.product.value}"
    return None


def fired_leg(gtt: Gtt | GttRequest, price: Decimal) -> int | None:
    """Which leg a last price of `price` fires (None: neither).

    Single: a trigger below the last price at creation fires when the price falls to it,
    one above it when the price rises to it. OCO: at or below the lower trigger fires the
    first leg (the stop), at or above the upper the second (the target).
    """
    triggers = gtt.trigger_values
    if gtt.gtt_type is GttType.SINGLE:
        trigger = triggers[0]
        if trigger < gtt.last_price:
            return 0 if price <= trigger else None
        return 0 if price >= trigger else None
    if price <= triggers[0]:
        return 0
    if price >= triggers[1]:
        return 1
    return None


__all__ = [
    "GTT_PRODUCTS",
    "Gtt",
    "GttLeg",
    "GttLegResult",
    "GttRequest",
    "GttStatus",
    "GttType",
    "fired_leg",
    "gtt_problem",
]
