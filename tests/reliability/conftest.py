"""Shared pieces of the reliability suites: an OMS on the Kite test server or the paper
broker, and the journal audit (crash_harness.audit) to prove nothing was lost or doubled."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain import OrderStatus
from desktop_oms.domain.events import Alert, Event
from desktop_oms.marketdata.instruments import load_bundled_instruments
from desktop_oms.oms import EventBus, OrderManager, PositionManager
from desktop_oms.storage import Database
from tests.kite_server import KiteTestServer
from tests.kite_server.helpers import make_broker
from tests.reliability.crash_harness import audit, truth_from_kite_book, truth_from_paper

PLACE = "/orders/regular"


@pytest.fixture(scope="session")
def instruments():
    return load_bundled_instruments()


@pytest.fixture
def kite_server():
    with KiteTestServer() as server:
        server.set_price("NSE", "INFY", "1500")
        yield server


class Oms(SimpleNamespace):
    """Database + PositionManager + OrderManager on a given broker, with recorded events."""

    async def open(self, db_options: dict | None = None, **overrides):
        self.db = await Database.open(self.path / "oms.db", **(db_options or {}))
        self.events = EventBus()
        self.recorded: list[Event] = []
        self.events.subscribe(Event, self.recorded.append)
        self.pm = PositionManager(self.db, self.events)
        options = {
            "monitor_interval": 0.05,
            "reconcile_interval": 3600,
            "unknown_outcome_grace": 0.3,
        }
        options.update(overrides)
        self.om = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.pm,
            events=self.events,
            instruments=self.instruments,
            **options,
        )
        await self.om.start()
        return self

    async def close(self):
        if self.om.started:
            await self.om.stop()
        if not self.db.closed:
            await self.db.close()

    async def restart(self, **overrides):
        """Stop and start again on the same journal and broker (start-up recovery runs)."""
        await self.close()
        return await self.open(**overrides)

    def alerts(self, level: str | None = None) -> list[str]:
        return [
            e.message
            for e in self.recorded
            if isinstance(e, Alert) and (level is None or e.level == level)
        ]

    async def settle(self, timeout: float = 5.0) -> None:
        """Until nothing is unresolved (unknown outcomes, fill gaps, orphan trades)."""
        sync = self.om.sync
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        transient = (OrderStatus.PENDING, OrderStatus.SUBMITTED)
        while any(sync.unresolved().values()) or any(
            o.status in transient for o in sync.active_orders()
        ):
            if loop.time() > end:
                raise AssertionError("the OMS did not settle")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)

    async def audit(self, strict: bool = True) -> dict:
        """Journal vs. broker: no loss, no duplicate, positions equal, events consistent."""
        await self.settle()
        if isinstance(self.broker, PaperBroker):
            truth = await truth_from_paper_live(self.broker)
        else:
            truth = truth_from_kite_book(self.server.book)
        problems, figures = audit(Path(self.path) / "oms.db", truth, strict=strict)
        assert not problems, "\n".join(problems)
        return figures


async def truth_from_paper_live(broker: PaperBroker):
    from tests.reliability.crash_harness import BrokerTruth

    orders = [
        {
            "broker_order_id": r.broker_order_id,
            "tag": r.client_order_id,
            "status": r.status.name,
            "quantity": r.quantity,
            "filled": r.filled_quantity,
        }
        for r in await broker.orders()
    ]
    trades = [
        {"trade_id": t.trade_id, "broker_order_id": t.broker_order_id, "quantity": t.quantity}
        for t in await broker.trades()
    ]
    positions = {
        (p.exchange, p.symbol, p.product.value): p.quantity for p in await broker.positions()
    }
    return BrokerTruth(orders, trades, positions)


@pytest.fixture
async def kite_oms(tmp_path, kite_server, instruments):
    """An OMS on KiteBroker (real kiteconnect client) against the local Kite server."""
    broker = make_broker(kite_server, timeout=0.5)
    oms = Oms(path=tmp_path, broker=broker, server=kite_server, instruments=instruments)
    await oms.open()
    yield oms
    await oms.close()
    await broker.close()


@pytest.fixture
async def paper_oms(tmp_path, instruments):
    broker = PaperBroker(state_path=tmp_path / "paper.jsonl", instruments=instruments)
    broker.set_last_price("NSE", "INFY", Decimal("1500"))
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    oms = Oms(path=tmp_path, broker=broker, instruments=instruments)
    await oms.open()
    yield oms
    await oms.close()


__all__ = ["PLACE", "Oms", "make_broker", "truth_from_paper"]
