"""evolve: dataclasses.replace semantics, generated once per class."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, replace

import pytest

from desktop_oms.domain.records import evolve


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: int
    size: int = 1
    tags: tuple = ()


@dataclass(frozen=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclass(frozen=True)
class WithDerived:
    value: int
    derived: int = field(init=False, default=0)


def test_evolve_matches_replace():
    q = Quote("INFY", 1500, tags=("a",))
    for changes in ({}, {"price": 1501}, {"size": 5, "symbol": "TCS"}, {"tags": ()}):
        assert evolve(q, **changes) == replace(q, **changes)
    assert evolve(q, price=1) is not q
    assert q.price == 1500


def test_evolve_refuses_unknown_fields_and_keeps_validation():
    with pytest.raises(TypeError):
        evolve(Quote("INFY", 1), volume=3)
    with pytest.raises(ValueError, match="negative"):
        evolve(Checked(1), value=-1)
    with pytest.raises(FrozenInstanceError):
        evolve(Quote("INFY", 1)).price = 2  # type: ignore[misc]


def test_evolve_leaves_classes_with_non_init_fields_to_replace():
    with pytest.raises(TypeError, match="outside __init__"):
        evolve(WithDerived(1), value=2)


def test_order_copy_is_evolve():
    from datetime import UTC, datetime
    from decimal import Decimal

    from desktop_oms.domain import (
        Order,
        OrderSide,
        OrderStatus,
        OrderType,
        Product,
        Validity,
        Variety,
    )

    now = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    order = Order(
        1, "C1", "INFY", "NSE", OrderSide.BUY, OrderType.LIMIT, Product.MIS, Validity.DAY,
        Variety.REGULAR, 10, Decimal("1500"), None, OrderStatus.OPEN, now, now,
    )  # fmt: skip
    changed = order.copy(filled_quantity=3)
    assert changed == replace(order, filled_quantity=3)
    with pytest.raises(TypeError):
        order.copy(no_such_field=1)
