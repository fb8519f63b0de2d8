"""The market watch: named watchlists as tabs, live quotes, saved in the workspace.

Entry point: `MarketWatch(workspace, instruments, subscribe, parent, quote=...)`
(market_watch.py), a dock ("marketWatch") fed with `on_quotes(ticks)`; signals
`symbolSelected(exchange, symbol)` and `tradeRequested(exchange, symbol, side)`.
`WatchlistModel` (model.py) holds one list's rows.

Invariant: quotes arrive coalesced (one batch per flush, nothing per tick); every listed
instrument is streamed, within Kite's 3,000 per connection.
"""

from desktop_oms.ui.watch.market_watch import MarketWatch
from desktop_oms.ui.watch.model import WatchlistModel

__all__ = ["MarketWatch", "WatchlistModel"]
