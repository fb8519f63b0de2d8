"""Broker faults through the real OMS (OrderManager + KiteBroker + the local Kite server, or
the paper broker): timeouts after acceptance, resets, 429 storms, 5xx, trades answered out
of order or twice, a WebSocket that drops or goes silent. After each, the journal is
audited against the broker: no order lost, none sent twice, every fill applied once."""

from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal

import pytest

from desktop_oms.domain import OrderSide, OrderStatus
from desktop_oms.domain.events import OrderStatusChanged
from desktop_oms.oms import OrderNotModifiable, OrderSubmissionFailed
from tests.helpers import limit, until
from tests.reliability.conftest import PLACE, Oms, make_broker

D = Decimal
LIVE = (OrderStatus.SUBMITTED, OrderStatus.OPEN)  # an ack; polling turns it OPEN


def server_orders(h: Oms) -> list[dict]:
    return h.server.book.order_list()


async def place(h: Oms, qty: int = 5, price: str = "1490", **kw):
    return await h.om.place_order(limit("INFY", qty=qty, price=price, **kw))


# ---------------------------------------------------------------------- lost answers on place


async def test_place_timing_out_after_acceptance_is_found_by_tag_not_resent(kite_oms):
    h = kite_oms
    h.server.stall_next("POST", PLACE, 1.0, process=True)  # accepted; answer after the timeout
    result = await place(h)
    [row] = h.server.book.by_tag(result.client_order_id)
    assert result.broker_order_id == row["order_id"]
    assert h.server.count("POST", PLACE) == 1
    assert (await h.om.get_order(result.order_id)).status in LIVE
    await h.audit()


async def test_lost_answer_and_failed_lookups_are_resolved_later_by_tag(kite_oms):
    h = kite_oms
    h.server.stall_next("POST", PLACE, 1.0, process=True)
    outage = h.server.fail_next(
        "GET", "/orders", status=503, error_type="NetworkException", times=-1
    )
    result = await place(h)  # the broker adapter could not find it by tag right away
    h.server.http.faults.remove(outage)  # the order book answers again
    assert result.status is OrderStatus.PENDING and result.broker_order_id is None
    assert "will not be sent again" in result.message
    await until(lambda: h.om.sync.current(result.order_id).broker_order_id is not None, 5)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.OPEN
    assert order.broker_order_id == h.server.book.by_tag(result.client_order_id)[0]["order_id"]
    assert h.server.count("POST", PLACE) == 1
    events = [e.event_type for e in await h.om.get_order_events(result.order_id)]
    assert events[:3] == ["CREATED", "OUTCOME_UNKNOWN", "ADOPTED"]
    await h.audit()


async def test_request_that_never_reached_the_broker_is_never_resent_nor_final(kite_oms):
    """Issue 14 item 4: an unknown outcome is never final while the broker may have it; a
    restart that finds no trace of it marks it not sent."""
    h = kite_oms
    h.server.drop_next("POST", PLACE, process=False)  # connection reset before Kite acted
    result = await place(h)
    assert result.status is OrderStatus.PENDING
    await until(
        lambda: "outcome unknown" in (h.om.order_now(result.order_id).status_message or ""), 5
    )
    order = h.om.live_order(result.order_id)
    assert order is not None and order.status is OrderStatus.PENDING  # still working
    assert "not sent again" in order.status_message
    assert h.server.count("POST", PLACE) == 1 and server_orders(h) == []
    assert any("broker response lost" in a for a in h.alerts("warning"))
    await h.restart()
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.REJECTED and "not sent" in order.status_message
    assert h.server.count("POST", PLACE) == 1
    await h.audit()


async def test_connection_reset_after_acceptance_is_found_by_tag(kite_oms):
    h = kite_oms
    h.server.drop_next("POST", PLACE, process=True)
    result = await place(h)
    assert result.status in LIVE
    assert [o["order_id"] for o in h.server.book.by_tag(result.client_order_id)] == [
        result.broker_order_id
    ]
    assert h.server.count("POST", PLACE) == 1
    await h.audit()


