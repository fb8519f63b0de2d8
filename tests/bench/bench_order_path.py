"""Order path: OrderManager.place_order -> broker ack, on the paper broker with no latency.

Two kinds of order, 5,000 each per run (after 100 untimed warm-up orders):
- "marketable": LIMIT at the last price, alternating BUY/SELL of 1 share of RELIANCE;
  the paper broker fills it at once, and place_order returns after the pushed updates
  (OPEN, the trade) are applied (it drains them), so the figure covers journal PENDING ->
  broker -> ack -> OPEN -> fill (trade row, position) -> return. The book stays empty.
- "resting": LIMIT 10% under the market (acknowledged, OPEN, no fill). The OMS's book of
  open orders is kept small (cancelled in blocks of 50 through the broker, untimed), as
  a trader's is.
- "working": the same resting LIMITs, all left working (5,000 at the end). An order's cost
  must not depend on how many are working (issue 19): p50 with 4,000-4,499 working is
  compared with p50 with 0-499 working in the same run (target: within 10%), and the
  bands in between are reported.

Figures: p50/p99 of the time from calling place_order until it returns ("ack") and
until the broker's place_order is entered ("to broker": what the trader feels as "the
order has left"); commits per order counted with a SQLAlchemy `commit` listener.
Floor: one raw sqlite3 INSERT+COMMIT (WAL, synchronous=FULL) in the same directory,
sampled in bursts of 10 after every 50 orders of the same run (so the floor and the OMS
see the same disk load; other processes' fsyncs come and go on a shared machine).
Target: p50 <= 3 x floor x commits per order; p99 < 5 ms.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.bench.common import (
    CommitCounter,
    CommitFloor,
    Rig,
    bench_tmp,
    limit_request,
    log,
    median,
    median_of_runs,
    percentile,
    runs,
    scaled,
)

WARMUP = 100
FLOOR_EVERY = 50  # orders between floor bursts
FLOOR_BURST = 10  # floor commits per burst
CANCEL_BLOCK = 50
BAND = 500  # orders per working-count band ("working" mode)
HIGH_BAND = 4000  # compared with the band at 0 working


def _timed_broker_class():
    from desktop_oms.brokers.paper import PaperBroker

    class TimedPaperBroker(PaperBroker):
        entered = 0.0

        async def place_order(self, order):  # noqa: ANN001
            self.entered = time.perf_counter()
            return await super().place_order(order)

    return TimedPaperBroker


async def _one_run(directory: Path, n: int, mode: str) -> dict:
    from desktop_oms.domain import OrderSide, OrderStatus
    from desktop_oms.marketdata.instruments import load_bundled_instruments

    instruments = load_bundled_instruments()
    broker = _timed_broker_class()(
        state_path=None,
        instruments=instruments,
        funds=Decimal("1e12"),
        order_rate_limits=(),  # the OMS path is measured, not Kite's 10/s
    )
    last = Decimal("2450.00")
    broker.set_last_price("NSE", "RELIANCE", last)
    rig = await Rig(directory, broker, instruments).open()
    om = rig.om
    counter = CommitCounter(rig.db.engine)
    floor = CommitFloor(directory)
    rest_price = Decimal("2205.00")
    to_broker: list[float] = []
    ack: list[float] = []
    commits = 0
    statuses: dict[str, int] = {}
    resting_ids: list[str] = []
    bands: dict[int, list[float]] = {}  # working // BAND -> ack latencies
    try:
        for i in range(WARMUP + n):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            working = i - WARMUP  # orders left working before this one ("working" mode)
            if mode == "marketable":
                request = limit_request("RELIANCE", side, 1, last)
            else:
                request = limit_request("RELIANCE", OrderSide.BUY, 1, rest_price)
            c0 = counter.count
            t0 = time.perf_counter()
            result = await om.place_order(request)
            t1 = time.perf_counter()
            if i % FLOOR_EVERY == 0:
                floor.sample(FLOOR_BURST)
            if i >= WARMUP:
                ack.append(t1 - t0)
                to_broker.append(broker.entered - t0)
                commits += counter.count - c0
                statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
            if i >= WARMUP and mode == "working":
                bands.setdefault(working // BAND, []).append(t1 - t0)
            if mode == "resting" or (mode == "working" and i < WARMUP):
                resting_ids.append(result.broker_order_id)
                last_warmup = mode == "working" and i == WARMUP - 1  # timed: none working
                if len(resting_ids) >= CANCEL_BLOCK or last_warmup:
                    for bid in resting_ids:  # untimed: keep the book small
                        await broker.cancel_order(bid)
                    resting_ids.clear()
                    await om.sync.drain()
        expected = OrderStatus.FILLED if mode == "marketable" else OrderStatus.OPEN
        wrong = {k: v for k, v in statuses.items() if k != expected.value}
        return {
            "ack_p50_ms": percentile(ack, 50) * 1e3,
            "ack_p99_ms": percentile(ack, 99) * 1e3,
            "ack_max_ms": max(ack) * 1e3,
            "to_broker_p50_ms": percentile(to_broker, 50) * 1e3,
            "to_broker_p99_ms": percentile(to_broker, 99) * 1e3,
            "commits_per_order": commits / n,
            "orders": n,
            "unexpected_statuses": wrong,
            "floor_p50_ms": percentile(floor.lat, 50) * 1e3,
            "floor_p99_ms": percentile(floor.lat, 99) * 1e3,
            "floor_samples": len(floor.lat),
            **(
                {
                    f"p50_ms_{k * BAND}_working": percentile(v, 50) * 1e3
                    for k, v in sorted(bands.items())
                    if len(v) >= BAND // 2
                }
            ),
        }
    finally:
        floor.close()
        counter.close()
        await rig.close()


def run() -> dict:
    n = scaled(5000, 200)
    result: dict = {"orders": n}
    per_mode = {"marketable": [], "resting": [], "working": []}
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-order-", dir=bench_tmp()) as tmp:
            tmp = Path(tmp)
            for mode in per_mode:
                sub = tmp / mode
                sub.mkdir()
                per_mode[mode].append(asyncio.run(_one_run(sub, n, mode)))
                x = per_mode[mode][-1]
                log(
                    f"order path run {r + 1} {mode}: {x['ack_p50_ms']:.3f} ms p50 (floor {x['floor_p50_ms']:.3f} ms)"
                )
    floors = [x for results in per_mode.values() for x in results]
    result["floor_commit_p50_ms"] = median(x["floor_p50_ms"] for x in floors)
    result["floor_commit_p99_ms"] = median(x["floor_p99_ms"] for x in floors)
    for mode, results in per_mode.items():
        m = median_of_runs(results)
        floor = m["floor_p50_ms"]  # sampled alongside this mode's orders
        budget = 3 * floor * m["commits_per_order"]
        result[mode] = {
            **{k: v for k, v in m.items() if k != "per_run"},
            "per_run": m["per_run"],
            "p50_budget_ms": budget,
            "p50_ratio_to_floor": m["ack_p50_ms"] / floor,
            "p50_ratio_to_floor_per_commit": m["ack_p50_ms"] / (floor * m["commits_per_order"]),
            "pass_p50": m["ack_p50_ms"] <= budget,
            "pass_p99": m["ack_p99_ms"] < 5.0,
        }
    w = result["working"]
    low, high = w.get("p50_ms_0_working"), w.get(f"p50_ms_{HIGH_BAND}_working")
    if low and high:
        w["p50_ratio_high_to_none_working"] = high / low
        w["pass_flat"] = high <= 1.10 * low
    return result
