"""KiteBroker's market data: last prices and quotes, the daily instruments dump (with its
cache hook), the instrument-token index, and the stream subscriptions built on it.

`KiteMarketDataMixin` is a mixin of `KiteBroker` (kite.py), not a helper object: the
token index (`_tokens`, `_names`), the instruments cache, the stream and `_spawn` are set
up on `KiteBroker`; REST reads go through `KiteCallsMixin._read` with the quote limiter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerError
from desktop_oms.brokers.kite.parsing.reports import instrument_from_kite, tick_from_quote
from desktop_oms.brokers.kite.parsing.ticks import MODE_FULL, MODE_QUOTE
from desktop_oms.brokers.kite.parsing.values import BrokerDataError, instruments_day, iter_rows
from desktop_oms.domain import Instrument, PositionReport
from desktop_oms.domain.market import Tick

# Split out of kite: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.broker")


class KiteMarketDataMixin:
    """Quotes, instruments, the token index and stream subscriptions of `KiteBroker`."""

    # ------------------------------------------------------------------------------------
    # Quotes and instruments
    # ------------------------------------------------------------------------------------

    @staticmethod
    def _keys(instruments: Sequence[tuple[str, str]]) -> list[str]:
        return [f"{exchange.upper()}:{symbol}" for exchange, symbol in instruments]

    async def ltp(self, instruments: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Last traded prices keyed by (exchange, symbol)."""
        if not instruments:
            return {}
        data = await self._read(
            "fetch last prices", "ltp", self._keys(instruments), limiter=self.quote_limiter
        )
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent last prices that are not an object")
        now = self._now()
        result = {}
        for key, row in data.items():
            tick = tick_from_quote(key, row, now=now)
            self._remember_token(tick)
            result[(tick.exchange, tick.symbol)] = tick.last_price
        return result

    async def quote(self, instruments: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Tick]:
        """Full quotes (last price, OHLC, best bid/ask, volume) keyed by (exchange, symbol)."""
        if not instruments:
            return {}
        data = await self._read(
            "fetch quotes", "quote", self._keys(instruments), limiter=self.quote_limiter
        )
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent quotes that are not an object")
        now = self._now()
        result = {}
        for key, row in data.items():
            tick = tick_from_quote(key, row, now=now)
            self._remember_token(tick)
            result[(tick.exchange, tick.symbol)] = tick
        return result

    def _remember_token(self, tick: Tick) -> None:
        token = tick.extra.get("instrument_token")
        if token:
            self._index_token(tick.exchange, tick.symbol, int(token))

    def _index_token(self, exchange: str, symbol: str, token: int) -> None:
        self._tokens[(exchange, symbol)] = token
        self._names[token] = (exchange, symbol)
        if self._stream is not None:
            self._stream.register(token, exchange, symbol)

    async def instruments(self, exchange: str | None = None) -> list[Instrument]:
        """The day's instruments dump (from the cache hook when it has today's copy)."""
        day = instruments_day(self._now())
        cache = self._instruments_cache if exchange is None else None
        if cache is not None:
            try:
                cached = await cache.load(day)
            except Exception:  # noqa: BLE001 - a broken cache only costs a download
                log.exception("instruments cache load failed")
                cached = None
            if cached:
                cached = self._with_contract_multipliers(cached, day)  # older copies say 1
                self._index_instruments(cached)
                return cached
        args = (exchange.upper(),) if exchange else ()
        rows = await self._read("download the instruments list", "instruments", *args)
        instruments: list[Instrument] = []
        bad = 0
        for row in iter_rows(rows, "an instruments list"):
            try:
                instruments.append(instrument_from_kite(row))
            except Exception:  # noqa: BLE001
                bad += 1
        if bad:
            log.warning("skipped %d unreadable instruments", bad)
        instruments = self._with_contract_multipliers(instruments, day)
        self._index_instruments(instruments)
        if cache is not None:
            try:
                await cache.save(day, instruments)
            except Exception:  # noqa: BLE001
                log.exception("instruments cache save failed")
        return instruments

    def _with_contract_multipliers(
        self, instruments: Sequence[Instrument], day: date
    ) -> list[Instrument]:
        """MCX/CDS/BCD contracts with the bundled table's multiplier (Kite's dump says
        lot_size 1 and has no multiplier); a contract the table does not know is logged
        once and keeps 1 until a position shows Kite's."""
        table = self.contract_multipliers
        if table is None:
            return list(instruments)
        applied, unknown = table.apply(instruments, day)
        new = unknown - self._unknown_contracts
        if new:
            self._unknown_contracts |= new
            log.warning(
                "no contract multiplier for %s: P&L, order value and margin of these "
                "contracts count 1 unit per lot until a Kite position shows the multiplier "
                "(add them to resources/contract_multipliers.toml)",
                ", ".join(sorted(f"{e}:{n}" for e, n in new)),
            )
        return applied

    def learn_multipliers(self, reports: Sequence[PositionReport]) -> None:
        """Kite's positions carry each contract's multiplier: the instrument takes it
        (order value, margin and risk checks then use it before the next fill)."""
        store = self.instrument_store
        if store is None:
            return
        for report in reports:
            if report.multiplier is None or report.multiplier <= 0:
                continue
            instrument = store.get(report.exchange, report.symbol)
            if instrument is None or instrument.multiplier == report.multiplier:
                continue
            if report.multiplier == 1 and instrument.multiplier != 1:
                continue  # never trade a known multiplier for 1
            log.info(
                "Kite reports multiplier %s for %s:%s (was %s): using Kite's",
                report.multiplier,
                report.exchange,
                report.symbol,
                instrument.multiplier,
            )
            store.set_multiplier(report.exchange, report.symbol, report.multiplier)

    def _index_instruments(self, instruments: Sequence[Instrument]) -> None:
        for instrument in instruments:
            if instrument.instrument_token:
                self._index_token(
                    instrument.exchange, instrument.symbol, instrument.instrument_token
                )

    # ------------------------------------------------------------------------------------
    # Streaming subscriptions
    # ------------------------------------------------------------------------------------

    def subscribe(
        self, instruments: Sequence[tuple[str, str]], *, mode: str = MODE_QUOTE, depth: bool = False
    ) -> None:
        """Stream ticks for these (exchange, symbol) pairs; unknown tokens are looked up via
        LTP. With `depth`, in full mode (the five best levels each side)."""
        if not self._stream_enabled:
            return
        if depth:
            mode = MODE_FULL
        known: list[int] = []
        missing: list[tuple[str, str]] = []
        for exchange, symbol in instruments:
            key = (exchange.upper(), symbol)
            token = self._tokens.get(key)
            if token is None:
                missing.append(key)
            else:
                self.stream.register(token, *key)
                known.append(token)
        if known:
            self.stream.subscribe(known, mode)
        if missing:
            self._spawn(self._subscribe_missing(missing, mode), "kite-resolve-tokens")

    async def _subscribe_missing(self, instruments: list[tuple[str, str]], mode: str) -> None:
        try:
            await self.ltp(instruments)
        except BrokerError as exc:
            log.warning("could not look up instrument tokens for %s: %s", instruments, exc)
            return
        tokens = []
        for key in instruments:
            token = self._tokens.get(key)
            if token is None:
                log.warning("Kite knows no instrument %s:%s; not subscribed", *key)
                continue
            self.stream.register(token, *key)
            tokens.append(token)
        if tokens:
            self.stream.subscribe(tokens, mode)

    def unsubscribe(self, instruments: Sequence[tuple[str, str]]) -> None:
        if self._stream is None:
            return
        tokens = [
            self._tokens[(e.upper(), s)] for e, s in instruments if (e.upper(), s) in self._tokens
        ]
        self._stream.unsubscribe(tokens)

    def subscribe_tokens(self, tokens: Sequence[int], *, mode: str = MODE_QUOTE) -> None:
        """Subscribe raw instrument tokens (named ones produce ticks)."""
        if self._stream_enabled:
            self.stream.subscribe(tokens, mode)
