"""The trading window under load (a fresh process, offscreen Qt, qasync as in the app):

    python -m tests.bench.window_load_probe DATA_DIR N_ORDERS N_POSITIONS DURATION_S

Set-up (untimed): a journal with N_ORDERS historical orders (written into the tables,
5,000 a day - Kite's daily cap - ending today);
an in-memory PaperBroker with N_POSITIONS synthetic NSE instruments; through the OMS
(no validator, journal synchronous=NORMAL): one marketable order per instrument (an
open position each) and resting LIMIT orders (to be modified). Then the real
Application (its risk wiring, monitor, brackets, mark-to-market...) starts on that data
dir with that broker, and the MainWindow is shown; when it has loaded the day itself,
every journal order is put in its blotter (window.orders_model.load).

Load for DURATION_S: 2,000 ticks/s (batches of 20 instruments every 10 ms through
broker.set_last_prices: the paper broker matches and pushes ticks to the app's quote
cache; the app marks positions every 250 ms and the window's positions grid follows)
and 200 order updates/s (broker.modify_order on resting orders: the broker pushes the
changed order, the OMS journals it (a commit each) and publishes it, the blotter shows
it). The drivers keep the rate against the clock (a late batch is followed by a bigger one).

Meters: a 5 ms loop-lag sampler (p50/p99/max overshoot), every asyncio callback timed
(longest block and where), CPU use. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICKS_PER_S = 2000
UPDATES_PER_S = 200
MAX_MODIFICATIONS = 25


async def _prepare(
    data_dir: Path, broker, instruments, n_positions: int, n_resting: int
) -> list[str]:
    from desktop_oms.domain import OrderSide
    from tests.bench.common import Rig, limit_request, off_market_buy

    prices = instruments.last_prices()
    keys = sorted(prices)[:n_positions]
    rig = await Rig(data_dir, broker, instruments, synchronous="NORMAL").open()
    try:
        for key in keys:
            await rig.om.place_order(limit_request(key[1], OrderSide.BUY, 10, prices[key]))
        resting = []
        for i in range(n_resting):
            key = keys[i % len(keys)]
            result = await rig.om.place_order(
                limit_request(
                    key[1],
                    OrderSide.BUY,
                    1,
                    off_market_buy(prices[key]) - Decimal("0.05") * (i // len(keys)),
                )
            )
            resting.append(result.broker_order_id)
        await rig.om.sync.drain()
    finally:
        await rig.close()
    return resting


def main() -> int:
    data_dir = Path(sys.argv[1])
    n_orders, n_positions = int(sys.argv[2]), int(sys.argv[3])
    duration = float(sys.argv[4])
    logging.basicConfig(level=logging.ERROR)
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_oms.app import Application
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.config import Settings
    from desktop_oms.domain.events import OrderModified
    from desktop_oms.risk.limits import RiskLimits
    from desktop_oms.storage import Database
    from desktop_oms.ui.common.theme import apply_dark_theme
    from tests.bench.common import BlockMonitor, LagSampler, bulk_journal, synthetic_instruments

    qapp = QApplication.instance() or QApplication([])
    qapp.setApplicationName("Desktop OMS bench")
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    instruments = synthetic_instruments(n_positions)
    symbols = [k[1] for k in sorted(instruments.last_prices())]
    total_updates = int(UPDATES_PER_S * duration)
    n_resting = max(200, math.ceil(total_updates / (MAX_MODIFICATIONS - 5)))
    out: dict = {
        "orders_history": n_orders,
        "positions": n_positions,
        "duration_s": duration,
        "resting_orders": n_resting,
    }

    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.open_sync(data_dir / "oms.db")
    bulk_journal(db, n_orders, symbols=symbols[:50], days=max(1, n_orders // 5000))
    db.close_sync()

    async def scenario() -> None:
        broker = PaperBroker(
            state_path=None, instruments=instruments, funds=Decimal("1e15"), order_rate_limits=()
        )
        broker.set_last_prices(instruments.last_prices())
        resting = await _prepare(data_dir, broker, instruments, n_positions, n_resting)
        settings = Settings(
            data_dir=data_dir,
            broker="paper",
            simulate_market=False,
            risk=RiskLimits(
                capital=Decimal("1e12"), max_open_positions=100_000, auto_square_off=False
            ),
        )
        t = time.perf_counter()
        app = Application(settings, broker=broker)
        await app.start()
        try:
            window = app.window
            window.show()
            load_task = getattr(window, "load_task", None)
            if load_task is not None:
                await asyncio.wait_for(asyncio.shield(load_task), 300)
            out["window_loaded_itself"] = len(window.orders_model)
            window.orders_model.load(await app.order_manager.list_orders())
            await asyncio.sleep(1.0)
            out["startup_with_data_s"] = time.perf_counter() - t
            out["rows_in_blotter"] = len(window.orders_model)
            out["rows_in_positions"] = window.positions_model.rowCount()
            out["open_positions"] = len(app.position_manager.open_positions())

            modified = {"n": 0}
            resting_ids = set()
            for bid in resting:
                order = app.order_manager.sync.orders.find(bid, None)
                if order is not None:
                    resting_ids.add(order.id)
            app.events.subscribe(
                OrderModified,
                lambda e: modified.__setitem__("n", modified["n"] + (e.order.id in resting_ids)),
            )
            rng = random.Random(11)
            base = dict(instruments.last_prices())
            last = dict(base)
            keys = sorted(base)
            sent = {"ticks": 0, "updates": 0, "update_errors": 0}
            stop = asyncio.Event()

            async def ticks() -> None:
                t0 = time.perf_counter()
                i = 0
                while not stop.is_set():
                    due = int((time.perf_counter() - t0) * TICKS_PER_S) - sent["ticks"]
                    if due > 0:
                        batch = {}
                        for _ in range(due):
                            key = keys[i % len(keys)]
                            i += 1
                            step = Decimal(rng.choice((-1, 1))) * Decimal("0.05")
                            price = last[key] + step
                            if abs(price - base[key]) > base[key] * Decimal("0.03"):
                                price = last[key] - step
                            last[key] = price
                            if key in batch:  # one price per instrument per call
                                broker.set_last_prices(batch)
                                batch = {}
                            batch[key] = price
                        broker.set_last_prices(batch)
                        sent["ticks"] += due
                    await asyncio.sleep(0.01)

            async def updates() -> None:
                t0 = time.perf_counter()
                j = 0
                while not stop.is_set():
                    due = int((time.perf_counter() - t0) * UPDATES_PER_S) - sent["updates"]
                    for _ in range(max(due, 0)):
                        bid = resting[j % len(resting)]
                        rnd = j // len(resting)
                        j += 1
                        report = broker._exchange.state.orders[bid]  # read-only peek at the price
                        price = report.price + (
                            Decimal("0.05") if rnd % 2 == 0 else Decimal("-0.05")
                        )
                        try:
                            await broker.modify_order(bid, price=price)
                        except Exception:  # noqa: BLE001 - counted, not fatal
                            sent["update_errors"] += 1
                        sent["updates"] += 1
                    await asyncio.sleep(0.005)

            sampler = LagSampler(0.005)
            await asyncio.sleep(0.2)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            from sqlalchemy import text

            with app.db.read() as conn:
                events_before = conn.execute(
                    text("SELECT COALESCE(MAX(id), 0) FROM order_events")
                ).scalar()
            print("LOAD START", file=sys.stderr, flush=True)
            with BlockMonitor() as blocks:
                sampler.start()
                drivers = [asyncio.ensure_future(ticks()), asyncio.ensure_future(updates())]
                await asyncio.sleep(duration)
                stop.set()
                await asyncio.gather(*drivers)
                await sampler.stop()
                longest, where, over = blocks.max_s, blocks.max_what, blocks.over_16ms
                slow = dict(sorted(blocks.slow.items(), key=lambda kv: -kv[1]))
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            await asyncio.sleep(0.5)  # let the last updates land
            with app.db.read() as conn:
                by_type = dict(
                    conn.execute(
                        text(
                            "SELECT event_type, COUNT(*) FROM order_events WHERE id > :i GROUP BY event_type"
                        ),
                        {"i": events_before},
                    ).all()
                )
            out["journal_events_during_load"] = by_type
            out.update(
                {
                    "lag_samples": len(sampler.lags),
                    "lag_p50_ms": sorted(sampler.lags)[len(sampler.lags) // 2] * 1e3
                    if sampler.lags
                    else None,
                    "lag_p99_ms": _pct(sampler.lags, 99) * 1e3,
                    "lag_max_ms": max(sampler.lags) * 1e3 if sampler.lags else None,
                    "longest_block_ms": longest * 1e3,
                    "longest_block_in": where,
                    "blocks_over_16ms": over,
                    "blocks_over_8ms_by_owner": slow,
                    "ticks_sent": sent["ticks"],
                    "ticks_per_s": sent["ticks"] / wall,
                    "updates_sent": sent["updates"],
                    "updates_per_s": sent["updates"] / wall,
                    "update_errors": sent["update_errors"],
                    "updates_shown": modified["n"],
                    "cpu_util": cpu / wall,
                    "quotes_ticks_seen": app.quotes.tick_count,
                }
            )
        finally:
            await app.stop()

    qasync.run(scenario())
    print(json.dumps(out, default=str), flush=True)
    return 0


def _pct(values, q):  # noqa: ANN001
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


if __name__ == "__main__":
    sys.exit(main())
