"""The paper account's margin book (issue 19): kept up to date order by order, it equals
valuing the whole book (`rules.used_margin`) through option flow where margins follow the
index (short options), fills change what an order may reduce, and prices move."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.errors import BrokerRejected
from desktop_oms.brokers.paper.rules import used_margin
from desktop_oms.domain import OrderSide, OrderType
from tests.integration.test_paper_options import NIFTY, paper_fno_broker, paper_order

SYMBOLS = [
    "NIFTY26D0826300CE",
    "NIFTY26D0826300PE",
    "NIFTY26D0826500CE",
    "NIFTY26D0826100PE",
    "NIFTY26DECFUT",
]


def assert_current(broker) -> None:
    exchange = broker._exchange
    assert exchange._used_margin() == used_margin(exchange.state, exchange.instruments.get)


@pytest.mark.parametrize("seed", [11, 12])
async def test_the_margin_book_follows_option_flow_and_the_index(seed):
    rng = random.Random(seed)
    broker = paper_fno_broker(funds=D("1e12"), order_rate_limits=())  # a burst: the book is the point
    exchange = broker._exchange
    tags = iter(range(1, 10_000))
    spot = D("26292.40")
    seen = {"resting beside a short position": 0}
    for _ in range(250):
        action = rng.random()
        live = [o.broker_order_id for o in exchange.state.active_orders()]
        try:
            if action < 0.45:
                symbol = rng.choice(SYMBOLS)
                last = broker.last_price("NFO", symbol)
                kind = rng.choice([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET])
                price = None
                if kind is OrderType.LIMIT:
                    price = (last * D(str(rng.uniform(0.8, 1.2))) / D("0.05")).quantize(
                        D(1)
                    ) * D("0.05")
                await broker.place_order(
                    paper_order(
                        symbol,
                        65 * rng.randint(1, 4),
                        kind,
                        side=rng.choice([OrderSide.BUY, OrderSide.SELL]),
                        price=price,
                        tag=f"MB{next(tags)}",
                    )
                )
            elif action < 0.7:
                spot += D(rng.randint(-60, 60))
                broker.set_last_price(*NIFTY, spot)  # options and future follow
            elif action < 0.8 and live:
                await broker.cancel_order(rng.choice(live))
            elif action < 0.9 and live:
                target = exchange.state.orders[rng.choice(live)]
                broker.fill(target.broker_order_id, quantity=65)
            elif live:
                target = exchange.state.orders[rng.choice(live)]
                await broker.modify_order(target.broker_order_id, quantity=target.quantity + 65)
        except (BrokerRejected, ValueError):
            pass  # refused requests leave the book as it was
        assert_current(broker)
        short = any(p.quantity < 0 for p in exchange.state.positions.values())
        seen["resting beside a short position"] += bool(short and exchange.state.active_orders())
    assert seen["resting beside a short position"] > 20  # the flow met the hard case often
