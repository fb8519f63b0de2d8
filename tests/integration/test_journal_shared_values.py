"""Orders read back from the journal share the values many rows repeat (a blotter holds
100,000 of them): one Decimal per distinct price text, one string per symbol, exchange,
source and strategy. Shared, never changed: each value is still the exact one stored."""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.storage import Database
from desktop_oms.storage import types as storage_types
from desktop_oms.storage.types import DECIMALS_KEPT, shared_decimal
from tests.bench.common import bulk_journal


def test_orders_read_back_share_repeated_prices_and_texts(tmp_path):
    db = Database.open_sync(tmp_path / "oms.db")
    try:
        bulk_journal(db, 2_000, symbols=("RELIANCE", "TCS"))
        orders = db.journal.list_orders()
        trades = db.journal.trades()
    finally:
        db.close_sync()
    assert len(orders) == 2_000 and trades
    by_price: dict[Decimal, set[int]] = {}
    for order in orders:
        by_price.setdefault(order.price, set()).add(id(order.price))
    assert len(by_price) < len(orders)  # prices repeat, so sharing can show
    assert all(len(ids) == 1 for ids in by_price.values())
    for field in ("symbol", "exchange", "source"):
        assert len({id(getattr(o, field)) for o in orders}) == len(
            {getattr(o, field) for o in orders}
        )
    assert len({id(t.symbol) for t in trades}) == 2


def test_a_shared_decimal_is_the_exact_text_and_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(storage_types, "_DECIMALS", {})
    a, b = shared_decimal("1000.50"), shared_decimal("1000.50")
    assert a is b and a == Decimal("1000.50")
    # the same value written differently stays as written (its exponent is data)
    assert str(shared_decimal("1000.5")) == "1000.5" and str(a) == "1000.50"
    for i in range(DECIMALS_KEPT + 10):
        shared_decimal(f"{i}.05")
    assert len(storage_types._DECIMALS) <= DECIMALS_KEPT
    assert a == Decimal("1000.50")  # handed out before the cache emptied: unchanged
