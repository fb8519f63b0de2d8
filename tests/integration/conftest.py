from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.marketdata.instruments import load_bundled_instruments
from desktop_oms.oms import EventBus, OrderManager, PositionManager
from desktop_oms.storage import Database


class Harness(SimpleNamespace):
    """An OMS on the paper broker; `restart()` simulates closing and reopening the app."""

    async def open(self, broker=None):
        self.db = await Database.open(self.path / "oms.db")
        self.events = EventBus()
        self.recorded = []
        from desktop_oms.domain.events import Event

        self.events.subscribe(Event, self.recorded.append)
        self.broker = broker or self.broker
        self.pm = PositionManager(self.db, self.events)
        self.om = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.pm,
            events=self.events,
            instruments=self.instruments,
            monitor_interval=0.05,
            reconcile_interval=3600,
            unknown_outcome_grace=0.3,
        )
        await self.om.start()
        return self

    async def close(self):
        await self.om.stop()
        await self.db.close()

    async def restart(self, broker=None):
        await self.close()
        return await self.open(broker)

    def count(self, table: str) -> int:
        from sqlalchemy import text

        with self.db.read() as conn:
            return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()  # noqa: S608 - test-only, fixed names


@pytest.fixture
def instruments():
    return load_bundled_instruments()


@pytest.fixture
async def paper_oms(tmp_path, instruments):
    broker = PaperBroker(state_path=tmp_path / "paper.jsonl", instruments=instruments)
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    broker.set_last_price("NSE", "INFY", Decimal("1500"))
    h = Harness(path=tmp_path, broker=broker, instruments=instruments)
    await h.open()
    yield h
    if not h.db.closed:
        await h.close()
