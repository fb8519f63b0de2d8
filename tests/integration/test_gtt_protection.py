"""A carried position protected by a GTT OCO through the app's GttManager, on the paper
broker (as the Application wires it) and on the Kite test server: the GTT for the whole
position, refusals for wrong sides / intraday / a second GTT, the audit trail, and the
stop firing at the broker closing the position the OMS then sees flat."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from desktop_oms.app import Application
from desktop_oms.config import Settings
from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.gtt import GttStatus, GttType
from desktop_oms.domain.positions import Position
from desktop_oms.risk import GttManager, GttRefused, RiskLimits
from tests.helpers import market, until
from tests.kite_server import KiteTestServer
from tests.kite_server.helpers import make_broker

KEY = ("NSE", "RELIANCE", Product.CNC)


def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        broker="paper",
        simulate_market=False,
        risk=RiskLimits(capital=D("10000000")),
        reconcile_interval_s=0.2,
    )


async def test_paper_round_trip_through_the_app(tmp_path):
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        gtt = app.risk.gtt
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)
        await app.order_manager.place_order(market(qty=20, product=Product.CNC))
        await until(lambda: app.position_manager.open_positions())

        with pytest.raises(GttRefused, match="stop must be below the last price"):
            await gtt.protect_with_gtt(KEY, D("2460"), D("2600"))
        with pytest.raises(GttRefused, match="no open"):
            await gtt.protect_with_gtt(("NSE", "TCS", Product.CNC), D("1"), D("2"))
        with pytest.raises(GttRefused, match="intraday"):
            await gtt.protect_with_gtt(("NSE", "RELIANCE", Product.MIS), D("2400"), D("2600"))

        gtt_id = await gtt.protect_with_gtt(KEY, D("2400"), D("2600"))
        (placed,) = await gtt.gtts()
        assert placed.gtt_id == gtt_id and placed.gtt_type is GttType.OCO
        assert placed.trigger_values == (D("2400"), D("2600"))
        assert [(leg.side, leg.quantity, leg.price) for leg in placed.legs] == [
            (OrderSide.SELL, 20, D("2376.00")),  # 1 % beyond the stop's trigger
            (OrderSide.SELL, 20, D("2600")),
        ]
        with pytest.raises(GttRefused, match="already protected"):
            await gtt.protect_with_gtt(KEY, D("2300"), D("2700"))

        await gtt.modify_gtt(
            placed, trigger_values=(D("2410"), D("2650")), prices=(D("2390"), D("2650"))
        )
        (modified,) = await gtt.gtts()
        assert modified.trigger_values == (D("2410"), D("2650"))

        kinds = [e.kind for e in app.risk.store.audit_log(kind=None) if e.kind.startswith("gtt")]
        assert kinds == ["gtt_placed", "gtt_modified"]

        # The stop is hit at the broker: its leg sells the position; the OMS sees it flat.
        app.broker.set_last_price("NSE", "RELIANCE", D("2405"))
        (fired,) = await gtt.gtts()
        assert fired.status is GttStatus.TRIGGERED and fired.fired_leg == 0
        (broker_position,) = await app.broker.positions()
        assert broker_position.quantity == 0
        await until(lambda: not app.position_manager.open_positions(), timeout=10)
        with pytest.raises(Exception, match="not active"):
            await gtt.delete_gtt(gtt_id, "RELIANCE")
        assert app.risk.store.audit_log(kind="gtt_failed")
    finally:
        await app.stop()


class _Positions:
    def __init__(self, quantity: int) -> None:
        self.quantity = quantity

    async def get_position(self, symbol, exchange="NSE", product=None):
        return Position(symbol=symbol, exchange=exchange, product=product, quantity=self.quantity)


@pytest.fixture
def server():
    with KiteTestServer() as s:
        s.set_price("NSE", "INFY", D("1500"))
        yield s


async def test_kite_round_trip_for_a_short_nrml_position(server):
    broker = make_broker(server)
    await broker.start()
    try:
        manager = GttManager(
            broker,
            _Positions(-15),
            None,
            last_price=lambda exchange, symbol: server.last_price(exchange, symbol),
        )
        key = ("NSE", "INFY", Product.NRML)
        with pytest.raises(GttRefused, match="short position the stop must be above"):
            await manager.protect_with_gtt(key, D("1450"), D("1600"))
        gtt_id = await manager.protect_with_gtt(key, D("1550"), D("1400"))
        (gtt,) = await manager.gtts()
        assert gtt.gtt_id == gtt_id and gtt.trigger_values == (D("1400"), D("1550"))
        assert [(leg.side, leg.quantity, leg.price) for leg in gtt.legs] == [
            (OrderSide.BUY, 15, D("1400")),
            (OrderSide.BUY, 15, D("1565.50")),
        ]
        await manager.delete_gtt(gtt_id, "INFY")
        (gtt,) = await manager.gtts()
        assert gtt.status is GttStatus.DELETED
    finally:
        await broker.close()
