"""The paper broker's derived indexes (active orders, cached order reports) stay equal to a
full scan of its book through random order flow, restarts and compaction.

`PaperState` keeps an index of live orders (per instrument and overall) and each order's
report as of its last change, so `orders()` and matching do not cost the whole day's
orders. These tests check the shortcuts against the slow, obviously correct answers.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import random
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers import BrokerRejected
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.brokers.paper.rules import used_margin
from desktop_oms.brokers.paper.state import PaperState
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from desktop_oms.marketdata.instruments import COLUMNS, InstrumentStore

CSV = (
    ",".join(COLUMNS)
    + """
738561,2885,RELIANCE,RELIANCE INDUSTRIES,2450,,0,0.05,1,EQ,NSE,NSE
779521,3045,SBIN,STATE BANK OF INDIA,800,,0,0.05,1,EQ,NSE,NSE
895745,3499,TATASTEEL,TATA STEEL,168.42,,0,0.01,1,EQ,NSE,NSE
"""
)
BASE = {"RELIANCE": D("2450"), "SBIN": D("800"), "TATASTEEL": D("168.42")}
TICK = {"RELIANCE": D("0.05"), "SBIN": D("0.05"), "TATASTEEL": D("0.01")}
_ids = itertools.count(1)


def _store() -> InstrumentStore:
    return InstrumentStore.from_csv(io.StringIO(CSV))


def _on_tick(symbol: str, value: D) -> D:
    tick = TICK[symbol]
    return (value / tick).to_integral_value() * tick


def _order(rng: random.Random) -> Order:
    symbol = rng.choice(sorted(BASE))
    kind = rng.choice(["LIMIT", "LIMIT", "LIMIT", "MARKET", "SL", "SL-M"])
    side = rng.choice([OrderSide.BUY, OrderSide.SELL])
    base = BASE[symbol]
    price = trigger = None
    if kind in ("LIMIT", "SL"):
        price = _on_tick(symbol, base * D(str(rng.uniform(0.96, 1.04))))
    if kind in ("SL", "SL-M"):
        trigger = _on_tick(symbol, base * D(str(rng.uniform(0.97, 1.03))))
        if kind == "SL":  # keep the trigger on the right side of the price
            if side is OrderSide.BUY:
                trigger = min(trigger, price)
            else:
                trigger = max(trigger, price)
    number = next(_ids)
    now = datetime.now(UTC)
    return Order(
        id=number,
        client_order_id=f"IDX{number:06d}",
        symbol=symbol,
        exchange="NSE",
        side=side,
        order_type=OrderType(kind),
        product=rng.choice([Product.MIS, Product.CNC]),
        validity=rng.choice([Validity.DAY, Validity.DAY, Validity.IOC]),
        variety=Variety.REGULAR,
        quantity=rng.randint(1, 20),
        price=price,
        trigger_price=trigger,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


def assert_consistent(state: PaperState) -> None:
    """The derived indexes equal what a full scan of `state.orders` gives."""
    scan = [o for o in state.orders.values() if o.is_active]
    assert [o.broker_order_id for o in state.active_orders()] == [o.broker_order_id for o in scan]
    assert all(a is b for a, b in zip(state.active_orders(), scan, strict=True))
    keys = {o.key for o in state.orders.values()} | {("NSE", "NOPE")}
    for key in keys:
        expected = [o for o in scan if o.key == key]
        got = state.active_orders(*key)
        assert len(got) == len(expected), key
        assert all(a is b for a, b in zip(got, expected, strict=True)), key
    assert state.order_reports() == [o.report() for o in state.orders.values()]
    for order in state.orders.values():
        assert state.report(order.broker_order_id) == order.report()


def assert_margin_current(broker: PaperBroker) -> None:
    """The margin book, kept up to date per order, equals valuing the whole book."""
    exchange = broker._exchange
    assert exchange._used_margin() == used_margin(exchange.state, exchange.instruments.get)


async def _random_flow(broker: PaperBroker, rng: random.Random, steps: int) -> None:
    ids: list[str] = []
    for _ in range(steps):
        action = rng.random()
        state = broker._exchange.state
        live = [o.broker_order_id for o in state.orders.values() if o.is_active]
        try:
            if action < 0.45:
                ids.append(await broker.place_order(_order(rng)))
            elif action < 0.65:
                symbol = rng.choice(sorted(BASE))
                price = _on_tick(symbol, BASE[symbol] * D(str(rng.uniform(0.95, 1.05))))
                broker.set_last_price("NSE", symbol, price)
            elif action < 0.72 and live:
                symbol = rng.choice(sorted(BASE))
                broker.match("NSE", symbol)
            elif action < 0.82 and live:
                target = state.orders[rng.choice(live)]
                if target.order_type is OrderType.LIMIT:
                    price = _on_tick(
                        target.symbol, BASE[target.symbol] * D(str(rng.uniform(0.95, 1.05)))
                    )
                    await broker.modify_order(target.broker_order_id, price=price)
                else:
                    await broker.modify_order(
                        target.broker_order_id, quantity=target.quantity + rng.randint(0, 3)
                    )
            elif action < 0.90 and live:
                await broker.cancel_order(rng.choice(live))
            elif action < 0.95 and live:
                target = state.orders[rng.choice(live)]
                broker.fill(target.broker_order_id, quantity=rng.randint(1, target.remaining))
            elif live:
                target = state.orders[rng.choice(live)]
                if not target.filled_quantity:
                    broker.reject_open_order(target.broker_order_id)
        except BrokerRejected:
            pass  # a random request the exchange refuses: the book must still be consistent
        except ValueError:
            pass
        assert_consistent(broker._exchange.state)
        assert_margin_current(broker)
    # A finished order is never reported as live, and every order is reported once.
    reports = await broker.orders()
    assert (
        len({r.broker_order_id for r in reports})
        == len(reports)
        == len(broker._exchange.state.orders)
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_indexes_match_a_full_scan_through_random_flow(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "paper.jsonl"
    broker = PaperBroker(
        state_path=path,
        instruments=_store(),
        seed=seed,
        max_fill_quantity=rng.choice([None, 3]),
        funds=D("1e12"),
        order_rate_limits=(),  # hundreds of requests at once: the indexes are the point
    )
    broker.set_last_prices({("NSE", s): p for s, p in BASE.items()})
    await _random_flow(broker, rng, 300)
    expected = await broker.orders()
    assert any(r.status.is_active for r in expected)
    assert any(not r.status.is_active for r in expected)

    # Replayed from the event journal (no close: as after a crash), then from a snapshot.
    again = PaperBroker(state_path=path, instruments=_store(), order_rate_limits=())
    assert_consistent(again._exchange.state)
    assert await again.orders() == expected
    again.compact()
    third = PaperBroker(state_path=path, instruments=_store(), order_rate_limits=())
    assert_consistent(third._exchange.state)
    assert await third.orders() == expected
    # The restored book keeps working (and its indexes with it).
    await _random_flow(third, rng, 60)


async def test_pushed_reports_are_the_orders_state_at_that_moment():
    broker = PaperBroker(instruments=_store(), seed=7, max_fill_quantity=4)
    broker.set_last_price("NSE", "SBIN", D("800"))
    pushed = []
    broker.add_update_listener(pushed.append)
    order = _order(random.Random(0))
    order = order.copy(
        symbol="SBIN",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        validity=Validity.DAY,
        quantity=10,
        price=D("790"),
        trigger_price=None,
    )
    oid = await broker.place_order(order)
    broker.set_last_price("NSE", "SBIN", D("789"))  # fills 4, then 4 more on match, then 2
    broker.match("NSE", "SBIN")
    broker.match("NSE", "SBIN")
    await asyncio.sleep(0)
    statuses = [(u.orders[0].status, u.orders[0].filled_quantity) for u in pushed]
    assert statuses == [
        (OrderStatus.OPEN, 0),
        (OrderStatus.PARTIALLY_FILLED, 4),
        (OrderStatus.PARTIALLY_FILLED, 8),
        (OrderStatus.FILLED, 10),
    ]
    assert broker._exchange.state.active_orders() == []
    assert (await broker.orders())[0] == broker._exchange.state.orders[oid].report()
