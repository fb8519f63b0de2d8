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


def _sell(qty: int):
    return market(side=OrderSide.SELL, qty=qty, product=Product.CNC)


async def _gtts(app):
    return {g.gtt_id: g for g in await app.broker.gtts()}


async def test_the_gtt_follows_its_position_and_goes_when_it_is_closed(tmp_path):
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        alerts = []
        from desktop_oms.domain.events import Alert

        app.events.subscribe(Alert, alerts.append)
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)
        await app.order_manager.place_order(market(qty=20, product=Product.CNC))
        await until(lambda: app.position_manager.open_positions())
        gtt_id = await app.risk.gtt.protect_with_gtt(KEY, D("2400"), D("2600"))

        await app.order_manager.place_order(_sell(5))  # reduced: the GTT sells 15 now
        await until(lambda: app.risk.store.audit_log(kind="gtt_modified"), timeout=10)
        gtt = (await _gtts(app))[gtt_id]
        assert gtt.status is GttStatus.ACTIVE and [leg.quantity for leg in gtt.legs] == [15, 15]
        assert gtt.trigger_values == (D("2400"), D("2600"))
        (modified,) = app.risk.store.audit_log(kind="gtt_modified")
        assert modified.details["reason"] == "the position is now +15"

        await app.order_manager.place_order(market(qty=5, product=Product.CNC))  # added to
        await until(lambda: len(app.risk.store.audit_log(kind="gtt_modified")) == 2, timeout=10)
        assert [leg.quantity for leg in (await _gtts(app))[gtt_id].legs] == [20, 20]

        await app.order_manager.place_order(_sell(20))  # closed by hand: the GTT goes
        await until(lambda: app.risk.store.audit_log(kind="gtt_deleted"), timeout=10)
        assert (await _gtts(app))[gtt_id].status is GttStatus.DELETED
        await until(lambda: any("deleted" in a.message for a in alerts), timeout=5)
        assert any("now covers 15" in a.message for a in alerts)
        assert app.risk.gtt.protected_keys() == set()
    finally:
        await app.stop()


async def test_a_position_closed_while_the_app_was_away_loses_its_gtt_at_start_up(tmp_path):
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)
        await app.order_manager.place_order(market(qty=10, product=Product.CNC))
        await until(lambda: app.position_manager.open_positions())
        gtt_id = await app.risk.gtt.protect_with_gtt(KEY, D("2400"), D("2600"))
        journal = app.broker.state_path
    finally:
        await app.stop()

    from desktop_oms.brokers.paper import PaperBroker

    elsewhere = PaperBroker(state_path=journal)  # sold on Kite web, say
    elsewhere.clear_position("NSE", "RELIANCE", Product.CNC)
    await elsewhere.close()

    again = Application(settings(tmp_path), with_window=False)
    await again.start()
    try:
        await until(lambda: again.risk.store.audit_log(kind="gtt_deleted"), timeout=10)
        assert (await _gtts(again))[gtt_id].status is GttStatus.DELETED
        (deleted,) = again.risk.store.audit_log(kind="gtt_deleted")  # remembered: followed
        assert deleted.details["reason"] == "the position was closed"
    finally:
        await again.stop()


@pytest.mark.parametrize("how", ["exit", "kill switch"])
async def test_exit_and_the_kill_switch_delete_the_positions_gtt_before_closing_it(tmp_path, how):
    """A GTT left at the broker after the position is closed would fire later and open the
    other side (NRML) or be refused (CNC): Exit and the kill switch delete ours first."""
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        gtt = app.risk.gtt
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)
        await app.order_manager.place_order(market(qty=20, product=Product.CNC))
        await until(lambda: app.position_manager.open_positions())
        key = ("NSE", "RELIANCE", Product.CNC)
        gtt_id = await gtt.protect_with_gtt(key, D("2400"), D("2600"))
        deleted_before_exit = []
        place = app.broker.place_order

        async def watched_place(order):
            deleted_before_exit.append(
                [g.status for g in await app.broker.gtts() if g.gtt_id == gtt_id]
            )
            return await place(order)

        app.broker.place_order = watched_place
        if how == "exit":
            outcome = await app.order_manager.exit_position(*key)
            assert f"deleted GTT #{gtt_id} first" in outcome.message
        else:
            result = await app.risk.kill_switch.engage("test")
            assert result.verified
        assert deleted_before_exit and deleted_before_exit[0] == [GttStatus.DELETED]
        assert not app.position_manager.open_positions()
        app.broker.set_last_price("NSE", "RELIANCE", D("2395"))  # through the old stop
        await asyncio.sleep(0.3)
        assert [p.quantity for p in await app.broker.positions() if p.quantity] == []
        kinds = [e.kind for e in app.risk.store.audit_log(kind=None) if e.kind.startswith("gtt")]
        assert kinds == ["gtt_placed", "gtt_deleted"]
    finally:
        await app.stop()
