"""The paper broker: a small simulated exchange behind the same Broker port as Kite.

Entry point: `PaperBroker(state_path=None)` (in memory) or `PaperBroker(state_path=path)`
(persisted as a JSON-lines journal); `set_last_price(s)` drives matching.

Invariants: every change of the book is an event, written to the journal (fsync'ed)
before it is applied and before anyone hears of it; replaying the journal rebuilds the
book exactly; order updates reach listeners on the event loop, after the request that
made them has returned.
"""

from desktop_oms.brokers.paper.broker import PaperBroker, PaperJournalCorrupt

__all__ = ["PaperBroker", "PaperJournalCorrupt"]
