"""The price chart's candles, wired: a recorder on the broker's ticks, the cache in the
database and the source of history for the days it does not hold.

- Kite: `BrokerHistory` over `KiteBroker.historical_candles` (Kite's per-interval day
  limits and 3 requests a second are the adapter's); the recorder keeps the live minutes
  in memory only (Kite has them).
- Paper: `GeneratedHistory` (plausible candles for the time the app did not see, joined
  to what it recorded); the recorder's closed minutes are saved to the cache every
  `SAVE_INTERVAL_S` and at shutdown.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from desktop_oms.marketdata.history import BrokerHistory, CandleHistory
from desktop_oms.marketdata.recorder import CandleRecorder
from desktop_oms.marketdata.synthetic_history import GeneratedHistory

__all__ = ["SAVE_INTERVAL_S", "build_candles"]

SAVE_INTERVAL_S = 30.0


def build_candles(broker, db, instruments, quotes) -> CandleHistory:
    """The CandleHistory of this broker (its recorder already listening to ticks)."""
    from desktop_oms.brokers.paper import PaperBroker

    paper = isinstance(broker, PaperBroker)  # (a test's paper broker may say it is "kite")
    recorder = CandleRecorder(persist=paper)
    executor = ThreadPoolExecutor(1, thread_name_prefix="candle-history")
    broker.add_tick_listener(recorder.on_ticks)
    if paper:

        def tick_size(exchange: str, symbol: str) -> Decimal:
            found = instruments.get(exchange, symbol) if instruments is not None else None
            return found.tick_size if found is not None else Decimal("0.05")

        source = GeneratedHistory(db.candles, quotes.last_price, tick_size, executor=executor)
    else:
        source = BrokerHistory(db.candles, broker.historical_candles)
    return CandleHistory(db.candles, source, recorder, save_recorded=paper, executor=executor)
