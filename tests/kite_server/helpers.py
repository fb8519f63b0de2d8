"""Helpers for tests that drive KiteBroker against KiteTestServer."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from desktop_oms.brokers.kite.broker import KiteBroker
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from tests.kite_server.server import KiteTestServer

_ids = itertools.count(1)


def make_order(
    *,
    symbol: str = "INFY",
    exchange: str = "NSE",
    side: OrderSide = OrderSide.BUY,
    quantity: int = 10,
    order_type: OrderType = OrderType.LIMIT,
    price: Decimal | str | None = "1500.50",
    trigger_price: Decimal | str | None = None,
    product: Product = Product.MIS,
    validity: Validity = Validity.DAY,
    variety: Variety = Variety.REGULAR,
    client_order_id: str | None = None,
) -> Order:
    number = next(_ids)
    now = datetime.now().astimezone()
    return Order(
        id=number,
        client_order_id=client_order_id or f"TEST{number:012d}",
        symbol=symbol,
        exchange=exchange,
        side=side,
        order_type=order_type,
        product=product,
        validity=validity,
        variety=variety,
        quantity=quantity,
        price=Decimal(str(price)) if price is not None else None,
        trigger_price=Decimal(str(trigger_price)) if trigger_price is not None else None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


def make_broker(server: KiteTestServer, **overrides) -> KiteBroker:
    """A KiteBroker with test-friendly timings (fast retries, short timeouts)."""
    stream_options = {
        "coalesce_interval": 0.0,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "open_timeout": 2.0,
        "watchdog_timeout": 5.0,
        "watchdog_active": lambda: False,
    }
    stream_options.update(overrides.pop("stream_options", {}))
    options = {
        "api_key": server.api_key,
        "access_token": server.access_token,
        "root": server.root,
        "ticker_root": server.ticker_root,
        "timeout": 2,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "lookup_interval": 0.1,
        "stream": False,
        "stream_options": stream_options,
    }
    options.update(overrides)
    return KiteBroker(**options)
