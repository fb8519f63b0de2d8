"""What the checks know about one order: gathered once, read-only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from desktop_oms.domain import Instrument, OrderRequest, OrderSide, OrderType
from desktop_oms.domain.orders import EXIT_SOURCES
from desktop_oms.risk.limits import RiskLimits

# Sources whose reduce-only orders protect or close a position (see domain.orders).
SYSTEM_SOURCES = EXIT_SOURCES


@dataclass(frozen=True, slots=True)
class OrderContext:
    request: OrderRequest
    limits: RiskLimits
    instrument: Instrument | None = None
    last_price: Decimal | None = None  # live, from the quote source
    position_quantity: int = 0  # signed quantity now held in this (exchange, symbol, product)
    pending_same_side: int = 0  # unfilled quantity of other active orders on this side and key
    #                             (bracket exits excluded: the bracket manager resizes them)
    underlying_price: Decimal | None = None  # a derivative's index, live (options' margin)

    @property
    def label(self) -> str:
        return f"{self.request.exchange}:{self.request.symbol}"

    @property
    def multiplier(self) -> Decimal:
        return self.instrument.multiplier if self.instrument is not None else Decimal(1)

    @property
    def system_exit(self) -> bool:
        """A reduce-only order that protects or closes a position: the trader's Exit, the
        kill switch, a bracket leg or the square-off."""
        return self.request.reduce_only and self.request.source in SYSTEM_SOURCES

    @property
    def reduces_only(self) -> bool:
        """True if the order (with the other orders on its side) can only shrink the position."""
        held = self.position_quantity
        if held == 0 or (held > 0) == (self.request.side is OrderSide.BUY):
            return False
        return self.request.quantity + self.pending_same_side <= abs(held)

    @property
    def slices(self) -> int:
        """How many orders this one goes as (above the freeze quantity the OMS slices it
        into whole lots of at most the freeze quantity); 1 for most orders."""
        instrument = self.instrument
        quantity = self.request.quantity
        if instrument is None or instrument.freeze_quantity is None:
            return 1
        if quantity <= instrument.freeze_quantity:
            return 1
        largest = (instrument.freeze_quantity // instrument.lot_size) * instrument.lot_size
        return -(-quantity // largest) if largest > 0 else 1

    @property
    def short_option_quantity(self) -> int:
        """Units of the order that open or add to a short option position (0 for anything
        else): their risk is the margin they block, not the premium."""
        instrument = self.instrument
        if (
            instrument is None
            or not instrument.is_option
            or self.request.side is not OrderSide.SELL
        ):
            return 0
        return max(0, self.request.quantity - max(0, self.position_quantity))

    @property
    def reference_price(self) -> Decimal | None:
        """The price the order is expected to trade at: its limit, its trigger (SL-M), or
        the last price (MARKET)."""
        r = self.request
        if r.order_type in (OrderType.LIMIT, OrderType.SL) and r.price is not None:
            return r.price
        if r.order_type is OrderType.SL_M and r.trigger_price is not None:
            return r.trigger_price
        return self.last_price
