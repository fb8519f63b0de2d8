"""Brackets: a stop-loss that rests at the broker and a target the app watches.

An entry order with `stop_loss` and/or `take_profit` (sent by the trader, not by the
system) becomes a bracket when it is journaled (a `bracket_links` row).

The design never leaves a position doubled: at any moment ONE exit order of the bracket
works at the broker. The stop rests there (it protects the position while the app is
closed, asleep or offline); the target is watched by the app, which exits when the last
price reaches it — the stop is cancelled first, then a reduce-only MARKET order closes
what the bracket holds (a stop that filled meanwhile leaves nothing to send). If the app
is closed when the price passes the target, nothing exits there: the stop still protects
the position, and when the app starts and the price is still beyond the target it exits
then. (README: "Brackets when the app is closed".)

One rule is kept true, by one worker task, one action at a time:

    the bracket's working stop orders cover exactly its open quantity

where open quantity = entry quantity filled - quantity all its exits filled, capped by
the position actually held (after orders of other kinds on the exit side, and other
brackets on the same instrument, earlier first). So:
- the entry fills (also partly): the stop is placed, or grown, for the filled quantity —
  SL-M at the stop (Kite adds market protection), or an SL (a limit `stop_limit_buffer_pct`
  beyond the trigger) where SL-M is not allowed (NSE/BSE options), or MARKET if the price
  is already through it — reduce-only, source "bracket", parent_order_id = the entry;
- the position shrinks (a partial exit): the stop shrinks by as much;
- the position is closed some other way (by hand, the kill switch): the stop goes.
Growing and shrinking modify a working order's quantity where the broker allows it, else
place or cancel one. The rule is recomputed from the journal (which the OMS keeps in step
with the broker), so after a restart `start()` simply re-attaches: links from the
database, orders and fills from the journal as reconciled with the broker's state.

A leg cancelled by anyone but the bracket (the trader in the blotter, the kill switch) is
no longer managed (the trader meant it). A leg the broker rejects is retried up to
`max_failures` times, then given up with an error alert: the position is UNPROTECTED.
While trading is halted no leg is placed or grown (the kill switch owns the position).

The stop can be moved (`move_stop`, `stop_to_break_even`) and can trail the price by a
number of ticks (`trail_stop`; kept in the database's state, so it survives a restart);
the target can be moved too (`move_target`: the app watches it, so only the bracket's
record changes).

`BracketManager` is one class in banner sections: construction, start/stop and the
re-attachment after a restart; the bracket links (what a bracket is, its persistence);
the event handlers (they only mark a bracket dirty); the worker and the rule it keeps;
placing, growing and shrinking the legs (one-cancels-other); the views the window and
the risk monitor read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from desktop_oms.domain import (
    MODIFIABLE_STATUSES,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Validity,
)
from desktop_oms.domain.events import (
    FillApplied,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
    QuotesUpdated,
)
from desktop_oms.domain.money import round_to_tick
from desktop_oms.oms.errors import OrderNotCancellable, OrderNotModifiable, OrderRejected
from desktop_oms.risk.checks.context import SYSTEM_SOURCES
from desktop_oms.risk.events import BracketChanged, BracketView
from desktop_oms.storage.risk_store import BracketLink, RiskStore

log = logging.getLogger(__name__)


STOP = "stop"


TARGET = "target"


MAX_MODIFICATIONS = 24  # Kite allows 25 per order; keep one for the trader
STOP_LIMIT_BUFFER_PCT = Decimal("5")  # an SL stop's limit, this far beyond its trigger
OPTION_SEGMENTS = frozenset({"NFO", "BFO"})  # where options forbid SL-M (NSE since 2021)
TRAIL_STATE = "bracket_trail:"  # + entry id -> ticks, in the database's key-value state


def leg_of(order: Order) -> str:
    """A resting LIMIT exit is a target (brackets made before targets were watched);
    anything else the bracket sends is its stop or an exit at market - also once the
    broker's market protection made it a LIMIT (`sent_type`: a triggered SL-M stop)."""
    return TARGET if order.sent_type is OrderType.LIMIT else STOP


def stop_order_terms(
    side: OrderSide,
    trigger: Decimal,
    tick: Decimal,
    *,
    sl_m_allowed: bool,
    buffer_pct: Decimal = STOP_LIMIT_BUFFER_PCT,
) -> tuple[OrderType, Decimal | None, Decimal]:
    """(order type, limit price, trigger) of a stop exit on `side`: SL-M where allowed,
    else an SL whose limit is `buffer_pct` beyond the trigger (at least one tick), on the
    tick, so the stop still fills in a fast market."""
    if sl_m_allowed:
        return OrderType.SL_M, None, trigger
    buffer = max(trigger * buffer_pct / Decimal(100), tick)
    if side is OrderSide.SELL:
        price = round_to_tick(max(trigger - buffer, tick), tick, "down")
    else:
        price = round_to_tick(trigger + buffer, tick, "up")
    return OrderType.SL, price, trigger


