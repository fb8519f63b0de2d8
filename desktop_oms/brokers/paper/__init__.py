"""The paper broker: a small simulated exchange behind the same Broker port as Kite.

Entry points:
- `PaperBroker(state_path=None | path, instruments=None, config=PaperConfig())`
  (broker.py): the Broker port; `set_last_price(s)` drives matching; public test hooks
  inject faults and make the exchange act by itself.
- `PaperConfig` (config.py): market model (slippage, fill size, latency, rate), account
  (funds, id seed), journal tuning and the clock.

Inside, PaperBroker composes a `SimulatedExchange` (exchange.py: the book of state.py and
records.py, the checks of rules.py, the pure matching of matching.py), a `PaperStore`
(store.py over journal.py), `Delivery` / `RequestPacing` (delivery.py) and a
`FaultInjector` (controls.py).

Invariants: every change of the book is an event, and reaches the book only through the
store (journal first, then `PaperState.apply`, its one mutator), so replaying the journal
rebuilds the book exactly; an order request answers, and a book is read, only once its
record is on disk; order updates reach listeners on the event loop, after the request
that made them has returned and once their record is on disk; a failed write stops the
broker (outcome unknown, then unavailable) rather than report what the disk may lose.
"""

from desktop_oms.brokers.paper.broker import PaperBroker
from desktop_oms.brokers.paper.config import PaperConfig
from desktop_oms.brokers.paper.journal import PaperJournalCorrupt

__all__ = ["PaperBroker", "PaperConfig", "PaperJournalCorrupt"]
