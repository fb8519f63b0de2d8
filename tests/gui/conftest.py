"""GUI test fixtures: offscreen Qt, the dark theme, a qasync loop driven by Qt events,
fake instruments / prices / submit, and small domain object factories."""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402

from desktop_oms.domain import (  # noqa: E402
    Instrument,
    Order,
    OrderRequest,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
    Variety,
)
from desktop_oms.ui.common.theme import apply_dark_theme  # noqa: E402

T0 = datetime(2025, 1, 6, 3, 45, tzinfo=UTC)  # 09:15 IST


@pytest.fixture(scope="session", autouse=True)
def _dark_theme(qapp):
    apply_dark_theme(qapp)


@pytest.fixture(scope="session")
def _session_loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)
    yield loop


@pytest.fixture
def qloop(_session_loop, qapp):
    """The qasync loop marked running for this test: tasks advance while Qt processes
    events (qtbot.wait / waitUntil / waitSignal). Leftover tasks are cancelled after."""
    loop = _session_loop
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        for _ in range(20):
            if all(t.done() for t in pending):
                break
            qapp.processEvents()
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


INSTRUMENTS = [
    Instrument("NSE", "RELIANCE", 738561, "Reliance Industries", Decimal("0.05"), 1),
    Instrument("BSE", "RELIANCE", 128083204, "Reliance Industries", Decimal("0.05"), 1),
    Instrument("NSE", "RELINFRA", 141569, "Reliance Infrastructure", Decimal("0.05"), 1),
    Instrument("NSE", "TCS", 2953217, "Tata Consultancy Services", Decimal("0.05"), 1),
    Instrument("NSE", "INFY", 408065, "Infosys", Decimal("0.05"), 1),
    Instrument(
        "NFO", "NIFTY25JANFUT", 13238786, "NIFTY", Decimal("0.05"), 75, instrument_type="FUT"
    ),
    Instrument(
        "MCX",
        "CRUDEOIL25JANFUT",
        109130503,
        "CRUDEOIL",
        Decimal("1"),
        1,
        Decimal("100"),
        instrument_type="FUT",
    ),
]
PRICES = {
    ("NSE", "RELIANCE"): Decimal("2450.00"),
    ("BSE", "RELIANCE"): Decimal("2450.10"),
    ("NSE", "TCS"): Decimal("3900.00"),
    ("NFO", "NIFTY25JANFUT"): Decimal("23500.00"),
    ("MCX", "CRUDEOIL25JANFUT"): Decimal("6500"),
}


class FakeInstruments:
    def __init__(self, instruments=INSTRUMENTS) -> None:
        self._by_key = {(i.exchange, i.symbol): i for i in instruments}
        self.searches: list[str] = []

    def get(self, exchange: str, symbol: str) -> Instrument | None:
        return self._by_key.get((exchange.upper(), symbol.upper()))

    def search(self, prefix: str, limit: int) -> list[Instrument]:
        self.searches.append(prefix)
        found = [i for i in self._by_key.values() if i.symbol.startswith(prefix.upper())]
        return sorted(found, key=lambda i: (i.symbol, i.exchange))[:limit]


class FakePrices:
    def __init__(self) -> None:
        self.prices = dict(PRICES)

    def __call__(self, exchange: str, symbol: str) -> Decimal | None:
        return self.prices.get((exchange, symbol))


@dataclass
class FakeSubmit:
    """Async submit double: records requests; optionally waits on a gate or raises."""

    requests: list[OrderRequest] = field(default_factory=list)
    gate: asyncio.Event | None = None
    error: BaseException | None = None
    status: OrderStatus = OrderStatus.OPEN
    message: str | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def __call__(self, request: OrderRequest) -> OrderResult:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        order_id = next(self._ids)
        return OrderResult(
            order_id, f"T{order_id:06d}", f"2501060000{order_id:05d}", self.status, self.message
        )


@pytest.fixture
def instruments():
    return FakeInstruments()


@pytest.fixture
def prices():
    return FakePrices()


@pytest.fixture
def submit():
    return FakeSubmit()


def _make_order(order_id: int, **changes) -> Order:
    values = dict(
        id=order_id,
        client_order_id=f"T{order_id:06d}",
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=10,
        price=Decimal("2450.50"),
        trigger_price=None,
        status=OrderStatus.OPEN,
        created_at=T0 + timedelta(seconds=order_id),
        updated_at=T0 + timedelta(seconds=order_id),
        broker_order_id=f"2501060000{order_id:05d}",
    )
    values.update(changes)
    return Order(**values)


def _make_position(symbol: str = "RELIANCE", **changes) -> Position:
    values = dict(
        symbol=symbol,
        exchange="NSE",
        product=Product.MIS,
        quantity=10,
        average_price=Decimal("2450.00"),
        last_price=Decimal("2460.00"),
        unrealized_pnl=Decimal("100.00"),
        realized_pnl=Decimal("0"),
    )
    values.update(changes)
    return Position(**values)


@pytest.fixture
def make_order():
    """make_order(id, **fields) -> domain Order (OPEN BUY 10 RELIANCE LIMIT 2450.50)."""
    return _make_order


@pytest.fixture
def make_position():
    """make_position(symbol, **fields) -> domain Position (long 10 @ 2450, LTP 2460)."""
    return _make_position


@pytest.fixture
def t0():
    return T0


# ---- the real Application on a qasync loop (main window tests) ----------------------


def run_async(qtbot, awaitable, timeout: int = 10_000):
    """Run `awaitable` as a task on the qasync loop while Qt processes events; its result."""
    task = asyncio.ensure_future(awaitable)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


@pytest.fixture
def arun(qtbot, qloop):
    """arun(coro, timeout_ms=10000) -> result, with the loop and Qt both running."""

    def run(awaitable, timeout: int = 10_000):
        return run_async(qtbot, awaitable, timeout)

    return run


@pytest.fixture
def make_app(qtbot, qloop, tmp_path):
    """make_app(data_dir=tmp_path, show=True, **settings) -> started Application (paper
    broker, no simulated market: prices move only with app.broker.set_last_price).
    Every app still running at the end is stopped."""
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    apps = []

    def make(data_dir=None, *, show: bool = True, size=(1600, 950), **overrides):
        overrides.setdefault("simulate_market", False)
        settings = Settings(data_dir=data_dir or tmp_path, broker="paper", **overrides)
        app = Application(settings)
        apps.append(app)
        run_async(qtbot, app.start())
        if show:
            if size is not None and not app.window.layout_restored:
                app.window.resize(*size)
            app.window.show()
            qtbot.waitExposed(app.window)
        return app

    yield make
    # (not qtbot.addWidget: pytest-qt would delete the window before this teardown)
    for app in apps:
        if app._started:
            run_async(qtbot, app.stop())
        if app.window is not None:
            app.window.close()
            app.window.deleteLater()
