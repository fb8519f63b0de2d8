"""Group commit and what protects it: broker updates queued together are applied in one
journal transaction; if that fails, memory (which then holds what the journal does not)
is dropped at once and reloaded from the journal, and nothing is applied while it
cannot be."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage import explain_storage_error

if TYPE_CHECKING:
    from desktop_oms.oms.sync.order_sync import OrderSync

log = logging.getLogger("desktop_oms.oms.sync.order_sync")

# Trade ids kept in memory for dedup: the days a broker can still report (Kite: today's).
# An older duplicate is still refused by the trades table's unique key.
TRADE_KEY_DAYS = 7


class GroupCommitMixin:
    """OrderSync's group commit and memory reload (a mixin: it works on OrderSync's state)."""

    def _load_from_journal(self: OrderSync) -> None:
        """The in-memory view (active orders, known trade ids) as the journal has it."""
        journal = self.om.db.journal
        self._drop_memory()
        self._trade_keys = journal.trade_keys(since=utcnow() - timedelta(days=TRADE_KEY_DAYS))
        for order in journal.list_orders(active_only=True):
            self.track(order)

    def _drop_memory(self: OrderSync) -> None:
        """Forget every order, trade id and position held in memory (no I/O): what is read
        next comes from the journal. After a failed group, memory holds what the journal
        does not, and nothing may read it or write it back."""
        for cache in (
            self._active,
            self._by_broker,
            self._by_client,
            self._settled,
            self._foreign,
            self._finished,
            self._trade_keys,
        ):
            cache.clear()
        self.om.positions.reload()

    def _apply_group(self: OrderSync, group: list[tuple[int, BrokerUpdate]]) -> None:
        """Group commit: every update's order changes, events, fills and positions in one
        journal transaction; subscribers hear of them after it commits. If anything fails
        nothing is written, memory is reloaded from the journal and the updates are applied
        one by one (each in its own transaction, as a lone update is)."""
        om = self.om
        saved = (dict(self._orphan_trades), set(self._fill_gaps), dict(self._unknown_outcome))
        try:
            now = utcnow()  # one applied-at time for the group (one transaction)
            with om.events.held(), om.db.journal.batch():
                for seq, update in group:
                    self._apply(update.orders, update.trades, now, seq)
        except Exception as exc:  # noqa: BLE001 - fall back to one transaction per update
            log.warning(
                "group of %d broker updates not applied together (%s); applying one by one",
                len(group),
                exc,
            )
            self._orphan_trades, self._fill_gaps, self._unknown_outcome = saved
            self._drop_memory()  # it holds the group; the journal does not
            self._stale_memory = True
            if self._memory_matches_journal():
                for item in group:
                    self._apply_update(item)
            return
        self._journal_writable()

    def _memory_matches_journal(self: OrderSync) -> bool:
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
