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


@dataclass(frozen=True, slots=True)
class Mark:
    symbol: str
    price: int
    size: int = 1
    note: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Unslotted:
    value: int


@dataclass(frozen=True, slots=True)
class CheckedSlots:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


def test_positional_builds_what_the_constructor_builds():
    from desktop_oms.domain.records import positional

    build = positional(Mark)
    built = build("INFY", 1500, 3, "n")
    assert built == Mark("INFY", 1500, 3, note="n")
    assert type(built) is Mark and hash(built) == hash(Mark("INFY", 1500, 3, note="n"))
    assert build(symbol="TCS", price=1, size=2, note=None) == Mark("TCS", 1, 2)
    with pytest.raises(FrozenInstanceError):
        built.price = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        build("INFY", 1500)  # every field, no defaults: a forgotten one is an error


def test_positional_refuses_what_would_skip_the_constructors_work():
    from desktop_oms.domain.records import positional

    for cls in (CheckedSlots, Unslotted, WithDerived):
        with pytest.raises(TypeError):
            positional(cls)


def test_positional_builds_the_fill_paths_records():
    """Every class the fill path builds through its slots: equal to its constructor's."""
    from dataclasses import fields

    from desktop_oms.domain import Fill, Position
    from desktop_oms.domain.events import FillApplied, OrderModified, OrderStatusChanged
    from desktop_oms.domain.positions import FillOutcome
    from desktop_oms.domain.records import positional

    for cls in (Fill, Position, FillOutcome, FillApplied, OrderStatusChanged, OrderModified):
        values = [object() for _ in fields(cls)]  # distinct: a value in the wrong slot shows
        built, constructed = positional(cls)(*values), cls(*values)
        assert type(built) is cls
        for f in fields(cls):
            assert getattr(built, f.name) is getattr(constructed, f.name)
        assert [getattr(built, f.name) for f in fields(cls)] == values


def test_changer_is_replace_with_the_fields_given_positionally():
    from desktop_oms.domain.records import changer

    q = Mark("INFY", 1500, note="x")
    change = changer(Mark, ("price", "note"))
    assert change(q, 1501, None) == replace(q, price=1501, note=None)
    assert changer(Mark, ())(q) == q
    with pytest.raises(TypeError):
        changer(Mark, ("volume",))
    with pytest.raises(TypeError):
        changer(Mark, ("price", "price"))
    with pytest.raises(ValueError, match="negative"):
        changer(CheckedSlots, ("value",))(CheckedSlots(1), -1)
