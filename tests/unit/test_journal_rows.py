"""The group commit's rows are built as driver tuples straight from the domain objects
(storage.journal_rows, storage.position_store): every column of each statement, in its
compiled order, converted exactly as the generic mapping (dict -> column types) does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine

from desktop_oms.domain import (
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
    Variety,
)
from desktop_oms.storage import journal_rows as rows
from desktop_oms.storage import position_store
from desktop_oms.storage.driver import DriverStatement

DIALECT = create_engine("sqlite://").dialect
IST = timezone(timedelta(hours=5, minutes=30))
T1 = datetime(2026, 3, 2, 4, 15, 1, 250000, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 10, 0, 7, 1, tzinfo=IST)  # not UTC: converted
T3 = datetime(2026, 3, 2, 9, 59, 0, tzinfo=UTC)


def _generic(statement, column_keys, params: dict) -> tuple:
    """What DriverStatement's generic path gives for a dict of parameters."""
    return tuple(DriverStatement(statement, DIALECT, column_keys).rows([params])[0])


def _order(**changes) -> Order:
    values = dict(
        id=41,
        client_order_id="OMS0000000041",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=12,
        price=Decimal("1500.05"),
        trigger_price=Decimal("1499.5"),
        status=OrderStatus.PARTIALLY_FILLED,
        created_at=T1,
        updated_at=T2,
        broker_order_id="260302000000041",
        filled_quantity=7,
        average_price=Decimal("1500.0714285714285714285714"),
        status_message="partly filled",
        modification_count=3,
        protected_from=OrderType.MARKET,
    )
    values.update(changes)
    return Order(**values)


@pytest.mark.parametrize(
    "order",
    [
        _order(),
        _order(
            broker_order_id=None,
            price=None,
            trigger_price=None,
            average_price=None,
            status_message=None,
            protected_from=None,
        ),
    ],
)
def test_order_update_row_is_the_generic_one(order):
    built = rows._update_row(order)
    assert built == _generic(rows._UPDATE_ORDER, None, rows._update_params(order))
    assert len(built) == len(rows.UPDATE_ROW)


def test_filled_row_is_the_fill_columns_of_the_update_row():
    """The narrow UPDATE of an order only filled: its columns as the full one writes them."""
    order = _order()
    full = dict(zip(rows.UPDATE_ROW, rows._update_row(order), strict=True))
    assert rows._filled_row(order) == tuple(full[name] for name in rows.FILLED_ROW)
    assert set(rows.FILLED_ROW) == {"b_" + n for n in (*rows._FILLED, "id")}
    statement = DriverStatement(rows._UPDATE_FILLED, DIALECT, row=rows.FILLED_ROW)
    assert statement.sql.startswith("UPDATE orders SET filled_quantity=?")
    # A fill's order differs from the one before it only in the fill's columns.
    filled = order.copy(filled_quantity=9, average_price=Decimal("1500.1"), updated_at=T3)
    assert rows._terms(filled) == rows._terms(order)
    assert rows._terms(order.copy(status_message="x")) != rows._terms(order)


@pytest.mark.parametrize(
    "multiplier,realized,charges", [(Decimal("1"), Decimal("-12.50"), Decimal("0.3481"))]
)
def test_trade_row_is_the_generic_one(multiplier, realized, charges):
    fill = Fill(
        trade_id="T0099",
        order_id=41,
        broker_order_id="260302000000041",
        symbol="INFY",
        exchange="NSE",
        product=Product.MIS,
        side=OrderSide.BUY,
        quantity=5,
        price=Decimal("1500.05"),
        timestamp=T2,
        multiplier=multiplier,
    )
    built = rows._trade_row(fill, realized, charges, T1)
    generic = _generic(
        rows._INSERT_TRADE,
        list(rows._TRADE_COLUMNS),
        rows._trade_values(fill, realized, charges, T1),
    )
    assert built == generic
    assert built[rows.TRADE_ROW.index("timestamp")] == "2026-03-02T04:30:07.000001+00:00"


@pytest.mark.parametrize(
    "old,new,details,at",
    [
        (OrderStatus.OPEN, OrderStatus.FILLED, {"price": Decimal("1.5"), "quantity": 2}, T2),
        (None, None, None, None),
    ],
)
def test_event_row_is_the_generic_one(old, new, details, at):
    built = rows._event_row(41, "FILL", old, new, "why", rows._details_json(details), at)
    generic = _generic(
        rows._INSERT_EVENT,
        list(rows._EVENT_COLUMNS),
        rows._event_values(41, "FILL", old, new, "why", details, at),
    )
    if at is None:  # both stamped "now": compare all but the time
        assert built[:1] + built[2:] == generic[:1] + generic[2:]
    else:
        assert built == generic


@pytest.mark.parametrize(
    "position",
    [
        Position(
            symbol="NIFTY26MARFUT",
            exchange="NFO",
            product=Product.NRML,
            quantity=-75,
            average_price=Decimal("22450.5"),
            realized_pnl=Decimal("-120.25"),
            unrealized_pnl=Decimal("33.75"),
            multiplier=Decimal("75"),
            last_price=Decimal("22450.05"),
            highest_price=Decimal("22500"),
            lowest_price=Decimal("22400.1"),
            peak_unrealized_pnl=Decimal("50"),
            max_drawdown=Decimal("16.25"),
            charges=Decimal("41.0372"),
            opened_at=T1,
            updated_at=T2,
            strategy_id="scalp",
            id=3,
        ),
        Position(symbol="INFY", exchange="NSE", product=Product.MIS, updated_at=T3),
    ],
)
def test_position_row_is_the_generic_one(position):
    built = position_store.position_tuple(position)
    generic = _generic(
        position_store.upsert_statement(),
        list(position_store.POSITION_COLUMNS),
        position_store.position_row(position),
    )
    assert built == generic


def test_a_row_order_that_is_not_the_statements_is_refused():
    """A builder that misses a column (or has them in another order) cannot be used."""
    dropped = tuple(n for n in rows.TRADE_ROW if n != "charges")
    with pytest.raises(ValueError, match="do not match"):
        DriverStatement(rows._INSERT_TRADE, DIALECT, list(rows._TRADE_COLUMNS), row=dropped)
    swapped = (rows.UPDATE_ROW[1], rows.UPDATE_ROW[0], *rows.UPDATE_ROW[2:])
    with pytest.raises(ValueError, match="do not match"):
        DriverStatement(rows._UPDATE_ORDER, DIALECT, row=swapped)
    assert DriverStatement(
        rows._INSERT_TRADE, DIALECT, list(rows._TRADE_COLUMNS), row=rows.TRADE_ROW
    )


def test_non_finite_money_is_refused_by_the_built_rows_too():
    with pytest.raises(ValueError, match="non-finite"):
        rows._update_row(_order(average_price=Decimal("NaN")))
