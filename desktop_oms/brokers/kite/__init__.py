"""The Kite Connect adapter: the Broker port over Zerodha's official `kiteconnect` client.

Entry points:
- `KiteBroker(api_key=..., access_token=..., root=..., ticker_root=...)` (broker.py): REST
  calls on their own thread pools (calls.py) split as Kite's API is — orders.py, account.py,
  market_data.py — and the live stream (stream/: ticks and order updates over a WebSocket).
- `open_kite_broker(...)` / `KiteLogin` (factory.py): a stored token if still valid, else the
  login flow (login.py: URL, redirect catcher, token exchange); secrets in the OS keyring
  (credentials.py).
- parsing/: Kite's wire values, rows and binary ticks -> domain reports (pure).

Invariants: a write (place / modify / cancel) is never retried or resent — a lost answer is
resolved by finding the order by its tag; order ids stay strings; every Kite failure is
classified (failures.py) by what the OMS may safely do next.
"""

from desktop_oms.brokers.kite.broker import KiteBroker
from desktop_oms.brokers.kite.factory import KiteLogin, KiteLoginRequired, open_kite_broker

__all__ = ["KiteBroker", "KiteLogin", "KiteLoginRequired", "open_kite_broker"]
