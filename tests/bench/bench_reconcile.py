"""Reconciliation: 500 positions and 5,000 orders; one cycle = OrderManager.reconcile_positions()
then a monitor poll (OrderSync._poll()), as the OMS's two periodic tasks run them.

Set-up (untimed, through the real OMS on a journal opened with synchronous=NORMAL for
speed, then reopened with FULL like a restart): an in-memory PaperBroker with 500
synthetic NSE instruments; 500 marketable orders open one position per instrument,
3,500 more marketable orders (fills that keep every position open) and 1,000 resting
LIMIT orders (open at the end). So the broker reports 5,000 orders, 4,000 trades and
500 positions, and the OMS tracks 1,000 active orders; the books agree.

Measured per cycle: wall time of reconcile + poll (a `sleep(0)` between them: they are
separate tasks in the app), and the longest synchronous block on the loop (every
asyncio callback timed; the paper broker answers without awaiting, so its work counts),
with a loop-lag sampler (1 ms sleeps) running alongside as a cross-check.
Target: cycle < 100 ms, no block > 16 ms.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.bench.common import (
    BlockMonitor,
    LagSampler,
    Rig,
    bench_tmp,
    limit_request,
    log,
    median,
    median_of_runs,
    off_market_buy,
    percentile,
    runs,
    scaled,
    synthetic_instruments,
)

CYCLES = 9


async def _setup(directory: Path, n_positions: int, n_orders: int, n_open: int) -> Rig:
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.domain import OrderSide

    instruments = synthetic_instruments(n_positions)
    broker = PaperBroker(
        state_path=None, instruments=instruments, funds=Decimal("1e15"), order_rate_limits=()
    )
    prices = instruments.last_prices()
    broker.set_last_prices(prices)
    keys = sorted(prices)
    rig = await Rig(directory, broker, instruments, synchronous="NORMAL").open()
    om = rig.om
    placed = 0
    for _exchange, symbol in keys:  # one position each: long 2
        await om.place_order(limit_request(symbol, OrderSide.BUY, 2, prices[("NSE", symbol)]))
        placed += 1
    filled_more = n_orders - n_positions - n_open
    for i in range(filled_more):  # +1 / -1 alternately: every position stays open
        key = keys[i % len(keys)]
        side = OrderSide.BUY if (i // len(keys)) % 2 == 0 else OrderSide.SELL
        await om.place_order(limit_request(key[1], side, 1, prices[key]))
        placed += 1
    for i in range(n_open):
        key = keys[i % len(keys)]
        await om.place_order(limit_request(key[1], OrderSide.BUY, 1, off_market_buy(prices[key])))
        placed += 1
    await om.sync.drain()
    await rig.reopen(synchronous="FULL")
    rig.extra["placed"] = placed
    return rig


async def _one_run(directory: Path, n_positions: int, n_orders: int, n_open: int) -> dict:
    t_setup = time.perf_counter()
    rig = await _setup(directory, n_positions, n_orders, n_open)
    setup_s = time.perf_counter() - t_setup
    om = rig.om
    try:
        assert len(om.sync.active_orders()) == n_open, len(om.sync.active_orders())
        assert len(rig.pm.open_positions()) == n_positions
        cycles, reconcile_t, poll_t, blocks = [], [], [], []
        sampler = LagSampler(0.001).start()
        await asyncio.sleep(0.05)
        with BlockMonitor() as monitor:
            for _ in range(CYCLES):
                await asyncio.sleep(0.02)  # let the sampler run between cycles
                monitor.reset()
                t0 = time.perf_counter()
                result = await om.reconcile_positions()
                t1 = time.perf_counter()
                await asyncio.sleep(0)
                t2 = time.perf_counter()
                await om.sync._poll()
                t3 = time.perf_counter()
                await asyncio.sleep(0)  # the poll's own task step ends here
                cycles.append((t1 - t0) + (t3 - t2))
                reconcile_t.append(t1 - t0)
                poll_t.append(t3 - t2)
                blocks.append((monitor.max_s, monitor.max_what))
                if result.mismatches:
                    raise AssertionError(f"unexpected mismatches: {result.mismatches[:3]}")
        await sampler.stop()
        longest = max(b[0] for b in blocks)
        return {
            "positions": n_positions,
            "orders": rig.extra["placed"],
            "open_orders": n_open,
            "cycle_ms": median(cycles) * 1e3,
            "cycle_max_ms": max(cycles) * 1e3,
            "reconcile_ms": median(reconcile_t) * 1e3,
            "poll_ms": median(poll_t) * 1e3,
            "longest_block_ms": longest * 1e3,
            "longest_block_median_ms": median(b[0] for b in blocks) * 1e3,
            "longest_block_in": max(blocks)[1],
            "lag_sampler_max_ms": max(sampler.lags) * 1e3 if sampler.lags else float("nan"),
            "lag_sampler_p99_ms": percentile(sampler.lags, 99) * 1e3,
            "setup_s": setup_s,
        }
    finally:
        await rig.close()


def run() -> dict:
    n_positions = scaled(500, 20)
    n_orders = scaled(5000, 200)
    n_open = scaled(1000, 40)
    results = []
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-recon-", dir=bench_tmp()) as tmp:
            results.append(asyncio.run(_one_run(Path(tmp), n_positions, n_orders, n_open)))
            log(
                f"reconciliation run {r + 1}: cycle {results[-1]['cycle_ms']:.1f} ms, block {results[-1]['longest_block_ms']:.1f} ms"
            )
    m = median_of_runs(results)
    m["pass_cycle"] = m["cycle_ms"] < 100
    m["pass_block"] = m["longest_block_ms"] <= 16
    return m
