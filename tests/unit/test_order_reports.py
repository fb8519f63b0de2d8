"""Broker reports against the journal (issue 14 item 7): a stale report (older by the
broker's timestamp, or fetched before one already applied arrived) does not move a
working order's status back, an interim one (Kite's UPDATE) keeps it, a final status
always applies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from desktop_oms.brokers.kite.parsing.reports import order_report_from_kite
from desktop_oms.domain import (
    Order,
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.oms.sync.report_terms import TermsGuard
from desktop_oms.oms.sync.reports import order_after_report

T0 = datetime(2026, 12, 8, 4, 30, tzinfo=UTC)


def stop(status: OrderStatus = OrderStatus.TRIGGER_PENDING) -> Order:
    return Order(
        id=1,
        client_order_id="ABC000000001",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.SL,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=5,
        price=Decimal("101.5"),
        trigger_price=Decimal("101"),
        status=status,
        created_at=T0,
        updated_at=T0,
        broker_order_id="1001",
    )


def report(status: OrderStatus, at: datetime = T0, **changes) -> OrderReport:
    base = OrderReport(
        broker_order_id="1001",
        client_order_id="ABC000000001",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.SL,
        product=Product.MIS,
        quantity=5,
        filled_quantity=0,
        pending_quantity=5,
        price=Decimal("101.5"),
        trigger_price=Decimal("101"),
        average_price=None,
        status=status,
        status_message=None,
        timestamp=at,
    )
    return replace(base, **changes)


def test_kites_update_is_an_interim_status():
    row = {
        "order_id": "1001",
        "status": "UPDATE",
        "tradingsymbol": "INFY",
        "exchange": "NSE",
        "transaction_type": "BUY",
        "order_type": "SL",
        "product": "MIS",
        "quantity": 5,
        "filled_quantity": 0,
        "price": 102,
        "trigger_price": 101.5,
    }
    parsed = order_report_from_kite(row)
    assert parsed.interim and parsed.status is OrderStatus.TRIGGER_PENDING
    assert not order_report_from_kite({**row, "status": "OPEN"}).interim
    assert not order_report_from_kite({**row, "status": "CANCELLED"}).interim


def test_an_interim_report_keeps_a_triggered_stop_open():
    """Kite's UPDATE for a modification of a stop that has triggered: still OPEN."""
    after, _, _ = order_after_report(
        stop(OrderStatus.OPEN), report(OrderStatus.TRIGGER_PENDING, interim=True), T0
    )
    assert after.status is OrderStatus.OPEN


def test_an_interim_report_keeps_an_untriggered_stop_trigger_pending():
    after, _, _ = order_after_report(stop(), report(OrderStatus.OPEN, interim=True), T0)
    assert after.status is OrderStatus.TRIGGER_PENDING


def test_an_interim_report_is_a_guess_for_an_order_not_yet_working():
    after, _, _ = order_after_report(
        stop(OrderStatus.SUBMITTED), report(OrderStatus.TRIGGER_PENDING, interim=True), T0
    )
    assert after.status is OrderStatus.TRIGGER_PENDING


def test_a_stale_report_does_not_revert_a_working_status_but_a_final_one_applies():
    order = stop(OrderStatus.OPEN)
    same, _, _ = order_after_report(
        order, report(OrderStatus.TRIGGER_PENDING), T0, take_status=False
    )
    assert same.status is OrderStatus.OPEN
    cancelled, _, _ = order_after_report(
        order, report(OrderStatus.CANCELLED), T0, take_status=False
    )
    assert cancelled.status is OrderStatus.CANCELLED


def test_terms_guard_judges_staleness_by_broker_time_then_arrival():
    guard = TermsGuard()
    order = stop(OrderStatus.OPEN)
    later = T0 + timedelta(seconds=2)
    assert guard.judge(order, report(OrderStatus.OPEN, later), seq=2).take_status
    late = guard.judge(order, report(OrderStatus.TRIGGER_PENDING, T0), seq=3)
    assert not late.take_status and not late.take_terms  # older by Kite's clock
    fetched_before = guard.judge(order, report(OrderStatus.TRIGGER_PENDING, later), seq=1)
    assert not fetched_before.take_status  # same second, but fetched before seq 2 arrived
    assert guard.judge(order, report(OrderStatus.OPEN, later), seq=4).take_status


def test_kites_market_protection_tags_are_read():
    row = {
        "order_id": "1002",
        "status": "OPEN",
        "tag": "ABC000000002",
        "tags": ["ABC000000002", "mktp", "mktp:2.00"],
        "tradingsymbol": "INFY",
        "exchange": "NSE",
        "transaction_type": "SELL",
        "order_type": "LIMIT",
        "product": "MIS",
        "quantity": 5,
        "price": 98,
    }
    parsed = order_report_from_kite(row)
    assert (parsed.protected, parsed.protection_pct) == (True, Decimal("2.00"))
    assert parsed.client_order_id == "ABC000000002"
    plain = order_report_from_kite({**row, "tags": ["ABC000000002"]})
    assert (plain.protected, plain.protection_pct) == (False, None)
