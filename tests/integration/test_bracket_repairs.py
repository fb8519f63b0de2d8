"""Issue 18, "repair at start-up and after reconnect": what the bracket finds changed at
the broker — a leg filled while the app was away, the position gone, the stop missing —
it repairs, and each repair is audited (an event on the order) and shown (an alert)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerUnavailable
from desktop_oms.domain import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from tests.helpers import limit, until
from tests.integration.test_risk_harness import rig

D = Decimal


async def _entry(r, qty=10, price="2450", sl="2430", tp=None):
    result = await r.om.place_order(
        limit(
            qty=qty,
            price=price,
            stop_loss=D(sl) if sl else None,
            take_profit=D(tp) if tp else None,
        )
    )
    await r.brackets.settle()
    return await r.om.get_order(result.order_id)


async def _legs(r, entry_id):
    return [o for o in await r.om.list_orders() if o.parent_order_id == entry_id]


async def _notes(r, order_id) -> list[str]:
    return [e.reason for e in await r.om.get_order_events(order_id) if e.event_type == "BRACKET"]


async def test_a_stop_filled_while_the_app_was_away_closes_the_bracket_audited_and_told(
    tmp_path,
):
    r = await rig(tmp_path)
    entry = await _entry(r)
    [stop] = await _legs(r, entry.id)
    await r.close()
    r.broker.set_last_price("NSE", "RELIANCE", D("2425"))  # through the stop, app closed
    await r.open()
    try:
        await until(lambda: r.store.bracket(entry.id).status == "closed")
        why = (
            f"closed: position exited (stop-loss #{stop.id} filled 10 @ 2425 "
            "(found filled at start-up: filled while the app was away))"
        )
        assert r.store.bracket(entry.id).status_message == why
        assert f"bracket {why}" in await _notes(r, entry.id)
        told = [a.message for a in r.alerts("brackets") if f"#{entry.id}" in a.message]
        assert any("found filled at start-up" in m for m in told), told
    finally:
        await r.close()


async def test_a_stop_filled_while_the_app_runs_is_told_without_the_start_up_words(tmp_path):
    r = await rig(tmp_path)
    try:
        entry = await _entry(r)
        [stop] = await _legs(r, entry.id)
        r.broker.set_last_price("NSE", "RELIANCE", D("2429"))
        await until(lambda: r.store.bracket(entry.id).status == "closed")
        assert r.store.bracket(entry.id).status_message == (
            f"closed: position exited (stop-loss #{stop.id} filled 10 @ 2429)"
        )
        assert any(
            m.startswith("bracket closed: position exited") for m in await _notes(r, entry.id)
        )
    finally:
        await r.close()


class Offline:
    """The connection is lost: the broker's pushed updates never reach the OMS and its
    reads fail (the poll and the reconciliation find nothing). `back()` is the reconnect:
    Kite's catch-up (orders and trades read again, applied as one update) and the next
    reconciliation."""

    def __init__(self, r) -> None:
        self.r = r
        self.listener = r.om.sync._on_update
        self.reads = {name: getattr(r.broker, name) for name in ("orders", "trades", "positions")}
        r.broker.remove_update_listener(self.listener)

        async def unreachable(*_a, **_k):
            raise BrokerUnavailable("offline (test)")

        for name in self.reads:
            setattr(r.broker, name, unreachable)

    def restore(self) -> None:
        r = self.r
        for name, read in self.reads.items():
            setattr(r.broker, name, read)
        r.broker.add_update_listener(self.listener)

    async def back(self) -> None:
        self.restore()
        await self.r.om.sync.poll(force=True)
        await self.r.om.reconcile_positions()


def web_order(side: OrderSide, quantity: int) -> Order:
    """An order the trader places in Kite web (not journaled here)."""
    now = datetime.now(UTC)
    return Order(
        id=0,
        client_order_id="KITEWEB1",
        symbol="RELIANCE",
        exchange="NSE",
        side=side,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=quantity,
        price=None,
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def test_after_a_reconnect_legs_whose_position_is_gone_are_cancelled_audited(tmp_path):
    """Offline, the trader closes the position in Kite web. Back online, the bracket's
    stop (for a position that is gone: it would open a short) is cancelled, audited, and
    the bracket closes, told."""
    r = await rig(tmp_path)
    try:
        entry = await _entry(r)
        [stop] = await _legs(r, entry.id)
        offline = Offline(r)
        await r.broker.place_order(web_order(OrderSide.SELL, 10))
        assert r.position() == 10  # the OMS does not know yet
        await offline.back()
        await until(lambda: r.position() == 0)
        await r.brackets.settle()
        await until(lambda: r.om.order_now(stop.id).status is OrderStatus.CANCELLED)
        assert [o for o in await r.broker_open_orders() if o.symbol == "RELIANCE"] == []
        assert await r.broker_positions() == {}
        assert any(n.startswith("cancelled by the bracket") for n in await _notes(r, stop.id))
        await until(lambda: r.store.bracket(entry.id).status == "closed")
        assert "closed outside the bracket" in r.store.bracket(entry.id).status_message
        assert any(
            "closed outside the bracket" in a.message and f"#{entry.id}" in a.message
            for a in r.alerts("brackets")
        )
    finally:
        await r.close()


async def test_after_a_reconnect_a_stop_cancelled_at_the_broker_is_placed_again(tmp_path):
    """Offline, the stop is cancelled at the broker (Kite web, the broker's RMS) — not
    from this app. Back online, the position has no stop: the bracket places it again,
    audits it on the cancelled stop and tells the trader."""
    r = await rig(tmp_path)
    try:
        entry = await _entry(r)
        [stop] = await _legs(r, entry.id)
        offline = Offline(r)
        await r.broker.cancel_order(stop.broker_order_id)
        await offline.back()
        await until(lambda: r.om.order_now(stop.id).status is OrderStatus.CANCELLED)
        await r.brackets.settle()
        working = [o for o in await _legs(r, entry.id) if o.status.is_active]
        assert [(o.order_type, o.quantity, o.trigger_price) for o in working] == [
            (OrderType.SL_M, 10, D("2430"))
        ]
        at_broker = [o for o in await r.broker_open_orders() if o.side is OrderSide.SELL]
        assert [o.quantity for o in at_broker] == [10]
        assert r.store.bracket(entry.id).stop_enabled is True
        assert any("not from this app" in n for n in await _notes(r, stop.id))
        told = [
            a for a in r.alerts("brackets") if f"stop-loss #{stop.id} was cancelled" in a.message
        ]
        assert [a.level for a in told] == ["warning"] and "UNPROTECTED" in told[0].message
    finally:
        await r.close()


async def test_a_stop_the_trader_cancels_in_the_app_is_not_placed_again(tmp_path):
    """The negative control: cancelled from the blotter (a request from this app), the
    stop is the trader's decision — no longer managed, not placed again."""
    r = await rig(tmp_path)
    try:
        entry = await _entry(r)
        [stop] = await _legs(r, entry.id)
        await r.om.cancel_order(stop.id)
        await r.brackets.settle()
        assert [o for o in await _legs(r, entry.id) if o.status.is_active] == []
        assert r.store.bracket(entry.id).stop_enabled is False
    finally:
        await r.close()


async def test_a_reconnect_reconciles_at_once_so_a_stop_for_a_gone_position_goes(tmp_path):
    """A broker with a live stream says when it reconnected (KiteBroker's catch-up
    listeners; the paper broker has no stream, so the test gives it the hook). The OMS
    reconciles then — not at its next interval (an hour here) — so the stop of a position
    closed in Kite web while offline is cancelled at once, not left to open a short."""
    r = await rig(tmp_path)
    await r.close()
    reconnect_listeners = []
    r.broker.add_catch_up_listener = reconnect_listeners.append
    await r.open()
    try:
        entry = await _entry(r)
        [stop] = await _legs(r, entry.id)
        offline = Offline(r)
        await r.broker.place_order(web_order(OrderSide.SELL, 10))
        offline.restore()
        assert r.position() == 10  # nothing read yet
        for listener in reconnect_listeners:
            listener()  # the stream is back (KiteBroker calls these after each reconnect)
        await until(lambda: r.position() == 0)
        await until(lambda: r.om.order_now(stop.id).status is OrderStatus.CANCELLED)
        assert [o for o in await r.broker_open_orders() if o.symbol == "RELIANCE"] == []
        assert await r.broker_positions() == {}
    finally:
        await r.close()


async def test_a_stop_cancelled_at_the_broker_while_the_app_was_closed_is_put_back_told(
    tmp_path,
):
    """At start-up: the stop was cancelled at the broker while the app was closed (not
    from this app); the position is held. The stop is placed again, the trader warned,
    the cancelled stop's audit says why — once, not again at the next start."""
    r = await rig(tmp_path)
    entry = await _entry(r)
    [stop] = await _legs(r, entry.id)
    await r.close()
    await r.broker.cancel_order(stop.broker_order_id)
    await r.open()
    try:
        await r.brackets.settle()
        working = [o for o in await _legs(r, entry.id) if o.status.is_active]
        assert [(o.order_type, o.quantity) for o in working] == [(OrderType.SL_M, 10)]
        told = [
            a for a in r.alerts("brackets") if f"stop-loss #{stop.id} was cancelled" in a.message
        ]
        assert [a.level for a in told] == ["warning"]
        assert sum("not from this app" in n for n in await _notes(r, stop.id)) == 1
        await r.restart()
        await r.brackets.settle()
        assert [a for a in r.alerts("brackets") if "was cancelled at the broker" in a.message] == []
        assert sum("not from this app" in n for n in await _notes(r, stop.id)) == 1
        assert len([o for o in await _legs(r, entry.id) if o.status.is_active]) == 1
    finally:
        await r.close()


async def test_a_stop_cancelled_from_the_app_before_a_restart_is_not_put_back(tmp_path):
    r = await rig(tmp_path)
    entry = await _entry(r)
    [stop] = await _legs(r, entry.id)
    await r.om.cancel_order(stop.id)
    await r.brackets.settle()
    await r.restart()
    try:
        await r.brackets.settle()
        assert [o for o in await _legs(r, entry.id) if o.status.is_active] == []
        assert [a for a in r.alerts("brackets") if "was cancelled at the broker" in a.message] == []
    finally:
        await r.close()
