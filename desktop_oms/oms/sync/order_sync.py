"""Keeping the journal in step with the broker: acks, pushed updates, polling, recovery,
reconciliation. All state changes happen under one lock, on the loop thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import Order, OrderReport, OrderStatus, TradeReport
from desktop_oms.domain.events import OrderModified, OrderStatusChanged
from desktop_oms.infra.clock import utcnow
from desktop_oms.infra.tasks import TaskGroup
from desktop_oms.oms.reconcile.diff import ReconciliationResult
from desktop_oms.oms.reconcile.reconciler import ReconcilingMixin
from desktop_oms.oms.sync.fills import FillApplyingMixin
from desktop_oms.oms.sync.group_commit import TRADE_KEY_DAYS, GroupCommitMixin  # noqa: F401 - TRADE_KEY_DAYS: its old home
from desktop_oms.oms.sync.report_terms import TermsGuard
from desktop_oms.oms.sync.reports import fill_gap, order_after_report

if TYPE_CHECKING:
    from desktop_oms.oms.order_manager import OrderManager

log = logging.getLogger(__name__)

# Pushed updates waiting together are applied as one journal transaction (group commit),
# at most this many at a time; the loop gets a turn between groups.
MAX_GROUP = 256
# Orders that reached a final status, kept in memory for the answers that follow them
# (place_order's result, a late trade): the journal need not be read for them.
RECENT_FINISHED = 1024


class OrderSync(GroupCommitMixin, FillApplyingMixin, ReconcilingMixin):
    def __init__(self, om: OrderManager) -> None:
        self.om = om
        self._active: dict[int, Order] = {}
        self._by_broker: dict[str, int] = {}
        self._by_client: dict[str, int] = {}
        self._trade_keys: set[tuple[str, str]] = set()
        self._orphan_trades: dict[tuple[str, str], TradeReport] = {}
        self._unknown_outcome: dict[int, float] = {}
        self._fill_gaps: set[int] = set()
        # Negative caches so each poll does not look up the whole day's orders in the journal:
        # broker ids of our orders already terminal, and broker ids that are not ours.
        self._settled: set[str] = set()
        # Fills applied per position key: reconciliation leaves alone a position a fill
        # changed while it was reading the broker (the broker's snapshot may predate it).
        self._fills_by_key: dict[tuple, int] = {}
        self._foreign: set[str] = set()
        self._terms = TermsGuard()
        self._stale_memory = False
        self._halted_reading = False
        self._finished: OrderedDict[int, Order] = OrderedDict()
        self._lock = asyncio.Lock()
        # Pushed updates with their arrival number (see _next_seq).
        self._queue: asyncio.Queue[tuple[int, BrokerUpdate]] = asyncio.Queue()
        self._seq = 0
        self._enqueued = 0
        self._processed = 0
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        self._tasks = TaskGroup(om.events.task_failed)
        self._listening = False
        self.last_reconciliation: ReconciliationResult | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        om = self.om
        self._load_from_journal()
        if not self._listening:
            om.broker.add_update_listener(self._on_update)
            self._listening = True
        self._stopped = False
        await om.broker.start()
        self._tasks.spawn("order-updates", self._consume())
        try:
            await self.recover()
        except Exception as exc:  # noqa: BLE001 - keep trying in the monitor; orders held meanwhile
            om.alert(
                "error",
                f"Start-up reconciliation failed ({exc}); orders are held until it succeeds",
            )
        self._tasks.periodic(
            "order-monitor", lambda: om.monitor_interval, self._poll, wake=self._wake
        )
        self._tasks.periodic("reconciliation", lambda: om.reconcile_interval, self.reconcile)

    async def stop(self) -> None:
        self._stopped = True
        await self._tasks.stop()

    def wake(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ cache
    def track(self, order: Order) -> None:
        if order.status.is_terminal:
            self._forget(order)
            return
        self._active[order.id] = order
        self._finished.pop(order.id, None)
        self._by_client[order.client_order_id] = order.id
        if order.broker_order_id:
            self._by_broker[order.broker_order_id] = order.id
            self._foreign.discard(order.broker_order_id)

    def _forget(self, order: Order) -> None:
        self._active.pop(order.id, None)
        self._finished[order.id] = order
        self._finished.move_to_end(order.id)
        if len(self._finished) > RECENT_FINISHED:
            self._finished.popitem(last=False)
        self._by_client.pop(order.client_order_id, None)
        if order.broker_order_id:
            self._by_broker.pop(order.broker_order_id, None)
            self._settled.add(order.broker_order_id)
            self._foreign.discard(order.broker_order_id)
        self._unknown_outcome.pop(order.id, None)
        self._fill_gaps.discard(order.id)
        self._terms.forget(order)

    def current(self, order_id: int) -> Order | None:
        """The live order (None once it is final)."""
        return self._active.get(order_id)

    def latest(self, order_id: int) -> Order | None:
        """The order as the OMS has it now, live or final (memory first, then the journal)."""
        order = self._active.get(order_id) or self._finished.get(order_id)
        return order if order is not None else self.om.db.journal.get(order_id)

    def active_orders(self) -> list[Order]:
        return sorted(self._active.values(), key=lambda o: o.id)

    def _find(self, broker_order_id: str | None, client_order_id: str | None) -> Order | None:
        if broker_order_id:
            oid = self._by_broker.get(broker_order_id)
            if oid is not None:
                return self._active[oid]
        if client_order_id:
            oid = self._by_client.get(client_order_id)
            if oid is not None:
                return self._active[oid]
        if broker_order_id in self._foreign and not client_order_id:
            return None
        journal = self.om.db.journal
        order = journal.get_by_broker_id(broker_order_id) if broker_order_id else None
        if order is None and client_order_id:
            order = journal.get_by_client_id(client_order_id)
        if order is None and broker_order_id:
            self._foreign.add(broker_order_id)
        elif order is not None and order.broker_order_id and order.status.is_terminal:
            self._settled.add(order.broker_order_id)
        return order

    def _save(
        self,
        before: Order,
        after: Order,
        event_type: str,
        reason: str | None,
        details: dict | None = None,
    ) -> None:
        self.om.db.journal.save(before, after, event_type, reason, details)
        self._published(before, after, reason)

    def _published(self, before: Order, after: Order, reason: str | None) -> None:
        self.track(after)
        if after.status is not before.status:
            self.om.events.publish(
                OrderStatusChanged(after, before.status, after.status, reason, after.updated_at)
            )
        else:
            self.om.events.publish(OrderModified(after, after.updated_at))

    # ------------------------------------------------------------------ our own requests
    async def acknowledge(self, order: Order, broker_order_id: str) -> None:
        async with self._lock:
            current = self._find(None, order.client_order_id) or order
            self._unknown_outcome.pop(order.id, None)
            changes = {}
            if current.broker_order_id is None:
                changes["broker_order_id"] = broker_order_id
            if current.status is OrderStatus.PENDING:
                changes["status"] = OrderStatus.SUBMITTED
            if changes:
                after = current.copy(updated_at=utcnow(), **changes)
                self._save(current, after, "ACKNOWLEDGED", f"broker order id {broker_order_id}")

    async def finish_unsent(self, order: Order, status: OrderStatus, reason: str) -> None:
        async with self._lock:
            current = self._find(None, order.client_order_id) or order
            if current.status.is_terminal:
                return
            after = current.copy(status=status, status_message=reason, updated_at=utcnow())
            self._save(current, after, "STATUS", reason)

    async def mark_outcome_unknown(self, order: Order, message: str) -> None:
        current = self.latest(order.id) or order
        self.om.db.journal.add_event(order.id, "OUTCOME_UNKNOWN", message, current.status)
        self._unknown_outcome[order.id] = time.monotonic()
        self.om.alert(
            "warning",
            f"Order #{order.id} {order.symbol}: broker response lost ({message}); looking it up by tag",
        )
        self.wake()

    async def modified(self, order_id: int, **values) -> None:
        async with self._lock:
            current = self.latest(order_id)
            if current is None:
                return
            changes = {k: v for k, v in values.items() if v is not None}
            self._terms.modified(order_id, changes)
            after = current.copy(
                modification_count=current.modification_count + 1, updated_at=utcnow(), **changes
            )
            self._save(
                current,
                after,
                "MODIFIED",
                "modified: " + ", ".join(f"{k} {v}" for k, v in changes.items()),
                changes,
            )

    # ------------------------------------------------------------------ broker facts
    def _on_update(self, update: BrokerUpdate) -> None:
        if getattr(self, "_stopped", True):
            return
        self._queue.put_nowait((self._next_seq(), update))
        self._enqueued += 1

    async def _consume(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                async with self._lock:
                    # While memory cannot be reloaded the group is dropped: the poll
                    # fetches the broker's orders and trades again once it can.
                    if self._memory_matches_journal():
                        if len(group) == 1:
                            self._apply_update(group[0])
                        else:
                            self._apply_group(group)
            except Exception as exc:  # noqa: BLE001 - the consumer must outlive any update
                self._tasks.report("order-updates", exc)
            finally:
                async with self._progress:
                    self._processed += len(group)
                    self._progress.notify_all()
            await asyncio.sleep(0)

    def _next_seq(self) -> int:
        """Arrival order of broker information: a pushed update when it arrives, a poll
        when it starts fetching. A report fetched before one already applied arrived cannot
        set an order's terms (TermsGuard), whatever its timestamp (Kite's are whole seconds)."""
        self._seq += 1
        return self._seq

    def _apply_update(self, item: tuple[int, BrokerUpdate]) -> None:
        seq, update = item
        try:
            self._apply(update.orders, update.trades, seq=seq)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the rest
            self._tasks.report("order-updates", exc)

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait until pushed updates the broker has made so far are applied (bounded).
        A broker with `settle()` (the paper broker) is asked to deliver what it holds back
        first; the others' pushes arrive on their own."""
        settle = getattr(self.om.broker, "settle", None)
        try:
            async with asyncio.timeout(timeout):
                if settle is not None:
                    await settle()
                else:
                    await asyncio.sleep(0)
                target = self._enqueued
                async with self._progress:
                    await self._progress.wait_for(lambda: self._processed >= target)
        except TimeoutError:
            log.debug("drain timed out with %d updates pending", target - self._processed)

    def _apply(
        self,
        reports: tuple[OrderReport, ...] | list[OrderReport],
        trades,
        now=None,
        seq: int | None = None,
    ) -> None:
        now = now or utcnow()
        known: list[tuple[Order, OrderReport]] = []
        for report in reports:
            bid = report.broker_order_id
            if bid in self._settled and bid not in self._by_broker:
                continue  # our order, already final: its report cannot change it (trades still apply)
            if bid in self._foreign and report.client_order_id not in self._by_client:
                continue  # not placed by this app (e.g. Kite web); reconciliation covers positions
            order = self._find(bid, report.client_order_id)
            if order is None:
                continue
            if order.broker_order_id is None:
                after = order.copy(broker_order_id=bid, updated_at=now)
                self._save(order, after, "ADOPTED", f"found at broker as {bid}")
                self._unknown_outcome.pop(order.id, None)
                if order.status.is_terminal and report.status.is_active:
                    self.om.alert(
                        "error",
                        f"Order #{order.id} {order.symbol} was marked {order.status.value} but the broker "
                        f"has it live ({report.status.value}, broker id {bid}): check it now",
                    )
                order = after
            known.append((order, report))
        pending = list(self._orphan_trades.values()) + [
            t for t in trades if (t.exchange, t.trade_id) not in self._trade_keys
        ]
        self._orphan_trades.clear()
        for trade in sorted(pending, key=lambda t: (t.timestamp, t.trade_id)):
            self._apply_trade(trade, now)
        for order, report in known:
            current = self.latest(order.id) or order
            after, reason = order_after_report(
                current, report, now, take_terms=self._terms.takes_terms(current, report, seq)
            )
            if after is not current:
                self._save(
                    current,
                    after,
                    "STATUS" if after.status is not current.status else "BROKER_UPDATE",
                    reason,
                )
            if fill_gap(after, report):
                self._fill_gaps.add(after.id)
                self.wake()
            else:
                self._fill_gaps.discard(after.id)

    # ------------------------------------------------------------------ polling fallback
    async def _poll(self) -> None:
        om = self.om
        if not om.ready:
            await self.recover()
            return
        async with self._lock:
            if not self._memory_matches_journal():
                return
        if not self._active and not self._orphan_trades and not self._fill_gaps:
            return
        seq = self._next_seq()
        reports = await om.broker.orders()
        trades = await om.broker.trades()
        async with self._lock:
            if not self._memory_matches_journal():
                return
            self._apply(reports, trades, seq=seq)
            self._resolve_unknown(reports)

    def _resolve_unknown(self, reports) -> None:
        tags = {r.client_order_id for r in reports if r.client_order_id}
        for order_id, since in list(self._unknown_outcome.items()):
            order = self._active.get(order_id)
            if order is None or order.broker_order_id is not None or order.client_order_id in tags:
                self._unknown_outcome.pop(order_id, None)
                continue
            if time.monotonic() - since >= self.om.unknown_outcome_grace:
                reason = "Broker has no record of this order (its request was lost); it was not sent again"
                after = order.copy(
                    status=OrderStatus.REJECTED, status_message=reason, updated_at=utcnow()
                )
                self._save(order, after, "STATUS", reason)
                self.om.alert("warning", f"Order #{order.id} {order.symbol}: {reason}")

    async def recover(self) -> None:
        """Start-up recovery: resolve journaled-but-unacknowledged orders, catch up, reconcile."""
        om = self.om
        seq = self._next_seq()
        reports = await om.broker.orders()
        trades = await om.broker.trades()
        async with self._lock:
            tags = {r.client_order_id for r in reports if r.client_order_id}
            self._apply(reports, trades, seq=seq)
            for order in list(self._active.values()):
                if (
                    order.status is OrderStatus.PENDING
                    and order.broker_order_id is None
                    and order.client_order_id not in tags
                ):
                    reason = "not sent (recovered after restart)"
                    after = order.copy(
                        status=OrderStatus.REJECTED, status_message=reason, updated_at=utcnow()
                    )
                    self._save(order, after, "RECOVERED", reason)
        await self.reconcile()
        om.ready = True
