"""PaperBroker's start-up and persistence: the journal replayed on load, events committed.

`PaperPersistenceMixin` is a mixin of `PaperBroker` (paper.py), not a helper object: the
state it uses (`_state`, `_journal`, `_lock`, `_broken`, `_unsaved_prices`, `seed`) is set
up in `PaperBroker.__init__`. `_commit` is the one way events reach the book: written to
the journal first (fsync'ed unless told otherwise, unsaved prices riding along), then
applied; a failed write breaks the broker until restart. `compact` rewrites the journal
as one snapshot.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerUnavailable
from desktop_oms.brokers.paper.state import (
    JOURNAL_FORMAT,
    JOURNAL_VERSION,
    PaperOrder,
    PaperStateError,
    price_key,
)
from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import TradeReport

# Split out of paper: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.paper.broker")


class PaperPersistenceMixin:
    """Start-up from the journal, commits (journal first, then the book), compaction."""

    def _init_event(self, funds: Decimal) -> dict:
        now = datetime.now(_paper.IST)
        day_floor = int(now.strftime("%y%m%d")) * 10**13
        if self.seed is None:
            # Fresh in-memory books started at different times never reuse an id.
            since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
            last_order = day_floor + (since_midnight // timedelta(microseconds=1)) * 100
            last_trade = time.time_ns() // 10_000
        else:
            last_order, last_trade = day_floor, 10_000_000
        return {
            "type": "init",
            "format": JOURNAL_FORMAT,
            "version": JOURNAL_VERSION,
            "funds": str(funds),
            "last_order_id": last_order,
            "last_trade_id": last_trade,
            "at": _paper._utcnow().isoformat(),
        }

    def _load(self, funds: Decimal) -> None:
        if self._journal is None:
            self._state.apply(self._init_event(funds))
            return
        records = self._journal.load()
        for line, event in records:
            try:
                self._state.apply(event)
            except PaperStateError as exc:
                raise self._journal.corrupt(line, str(exc)) from None
        if not records:
            self._commit([self._init_event(funds)])
        elif self._journal.lines > _paper.COMPACT_AFTER_LINES or (
            self._journal.lines > 1 and self._journal.size() > _paper.COMPACT_AFTER_BYTES
        ):
            self.compact()

    def compact(self) -> None:
        """Rewrite the journal as one snapshot record (done on load when it is large)."""
        with self._lock:
            if self._journal is None:
                return
            self._unsaved_prices.clear()
            self._journal.rewrite([self._state.snapshot()])

    def _commit(self, events: list[dict], durable: bool = True) -> list[BrokerUpdate]:
        """Make events durable, then apply them. Returns the updates to push.

        Prices not yet saved ride along with whatever is written.
        """
        if self._broken:
            raise BrokerUnavailable(self._broken)
        if self._journal is not None:
            if self._unsaved_prices:
                events = [self._prices_event(), *events]
            if events:
                try:
                    self._journal.append(events, durable=durable)
                except OSError as exc:
                    self._broken = (
                        f"Paper broker could not save its state ({exc}); restart the application"
                    )
                    log.exception("paper broker journal write failed")
                    raise BrokerOutcomeUnknown(self._broken) from exc
        updates = []
        for event in events:
            changed = self._state.apply(event)
            if isinstance(changed, TradeReport):
                report = self._state.report(changed.broker_order_id)
                updates.append(BrokerUpdate(orders=(report,), trades=(changed,)))
            elif isinstance(changed, PaperOrder):
                updates.append(BrokerUpdate(orders=(self._state.report(changed.broker_order_id),)))
        return updates

    async def _durable(self) -> None:
        """An order request answers, and a book is read, only once everything the exchange
        recorded so far is on disk (flushed by the journal's thread: the loop runs
        meanwhile). Nothing the disk could still lose is reported."""
        journal = self._journal
        try:
            while journal is not None and not journal.is_durable(journal.mark):
                await journal.durable(journal.mark)  # more may be written meanwhile
        except OSError as exc:
            self._journal_failed(exc)
            raise BrokerOutcomeUnknown(self._broken) from exc

    def _journal_failed(self, exc: OSError) -> None:
        if self._broken is None:
            self._broken = f"Paper broker could not save its state ({exc}); restart the application"
            log.error("paper broker journal flush failed: %s", exc)

    def _prices_event(self) -> dict:
        event = {
            "type": "prices",
            "prices": {price_key(*k): str(v) for k, v in self._unsaved_prices.items()},
        }
        self._unsaved_prices.clear()
        self._prices_saved_at = time.monotonic()
        return event


# paper.py's own names (IST, the clock helpers, COMPACT_AFTER_*, PRICE_SAVE_INTERVAL_S,
# _FINISHED_WORDS) stay defined there and are read from it at call time, so patching them
# on desktop_oms.brokers.paper.broker still takes effect. Imported last: either module may load first.
from desktop_oms.brokers.paper import broker as _paper  # noqa: E402
