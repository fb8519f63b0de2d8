"""OrderSync: keeping the journal in step with the broker — acknowledgements of our own
requests, pushed updates (applied in groups, one transaction each), the polling fallback,
unknown outcomes, start-up recovery and reconciliation.

Every change of an order, a fill or a position happens under one lock, on the loop thread.
It composes the memory of orders (`LiveOrders`), the fill path (`FillApplier`) and the
reconciliation cycle (`Reconciler`); the group commit and the guard that protects it are
banner sections here, because they work on all of that state at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import Order, OrderReport, OrderStatus
from desktop_oms.domain.events import OrderModified, OrderStatusChanged
from desktop_oms.domain.records import positional
from desktop_oms.infra.clock import utcnow
from desktop_oms.infra.tasks import TaskGroup
from desktop_oms.oms.reconcile.diff import ReconciliationResult
from desktop_oms.oms.reconcile.reconciler import Reconciler
from desktop_oms.oms.sync.fills import FillApplier
from desktop_oms.oms.sync.live_orders import LiveOrders
from desktop_oms.oms.sync.report_terms import TermsGuard
from desktop_oms.oms.sync.reports import (
    fill_gap,
    order_after_report,
    order_with_report_terms,
)
from desktop_oms.storage import explain_storage_error

log = logging.getLogger(__name__)

OUTCOME_UNKNOWN_NOTE = (
    "outcome unknown: not in the broker's order book yet; it was not sent again and is "
    "watched for until the broker shows it"
)

# Pushed updates waiting together are applied as one journal transaction (group commit),
# at most this many at a time; the loop gets a turn between groups.
MAX_GROUP = 256

# Published for every order change, each fill's included (see domain.records).
_status_changed = positional(OrderStatusChanged)
_modified = positional(OrderModified)


class SyncHost(Protocol):
    """What OrderSync uses of the OrderManager that owns it: the journal, the broker, the
    positions and events, the polling settings, and its halting side (a journal that
    cannot be written or read back holds new orders)."""

    db: object
    broker: object
    positions: object
    events: object
    instruments: object
    charges: object
    monitor_interval: float
    reconcile_interval: float
    unknown_outcome_grace: float
    ready: bool

    def alert(self, level: str, message: str, source: str = "oms") -> None: ...

    def halt(self, reason: str, source: str = "kill_switch") -> None: ...

    def resume(self, source: str = "kill_switch") -> None: ...

    def halts(self) -> dict[str, str]: ...


class OrderSync:
    def __init__(self, om: SyncHost) -> None:
        self.om = om
        self.orders = LiveOrders(om.db.journal)
        self.fills = FillApplier(
            om.db,
            self.orders,
            om.positions,
            om.events,
            om,
            self._published,
            instruments=om.instruments,
            charges=om.charges,
        )
        self.reconciler = Reconciler(
            om.broker, self, om.positions, om.db.positions, om.events, om.alert
        )
        self._unknown_outcome: dict[int, float] = {}
        self._fill_gaps: set[int] = set()
        self._terms = TermsGuard()
        self._stale_memory = False
        self._halted_reading = False
        self.lock = asyncio.Lock()
        # Pushed updates with their arrival number (see _next_seq).
        self._queue: asyncio.Queue[tuple[int, BrokerUpdate]] = asyncio.Queue()
        self._seq = 0
        self._enqueued = 0
        self._processed = 0
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        self._reconcile_now = asyncio.Event()
        self._tasks = TaskGroup(om.events.task_failed)
        self._listening = False
        self._stopped = True

    # ================================================================== lifecycle
    async def start(self) -> None:
        om = self.om
        self._load_from_journal()
        if not self._listening:
            om.broker.add_update_listener(self._on_update)
            # A broker with a live stream says when it reconnected (KiteBroker): what
            # changed while offline is read at once — orders and trades by the broker's
            # catch-up and the poll, positions by a reconciliation now, not in up to
            # reconcile_interval (a position closed in Kite web meanwhile must not keep
            # its bracket's stop working: it would open the other side).
            on_catch_up = getattr(om.broker, "add_catch_up_listener", None)
            if on_catch_up is not None:
                on_catch_up(self.reconnected)
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
        self._tasks.periodic(
            "reconciliation",
            lambda: om.reconcile_interval,
            self.reconcile,
            wake=self._reconcile_now,
        )

    async def stop(self) -> None:
        self._stopped = True
        await self._tasks.stop()

    def wake(self) -> None:
        """Poll the broker now (not at the next monitor interval)."""
        self._wake.set()

    def reconnected(self) -> None:
        """The broker's connection is back: poll and reconcile now (loop thread)."""
        if self._stopped:
            return
        self._wake.set()
        self._reconcile_now.set()

    # ================================================================== memory
    def track(self, order: Order) -> None:
        if not self.orders.track(order):
            self._unknown_outcome.pop(order.id, None)
            self._fill_gaps.discard(order.id)
            self._terms.forget(order)

    def current(self, order_id: int) -> Order | None:
        """The live order (None once it is final)."""
        return self.orders.current(order_id)

    def latest(self, order_id: int) -> Order | None:
        """The order as the OMS has it now, live or final (memory first, then the journal)."""
        return self.orders.latest(order_id)

    def active_orders(self) -> list[Order]:
        return self.orders.active()

    def unresolved(self) -> dict[str, int]:
        """What is still being found out: orders whose outcome is unknown, orders whose
        fills the broker reports but has not shown the trades of, trades waiting for
        their order. All zero when the journal is in step with the broker."""
        return {
            "unknown": len(self._unknown_outcome),
            "fill_gaps": len(self._fill_gaps),
            "orphans": len(self.fills.orphans),
        }

    def fill_counts(self) -> dict[tuple, int]:
        """Fills applied so far per position key (the reconciler compares before / after)."""
        return dict(self.fills.fills_by_key)

    def keys_awaiting_fills(self) -> set[tuple]:
        """Positions with an order whose fills the broker reported before its trades."""
        return {
            (o.exchange, o.symbol, o.product)
            for oid in self._fill_gaps
            if (o := self.orders.current(oid)) is not None
        }

    def keys_in_flight(self) -> set[tuple]:
        """Positions with a live order the broker's answer has not been applied for yet
        (placed, no broker order id): the broker may already hold its fills, which the
        journal cannot book until the answer names the order."""
        return {
            (o.exchange, o.symbol, o.product)
            for o in self.orders.active()
            if o.broker_order_id is None
        }

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
                _status_changed(
                    order=after,
                    old_status=before.status,
                    new_status=after.status,
                    reason=reason,
                    at=after.updated_at,
                )
            )
        else:
            self.om.events.publish(_modified(order=after, at=after.updated_at))

    # ================================================================== our own requests
    async def acknowledge(self, order: Order, broker_order_id: str) -> None:
        async with self.lock:
            current = self.orders.find(None, order.client_order_id) or order
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
        async with self.lock:
            current = self.orders.find(None, order.client_order_id) or order
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
        async with self.lock:
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

    # ================================================================== broker facts
    def _on_update(self, update: BrokerUpdate) -> None:
        if self._stopped:
            return
        self._queue.put_nowait((self._next_seq(), update))
        self._enqueued += 1

    async def _consume(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                async with self.lock:
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
            self.apply_reports(update.orders, update.trades, seq=seq)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the rest
            self._tasks.report("order-updates", exc)

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait until pushed updates the broker has made so far are applied (bounded).
        The broker is asked to deliver what it holds back first (`settle`)."""
        target = self._enqueued
        try:
            async with asyncio.timeout(timeout):
                await self.om.broker.settle()
                target = self._enqueued
                async with self._progress:
                    await self._progress.wait_for(lambda: self._processed >= target)
        except TimeoutError:
            log.debug("drain timed out with %d updates pending", target - self._processed)

    def apply_reports(
        self,
        reports: tuple[OrderReport, ...] | list[OrderReport],
        trades,
        now=None,
        seq: int | None = None,
    ) -> None:
        """What the broker says of orders and trades, applied (under the lock)."""
        now = now or utcnow()
        if not reports:  # trades only (a pushed fill): nothing to judge or adopt
            fills = self.fills
            for trade in fills.pending(trades):
                fills.apply(trade, now)
            return
        orders = self.orders
        known: list[tuple[Order, OrderReport]] = []
        for report in reports:
            bid = report.broker_order_id
            if orders.settled_elsewhere(bid):
                continue  # our order, already final: its report cannot change it (trades still apply)
            if orders.foreign(bid) and not orders.has_client_id(report.client_order_id):
                continue  # not placed by this app (e.g. Kite web); reconciliation covers positions
            order = orders.find(bid, report.client_order_id)
            if order is None:
                continue
            if order.broker_order_id is None:
                self._unknown_outcome.pop(order.id, None)
                if order.status.is_terminal and report.status.is_active:
                    # We had given it up (an earlier session found no trace of it); the
                    # broker has it: it is live again, cancellable, covered by the kill switch.
                    reason = (
                        f"found live at the broker as {bid} ({report.status.value}); it had been "
                        f"marked {order.status.value}"
                    )
                    after = order.copy(
                        broker_order_id=bid,
                        status=report.status,
                        status_message=reason,
                        updated_at=now,
                    )
                    self._save(order, after, "FOUND_LIVE", reason)
                    self.om.alert(
                        "error",
                        f"Order #{order.id} {order.symbol} was marked {order.status.value} but the "
                        f"broker has it live ({report.status.value}, broker id {bid}): it is shown "
                        "as working again — check it now",
                    )
                else:
                    after = order.copy(broker_order_id=bid, updated_at=now)
                    self._save(order, after, "ADOPTED", f"found at broker as {bid}")
                order = after
            known.append((order, report))
        # The reports' terms first, then the trades, then the statuses: a fill is judged
        # against the broker's quantity (an order raised elsewhere and filled up to its
        # old quantity still works for the rest), and the status comes from the fills.
        verdicts = []
        for order, report in known:
            current = self.latest(order.id) or order
            verdict = self._terms.judge(current, report, seq)
            verdicts.append(verdict)
            if verdict.take_terms:
                after, reason, adopted = order_with_report_terms(current, report, now)
                if adopted:
                    details = {name: [str(old), str(new)] for name, (old, new) in adopted.items()}
                    self._save(current, after, "TERMS_ADOPTED", reason, details)
        for trade in self.fills.pending(trades):
            self.fills.apply(trade, now)
        for (order, report), verdict in zip(known, verdicts, strict=True):
            current = self.latest(order.id) or order
            after, reason, adopted = order_after_report(
                current,
                report,
                now,
                take_terms=verdict.take_terms,
                take_status=verdict.take_status,
            )
            if after is not current:
                if adopted:
                    kind = "TERMS_ADOPTED"
                elif after.status is not current.status:
                    kind = "STATUS"
                else:
                    kind = "BROKER_UPDATE"
                details = {name: [str(old), str(new)] for name, (old, new) in adopted.items()}
                self._save(current, after, kind, reason, details or None)
            if fill_gap(after, report):
                self._fill_gaps.add(after.id)
                self.wake()
            else:
                self._fill_gaps.discard(after.id)

    # ================================================================== group commit
    def _apply_group(self, group: list[tuple[int, BrokerUpdate]]) -> None:
        """Group commit: every update's order changes, events, fills and positions in one
        journal transaction; subscribers hear of them after it commits. If anything fails
        nothing is written, memory is reloaded from the journal and the updates are applied
        one by one (each in its own transaction, as a lone update is)."""
        om = self.om
        fills = self.fills
        saved = (dict(fills.orphans), set(self._fill_gaps), dict(self._unknown_outcome))
        try:
            now = utcnow()  # one applied-at time for the group (one transaction)
            with om.events.held(), om.db.journal.batch():
                for seq, update in group:
                    self.apply_reports(update.orders, update.trades, now, seq)
        except Exception as exc:  # noqa: BLE001 - fall back to one transaction per update
            log.warning(
                "group of %d broker updates not applied together (%s); applying one by one",
                len(group),
                exc,
            )
            fills.orphans, self._fill_gaps, self._unknown_outcome = saved
            self._drop_memory()  # it holds the group; the journal does not
            self._stale_memory = True
            if self._memory_matches_journal():
                for item in group:
                    self._apply_update(item)
            return
        fills.journal_writable()

    def _load_from_journal(self) -> None:
        """The in-memory view (active orders, known trade ids) as the journal has it."""
        self._drop_memory()
        self.fills.reload()
        for order in self.om.db.journal.list_orders(active_only=True):
            self.track(order)

    def _drop_memory(self) -> None:
        """Forget every order, trade id and position held in memory (no I/O): what is read
        next comes from the journal. After a failed group, memory holds what the journal
        does not, and nothing may read it or write it back."""
        self.orders.clear()
        self.fills.forget()
        self.om.positions.reload()

    def _memory_matches_journal(self) -> bool:
        """After a failed group, memory is ahead of the journal until it is reloaded from
        it. Until then nothing is applied and new orders are held; the broker's orders
        and trades are fetched again (poll) once the reload succeeds."""
        if not self._stale_memory:
            return True
        om = self.om
        try:
            self._load_from_journal()
        except Exception as exc:  # noqa: BLE001 - retried on the next update or poll
            reason = explain_storage_error(exc)
            if "storage" not in om.halts():
                self._halted_reading = True
                om.halt(
                    f"The journal cannot be read back ({reason}); new orders are held",
                    source="storage",
                )
                om.alert(
                    "error",
                    f"Broker updates could not be recorded and the journal cannot be read back "
                    f"({reason}). New orders are held; updates will be fetched from the broker "
                    "again once the journal can be read.",
                    "storage",
                )
            return False
        self._stale_memory = False
        if self._halted_reading:
            self._halted_reading = False
            om.resume("storage")
            om.alert("info", "The journal can be read again: new orders allowed", "storage")
        self.wake()  # poll the broker now: it has what was not applied meanwhile
        return True

    # ================================================================== polling fallback
    async def _poll(self) -> None:
        await self.poll()

    async def poll(self, *, force: bool = False) -> None:
        """Read the broker's orders and trades and apply them (the monitor's fallback; with
        `force`, also when nothing is known to be pending)."""
        om = self.om
        if not om.ready:
            await self.recover()
            return
        async with self.lock:
            if not self._memory_matches_journal():
                return
        idle = not self.orders.live_count() and not self.fills.orphans and not self._fill_gaps
        if idle and not force:
            return
        seq = self._next_seq()
        reports = await om.broker.orders()
        trades = await om.broker.trades()
        async with self.lock:
            if not self._memory_matches_journal():
                return
            self.apply_reports(reports, trades, seq=seq)
            self._resolve_unknown(reports)

    def _resolve_unknown(self, reports) -> None:
        tags = {r.client_order_id for r in reports if r.client_order_id}
        for order_id, since in list(self._unknown_outcome.items()):
            order = self.orders.current(order_id)
            if order is None or order.broker_order_id is not None or order.client_order_id in tags:
                self._unknown_outcome.pop(order_id, None)
                continue
            if time.monotonic() - since >= self.om.unknown_outcome_grace:
                # Never final while the broker may have it: it stays working ("outcome
                # unknown") and is looked for on every poll; a restart that still finds no
                # trace of it at the broker marks it not sent.
                if order.status_message == OUTCOME_UNKNOWN_NOTE:
                    continue
                after = order.copy(status_message=OUTCOME_UNKNOWN_NOTE, updated_at=utcnow())
                self._save(order, after, "OUTCOME_UNKNOWN", OUTCOME_UNKNOWN_NOTE)
                self.om.alert(
                    "warning",
                    f"Order #{order.id} {order.symbol}: {OUTCOME_UNKNOWN_NOTE}. Check Kite's "
                    "order book.",
                )

    async def recover(self) -> None:
        """Start-up recovery: resolve journaled-but-unacknowledged orders, catch up, reconcile."""
        om = self.om
        seq = self._next_seq()
        reports = await om.broker.orders()
        trades = await om.broker.trades()
        async with self.lock:
            tags = {r.client_order_id for r in reports if r.client_order_id}
            self.apply_reports(reports, trades, seq=seq)
            for order in self.orders.active():
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

    # ================================================================== reconciliation
    async def reconcile(self) -> ReconciliationResult:
        return await self.reconciler.run()

    @property
    def last_reconciliation(self) -> ReconciliationResult | None:
        return self.reconciler.last
