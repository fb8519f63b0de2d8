"""Margin estimates for the `margin` check, where the broker cannot quote them itself.

The paper broker blocks margin by a documented model (brokers/paper_rules.py); the check
uses the same model, so the OMS refuses exactly what the paper broker would. Kite's
order-margins API is not wired yet: with Kite the check passes and Kite's RMS decides.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ...domain import OrderSide, Product

# (exchange, symbol, product, side, quantity, price, signed position quantity) -> rupees
MarginEstimator = Callable[[str, str, Product, OrderSide, int, Decimal, int], Decimal | None]


def paper_margin_estimator(instruments) -> MarginEstimator:
    from ...brokers.paper_rules import order_margin

    def estimate(exchange, symbol, product, side, quantity, price, position_quantity):
        instrument = instruments.get(exchange, symbol) if instruments is not None else None
        return order_margin(instrument, product, side, quantity, price, position_quantity)

    return estimate
