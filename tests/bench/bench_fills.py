"""Fill throughput: fills applied end to end (trade row + order change + event + position
in the journal, then the in-memory position and the events to subscribers). Updates that
are queued together are journaled as one transaction (OrderSync group commit, at most
MAX_GROUP updates); a lone update is its own transaction.

Driven through the OMS's pushed-update path: one BrokerUpdate(trades=(trade,)) per fill
handed to OrderSync._on_update (the broker's update listener), applied by the OMS's
consumer task (OrderSync._consume -> _apply_group -> _apply -> _apply_trade ->
journal.record_fill, buffered, then one flush per group);
timed from the first update to the last one applied (OrderSync.drain). The orders are
5,000 OPEN orders written into the journal beforehand (quantity 10 each, 10 fills of 1
share each, BUY and SELL over the 10 bundled NSE equities, so positions open, reduce and
reverse). The paper broker (in memory, no latency) is attached but not involved.

Floor: raw sqlite3 executemany, in one transaction with the same pragmas, of the same
rows: 50,000 trade inserts, 50,000 order_events inserts, 50,000 order updates and 50,000
position upserts. Target: >= 20,000 fills/s; ratio to the floor reported.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.bench.common import T0, Rig, bench_tmp, bulk_journal, log, median_of_runs, runs, scaled

SYMBOLS = (
    "RELIANCE",
    "TCS",
    "INFY",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "LT",
    "AXISBANK",
    "KOTAKBANK",
)
FILLS_PER_ORDER = 10


def _trades(n_fills: int):
    """TradeReports for orders 0..n/10-1 of bulk_journal(active_every=1): 10 fills of 1 each."""
    from desktop_oms.domain import OrderSide, TradeReport

    reports = []
    n_orders = n_fills // FILLS_PER_ORDER
    k = 0
    for f in range(FILLS_PER_ORDER):
        for i in range(n_orders):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            reports.append(
                TradeReport(
                    trade_id=f"B{k:011d}",
                    broker_order_id=f"26{i:016d}",
                    symbol=SYMBOLS[i % len(SYMBOLS)],
                    exchange="NSE",
                    side=side,
                    quantity=1,
                    price=Decimal(1000 + (i % 500)) + Decimal("0.05") * f,
                    timestamp=T0 + timedelta(seconds=1, microseconds=k),
                )
            )
            k += 1
    return reports


async def _one_run(directory: Path, n_fills: int) -> dict:
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.brokers.port import BrokerUpdate
    from desktop_oms.domain.events import Event
    from desktop_oms.marketdata.instruments import load_bundled_instruments
    from desktop_oms.storage import Database

    n_orders = n_fills // FILLS_PER_ORDER
    db = Database.open_sync(directory / "oms.db")
    # Orders quantity 10 each: bulk_journal gives quantity 1 + i % 50; override below.
    bulk_journal(db, n_orders, active_every=1, symbols=SYMBOLS)
    from sqlalchemy import text

    with db.write() as conn:
        conn.execute(
            text("UPDATE orders SET quantity = 10, filled_quantity = 0, average_price = NULL")
        )
    db.close_sync()

    instruments = load_bundled_instruments()
    broker = PaperBroker(state_path=None, instruments=instruments)
    rig = await Rig(directory, broker, instruments).open()
    seen = {"events": 0}
    rig.events.subscribe(Event, lambda e: seen.__setitem__("events", seen["events"] + 1))
    trades = _trades(n_fills)
    sync = rig.om.sync
    try:
        t0 = time.perf_counter()
        for trade in trades:
            sync._on_update(BrokerUpdate(orders=(), trades=(trade,)))
        await sync.drain(timeout=3600)
        elapsed = time.perf_counter() - t0
        from sqlalchemy import text

        with rig.db.read() as conn:
            applied = conn.execute(text("SELECT COUNT(*) FROM trades")).scalar()
            filled = conn.execute(
                text("SELECT COUNT(*) FROM orders WHERE status = 'FILLED'")
            ).scalar()
        return {
            "fills": n_fills,
            "applied": applied,
            "orders_filled": filled,
            "events_published": seen["events"],
            "seconds": elapsed,
            "fills_per_s": n_fills / elapsed,
            "us_per_fill": elapsed / n_fills * 1e6,
        }
    finally:
        await rig.close()


_FLOOR_SQL = (
    "INSERT INTO trades (trade_id, order_id, broker_order_id, symbol, exchange, product, side, quantity, price, multiplier, realized_pnl, timestamp, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT INTO order_events (order_id, at, event_type, old_status, new_status, reason, details) VALUES (?,?,?,?,?,?,?)",
    "UPDATE orders SET status = ?, filled_quantity = filled_quantity + ?, average_price = ?, updated_at = ? WHERE id = ?",
    "INSERT INTO positions (symbol, exchange, product, quantity, average_price, realized_pnl, unrealized_pnl, multiplier, last_price, highest_price, lowest_price, peak_unrealized_pnl, max_drawdown, charges, strategy_id, opened_at, updated_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (exchange, symbol, product) DO UPDATE SET quantity = quantity + excluded.quantity, average_price = excluded.average_price, updated_at = excluded.updated_at",
)


def _floor(directory: Path, n_fills: int) -> dict:
    """Raw executemany of the same rows (trades, events, order updates, position upserts)."""
    from desktop_oms.storage import Database

    n_orders = n_fills // FILLS_PER_ORDER
    db = Database.open_sync(directory / "floor.db")
    bulk_journal(db, n_orders, active_every=1, symbols=SYMBOLS)
    db.close_sync()
    con = sqlite3.connect(directory / "floor.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    trades = _trades(n_fills)
    now = T0.isoformat()
    trade_rows = [
        (
            t.trade_id,
            1 + int(t.broker_order_id) % 10**16,
            t.broker_order_id,
            t.symbol,
            "NSE",
            "MIS",
            t.side.value,
            1,
            str(t.price),
            "1",
            "0",
            now,
            now,
        )
        for t in trades
    ]
    event_rows = [
        (
            1 + int(t.broker_order_id) % 10**16,
            now,
            "FILL",
            "OPEN",
            "PARTIALLY_FILLED",
            f"filled 1 @ {t.price} (trade {t.trade_id})",
            '{"price": "1", "quantity": 1}',
        )
        for t in trades
    ]
    order_rows = [
        ("PARTIALLY_FILLED", 1, str(t.price), now, 1 + int(t.broker_order_id) % 10**16)
        for t in trades
    ]
    position_rows = [
        (
            t.symbol,
            "NSE",
            "MIS",
            1,
            str(t.price),
            "0",
            "0",
            "1",
            str(t.price),
            str(t.price),
            str(t.price),
            "0",
            "0",
            "0",
            None,
            now,
            now,
        )
        for t in trades
    ]
    sql_trade, sql_event, sql_order, sql_position = _FLOOR_SQL
    # Informational second floor: the same four statements per fill, one transaction
    # (BEGIN IMMEDIATE ... COMMIT) per fill, on the first 2,000 fills, raw sqlite3.
    m = min(2000, n_fills)
    t0 = time.perf_counter()
    for i in range(m):
        con.execute("BEGIN IMMEDIATE")
        con.execute(sql_trade, trade_rows[i])
        con.execute(sql_event, event_rows[i])
        con.execute(sql_order, order_rows[i])
        con.execute(sql_position, position_rows[i])
        con.execute("COMMIT")
    per_txn = m / (time.perf_counter() - t0)
    trade_rows = [(("F" + r[0][1:]),) + r[1:] for r in trade_rows]  # fresh trade ids
    t0 = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.executemany(
        sql_trade,
        trade_rows,
    )
    con.executemany(
        sql_event,
        event_rows,
    )
    con.executemany(
        sql_order,
        order_rows,
    )
    con.executemany(
        sql_position,
        position_rows,
    )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return {
        "seconds": elapsed,
        "fills_per_s": n_fills / elapsed,
        "txn_per_fill_fills_per_s": per_txn,
    }


def run() -> dict:
    n_fills = scaled(50_000, 1_000) // FILLS_PER_ORDER * FILLS_PER_ORDER
    ours, floors = [], []
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-fills-", dir=bench_tmp()) as tmp:
            tmp = Path(tmp)
            floors.append(_floor(tmp, n_fills))
            ours.append(asyncio.run(_one_run(tmp, n_fills)))
            log(
                f"fills run {r + 1}: {ours[-1]['fills_per_s']:.0f} fills/s (floor {floors[-1]['fills_per_s']:.0f})"
            )
    m = median_of_runs(ours)
    f = median_of_runs(floors)
    return {
        **m,
        "floor_fills_per_s": f["fills_per_s"],
        "floor_seconds": f["seconds"],
        "floor_per_run": f["per_run"],
        "floor_txn_per_fill_fills_per_s": f["txn_per_fill_fills_per_s"],
        "ratio_floor_to_ours": f["fills_per_s"] / m["fills_per_s"],
        "pass": m["fills_per_s"] >= 20_000 and all(r["applied"] == n_fills for r in ours),
    }