async def test_5xx_on_place(kite_oms):
    """Accepted then 5xx: found by tag. 5xx without acceptance: rejected, never resent."""
    h = kite_oms
    h.server.fail_next("POST", PLACE, status=503, error_type="NetworkException", process=True)
    accepted = await place(h)
    assert accepted.status in LIVE and accepted.broker_order_id
    h.server.fail_next("POST", PLACE, status=500, error_type="GeneralException", process=False)
    lost = await place(h, price="1480")
    assert lost.status is OrderStatus.PENDING
    await until(
        lambda: "outcome unknown" in (h.om.order_now(lost.order_id).status_message or ""), 5
    )
    assert h.om.live_order(lost.order_id) is not None  # never final while Kite may have it
    assert h.server.count("POST", PLACE) == 2 and len(server_orders(h)) == 1
    await h.restart()  # no trace of it at Kite: not sent
    assert (await h.om.get_order(lost.order_id)).status is OrderStatus.REJECTED
    await h.audit()


async def test_429_storm_on_place_is_refused_clearly_and_never_resent(kite_oms):
    h = kite_oms
    h.server.rate_limit_next("POST", PLACE, times=4)
    for _ in range(4):
        with pytest.raises(OrderSubmissionFailed, match="not sent") as caught:
            await place(h)
        order = await h.om.get_order(caught.value.order_id)
        assert order.status is OrderStatus.REJECTED and order.broker_order_id is None
    assert server_orders(h) == []
    assert h.server.count("POST", PLACE) == 4  # each tried once
    # A 429 is definite (Kite did nothing): the order is final at once, no tag look-up.
    ok = await place(h)
    assert ok.status in LIVE
    await h.audit()


async def test_429_and_5xx_storms_on_reads_lose_no_fill(kite_oms):
    h = kite_oms
    result = await place(h, qty=10)
    h.server.rate_limit_next("GET", "/orders", times=9)
    h.server.fail_next("GET", "/trades", status=502, error_type="NetworkException", times=9)
    h.server.book.fill(result.broker_order_id, 4, "1490")
    h.server.book.fill(result.broker_order_id, 6, "1489")
    await until(lambda: h.om.sync.current(result.order_id) is None, 10)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert (await h.pm.get_position("INFY")).quantity == 10
    await h.audit()


async def test_start_up_during_a_5xx_storm_holds_orders_until_reconciled(
    tmp_path, kite_server, instruments
):
    kite_server.fail_next("GET", "/orders", status=503, error_type="NetworkException", times=8)
    broker = make_broker(kite_server, timeout=0.5)
    h = Oms(path=tmp_path, broker=broker, server=kite_server, instruments=instruments)
    await h.open()
    try:
        assert not h.om.ready
        assert any("orders are held" in a for a in h.alerts("error"))
        with pytest.raises(OrderSubmissionFailed, match="[Nn]ot reconciled"):
            await place(h)
        assert kite_server.count("POST", PLACE) == 0
        await until(lambda: h.om.ready, 5)  # the monitor keeps trying; the storm ends
        assert (await place(h)).status in LIVE
        await h.audit()
    finally:
        await h.close()
        await broker.close()


# ---------------------------------------------------------------------- fills out of order / twice


async def test_trades_answered_out_of_order_and_twice_are_applied_once(kite_oms):
    h = kite_oms
    result = await place(h, qty=10)
    book = h.server.book
    first = book.fill(result.broker_order_id, 3, "1490", push=False)
    second = book.fill(result.broker_order_id, 7, "1488", push=False)
    # The trade book answers newest first, with every trade twice (a replaying gateway).
    replay = json.dumps({"status": "success", "data": [second, first, second, first]}).encode()
    h.server.fault("GET", "/trades", status=200, body=replay, times=-1)
    await until(lambda: h.om.sync.current(result.order_id) is None, 5)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert order.average_price == (D("1490") * 3 + D("1488") * 7) / 10
    assert sorted(t.trade_id for t in await h.om.list_trades()) == sorted(
        [first["trade_id"], second["trade_id"]]
    )
    position = await h.pm.get_position("INFY")
    assert position.quantity == 10 and position.average_price == order.average_price
    # Replays keep coming (every poll, every reconnect): still applied once.
    await h.om.sync.recover()
    await h.om.reconcile_positions()
    assert len(await h.om.list_trades()) == 2
    assert (await h.pm.get_position("INFY")).quantity == 10
    await h.audit()


