"""The margin model where the broker cannot quote margins itself (the paper broker, and
the OMS's `margin` check in paper mode): simplified, documented rather than exact.

- equity (NSE/BSE): CNC, MTF, NRML block the full order value; MIS blocks value / 5;
- futures (NFO/BFO/MCX/CDS/BCD): NRML and MIS block 15% of the value (roughly SPAN +
  exposure; brokers no longer give intraday leverage on F&O);
- buying an option blocks its premium (price x quantity x multiplier), nothing more: it
  is all the buyer can lose;
- selling an option (opening or adding to a short) blocks a SPAN-like margin on the
  underlying's notional, not on the premium: per unit
      max(SCAN x spot - OTM_CREDIT x out-of-the-money amount, FLOOR x spot) + EXPOSURE x spot
  with SCAN 6%, OTM_CREDIT 1/2, FLOOR 3% and EXPOSURE 2% (SEBI's extreme-loss margin on
  index derivatives): an at-the-money NIFTY lot (65 x 26,300) blocks about 1,37,000,
  one 1,000 points out of the money about 1,04,000 (a broker's margin calculator says
  much the same, within a few tens of percent). The premium received is not counted (conservative). Without the
  underlying's price the strike stands in for it (at the money);
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
# Short options (see the module docstring).
SHORT_OPTION_SCAN = Decimal("0.06")
SHORT_OPTION_OTM_CREDIT = Decimal("0.5")
SHORT_OPTION_FLOOR = Decimal("0.03")
SHORT_OPTION_EXPOSURE = Decimal("0.02")


def margin_rate(instrument: Instrument | None, product: Product) -> Decimal:
    """The share of the order value blocked (equity and futures; see option_margin)."""
    if instrument is not None and instrument.exchange in DERIVATIVE_EXCHANGES:
        return DERIVATIVE_RATE
    return EQUITY_MIS_RATE if product is Product.MIS else Decimal(1)


def reducible_quantity(side: OrderSide, position_quantity: int) -> int:
    """How much of an order on `side` closes an existing position instead of adding."""
    return max(0, -position_quantity) if side is OrderSide.BUY else max(0, position_quantity)


def short_option_margin(instrument: Instrument, underlying_price: Decimal | None) -> Decimal:
    """SPAN-like margin per unit of a short option (see the module docstring)."""
    strike = instrument.strike
    spot = underlying_price if underlying_price is not None and underlying_price > 0 else strike
    if spot is None:
        raise ValueError(f"{instrument.exchange}:{instrument.symbol}: an option needs a strike")
    if strike is None:
        strike = spot
    if instrument.instrument_type == "CE":
        out_of_the_money = max(strike - spot, Decimal(0))
    else:
        out_of_the_money = max(spot - strike, Decimal(0))
    span = max(
        SHORT_OPTION_SCAN * spot - SHORT_OPTION_OTM_CREDIT * out_of_the_money,
        SHORT_OPTION_FLOOR * spot,
    )
    return span + SHORT_OPTION_EXPOSURE * spot


def exposure_margin(
    instrument: Instrument | None,
    product: Product,
    side: OrderSide,
    quantity: int,
    price: Decimal,
    underlying_price: Decimal | None = None,
) -> Decimal:
    """Margin blocked by `quantity` units of new exposure on `side` at `price` (an option's
    price is its premium)."""
    if quantity <= 0:
        return Decimal(0)
    multiplier = instrument.multiplier if instrument is not None else Decimal(1)
    if instrument is not None and instrument.is_option:
        if side is OrderSide.BUY:
            return quantity * price * multiplier
        return quantity * short_option_margin(instrument, underlying_price) * multiplier
    return quantity * price * multiplier * margin_rate(instrument, product)


def order_margin(
    instrument: Instrument | None,
    product: Product,
    side: OrderSide,
    quantity: int,
    price: Decimal,
    position_quantity: int,
    underlying_price: Decimal | None = None,
) -> Decimal:
    """Margin a new order blocks: what it adds beyond the position it reduces."""
    exposure = max(0, quantity - reducible_quantity(side, position_quantity))
    return exposure_margin(instrument, product, side, exposure, price, underlying_price)


def position_margin(
    instrument: Instrument | None,
    product: Product,
    quantity: int,
    average_price: Decimal,
    underlying_price: Decimal | None = None,
) -> Decimal:
    """Margin an open position (signed quantity) keeps blocked."""
    side = OrderSide.BUY if quantity > 0 else OrderSide.SELL
    return exposure_margin(
        instrument, product, side, abs(quantity), average_price, underlying_price
    )
