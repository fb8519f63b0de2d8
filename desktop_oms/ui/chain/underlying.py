"""Which option chain an instrument belongs to: an index option or future's underlying
(NFO:NIFTY26DEC26400CE -> NIFTY), an index's (NSE:NIFTY 50 -> NIFTY)."""

from __future__ import annotations

from desktop_oms.infra.clock import trading_day, utcnow

DERIVATIVE_EXCHANGES = ("NFO", "BFO")


def underlying_of(instruments, rules, exchange: str, symbol: str) -> str | None:
    """The chain's underlying name for this instrument, None if it has no chain."""
    instrument = None
    try:
        instrument = instruments.get(exchange, symbol) if instruments is not None else None
    except Exception:  # noqa: BLE001 - a look-up problem: no link
        instrument = None
    if (
        instrument is not None
        and instrument.exchange in DERIVATIVE_EXCHANGES
        and (instrument.is_option or instrument.is_future)
        and instrument.name
    ):
        return instrument.name.upper()
    if rules is None:
        return None
    day = trading_day(utcnow())
    keys = [(exchange, symbol)]
    if instrument is not None and instrument.underlying is not None:
        keys.append(instrument.underlying)
    for key in keys:
        try:
            return rules.for_index(key[0], key[1], day).underlying
        except Exception:  # noqa: BLE001 - not an index with options
            continue
    if str(exchange).upper() in DERIVATIVE_EXCHANGES:
        try:
            return rules.for_tradingsymbol(symbol, day, exchange).underlying
        except Exception:  # noqa: BLE001
            return None
    return None