async def test_replayed_trades_after_a_restart_are_applied_once(tmp_path, kite_server, instruments):
    broker = make_broker(kite_server, timeout=0.5)
    h = Oms(path=tmp_path, broker=broker, server=kite_server, instruments=instruments)
    await h.open()
    try:
        result = await place(h, qty=4)
        kite_server.book.fill(result.broker_order_id, 4, "1490")
        await until(lambda: h.om.sync.current(result.order_id) is None, 5)
        for _ in range(2):  # the whole trade book replays on every start
            await h.close()
            await h.open()
        assert len(await h.om.list_trades()) == 1
        assert (await h.pm.get_position("INFY")).quantity == 4
        await h.audit()
    finally:
        await h.close()
        await broker.close()


async def stream_oms(
    tmp_path, server, instruments, monitor_interval: float = 3600, **stream_options
) -> Oms:
    options = {"watchdog_active": lambda: False}
    options.update(stream_options)
    broker = make_broker(server, timeout=1, stream=True, stream_options=options)
    # Polling off by default (an hour): pushed updates and catch-ups are the only way in.
    h = Oms(path=tmp_path, broker=broker, server=server, instruments=instruments)
    await h.open(monitor_interval=monitor_interval)
    await until(lambda: server.ticker.connection_count == 1, 5)
    return h


async def test_pushed_complete_before_its_trades_never_shows_a_fill_without_trades(
    tmp_path, kite_server, instruments
):
    h = await stream_oms(tmp_path, kite_server, instruments, monitor_interval=1.0)
    try:
        seen: list[tuple[OrderStatus, int, int]] = []
        h.events.subscribe(
            OrderStatusChanged,
            lambda e: seen.append((e.new_status, e.order.filled_quantity, e.order.quantity)),
        )
        result = await place(h, qty=5)
        kite_server.fail_next("GET", "/trades", status=503, error_type="NetworkException", times=4)
        kite_server.book.fill(result.broker_order_id, 5, "1490")  # pushed: COMPLETE, 5 filled
        await until(lambda: h.om.sync.current(result.order_id) is None, 8)
        order = await h.om.get_order(result.order_id)
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 5
        for status, filled, quantity in seen:
            if status is OrderStatus.FILLED:
                assert filled == quantity, "FILLED published before its trades were applied"
        # A stale update replayed after the fill (OPEN, nothing filled) changes nothing.
        stale = copy.deepcopy(kite_server.book.history[result.broker_order_id][3])
        stale.update(unfilled_quantity=5, user_id="AB1234", app_id=1, checksum="0" * 64)
        assert stale["status"] == "OPEN"
        kite_server.ticker.push_order_update(stale)
        kite_server.ticker.push_order_update(stale)
        await asyncio.sleep(0.3)
        assert (await h.om.get_order(result.order_id)).status is OrderStatus.FILLED
        await h.audit()
    finally:
        await h.close()
        await h.broker.close()


async def test_fill_missed_while_the_socket_was_down_is_caught_up(
    tmp_path, kite_server, instruments
):
    h = await stream_oms(tmp_path, kite_server, instruments)
    try:
        result = await place(h, qty=6)
        stream = h.broker.stream
        kite_server.ticker.drop_all()  # TCP reset; the fill below is pushed to nobody
        kite_server.book.fill(result.broker_order_id, 6, "1490")
        await until(lambda: stream.reconnects >= 1, 5)
        await until(lambda: h.om.sync.current(result.order_id) is None, 5)
        order = await h.om.get_order(result.order_id)
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 6
        assert (await h.pm.get_position("INFY")).quantity == 6
        await h.audit()
    finally:
        await h.close()
        await h.broker.close()


