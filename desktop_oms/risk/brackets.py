"""Brackets: stop-loss and take-profit exits for filled entries, one-cancels-other.

An entry order with `stop_loss` and/or `take_profit` (sent by the trader, not by the
system) becomes a bracket when it is journaled (a `bracket_links` row). From then on one
rule is kept true, by one worker task, one action at a time:

    for each leg (stop, target) the bracket manages, the exits still working on that leg
    cover exactly the bracket's open quantity

where open quantity = entry quantity filled - quantity all its exits filled, capped by
the position actually held (after orders of other kinds on the exit side, and other
brackets on the same instrument, earlier first). So:
- the entry fills (also partly): the legs are placed, or grown, for the filled quantity
  (stop: SL-M at the stop, or MARKET if the price is already through it; target: LIMIT at
  the target), reduce-only, source "bracket", parent_order_id = the entry;
- one leg fills (also partly): the other shrinks by as much, or is cancelled;
- the position is closed some other way (by hand, the kill switch): the legs go.
Growing and shrinking modify a working order's quantity where the broker allows it, else
place or cancel one. The rule is recomputed from the journal (which the OMS keeps in step
with the broker), so after a restart `start()` simply re-attaches: links from the
database, orders and fills from the journal as reconciled with the broker's state.

A leg cancelled by anyone but the bracket (the trader in the blotter, the kill switch) is
no longer managed (the trader meant it). A leg the broker rejects is retried up to
`max_failures` times, then given up with an error alert: the position is UNPROTECTED.
While trading is halted no leg is placed or grown (the kill switch owns the position).

Layout: this module holds `BracketManager` itself (construction, start/stop and the
re-attachment after a restart); the rest are mixins - `brackets_records` (what a bracket
is: legs, links and their persistence), `brackets_events` (reacting to order, fill and
position events), `brackets_rule` (the worker and the rule it keeps), `brackets_legs`
(placing, growing and shrinking the exit orders, one-cancels-other) and `brackets_queries`
(the views the GUI and the risk monitor read).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from desktop_oms.domain.events import (
    FillApplied,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
)
from desktop_oms.risk.brackets_events import BracketEventsMixin
from desktop_oms.risk.brackets_legs import BracketLegsMixin
from desktop_oms.risk.brackets_queries import BracketQueriesMixin
from desktop_oms.risk.brackets_records import MAX_MODIFICATIONS as MAX_MODIFICATIONS
from desktop_oms.risk.brackets_records import STOP as STOP
from desktop_oms.risk.brackets_records import TARGET as TARGET
from desktop_oms.risk.brackets_records import BracketRecordsMixin, is_entry
from desktop_oms.risk.brackets_records import leg_of as leg_of
from desktop_oms.risk.brackets_rule import BracketRuleMixin
from desktop_oms.risk.store import BracketLink, RiskStore

log = logging.getLogger(__name__)


class BracketManager(
    BracketRecordsMixin,
    BracketEventsMixin,
    BracketRuleMixin,
    BracketLegsMixin,
    BracketQueriesMixin,
):
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
        self.idle = asyncio.Event()
        self.idle.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Re-attach active brackets and start managing them (the OMS must be started)."""
        if self._unsubscribe:
            return
        for link in self.store.brackets(active_only=True):
            self._attach(link)
        for order in self.om.live_orders():  # an entry journaled just before a crash
            if is_entry(order) and order.id not in self._links:
                self._link(order)
        bus = self.events
        self._unsubscribe = [
            bus.subscribe(OrderStatusChanged, self._on_status),
            bus.subscribe(FillApplied, self._on_fill),
            bus.subscribe(OrderModified, self._on_modified),
            bus.subscribe(PositionChanged, self._on_position),
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
