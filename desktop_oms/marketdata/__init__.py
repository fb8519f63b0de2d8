"""Market data: instruments (Kite CSV format) and the simulated feed for paper mode."""

from desktop_oms.marketdata.instruments import (
    InstrumentStore,
    UnknownInstrument,
    load_bundled_instruments,
    load_instruments_csv,
    read_instruments_csv,
)
from desktop_oms.marketdata.simulated import SimulatedMarket

__all__ = [
    "InstrumentStore",
    "SimulatedMarket",
    "UnknownInstrument",
    "load_bundled_instruments",
    "load_instruments_csv",
    "read_instruments_csv",
]