async def test_silent_socket_is_replaced_and_missed_fills_caught_up(
    tmp_path, kite_server, instruments
):
    h = await stream_oms(
        tmp_path, kite_server, instruments, watchdog_active=lambda: True, watchdog_timeout=0.4
    )
    try:
        result = await place(h, qty=3, side=OrderSide.SELL, price="1510")
        kite_server.ticker.silence_all()  # open, answers pings, sends nothing
        kite_server.book.fill(result.broker_order_id, 3, "1510")
        await until(lambda: h.broker.stream.reconnects >= 1, 5)
        await until(lambda: h.om.sync.current(result.order_id) is None, 5)
        assert (await h.pm.get_position("INFY")).quantity == -3
        await h.audit()
    finally:
        await h.close()
        await h.broker.close()


# ---------------------------------------------------------------------- reconciliation races


async def test_reconciliation_does_not_undo_a_fill_applied_during_its_reads(
    tmp_path, kite_server, instruments
):
    broker = make_broker(kite_server, timeout=3)  # the stalled read below must not time out
    h = Oms(path=tmp_path, broker=broker, server=kite_server, instruments=instruments)
    await h.open()
    try:
        result = await place(h, qty=5)
        # Reconciliation reads positions twice; the second answer is computed now (flat)
        # but delivered 2 s later, after the exchange filled the order and the OMS's
        # polling applied the fill.
        kite_server.fault("GET", "/portfolio/positions")  # first read: normal
        kite_server.stall_next("GET", "/portfolio/positions", 2.0, process=True)
        reads = kite_server.count("GET", "/portfolio/positions")
        task = asyncio.ensure_future(h.om.reconcile_positions())
        await until(lambda: kite_server.count("GET", "/portfolio/positions") == reads + 2, 5)
        kite_server.book.fill(result.broker_order_id, 5, "1490")
        await until(lambda: h.om.sync.current(result.order_id) is None, 5)
        assert (await h.pm.get_position("INFY")).quantity == 5
        assert not task.done(), "the fill was not applied inside reconciliation's window"
        outcome = await task
        assert not outcome.mismatches, f"reconciliation 'fixed' a correct position: {outcome}"
        assert (await h.pm.get_position("INFY")).quantity == 5
        await h.audit()
    finally:
        await h.close()
        await broker.close()


# ---------------------------------------------------------------------- the paper broker's faults


async def test_paper_lost_response_without_pushed_updates_is_found_by_tag(paper_oms):
    h = paper_oms
    h.broker.inject_outcome_unknown(accept=True, push_updates=False)
    result = await h.om.place_order(limit("INFY", qty=2, price="1500"))  # marketable: fills
    assert result.status is OrderStatus.PENDING
    await until(lambda: h.om.sync.current(result.order_id) is None, 5)
    order = await h.om.get_order(result.order_id)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 2
    assert len(await h.broker.orders()) == 1
    await h.audit()


async def test_paper_unavailable_and_rejections_are_clear_and_final(paper_oms):
    h = paper_oms
    h.broker.inject_unavailable(count=2)
    for _ in range(2):
        with pytest.raises(OrderSubmissionFailed, match="not sent"):
            await h.om.place_order(limit("INFY", qty=1, price="1400"))
    h.broker.inject_outcome_unknown(accept=False, count=2)
    for _ in range(2):
        result = await h.om.place_order(limit("INFY", qty=1, price="1400"))
        assert result.status is OrderStatus.PENDING
    await until(
        lambda: all("outcome unknown" in (o.status_message or "") for o in h.om.live_orders()), 5
    )
    assert len(h.om.live_orders()) == 2  # never final while the broker may have them
    assert await h.broker.orders() == []
    await h.restart()  # no trace of them at the broker: not sent
    assert all(o.status is OrderStatus.REJECTED for o in await h.om.list_orders())
    await h.audit()


