"""Kill switch: 200 open orders and 20 positions, PaperBroker(requests_per_second=10).

Set-up (untimed): OMS on a FULL journal; 20 marketable orders open 20 positions (20
bundled NSE instruments) and 200 resting LIMIT orders are placed. The broker's rate
limiter is switched off for the set-up only (it would take 22 s) and a fresh one (full
bucket, as after a quiet minute) is put back before engaging.

Measured:
- halt latency: from calling KillSwitch.engage() to place_order refusing. A TradingHalted
  subscriber probes the OMS at the moment the halt is published: it drives a real
  place_order coroutine one step (coro.send(None)) and checks it raises
  OrderRejected(failed_check="kill_switch") without awaiting anything. Also recorded:
  whether that happened before engage() first yielded to the loop.
- time to verified flat: until engage() returns with verified=True (every order cancelled
  and every position flattened, checked against the broker), confirmed afterwards from
  the broker's own books.
Floor: order requests / 10 per s = (orders + positions) / 10 s. Target: halt < 10 ms,
total <= 1.15 x floor.

Second variant, "with options" (issue 19): two of the positions are index options held
at two full slices (NIFTY 3,510 = 2 x 27 lots, BANKNIFTY 1,200 = 2 x 20 lots, on paper mode's chains), so
each is flattened in two slices; the floor counts the requests the broker really
received after engage (cancels + every slice).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.bench.common import (
    Rig,
    bench_tmp,
    limit_request,
    log,
    median_of_runs,
    off_market_buy,
    runs,
    scaled,
)

RATE = 10


OPTION_POSITIONS = (  # (exchange, underlying, units: two full slices)
    ("NFO", "NIFTY", 3510),  # 2 x 27 lots of 65 (the freeze is 1,800)
    ("NFO", "BANKNIFTY", 1200),
)


def _atm_option(instruments, name: str, last_price):  # noqa: ANN001, ANN202
    """The nearest expiry's call closest to the index's last price."""
    calls = [i for i in instruments if i.name == name and i.is_option and i.instrument_type == "CE"]
    expiry = min(i.expiry for i in calls)
    index = next(i for i in calls if i.expiry == expiry).underlying
    spot = last_price(*index)
    return min((i for i in calls if i.expiry == expiry), key=lambda i: abs(i.strike - spot))


async def _one_run(
    directory: Path, n_orders: int, n_positions: int, with_options: bool = False
) -> dict:
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.brokers.paper.delivery import RateLimiter
    from desktop_oms.domain import OrderSide, OrderStatus
    from desktop_oms.domain.events import TradingHalted
    from desktop_oms.marketdata.instruments import load_bundled_instruments
    from desktop_oms.oms import OrderRejected
    from desktop_oms.risk import KillSwitch

    derivatives = None
    if with_options:
        from desktop_oms.infra.clock import utcnow
        from desktop_oms.marketdata.options import paper_market

        instruments, derivatives = paper_market(utcnow())
    else:
        instruments = load_bundled_instruments()
    broker = PaperBroker(
        state_path=None,
        instruments=instruments,
        funds=Decimal("1e13"),
        requests_per_second=RATE,
        order_rate_limits=(),  # paced at RATE by the limiter below, not refused
        derivatives=derivatives,
    )
    broker.set_last_prices(instruments.last_prices())
    prices = {
        k: v
        for k, v in instruments.last_prices().items()
        if k[0] == "NSE" and instruments.get(*k) is not None and instruments.get(*k).tradable
    }
    options = (
        [
            (_atm_option(instruments, name, broker.last_price), units)
            for _exchange, name, units in OPTION_POSITIONS
        ]
        if with_options
        else []
    )
    keys = sorted(prices)[: n_positions - len(options)]
    assert len(keys) + len(options) == n_positions, f"only {len(keys)} NSE instruments"
    limiter = broker._pacing.limiter  # bench set-up only: place 220 orders without waiting 22 s
    broker._pacing.limiter = None
    rig = await Rig(directory, broker, instruments).open()
    om = rig.om
    try:
        for i, key in enumerate(keys):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            await om.place_order(limit_request(key[1], side, 5 + i, prices[key]))
        for option, units in options:
            placed = await om.place_order(
                limit_request(
                    option.symbol,
                    OrderSide.BUY,
                    units,
                    broker.last_price(option.exchange, option.symbol),
                    exchange=option.exchange,
                )
            )
            assert len(placed.slices) == 2, placed
        for i in range(n_orders):
            key = keys[i % len(keys)]
            await om.place_order(
                limit_request(key[1], OrderSide.BUY, 1, off_market_buy(prices[key]))
            )
        await om.sync.drain()
        assert len(await om.get_active_orders()) == n_orders
        assert len(rig.pm.open_positions()) == n_positions
        before = {o.broker_order_id for o in await broker.orders()}
        broker._pacing.limiter = RateLimiter(limiter.rate)
        ks = KillSwitch(om, rig.pm)
        probe_request = limit_request(keys[0][1], OrderSide.BUY, 1, prices[keys[0]])
        probe: dict = {}
        yielded = {"first_yield_at": None}

        def on_halt(_event) -> None:  # noqa: ANN001
            t = time.perf_counter()
            coro = om.place_order(probe_request)
            try:
                coro.send(None)
                probe["outcome"] = "suspended (not refused synchronously)"
                coro.close()
            except OrderRejected as exc:
                probe["outcome"] = f"refused: {exc.failed_check}"
                probe["refused"] = exc.failed_check == "kill_switch"
            except StopIteration:
                probe["outcome"] = "accepted"
            probe["at"] = t
            probe["before_first_yield"] = yielded["first_yield_at"] is None

        rig.events.subscribe(TradingHalted, on_halt)

        async def watcher() -> None:
            await asyncio.sleep(0)
            yielded["first_yield_at"] = time.perf_counter()

        watch = asyncio.get_running_loop().create_task(watcher())
        await asyncio.sleep(0)  # the watcher is now waiting in sleep(0)'s callback queue
        t0 = time.perf_counter()
        outcome = await ks.engage("benchmark")
        t_end = time.perf_counter()
        await watch
        orders_left = [
            o
            for o in await broker.orders()
            if o.status not in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
        ]
        positions_left = [p for p in await broker.positions() if p.quantity != 0]
        exits_sent = len({o.broker_order_id for o in await broker.orders()} - before)
        requests = n_orders + exits_sent
        floor_s = requests / RATE
        # A token bucket that starts full lets RATE requests through at once: the least
        # time the requests can take is (requests - RATE) / RATE.
        bucket_min_s = max(requests - RATE, 0) / RATE
        return {
            "orders": n_orders,
            "positions": n_positions,
            "requests": requests,
            "exit_orders": exits_sent,
            "with_options": with_options,
            "halt_ms": (probe["at"] - t0) * 1e3,
            "halt_refused": bool(probe.get("refused")),
            "halt_before_first_yield": bool(probe.get("before_first_yield")),
            "halt_probe": probe.get("outcome"),
            "first_yield_ms": (yielded["first_yield_at"] - t0) * 1e3
            if yielded["first_yield_at"]
            else None,
            "total_s": t_end - t0,
            "floor_s": floor_s,
            "ratio_to_floor": (t_end - t0) / floor_s,
            "bucket_min_s": bucket_min_s,
            "ratio_to_bucket_min": (t_end - t0) / bucket_min_s if bucket_min_s else None,
            "verified": bool(outcome["verified"]),
            "cancelled": outcome["cancelled"],
            "flattened": outcome["flattened"],
            "errors": outcome["errors"][:5],
            "broker_open_orders_after": len(orders_left),
            "broker_open_positions_after": len(positions_left),
        }
    finally:
        await rig.close()


def _variant(n_orders: int, n_positions: int, with_options: bool) -> dict:
    results = []
    for r in range(runs()):
        with tempfile.TemporaryDirectory(prefix="oms-bench-kill-", dir=bench_tmp()) as tmp:
            results.append(asyncio.run(_one_run(Path(tmp), n_orders, n_positions, with_options)))
            log(
                f"kill switch{' with options' if with_options else ''} run {r + 1}: halt {results[-1]['halt_ms']:.2f} ms, total {results[-1]['total_s']:.2f} s (floor {results[-1]['floor_s']:.1f} s, {results[-1]['exit_orders']} exit orders)"
            )
    m = median_of_runs(results)
    ok = all(
        r["verified"]
        and r["halt_refused"]
        and not r["broker_open_orders_after"]
        and not r["broker_open_positions_after"]
        for r in results
    )
    m["pass_halt"] = m["halt_ms"] < 10 and ok
    m["pass_total"] = m["ratio_to_floor"] <= 1.15 and ok
    return m


def run() -> dict:
    n_orders = scaled(200, 10)
    n_positions = scaled(20, 3)
    m = _variant(n_orders, n_positions, with_options=False)
    m["with_options"] = _variant(n_orders, n_positions, with_options=True)
    m["pass_halt"] = m["pass_halt"] and m["with_options"]["pass_halt"]
    m["pass_total"] = m["pass_total"] and m["with_options"]["pass_total"]
    return m
