"""The Broker port is complete: both adapters have every member it names, with the same
shape, so no caller needs a hasattr/getattr probe; and what each adapter answers for the
members that were optional (stream and session state, settle, margins, last prices)."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from desktop_oms.brokers import Broker
from desktop_oms.brokers.kite import KiteBroker
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.brokers.port import InstrumentCatalog, StreamState, StreamStatus
from desktop_oms.domain import Order, OrderSide, OrderStatus, OrderType, Product, Validity, Variety
from desktop_oms.domain.market import Tick

PORT_MEMBERS = sorted(
    {name for name in vars(Broker) if not name.startswith("_")} | set(Broker.__annotations__)
)


def kite() -> KiteBroker:
    # Never connects: no request is made and the stream is off.
    return KiteBroker(api_key="key", access_token="token", root="http://127.0.0.1:9", stream=False)


@pytest.fixture(params=["paper", "kite"])
async def broker(request):
    adapter = PaperBroker(seed=1) if request.param == "paper" else kite()
    yield adapter
    await adapter.close()


def test_the_port_names_what_callers_used_to_probe_for():
    for name in (
        "settle",
        "stream_status",
        "add_stream_state_listener",
        "session_expired",
        "add_session_expired_listener",
        "order_margins",
        "last_prices",
        "instrument_store",
    ):
        assert name in PORT_MEMBERS


async def test_each_adapter_has_every_member_of_the_port_in_its_shape(broker):
    assert isinstance(broker, Broker)
    for name in PORT_MEMBERS:
        declared = inspect.getattr_static(Broker, name, None)
        assert hasattr(broker, name), f"{type(broker).__name__} has no {name}"
        if isinstance(declared, property) or name in Broker.__annotations__:
            assert not inspect.ismethod(getattr(broker, name)), f"{name} is a value, not a method"
            continue
        method = getattr(broker, name)
        assert callable(method), name
        assert inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(declared), name
        wanted = inspect.signature(declared).parameters
        has = inspect.signature(method).parameters
        for parameter in list(wanted.values())[1:]:  # past self
            assert parameter.name in has, f"{type(broker).__name__}.{name}: {parameter.name}"
            assert has[parameter.name].kind == parameter.kind, f"{name}: {parameter.name}"


async def test_paper_is_always_connected_and_never_expires():
    broker = PaperBroker(seed=1)
    heard = []
    broker.add_stream_state_listener(heard.append)
    broker.add_session_expired_listener(heard.append)
    assert broker.stream_status == StreamStatus(StreamState.CONNECTED)
    assert broker.session_expired is False
    broker.set_last_price("NSE", "RELIANCE", "2450")
    await broker.settle()
    assert heard == []
    assert isinstance(broker.instrument_store, InstrumentCatalog)
    assert broker.instrument_store.get("NSE", "RELIANCE") is not None


def _order(side: OrderSide, quantity: int, price: str | None, product=Product.MIS) -> Order:
    now = datetime.now(UTC)
    return Order(
        id=1,
        client_order_id="PORT1",
        symbol="RELIANCE",
        exchange="NSE",
        side=side,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        product=product,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=quantity,
        price=D(price) if price else None,
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def test_paper_order_margins_are_what_the_order_then_blocks():
    broker = PaperBroker(seed=1)
    assert await broker.order_margins(_order(OrderSide.BUY, 10, None)) is None  # no price yet
    broker.set_last_price("NSE", "RELIANCE", "2450")
    # MIS equity blocks a fifth of the value: 10 x 2400 / 5
    resting = _order(OrderSide.BUY, 10, "2400")
    assert await broker.order_margins(resting) == D("4800")
    before = (await broker.funds()).available
    await broker.place_order(resting)
    assert before - (await broker.funds()).available == D("4800")
    # CNC at the market: the full value at the last price
    assert await broker.order_margins(_order(OrderSide.BUY, 2, None, Product.CNC)) == D("4900")
    # a sell that only closes a long position blocks nothing
    await broker.place_order(_order(OrderSide.BUY, 5, "2450"))  # fills: long 5
    assert await broker.order_margins(_order(OrderSide.SELL, 5, "2450")) == 0


async def test_kite_settles_at_once_and_remembers_streamed_prices():
    broker = kite()
    try:
        assert broker.last_prices() == {}
        assert broker.instrument_store is None  # until the app has read Kite's dump
        assert broker.session_expired is False and broker.stream_status is None
        at = datetime.now(UTC)
        broker._dispatch_ticks(  # what the stream hands over
            [
                Tick("NSE", "INFY", D("1500.5"), at),
                Tick("NSE", "SBIN", D("800"), at),
                Tick("NSE", "INFY", D("1501"), at),
            ]
        )
        assert broker.last_prices() == {("NSE", "INFY"): D("1501"), ("NSE", "SBIN"): D("800")}
        await asyncio.wait_for(broker.settle(), 1)
    finally:
        await broker.close()


def test_brokers_import_only_domain_and_infra():
    """Every import in desktop_oms/brokers (lazy and type-checking ones too) stays inside
    brokers, domain and infra: the adapters know nothing of the OMS, storage, risk,
    market data or the UI."""
    import ast
    from pathlib import Path

    import desktop_oms.brokers

    root = Path(desktop_oms.brokers.__file__).parent
    outside = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "desktop_oms" and parts[1:2] not in (
                    ["brokers"],
                    ["domain"],
                    ["infra"],
                ):
                    outside.append(f"{path.relative_to(root)}: {name}")
    assert outside == []