async def test_paper_broker_disk_failure_stops_trading_with_a_clear_error(paper_oms, monkeypatch):
    h = paper_oms
    ok = await h.om.place_order(limit("INFY", qty=1, price="1400"))

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h.broker._store.journal, "append", full)
    result = await h.om.place_order(limit("INFY", qty=1, price="1450"))
    assert result.status is OrderStatus.PENDING  # outcome unknown: looked up, not resent
    with pytest.raises(OrderSubmissionFailed, match="could not save its state"):
        await h.om.place_order(limit("INFY", qty=1, price="1450"))
    await until(
        lambda: "outcome unknown" in (h.om.order_now(result.order_id).status_message or ""), 5
    )
    await h.restart()  # no trace of it at the broker: not sent
    assert (await h.om.get_order(result.order_id)).status is OrderStatus.REJECTED
    assert [o.broker_order_id for o in await h.broker.orders()] == [ok.broker_order_id]
    await h.audit()


# ---------------------------------------------------------------------- the audit trail under races


async def test_modify_rejected_because_the_order_filled_meanwhile_keeps_the_audit_trail_true(
    tmp_path, kite_server, instruments
):
    broker = make_broker(kite_server, timeout=5)  # the slow modify below is answered, late
    h = Oms(path=tmp_path, broker=broker, server=kite_server, instruments=instruments)
    await h.open()
    try:
        result = await place(h, qty=5)
        await until(lambda: h.om.sync.current(result.order_id).status is OrderStatus.OPEN, 5)
        # The modify reaches Kite 1.5 s late; by then the order has filled (and the OMS
        # knows): Kite refuses it ("cannot be modified as it is complete").
        kite_server.stall_next("PUT", rf"{PLACE}/{result.broker_order_id}", 1.5, process=False)
        modify = asyncio.ensure_future(h.om.modify_order(result.order_id, price=D("1491")))
        await until(lambda: kite_server.count("PUT", rf"{PLACE}/\d+") == 1, 5)
        kite_server.book.fill(result.broker_order_id, 5, "1490")
        await until(lambda: h.om.sync.current(result.order_id) is None, 5)  # FILLED
        assert not modify.done()
        with pytest.raises(OrderNotModifiable, match="complete"):
            await modify
        assert (await h.om.get_order(result.order_id)).status is OrderStatus.FILLED
        await h.audit()  # the last status in order_events must be FILLED
    finally:
        await h.close()
        await broker.close()


async def test_outcome_unknown_event_does_not_rewind_an_order_adopted_meanwhile(
    tmp_path, kite_server, instruments
):
    h = await stream_oms(tmp_path, kite_server, instruments, monitor_interval=3600)
    try:
        # Accepted, answer lost; the tag look-ups fail; the exchange fills the order at
        # once and the WebSocket pushes that (with the tag) while the look-ups go on.
        # (the stall is well past the client's 1 s timeout, so the answer is surely lost)
        kite_server.stall_next("POST", PLACE, 2.5, process=True)
        outage = kite_server.fail_next(
            "GET", "/orders", status=503, error_type="NetworkException", times=-1
        )
        placing = asyncio.ensure_future(place(h, qty=3))
        await until(lambda: kite_server.book.orders, 5)
        [order_id] = list(kite_server.book.orders)
        kite_server.book.fill(order_id, 1, "1490")  # partly: the order stays working
        result = await placing  # the adapter could not confirm it: outcome unknown
        kite_server.http.faults.remove(outage)
        assert "finding the order by its tag" in result.message
        order = await h.om.get_order(result.order_id)
        assert order.broker_order_id == order_id  # adopted from the pushed update
        h.om.sync.wake()
        await h.audit()
    finally:
        await h.close()
        await h.broker.close()
