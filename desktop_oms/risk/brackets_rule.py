"""Brackets: the worker task and the rule it keeps (the exits working on each managed leg
cover exactly the bracket's open quantity), one action at a time: what the bracket may
protect, retries and give-ups after refusals, and closing a bracket that is done.

A mixin of `BracketManager` (risk/brackets.py); its state lives there.
"""

from __future__ import annotations

import asyncio
import logging
import time

from desktop_oms.domain import Order
from desktop_oms.risk.brackets_records import STOP, TARGET, leg_of
from desktop_oms.risk.store import BracketLink

log = logging.getLogger("desktop_oms.risk.brackets")  # the logger of the original module


class BracketRuleMixin:
    """The worker loop and `_reconcile`, one step towards the rule."""

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
        if link.target_enabled and link.take_profit is not None:
            managed.append(TARGET)
        # Shrink first: an exit larger than the position could reverse it.
        for leg in (STOP, TARGET):
            working = [e for e in exits if leg_of(e) == leg and e.status.is_active]
            covered = sum(max(e.quantity - e.filled_quantity, 0) for e in working)
            if covered > target:
                if await self._shrink(working, covered - target):
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
