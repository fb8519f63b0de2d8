"""FillApplier.pending: orphans waiting for their order and the trades not applied yet,
oldest first (by time, then trade id), each once; the orphans are handed over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from desktop_oms.domain import OrderSide, TradeReport
from desktop_oms.oms.sync.fills import FillApplier

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _trade(trade_id: str, seconds: int, exchange: str = "NSE") -> TradeReport:
    return TradeReport(
        trade_id=trade_id,
        broker_order_id="B1",
        symbol="INFY",
        exchange=exchange,
        side=OrderSide.BUY,
        quantity=1,
        price=Decimal("1500"),
        timestamp=T0 + timedelta(seconds=seconds),
    )


def _applier() -> FillApplier:
    return FillApplier(None, None, None, None, None, lambda *a: None)


def test_pending_is_oldest_first_without_the_applied_and_takes_the_orphans():
    applier = _applier()
    applier.trade_keys = {("NSE", "T2")}
    applier.orphans = {("NSE", "T9"): _trade("T9", 5), ("NSE", "T1"): _trade("T1", 9)}
    batch = [_trade("T4", 7), _trade("T2", 1), _trade("T3", 7), _trade("T2", 1, "BSE")]
    got = applier.pending(batch)
    assert [(t.exchange, t.trade_id) for t in got] == [
        ("BSE", "T2"),  # another exchange's T2 is another trade
        ("NSE", "T9"),
        ("NSE", "T3"),  # same second: by trade id
        ("NSE", "T4"),
        ("NSE", "T1"),
    ]
    assert applier.orphans == {}
    assert applier.pending([]) == []


def test_a_lone_trade_is_pending_unless_applied():
    applier = _applier()
    assert [t.trade_id for t in applier.pending((_trade("T1", 0),))] == ["T1"]
    applier.trade_keys.add(("NSE", "T1"))
    assert applier.pending((_trade("T1", 0),)) == []
    applier.orphans[("NSE", "T0")] = _trade("T0", 3)
    assert [t.trade_id for t in applier.pending((_trade("T1", 0),))] == ["T0"]
