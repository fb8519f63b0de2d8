"""Where the paper exchange's book is kept: its journal, replayed on load, and every commit.

`PaperStore` is the one way events reach the book (`PaperState.apply`). With a path, an
event is written to the JSON-lines journal (`PaperJournal`) before it is applied: on the
event loop it is written at once and flushed by the journal's thread (`wait_durable`,
`when_durable` tell when it is on disk); off the loop it is fsync'ed before `commit`
returns. Prices ride along with whatever is written and are otherwise saved now and then
without fsync (`PaperConfig.price_save_interval_s`) and on close. Without a path the
book lives in memory only.

A failed write (or flush) breaks the store until restart: the event's outcome is
unknown to the caller (`BrokerOutcomeUnknown`), and every later commit is refused
(`BrokerUnavailable`) rather than half-recorded.

Not thread-safe by itself: the exchange commits under the book's lock, which the store
also takes to compact and to close.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerUnavailable
from desktop_oms.brokers.paper.config import PaperConfig
from desktop_oms.brokers.paper.journal import PaperJournal
from desktop_oms.brokers.paper.records import PaperOrder, PaperStateError, price_key
from desktop_oms.brokers.paper.state import PaperState
from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import TradeReport

log = logging.getLogger(__name__)


class PaperStore:
    """The book's journal: load (replay), commit (journal first), compaction, close."""

    def __init__(
        self,
        state: PaperState,
        path: Path | None,
        config: PaperConfig,
        lock: threading.RLock,
    ) -> None:
        self.state = state
        self.journal = PaperJournal(path) if path is not None else None
        self.broken: str | None = None  # why nothing more can be recorded
        self._lock = lock
        self._compact_after_lines = config.compact_after_lines
        self._compact_after_bytes = config.compact_after_bytes
        self._price_save_interval_s = config.price_save_interval_s
        self._unsaved_prices: dict[tuple[str, str], Decimal] = {}
        self._prices_saved_at = time.monotonic()

    # ====================================================================================
    # Start-up
    # ====================================================================================

    def load(self, opening: Callable[[], dict]) -> None:
        """Replay the journal into the book; a new book starts with the `opening` record.
        A large journal is compacted. Raises PaperJournalCorrupt naming the bad line."""
        if self.journal is None:
            self.state.apply(opening())
            return
        records = self.journal.load()
        for line, event in records:
            try:
                self.state.apply(event)
            except PaperStateError as exc:
                raise self.journal.corrupt(line, str(exc)) from None
        if not records:
            self.commit([opening()])
        elif self.journal.lines > self._compact_after_lines or (
            self.journal.lines > 1 and self.journal.size() > self._compact_after_bytes
        ):
            self.compact()

    # ====================================================================================
    # Commits
    # ====================================================================================

    def commit(self, events: list[dict], durable: bool = True) -> list[BrokerUpdate]:
        """Make events durable, then apply them. Returns the updates to push.

        Prices not yet saved ride along with whatever is written.
        """
        if self.broken:
            raise BrokerUnavailable(self.broken)
        if self.journal is not None:
            if self._unsaved_prices:
                events = [self._prices_event(), *events]
            if events:
                try:
                    self.journal.append(events, durable=durable)
                except OSError as exc:
                    self.broken = (
                        f"Paper broker could not save its state ({exc}); restart the application"
                    )
                    log.exception("paper broker journal write failed")
                    raise BrokerOutcomeUnknown(self.broken) from exc
        updates = []
        for event in events:
            changed = self.state.apply(event)
            if isinstance(changed, TradeReport):
                report = self.state.report(changed.broker_order_id)
                updates.append(BrokerUpdate(orders=(report,), trades=(changed,)))
            elif isinstance(changed, PaperOrder):
                updates.append(BrokerUpdate(orders=(self.state.report(changed.broker_order_id),)))
        return updates

    def commit_prices(
        self, prices: Mapping[tuple[str, str], Decimal], events: list[dict]
    ) -> list[BrokerUpdate]:
        """A price update (already in the book) and the events of its matching pass."""
        if self.journal is not None:
            self._unsaved_prices.update(prices)
        if events:
            return self.commit(events)
        if (
            not self.broken
            and time.monotonic() - self._prices_saved_at >= self._price_save_interval_s
        ):
            self.commit([], durable=False)  # prices only: cheap, not fsync'ed
        return []

    def _prices_event(self) -> dict:
        event = {
            "type": "prices",
            "prices": {price_key(*k): str(v) for k, v in self._unsaved_prices.items()},
        }
        self._unsaved_prices.clear()
        self._prices_saved_at = time.monotonic()
        return event

    # ====================================================================================
    # The disk
    # ====================================================================================

    @property
    def mark(self) -> int:
        """The journal's mark of the last durable append made on the loop (0: none)."""
        return self.journal.mark if self.journal is not None else 0

    def is_durable(self, mark: int) -> bool:
        return self.journal is None or self.journal.is_durable(mark)

    def when_durable(self, mark: int, callback: Callable[[OSError | None], None]) -> None:
        """`callback(None)` once `mark` is on disk, `callback(error)` if it cannot be."""
        if self.journal is None:
            callback(None)
        else:
            self.journal.when_durable(mark, callback)

    async def durable(self, mark: int) -> None:
        """Return once `mark` is on disk; OSError if it cannot be (not recorded here)."""
        if self.journal is not None:
            await self.journal.durable(mark)

    async def wait_durable(self) -> None:
        """Return once everything recorded so far is on disk (flushed by the journal's
        thread: the loop runs meanwhile). A failed flush breaks the store and raises
        BrokerOutcomeUnknown: nothing the disk could still lose is reported."""
        journal = self.journal
        try:
            while journal is not None and not journal.is_durable(journal.mark):
                await journal.durable(journal.mark)  # more may be written meanwhile
        except OSError as exc:
            self.failed(exc)
            raise BrokerOutcomeUnknown(self.broken) from exc

    def failed(self, exc: OSError) -> None:
        """A flush failed: record why nothing more can be recorded (once)."""
        if self.broken is None:
            self.broken = f"Paper broker could not save its state ({exc}); restart the application"
            log.error("paper broker journal flush failed: %s", exc)

    # ====================================================================================
    # Compaction and close
    # ====================================================================================

    def compact(self) -> None:
        """Rewrite the journal as one snapshot record (done on load when it is large)."""
        with self._lock:
            if self.journal is None:
                return
            self._unsaved_prices.clear()
            self.journal.rewrite([self.state.snapshot()])

    def close(self) -> None:
        """Save prices not yet written (durably) and close the journal."""
        with self._lock:
            if self.journal is None:
                return
            if self._unsaved_prices and not self.broken:
                self.commit([], durable=True)
            self.journal.close()