def is_entry(order: Order) -> bool:
    return (
        (order.stop_loss is not None or order.take_profit is not None)
        and order.source not in SYSTEM_SOURCES
        and order.parent_order_id is None
    )


class BracketManager:
    def __init__(
        self,
        order_manager,
        store: RiskStore,
        *,
        last_price: Callable[[str, str], Decimal | None] | None = None,
        retry_delay: float = 1.0,
        max_failures: int = 3,
        max_actions: int = 20,
    ) -> None:
        self.om = order_manager
        self.store = store
        self.events = order_manager.events
        self.last_price = last_price
        self.retry_delay = retry_delay
        self.max_failures = max_failures
        self.max_actions = max_actions
        self.task_group = None
        self._links: dict[int, BracketLink] = {}
        self._exits: dict[int, set[int]] = {}
        self._parent: dict[int, int] = {}
        self._cancelling: set[int] = set()
        self._failures: dict[tuple[int, str], int] = {}
        self._hold: dict[tuple[int, str], float] = {}  # no new placement on a leg before this
        self._actions: dict[int, int] = {}
        self._warned: set[tuple[int, str]] = set()
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._retry_handles: dict[int, asyncio.TimerHandle] = {}
        # Brackets whose target was reached: they are exiting (the stop is cancelled, then
        # one market order closes what the bracket holds). Entry id -> why.
        self._closing: dict[int, str] = {}
        self._closing_exits: dict[int, set[int]] = {}  # the market exits sent at a target
        self._trail: dict[int, int] = {}  # entry id -> ticks the stop trails the price by
        self.stop_limit_buffer_pct = STOP_LIMIT_BUFFER_PCT
        self.idle = asyncio.Event()
        self.idle.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Re-attach active brackets and start managing them (the OMS must be started)."""
        if self._unsubscribe:
            return
        for link in self.store.brackets(active_only=True):
            self._attach(link)
            ticks = self.store.db.get_state(f"{TRAIL_STATE}{link.entry_order_id}")
            if ticks:
                self._trail[link.entry_order_id] = int(ticks)
        for order in self.om.live_orders():  # an entry journaled just before a crash
            if is_entry(order) and order.id not in self._links:
                self._link(order)
        bus = self.events
        self._unsubscribe = [
            bus.subscribe(OrderStatusChanged, self._on_status),
            bus.subscribe(FillApplied, self._on_fill),
            bus.subscribe(OrderModified, self._on_modified),
            bus.subscribe(PositionChanged, self._on_position),
            bus.subscribe(QuotesUpdated, self._on_quotes),
        ]
        coro = self.run()
        if self.task_group is not None:
            self._task = self.task_group.spawn("brackets", coro)
        else:
            self._task = asyncio.ensure_future(coro)
        for entry_id in self._links:
            self.mark_dirty(entry_id)

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for handle in self._retry_handles.values():
            handle.cancel()
        self._retry_handles.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    # ==================================================================
    # Bracket links: attach, link, disable a leg, close, publish.
    # ==================================================================

    def _attach(self, link: BracketLink) -> None:
        self._links[link.entry_order_id] = link
        exits = set(self.store.exit_order_ids(link.entry_order_id))
        self._exits[link.entry_order_id] = exits
        for exit_id in exits:
            self._parent[exit_id] = link.entry_order_id

    def _link(self, order: Order) -> None:
        link = BracketLink(
            entry_order_id=order.id,
            exchange=order.exchange,
            symbol=order.symbol,
            product=order.product,
            side=order.side,
            stop_loss=order.stop_loss,
            take_profit=order.take_profit,
            stop_enabled=order.stop_loss is not None,
            target_enabled=order.take_profit is not None,
        )
        try:
            if not self.store.add_bracket(link):
                link = self.store.bracket(order.id) or link
        except Exception:  # noqa: BLE001 - managed in memory; re-linked from the order at restart
            log.exception("could not persist the bracket of order %s", order.id)
        self._links[order.id] = link
        self._exits.setdefault(order.id, set())

    # ------------------------------------------------------------------ records
    def _disable(self, entry_id: int, leg: str, why: str) -> None:
        link = self._links.get(entry_id)
        if link is None:
            return
        field = "stop_enabled" if leg == STOP else "target_enabled"
        if not getattr(link, field):
            return
        self._links[entry_id] = replace(link, **{field: False})
        try:
            self.store.update_bracket(entry_id, **{field: False})
        except Exception:  # noqa: BLE001
            log.exception("could not save bracket #%s", entry_id)
        name = "stop-loss" if leg == STOP else "take-profit"
        self.om.alert("info", f"Bracket of order #{entry_id}: {name} {why}", "brackets")

    def _close(self, link: BracketLink, why: str) -> None:
        closed = replace(link, status="closed", status_message=why)
        self._links[link.entry_order_id] = closed
        try:
            self.store.update_bracket(link.entry_order_id, status="closed", status_message=why)
        except Exception:  # noqa: BLE001
            log.exception("could not save bracket #%s", link.entry_order_id)
        entry = self._order(link.entry_order_id)
        if entry is not None:
            self._publish(closed, entry, self._exit_orders(link.entry_order_id), 0)

    def _publish(self, link: BracketLink, entry: Order, exits: list[Order], exposure: int) -> None:
        self.events.publish(BracketChanged(self._view(link, entry, exits, exposure)))

    # ==================================================================
    # Event handlers of the bracket manager; they only mark brackets dirty.
    # ==================================================================

    # ------------------------------------------------------------------ events
    def _on_status(self, event: OrderStatusChanged) -> None:
        order = event.order
        if event.old_status is None and is_entry(order) and order.id not in self._links:
            self._link(order)
        if order.id in self._links:
            self.mark_dirty(order.id)
            return
        parent = self._exit_parent(order)
        if parent is None:
            # Another order on a bracketed instrument changes what the exits may cover.
            self._touch((order.exchange, order.symbol, order.product))
            return
        if event.new_status is OrderStatus.CANCELLED:
            if order.id in self._cancelling:
                self._cancelling.discard(order.id)
            else:
                self._disable(
                    parent, leg_of(order), "cancelled outside the bracket: no longer managed"
                )
        elif (
            event.new_status is OrderStatus.REJECTED and event.old_status is not OrderStatus.PENDING
        ):
            # Rejected after the broker took it (a refusal at placement is counted in _place).
            self._failed(parent, leg_of(order), order.status_message or "rejected")
        self.mark_dirty(parent)

    def _on_fill(self, event: FillApplied) -> None:
        order = event.order
        if order.id in self._links:
            self.mark_dirty(order.id)
            return
        parent = self._exit_parent(order)
        if parent is not None:
            self._failures.pop((parent, leg_of(order)), None)
            self._hold.pop((parent, leg_of(order)), None)
            self.mark_dirty(parent)

    def _on_modified(self, event: OrderModified) -> None:
        order = event.order
        parent = order.id if order.id in self._links else self._exit_parent(order)
        if parent is not None:
            self.mark_dirty(parent)

    def _on_position(self, event: PositionChanged) -> None:
        self._touch(event.position.key)

    def _on_quotes(self, event: QuotesUpdated) -> None:
        """A watched target reached, or a trailing stop to move: look at those brackets."""
        moved = {(t.exchange, t.symbol) for t in event.ticks}
        for entry_id, link in self._links.items():
            if not link.active or (link.exchange, link.symbol) not in moved:
                continue
            if entry_id in self._trail or (
                link.target_enabled and link.take_profit is not None and self._target_reached(link)
            ):
                self.mark_dirty(entry_id)

    def _touch(self, key) -> None:
        for entry_id, link in self._links.items():
            if link.active and link.key == key:
                self.mark_dirty(entry_id)

    def _exit_parent(self, order: Order) -> int | None:
        if order.source != "bracket" or order.parent_order_id not in self._links:
            return None
        parent = order.parent_order_id
        if order.id not in self._parent:
            self._parent[order.id] = parent
            self._exits.setdefault(parent, set()).add(order.id)
        return parent

    def mark_dirty(self, entry_id: int) -> None:
        self._dirty.add(entry_id)
        self.idle.clear()
        self._wake.set()

    # ==================================================================
    # The worker loop and `_reconcile`, one step towards the rule.
    # ==================================================================

    # ------------------------------------------------------------------ worker
    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                entry_id = min(self._dirty)
                self._dirty.discard(entry_id)
                try:
                    acted = await self._reconcile(entry_id)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried; the trader is told
                    log.exception("bracket #%s", entry_id)
                    self._alert_once(
                        entry_id,
                        "error",
                        "warning",
                        f"Bracket of order #{entry_id}: {exc}; retrying",
                    )
                    self._retry_later(entry_id)
                    continue
                if acted:
                    count = self._actions.get(entry_id, 0) + 1
                    self._actions[entry_id] = count
                    if count >= self.max_actions:
                        self._alert_once(
                            entry_id, "busy", "warning",
                            f"Bracket of order #{entry_id} keeps changing; pausing {self.retry_delay:g} s",
                        )  # fmt: skip
                        self._actions[entry_id] = 0
                        self._retry_later(entry_id)
                    else:
                        self._dirty.add(entry_id)
                    await asyncio.sleep(0)  # let pushed updates land before the next look
                else:
                    self._actions.pop(entry_id, None)
            if not self._dirty:
                self.idle.set()

    def _retry_later(self, entry_id: int) -> None:
        if entry_id in self._retry_handles:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._retry_handles.pop(entry_id, None)
            self.mark_dirty(entry_id)

        self._retry_handles[entry_id] = loop.call_later(self.retry_delay, fire)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until the worker has nothing left to do (tests; a bounded wait)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            await self.om.drain()
            if self.idle.is_set() and not self._dirty:
                await asyncio.sleep(0.01)
                if self.idle.is_set() and not self._dirty:
                    return
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ state
    def _order(self, order_id: int) -> Order | None:
        return self.om.order_now(order_id)

    def _exit_orders(self, entry_id: int) -> list[Order]:
        out = []
        for exit_id in sorted(self._exits.get(entry_id, ())):
            order = self._order(exit_id)
            if order is not None:
                out.append(order)
        return out

    def _exposure(self, entry: Order, exits: list[Order]) -> int:
        return entry.filled_quantity - sum(e.filled_quantity for e in exits)

    def _allocation(self, link: BracketLink) -> int:
        """How much of the position this bracket may protect (see the module docstring)."""
        held = self.om.positions.peek(*link.key).quantity * link.side.sign
        available = max(held, 0)
        exit_side = link.side.opposite
        others = sum(
            max(o.quantity - o.filled_quantity, 0)
            for o in self.om.live_orders()
            if (o.exchange, o.symbol, o.product) == link.key
            and o.side is exit_side
            and o.source != "bracket"
        )
        available = max(available - others, 0)
        for entry_id in sorted(self._links):
            other = self._links[entry_id]
            if not other.active or other.key != link.key or other.side is not link.side:
                continue
            entry = self._order(entry_id)
            if entry is None:
                continue
            give = min(max(self._exposure(entry, self._exit_orders(entry_id)), 0), available)
            if entry_id == link.entry_order_id:
                return give
            available -= give
        return 0

    def _failed(self, entry_id: int, leg: str, why: str) -> None:
        key = (entry_id, leg)
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        name = "stop-loss" if leg == STOP else "take-profit"
        if count >= self.max_failures:
            self._disable(
                entry_id, leg, f"could not be placed ({why}); gave up after {count} tries"
            )
            self.om.alert(
                "error",
                f"Bracket of order #{entry_id}: the {name} could not be placed ({why}). "
                f"The position is UNPROTECTED on that side.",
                "brackets",
            )
        else:
            self.om.alert(
                "warning",
                f"Bracket of order #{entry_id}: {name} refused ({why}); retrying",
                "brackets",
            )
            self._hold[key] = time.monotonic() + self.retry_delay * count
            self._retry_later(entry_id)

    def _alert_once(self, entry_id: int, kind: str, level: str, message: str) -> None:
        if (entry_id, kind) in self._warned:
            return
        self._warned.add((entry_id, kind))
        self.om.alert(level, message, "brackets")

    # ------------------------------------------------------------------ the rule
    async def _reconcile(self, entry_id: int) -> bool:
        """One step towards the rule; True if it acted (look again), False if settled."""
        link = self._links.get(entry_id)
        if link is None or not link.active:
            return False
        if not self.om.ready:
            self._retry_later(entry_id)
            return False
        entry = self._order(entry_id)
        if entry is None:
            return False
        exits = self._exit_orders(entry_id)
        exposure = self._exposure(entry, exits)
        if exposure < 0:
            self._alert_once(
                entry_id, "over", "error",
                f"Bracket of order #{entry_id}: exits filled {-exposure} more than the entry; check the position",
            )  # fmt: skip
        target = min(max(exposure, 0), self._allocation(link))
        managed = []
        if link.stop_enabled and link.stop_loss is not None:
            managed.append(STOP)
        if (
            entry_id not in self._closing
            and exposure > 0
            and link.target_enabled
            and link.take_profit is not None
            and not self.om.halted
            and time.monotonic() >= self._hold.get((entry_id, TARGET), 0.0)
            and self._target_reached(link)
        ):
            self._closing[entry_id] = f"target {link.take_profit} reached"
            self._note_bracket(
                entry_id,
                f"target {link.take_profit} reached: the stop goes, then an exit at market",
            )
        if entry_id in self._closing:
            return await self._exit_at_target(link, entry, exits, exposure, target)
        # Shrink first: an exit larger than the position could reverse it. The target is
        # watched, never resting: a resting target (a bracket from before) is cancelled,
        # so only the stop works at the broker.
        for leg in (STOP, TARGET):
            working = [e for e in exits if leg_of(e) == leg and e.status.is_active]
            covered = sum(max(e.quantity - e.filled_quantity, 0) for e in working)
            allowed = target if leg == STOP else 0
            if covered > allowed:
                if await self._shrink(working, covered - allowed):
                    return True
        if STOP in managed and exposure > 0 and await self._follow_stop(link, exits):
            return True
        for leg in managed:
            working = [e for e in exits if leg_of(e) == leg and e.status.is_active]
            covered = sum(max(e.quantity - e.filled_quantity, 0) for e in working)
            if covered < target:
                if self.om.halted:
                    continue  # the kill switch (or a halt) owns the position now
                if any(e.broker_order_id is None for e in working):
                    continue  # one is in flight; look again when it is acknowledged
                if time.monotonic() < self._hold.get((entry_id, leg), 0.0):
                    self._retry_later(entry_id)
                    continue  # refused a moment ago: retry after the delay
                await self._grow(link, entry, leg, working, target - covered)
                return True
        self._publish(link, entry, exits, exposure)
        if entry.status.is_terminal and not any(e.status.is_active for e in exits):
            if target == 0 or not managed:
                if exposure <= 0 and entry.filled_quantity > 0:
                    why = "closed: position exited"
                elif entry.filled_quantity == 0:
                    why = f"closed: entry {entry.status.value.lower()} without a fill"
                elif not managed:
                    why = "closed: no exit left to manage"
                else:
                    why = "closed: position closed outside the bracket"
                self._close(link, why)
        return False

    # ------------------------------------------------------------------ the target
    def _target_reached(self, link: BracketLink) -> bool:
        last = self.last_price(link.exchange, link.symbol) if self.last_price else None
        if last is None or link.take_profit is None:
            return False
        return last >= link.take_profit if link.side is OrderSide.BUY else last <= link.take_profit

    async def _exit_at_target(
        self, link: BracketLink, entry: Order, exits: list[Order], exposure: int, quantity: int
    ) -> bool:
        """The target was reached: the stop (and any resting target) goes first — never two
        exits working at once — then one reduce-only market order closes what the bracket
        holds. A refused exit puts the stop back and watches the target again later."""
        entry_id = link.entry_order_id
        working = [e for e in exits if e.status.is_active]
        refused = [
            e for e in exits
            if e.status is OrderStatus.REJECTED and e.sent_type is OrderType.MARKET
            and e.id in self._closing_exits.get(entry_id, ())
        ]  # fmt: skip
        if refused:
            why = refused[-1].status_message or "rejected"
            self._closing.pop(entry_id, None)
            self._closing_exits.pop(entry_id, None)
            self._hold[(entry_id, TARGET)] = time.monotonic() + self.retry_delay * 5
            self.om.alert(
                "error",
                f"Bracket of order #{entry_id}: the exit at the target was refused ({why}); "
                "the stop-loss is placed again",
                "brackets",
            )
            return True
        others = [e for e in working if e.sent_type is not OrderType.MARKET]
        if others:
            if any(e.broker_order_id is None for e in others):
                self._retry_later(entry_id)
                return False  # in flight: cancel it once the broker knows it
            for order in others:
                self._cancelling.add(order.id)
                try:
                    await self.om.cancel_order(order.id)
                    self._note(order, f"cancelled by the bracket: {self._closing[entry_id]}")
                except OrderNotCancellable:
                    self._cancelling.discard(order.id)  # filled meanwhile: look again
            return True
        if exposure <= 0 or quantity <= 0:
            self._closing.pop(entry_id, None)
            self._closing_exits.pop(entry_id, None)
            self._publish(link, entry, exits, exposure)
            if entry.status.is_terminal:
                self._close(link, "closed: target reached")
            return False
        if working:
            return False  # the exit at market is working: wait for its fill
        if self.om.halted:
            return False  # the kill switch owns the position now
        result = await self._send_exit(link, entry, quantity, f"target {link.take_profit} reached")
        if result is not None:
            self._closing_exits.setdefault(entry_id, set()).add(result)
        return True

    async def _send_exit(self, link: BracketLink, entry: Order, quantity: int, why: str):
        request = OrderRequest(
            symbol=link.symbol,
            exchange=link.exchange,
            side=link.side.opposite,
            quantity=quantity,
            order_type=OrderType.MARKET,
            product=link.product,
            validity=Validity.DAY,
            strategy_id=entry.strategy_id,
            parent_order_id=entry.id,
            reduce_only=True,
            source="bracket",
        )
        try:
            result = await self.om.place_order(request)
        except Exception as exc:  # noqa: BLE001 - the stop goes back on; the target is watched again
            self._closing.pop(entry.id, None)
            self._hold[(entry.id, TARGET)] = time.monotonic() + self.retry_delay * 5
            self.om.alert(
                "error",
                f"Bracket of order #{entry.id}: the exit at the target was not sent ({exc}); "
                "the stop-loss is placed again",
                "brackets",
            )
            return None
        self._parent[result.order_id] = entry.id
        self._exits.setdefault(entry.id, set()).add(result.order_id)
        self.om.alert(
            "info",
            f"Bracket of order #{entry.id}: {why}: {link.side.opposite.value} {quantity} "
            f"{link.symbol} at market (#{result.order_id})",
            "brackets",
        )
        return result.order_id

    # ------------------------------------------------------------------ moving the stop
    async def _follow_stop(self, link: BracketLink, exits: list[Order]) -> bool:
        """A trailing stop moves with the price; working stops follow the bracket's stop
        (after move_stop or a trail). True if it acted."""
        entry_id = link.entry_order_id
        ticks = self._trail.get(entry_id)
        if ticks:
            trailed = self._trailed_stop(link, ticks)
            if trailed is not None:
                link = self._set_stop(link, trailed, f"trailing {ticks} ticks")
        for order in exits:
            if (
                not order.status.is_active
                or leg_of(order) != STOP
                or order.order_type not in (OrderType.SL, OrderType.SL_M)
                or order.trigger_price == link.stop_loss
                or order.broker_order_id is None
                or order.status not in MODIFIABLE_STATUSES
                or order.modification_count >= MAX_MODIFICATIONS
            ):
                continue
            changes: dict = {"trigger_price": link.stop_loss}
            if order.order_type is OrderType.SL and order.price is not None:
                tick = self._tick(link)
                _kind, price, _t = stop_order_terms(
                    order.side, link.stop_loss, tick, sl_m_allowed=False,
                    buffer_pct=self.stop_limit_buffer_pct,
                )  # fmt: skip
                changes["price"] = price
            try:
                await self.om.modify_order(order.id, **changes)
                self._note(order, f"stop moved to {link.stop_loss}")
            except (OrderNotModifiable, OrderRejected) as exc:
                reason = getattr(exc, "reason", None) or str(exc)
                self._alert_once(
                    entry_id, f"move-{link.stop_loss}", "warning",
                    f"Bracket of order #{entry_id}: the stop could not be moved to "
                    f"{link.stop_loss} ({reason})",
                )  # fmt: skip
                continue
            return True
        return False

    def _trailed_stop(self, link: BracketLink, ticks: int) -> Decimal | None:
        last = self.last_price(link.exchange, link.symbol) if self.last_price else None
        if last is None or link.stop_loss is None:
            return None
        distance = self._tick(link) * ticks
        if link.side is OrderSide.BUY:
            candidate = round_to_tick(last - distance, self._tick(link), "down")
            return candidate if candidate > link.stop_loss else None
        candidate = round_to_tick(last + distance, self._tick(link), "up")
        return candidate if candidate < link.stop_loss else None

    def _set_stop(self, link: BracketLink, stop: Decimal, why: str) -> BracketLink:
        link = replace(link, stop_loss=stop)
        self._links[link.entry_order_id] = link
        try:
            self.store.update_bracket(link.entry_order_id, stop_loss=stop)
        except Exception:  # noqa: BLE001 - kept in memory; the working stop is at the broker
            log.exception("could not save bracket #%s", link.entry_order_id)
        self._note_bracket(link.entry_order_id, f"stop moved to {stop} ({why})")
        return link

    def _tick(self, link: BracketLink) -> Decimal:
        instruments = self.om.instruments
        inst = instruments.get(link.exchange, link.symbol) if instruments is not None else None
        return inst.tick_size if inst is not None else Decimal("0.05")

    def _sl_m_allowed(self, link: BracketLink) -> bool:
        """SL-M is refused on NSE/BSE options: their stops are SL (limit) orders."""
        if link.exchange not in OPTION_SEGMENTS:
            return True
        instruments = self.om.instruments
        inst = instruments.get(link.exchange, link.symbol) if instruments is not None else None
        kind = getattr(inst, "instrument_type", None) if inst is not None else None
        if kind is not None:
            return kind not in ("CE", "PE")
        return not link.symbol.endswith(("CE", "PE"))

    def move_stop(self, entry_order_id: int, stop: Decimal) -> str | None:
        """Move the bracket's stop-loss (the working stop follows). The reason it cannot,
        or None."""
        link = self._links.get(entry_order_id)
        if link is None or not link.active:
            return f"Order #{entry_order_id} has no active bracket"
        stop = Decimal(stop)
        tick = self._tick(link)
        if stop <= 0 or stop % tick:
            return f"Stop {stop} is not a positive multiple of the tick {tick}"
        last = self.last_price(link.exchange, link.symbol) if self.last_price else None
        if last is not None and (stop >= last if link.side is OrderSide.BUY else stop <= last):
            side = "below" if link.side is OrderSide.BUY else "above"
            return f"A stop for this position must be {side} the last price {last}"
        self._set_stop(link, stop, "moved by the trader")
        self.mark_dirty(entry_order_id)
        return None

    def move_target(self, entry_order_id: int, target: Decimal) -> str | None:
        """Move the bracket's target (the app watches it: nothing rests at the broker to
        change). The reason it cannot, or None. A target the price has already passed
        is refused: it would exit at once."""
        link = self._links.get(entry_order_id)
        if link is None or not link.active:
            return f"Order #{entry_order_id} has no active bracket"
        if link.take_profit is None or not link.target_enabled:
            return f"The bracket of order #{entry_order_id} has no target to move"
        target = Decimal(target)
        tick = self._tick(link)
        if target <= 0 or target % tick:
            return f"Target {target} is not a positive multiple of the tick {tick}"
        buying = link.side is OrderSide.BUY
        last = self.last_price(link.exchange, link.symbol) if self.last_price else None
        if last is not None and (target <= last if buying else target >= last):
            side = "above" if buying else "below"
            return f"A target for this position must be {side} the last price {last}"
        stop = link.stop_loss
        if stop is not None and (target <= stop if buying else target >= stop):
            side = "above" if buying else "below"
            return f"The target must be {side} the stop-loss {stop}"
        link = replace(link, take_profit=target)
        self._links[entry_order_id] = link
        try:
            self.store.update_bracket(entry_order_id, take_profit=target)
        except Exception:  # noqa: BLE001 - kept in memory: the app watches the target
            log.exception("could not save bracket #%s", entry_order_id)
        self._note_bracket(entry_order_id, f"target moved to {target} (moved by the trader)")
        self.mark_dirty(entry_order_id)
        return None

    def stop_to_break_even(self, entry_order_id: int) -> str | None:
        """Move the stop to the entry's average fill price."""
        entry = self._order(entry_order_id)
        if entry is None or not entry.average_price:
            return f"Order #{entry_order_id} has no fill to break even on"
        link = self._links.get(entry_order_id)
        tick = self._tick(link) if link is not None else Decimal("0.05")
        direction = "up" if entry.side is OrderSide.BUY else "down"
        return self.move_stop(entry_order_id, round_to_tick(entry.average_price, tick, direction))

    def trail_stop(self, entry_order_id: int, ticks: int | None) -> str | None:
        """Trail the stop `ticks` behind the best price from now on (None or 0: stop
        trailing). Kept across a restart."""
        link = self._links.get(entry_order_id)
        if link is None or not link.active:
            return f"Order #{entry_order_id} has no active bracket"
        if ticks is not None and (
            isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 0
        ):
            return f"Trail by a whole number of ticks, not {ticks!r}"
        key = f"{TRAIL_STATE}{entry_order_id}"
        if ticks:
            self._trail[entry_order_id] = ticks
            self.store.db.set_state(key, str(ticks))
            self._note_bracket(entry_order_id, f"stop trails the price by {ticks} ticks")
        else:
            self._trail.pop(entry_order_id, None)
            self.store.db.set_state(key, "")
        self.mark_dirty(entry_order_id)
        return None

    def _note_bracket(self, entry_id: int, reason: str) -> None:
        entry = self._order(entry_id)
        if entry is not None:
            self._note(entry, reason)

    # ==================================================================
    # Placing, growing and shrinking the bracket's exit orders.
    # ==================================================================

    # ------------------------------------------------------------------ legs
    async def _shrink(self, working: list[Order], excess: int) -> bool:
        for order in sorted(working, key=lambda o: o.id, reverse=True):
            if order.broker_order_id is None or order.status not in MODIFIABLE_STATUSES:
                continue  # in flight: shrink it once it is acknowledged
            remaining = order.quantity - order.filled_quantity
            new_quantity = order.quantity - excess
            try:
                if (
                    remaining <= excess
                    or new_quantity <= order.filled_quantity
                    or order.sent_type is OrderType.MARKET
                ):
                    self._cancelling.add(order.id)
                    await self.om.cancel_order(order.id)
                    self._note(
                        order,
                        f"cancelled by the bracket (one-cancels-other): {remaining} no longer needed",
                    )
                else:
                    await self.om.modify_order(order.id, quantity=new_quantity)
                    self._note(
                        order, f"reduced by the bracket (one-cancels-other) to {new_quantity}"
                    )
            except (OrderNotCancellable, OrderNotModifiable):
                self._cancelling.discard(order.id)  # filled or gone meanwhile: look again
            return True
        return False

    async def _grow(
        self, link: BracketLink, entry: Order, leg: str, working: list[Order], more: int
    ) -> None:
        for order in sorted(working, key=lambda o: o.id, reverse=True):
            if (
                order.status in MODIFIABLE_STATUSES
                and order.broker_order_id is not None
                and order.modification_count < MAX_MODIFICATIONS
                and order.sent_type is not OrderType.MARKET
            ):
                try:
                    await self.om.modify_order(order.id, quantity=order.quantity + more)
                    self._note(
                        order,
                        f"increased by the bracket to {order.quantity + more} (entry filled more)",
                    )
                    return
                except OrderNotModifiable:
                    break  # place a new one instead
        await self._place(link, entry, leg, more)

    async def _place(self, link: BracketLink, entry: Order, leg: str, quantity: int) -> None:
        side = link.side.opposite
        kind, price, trigger = OrderType.LIMIT, link.take_profit, None
        if leg == STOP:
            kind, price, trigger = stop_order_terms(
                side, link.stop_loss, self._tick(link),
                sl_m_allowed=self._sl_m_allowed(link), buffer_pct=self.stop_limit_buffer_pct,
            )  # fmt: skip
            last = self.last_price(link.exchange, link.symbol) if self.last_price else None
            if last is not None and (
                last <= link.stop_loss if side is OrderSide.SELL else last >= link.stop_loss
            ):
                kind, price, trigger = OrderType.MARKET, None, None
                self.om.alert(
                    "warning",
                    f"Bracket of order #{entry.id}: {link.symbol} is already through the stop "
                    f"{link.stop_loss} (last {last}): exiting {quantity} at market",
                    "brackets",
                )
        request = OrderRequest(
            symbol=link.symbol,
            exchange=link.exchange,
            side=side,
            quantity=quantity,
            order_type=kind,
            price=price,
            trigger_price=trigger,
            product=link.product,
            validity=Validity.DAY,
            strategy_id=entry.strategy_id,
            parent_order_id=entry.id,
            reduce_only=True,
            source="bracket",
        )
        try:
            try:
                result = await self.om.place_order(request)
            except OrderRejected as exc:
                if kind not in (OrderType.SL_M, OrderType.SL) or exc.failed_check != "order_shape":
                    raise
                # The price crossed the stop since we looked: the stop is hit, exit at market.
                self.om.alert(
                    "warning",
                    f"Bracket of order #{entry.id}: {link.symbol} crossed the stop {link.stop_loss} "
                    f"while it was being placed: exiting {quantity} at market",
                    "brackets",
                )
                kind, trigger = OrderType.MARKET, None
                result = await self.om.place_order(
                    replace(request, order_type=kind, price=None, trigger_price=None)
                )
        except OrderRejected as exc:
            self._failed(entry.id, leg, exc.reason)
            return
        except Exception as exc:  # noqa: BLE001 - not sent (broker down, not reconciled): retry
            self._alert_once(
                entry.id,
                f"unsent-{leg}",
                "warning",
                f"Bracket of order #{entry.id}: exit not sent ({exc}); retrying",
            )
            self._retry_later(entry.id)
            return
        self._parent[result.order_id] = entry.id
        self._exits.setdefault(entry.id, set()).add(result.order_id)
        if result.status is OrderStatus.REJECTED:
            return  # counted by the status event
        what = "stop-loss" if leg == STOP else "take-profit"
        self.om.alert(
            "info",
            f"Bracket of order #{entry.id}: {what} #{result.order_id} {side.value} {quantity} {link.symbol} "
            + (
                f"@ {price}"
                if price is not None
                else f"trigger {trigger}"
                if trigger is not None
                else "at market"
            ),
            "brackets",
        )

    def _note(self, order: Order, reason: str) -> None:
        try:
            self.om.db.journal.add_event(order.id, "BRACKET", reason, order.status)
        except Exception:  # noqa: BLE001 - an audit note must not stop the bracket
            log.exception("could not write the bracket audit event")

    # ==================================================================
    # Views of the brackets (GUI, risk monitor).
    # ==================================================================

    # ------------------------------------------------------------------ queries (GUI)
    def _view(
        self, link: BracketLink, entry: Order, exits: list[Order], exposure: int
    ) -> BracketView:
        return BracketView(
            entry_order_id=link.entry_order_id,
            exchange=link.exchange,
            symbol=link.symbol,
            product=link.product,
            side=link.side,
            stop_loss=link.stop_loss,
            take_profit=link.take_profit,
            status=link.status,
            message=link.status_message,
            entry_filled=entry.filled_quantity,
            open_quantity=max(exposure, 0),
            stop_order_ids=tuple(e.id for e in exits if leg_of(e) == STOP),
            target_order_ids=tuple(e.id for e in exits if leg_of(e) == TARGET),
            stop_enabled=link.stop_enabled,
            target_enabled=link.target_enabled,
            exit_order_ids=tuple(e.id for e in exits),
        )

    def view(self, entry_order_id: int) -> BracketView | None:
        link = self._links.get(entry_order_id) or self.store.bracket(entry_order_id)
        if link is None:
            return None
        entry = self._order(entry_order_id)
        if entry is None:
            return None
        if entry_order_id not in self._exits:
            self._exits[entry_order_id] = set(self.store.exit_order_ids(entry_order_id))
        exits = self._exit_orders(entry_order_id)
        return self._view(link, entry, exits, self._exposure(entry, exits))

    def views(self, *, active_only: bool = True) -> list[BracketView]:
        ids = sorted(i for i, link in self._links.items() if link.active or not active_only)
        return [v for v in (self.view(i) for i in ids) if v is not None]

    def entry_of(self, order_id: int) -> int | None:
        """The bracket entry an exit belongs to (or the order itself if it is an entry)."""
        if order_id in self._links:
            return order_id
        return self._parent.get(order_id)

    def working_stop(self, exchange: str, symbol: str, product) -> Decimal | None:
        """The trigger of the nearest working bracket stop on this position (risk view)."""
        best = None
        for entry_id, link in self._links.items():
            if not link.active or link.key != (exchange, symbol, product):
                continue
            for order in self._exit_orders(entry_id):
                if (
                    leg_of(order) == STOP
                    and order.status.is_active
                    and order.trigger_price is not None
                ):
                    best = (
                        order.trigger_price
                        if best is None
                        else (
                            max(best, order.trigger_price)
                            if link.side is OrderSide.BUY
                            else min(best, order.trigger_price)
                        )
                    )
        return best
