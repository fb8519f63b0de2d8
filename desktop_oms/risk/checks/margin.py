"""Margin estimates for the `margin` check, where the broker cannot quote them itself.

The paper broker blocks margin by a documented model (domain/margin.py); the check
uses the same model, so the OMS refuses exactly what the paper broker would. With Kite the
estimate is Kite's own (its order-margins API, which accounts for open positions); an
estimator may be a coroutine function, awaited with a timeout by the check.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from desktop_oms.domain import OrderSide, Product

# (exchange, symbol, product, side, quantity, price, signed position quantity) -> rupees
MarginEstimator = Callable[[str, str, Product, OrderSide, int, Decimal, int], object]


def paper_margin_estimator(instruments, last_price=None) -> MarginEstimator:
    """The paper model; `last_price(exchange, symbol)` prices a derivative's index (a short
    option's margin is on the index's notional: the paper broker's own last price)."""
    from desktop_oms.domain.margin import order_margin

    def estimate(exchange, symbol, product, side, quantity, price, position_quantity):
        instrument = instruments.get(exchange, symbol) if instruments is not None else None
        underlying = None
        if instrument is not None and instrument.underlying is not None and last_price:
            underlying = last_price(*instrument.underlying)
        return order_margin(
            instrument, product, side, quantity, price, position_quantity, underlying
        )

    return estimate


def broker_margin_estimator(broker) -> MarginEstimator:
    """Ask the broker (KiteBroker.order_margins) what the order would block."""
    from datetime import UTC, datetime

    from desktop_oms.domain import Order, OrderStatus, OrderType, Validity, Variety

    async def estimate(exchange, symbol, product, side, quantity, price, position_quantity):
        now = datetime.now(UTC)
        order = Order(
            id=0,
            client_order_id="MARGINCHECK",
            symbol=symbol,
            exchange=exchange,
            side=side,
            order_type=OrderType.LIMIT,
            product=product,
            validity=Validity.DAY,
            variety=Variety.REGULAR,
            quantity=quantity,
            price=price,
            trigger_price=None,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        return await broker.order_margins(order)

    return estimate
