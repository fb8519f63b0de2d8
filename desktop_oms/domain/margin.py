"""The margin model where the broker cannot quote margins itself (the paper broker, and
the OMS's `margin` check in paper mode): simplified, documented rather than exact.

- equity (NSE/BSE): CNC, MTF, NRML block the full order value; MIS blocks value / 5;
- derivatives (NFO/BFO/MCX/CDS/BCD): NRML and MIS block 15% of the value (roughly SPAN +
  exposure; brokers no longer give intraday leverage on F&O);
- the part of an order that reduces an existing position of the same product needs no
  margin (exits and the kill switch's flattening are never refused for funds).
"""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.instrument import Instrument

DERIVATIVE_EXCHANGES = frozenset({"NFO", "BFO", "MCX", "CDS", "BCD"})
EQUITY_MIS_RATE = Decimal("0.2")
DERIVATIVE_RATE = Decimal("0.15")


def margin_rate(instrument: Instrument | None, product: Product) -> Decimal:
    if instrument is not None and instrument.exchange in DERIVATIVE_EXCHANGES:
        return DERIVATIVE_RATE
    return EQUITY_MIS_RATE if product is Product.MIS else Decimal(1)


def reducible_quantity(side: OrderSide, position_quantity: int) -> int:
    """How much of an order on `side` closes an existing position instead of adding."""
    return max(0, -position_quantity) if side is OrderSide.BUY else max(0, position_quantity)


def order_margin(
    instrument: Instrument | None,
    product: Product,
    side: OrderSide,
    quantity: int,
    price: Decimal,
    position_quantity: int,
) -> Decimal:
    exposure = max(0, quantity - reducible_quantity(side, position_quantity))
    multiplier = instrument.multiplier if instrument is not None else Decimal(1)
    return exposure * price * multiplier * margin_rate(instrument, product)
