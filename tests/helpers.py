"""Small shared test helpers."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product, Validity


async def until(predicate, timeout: float = 5.0, interval: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def limit(symbol="RELIANCE", side=OrderSide.BUY, qty=10, price="2450", **kw) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        exchange=kw.pop("exchange", "NSE"),
        side=side,
        quantity=qty,
        order_type=OrderType.LIMIT,
        price=Decimal(price),
        product=kw.pop("product", Product.MIS),
        validity=Validity.DAY,
        **kw,
    )


def market(symbol="RELIANCE", side=OrderSide.BUY, qty=10, **kw) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        exchange=kw.pop("exchange", "NSE"),
        side=side,
        quantity=qty,
        order_type=OrderType.MARKET,
        product=kw.pop("product", Product.MIS),
        **kw,
    )


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps everything in a dict (never the OS keyring)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.writes += 1
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.items:
            raise PasswordDeleteError("absent")
        del self.items[(service, username)]
