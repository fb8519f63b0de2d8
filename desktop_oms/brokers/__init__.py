"""Broker adapters behind one port: the paper broker and Kite.

Entry points:
- `Broker` (port.py): the Protocol every adapter implements completely (orders, trades,
  positions, funds, margins, instruments, prices, GTTs, pushed updates and ticks, stream
  and session state, settle), with `BrokerUpdate`, `InstrumentCatalog`, `StreamStatus`;
- errors.py: what a broker call may raise, by what the OMS may safely do next;
- `desktop_oms.brokers.paper.PaperBroker` and `desktop_oms.brokers.kite.KiteBroker`;
- rate_limit.py: Kite's request limits (client side).

Invariants: brokers depend only on domain and infra (never on the OMS, storage, risk,
market data or the UI); broker data leaves an adapter only as domain reports; pushed
updates and ticks reach listeners on the event loop.
"""

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)
from desktop_oms.brokers.port import (
    Broker,
    BrokerUpdate,
    InstrumentCatalog,
    StreamState,
    StreamStatus,
)

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerOutcomeUnknown",
    "BrokerRateLimited",
    "BrokerRejected",
    "BrokerUnavailable",
    "BrokerUpdate",
    "InstrumentCatalog",
    "OrderNotFoundAtBroker",
    "SessionExpired",
    "StreamState",
    "StreamStatus",
]
