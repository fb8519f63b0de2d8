"""Small shared test helpers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product, Validity

# Machine time zones far from IST, as POSIX TZ strings (no tz database needed): UTC,
# UTC-10, UTC+14 and one with daylight saving.
FAR_ZONES = {
    "UTC": "UTC0",
    "UTC-10": "HST10",
    "UTC+14": "<+14>-14",
    "New York": "EST5EDT,M3.2.0,M11.1.0",
}


@contextmanager
def machine_zone(tz: str) -> Iterator[None]:
    """Run with the process's local time zone set to `tz` (TZ + time.tzset()); restored
    after. Skips where the zone cannot be changed (Windows has no tzset)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is POSIX only")
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


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
