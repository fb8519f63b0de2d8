"""The option chain as the window shows it: one row per strike, calls and puts side by
side, with the IV and Greeks computed here from each option's price (Kite gives none).

    chains = OptionChainService(instruments, quotes.tick, FnoRules.bundled())
    chains.underlyings()                   # ["BANKNIFTY", "FINNIFTY", "NIFTY", "SENSEX"]
    chains.expiries("NIFTY")               # listed expiries, nearest first
    chains.subscriptions("NIFTY", expiry)  # what to stream (Kite streams only what is asked)
    snap = chains.snapshot("NIFTY", expiry, strikes_each_side=20)
    snap.rows[snap.atm_index].call.ltp, snap.atm_iv, snap.pcr, snap.days_to_expiry

Works the same with Kite (the instruments dump, streamed ticks) and in paper mode (the
paper listing, the exchange's derived quotes): it reads the instrument catalogue and the
last tick of each option, nothing else.

Per option: LTP, change from the previous close, bid/ask, volume, open interest, IV and
delta, gamma, theta, vega (`pricing.analyse`, one vectorised call for the whole chain).
IV is solved from the mid when there is a two-sided quote, else from the LTP; NaN (None
here) where a price has none (below intrinsic, no time left). The forward is the implied
one, from put-call parity at the strike where call and put are closest (what the market
itself says, weeklies have no future), else the month's future, else the spot carried at
`rate`. Days to expiry run to 15:30 IST on the expiry day. PCR is the puts' open interest
over the calls' on the rows shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from desktop_oms.domain import Instrument, Tick
from desktop_oms.infra.clock import IST, trading_day, utcnow
from desktop_oms.marketdata.options.chain import CALL, PUT, atm_strike
from desktop_oms.marketdata.options.pricing import (
    DAYS_PER_YEAR,
    analyse,
    forward_price,
    years_to_expiry,
)
from desktop_oms.marketdata.options.rules import FnoRules, UnknownUnderlying

Key = tuple[str, str]
TickSource = Callable[[str, str], Tick | None]
RATE = 0.065


def expires_today(instrument: Instrument | None, now: datetime | None = None) -> bool:
    """True for a contract whose expiry is today's trading day (IST): flag it."""
    return instrument is not None and instrument.expires_on(trading_day(now or utcnow()))


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One side of one strike."""

    exchange: str
    symbol: str
    ltp: Decimal | None
    change: Decimal | None  # from the previous close
    change_pct: float | None
    bid: Decimal | None
    ask: Decimal | None
    volume: int | None
    oi: int | None
    iv: float | None  # annualised, 0.13 = 13%
    delta: float | None
    gamma: float | None
    theta: float | None  # rupees per calendar day
    vega: float | None  # rupees per vol point

    @property
    def key(self) -> Key:
        return (self.exchange, self.symbol)


@dataclass(frozen=True, slots=True)
class ChainSnapshotRow:
    strike: Decimal
    call: OptionQuote
    put: OptionQuote
    atm: bool


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    underlying: str
    exchange: str  # NFO / BFO
    expiry: date
    monthly: bool
    index: Key
    spot: Decimal | None
    future: Decimal | None  # the month's future, where listed and priced
    forward: float | None  # what the IVs were solved against
    days_to_expiry: float  # calendar days to 15:30 IST on the expiry day
    expires_today: bool
    atm_strike: Decimal | None
    atm_iv: float | None
    pcr: float | None  # put OI / call OI over the rows
    lot_size: int
    freeze_quantity: int | None
    rows: tuple[ChainSnapshotRow, ...]
    as_of: datetime

    @property
    def atm_index(self) -> int | None:
        for i, row in enumerate(self.rows):
            if row.atm:
                return i
        return None


def _float(value: Decimal | None) -> float:
    return math.nan if value is None else float(value)


def _maybe(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


class OptionChainService:
    """Snapshots of option chains from the instrument catalogue and the last ticks."""

    def __init__(
        self,
        instruments,
        tick: TickSource,
        rules: FnoRules,
        *,
        clock: Callable[[], datetime] = utcnow,
        rate: float = RATE,
    ) -> None:
        self.instruments = instruments
        self.tick = tick
        self.rules = rules
        self.clock = clock
        self.rate = rate
        self._index: dict[tuple[str, date], list[tuple[Decimal, Instrument, Instrument]]] = {}
        self._futures: dict[tuple[str, date], Instrument] = {}
        self._built_for: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ the listing
    def _refresh(self) -> None:
        """Index the catalogue's options by (underlying, expiry) when it changed."""
        stamp = (
            id(self.instruments),
            len(self.instruments),
            getattr(self.instruments, "version", 0),
        )
        if stamp == self._built_for:
            return
        sides: dict[tuple[str, date], dict[Decimal, dict[str, Instrument]]] = {}
        futures: dict[tuple[str, date], Instrument] = {}
        for instrument in self.instruments:
            if instrument.expiry is None or instrument.exchange not in ("NFO", "BFO"):
                continue
            key = (instrument.name, instrument.expiry)
            if instrument.is_future:
                futures[(instrument.name, (instrument.expiry.year, instrument.expiry.month))] = (
                    instrument
                )
            elif instrument.is_option and instrument.strike is not None:
                by_strike = sides.setdefault(key, {})
                by_strike.setdefault(instrument.strike, {})[instrument.instrument_type] = instrument
        self._index = {
            key: [
                (strike, pair[CALL], pair[PUT])
                for strike, pair in sorted(by_strike.items())
                if CALL in pair and PUT in pair
            ]
            for key, by_strike in sides.items()
        }
        self._futures = futures
        self._built_for = stamp

    def underlyings(self) -> list[str]:
        """Underlyings of the rules in force with options listed, alphabetical."""
        self._refresh()
        day = trading_day(self.clock())
        known = set(self.rules.underlyings(day))
        return sorted({name for name, _ in self._index if name in known})

    def expiries(self, underlying: str) -> list[date]:
        self._refresh()
        found = sorted(day for name, day in self._index if name == underlying)
        if not found:
            raise UnknownUnderlying(f"no options of {underlying!r} are listed")
        return found

    def _strikes(
        self, underlying: str, expiry: date | None
    ) -> tuple[date, list[tuple[Decimal, Instrument, Instrument]]]:
        self._refresh()
        expiry = expiry or self.expiries(underlying)[0]
        rows = self._index.get((underlying, expiry))
        if not rows:
            listed = ", ".join(d.isoformat() for d in self.expiries(underlying))
            raise ValueError(f"{underlying} has no options expiring {expiry} (listed: {listed})")
        return expiry, rows

    def _window(self, rows, spot: Decimal | None, step: Decimal, each_side: int | None):
        if each_side is None or spot is None:
            return rows
        atm = atm_strike(spot, step)
        centre = min(range(len(rows)), key=lambda i: abs(rows[i][0] - atm))
        return rows[max(0, centre - each_side) : centre + each_side + 1]

    def subscriptions(
        self, underlying: str, expiry: date | None = None, strikes_each_side: int | None = 20
    ) -> list[Key]:
        """The instruments a snapshot reads: the index, the month's future, the options."""
        rules = self.rules.for_underlying(underlying, trading_day(self.clock()))
        expiry, rows = self._strikes(underlying, expiry)
        spot = self._price(rules.index_key)
        keys = [rules.index_key]
        future = self._futures.get((underlying, (expiry.year, expiry.month)))
        if future is not None:
            keys.append(future.key)
        for _, call, put in self._window(rows, spot, rules.strike_step, strikes_each_side):
            keys += [call.key, put.key]
        return keys

    def _price(self, key: Key) -> Decimal | None:
        tick = self.tick(*key)
        return None if tick is None else tick.last_price

    # ------------------------------------------------------------------ the snapshot
    def snapshot(
        self,
        underlying: str,
        expiry: date | None = None,
        strikes_each_side: int | None = 20,
        now: datetime | None = None,
    ) -> ChainSnapshot:
        """One expiry's chain now: ATM +/- `strikes_each_side` listed strikes (None: all)."""
        now = now or self.clock()
        rules = self.rules.for_underlying(underlying, trading_day(now))
        expiry, rows = self._strikes(underlying, expiry)
        spot = self._price(rules.index_key)
        rows = self._window(rows, spot, rules.strike_step, strikes_each_side)
        future_instrument = self._futures.get((underlying, (expiry.year, expiry.month)))
        future = None
        if future_instrument is not None and future_instrument.expiry == expiry:
            future = self._price(future_instrument.key)
        ticks = [(self.tick(*call.key), self.tick(*put.key)) for _, call, put in rows]
        strikes = np.array([float(s) for s, _, _ in rows])
        n = len(rows)
        years = years_to_expiry(now, expiry)

        def mids(side: int) -> tuple[np.ndarray, np.ndarray]:
            mid = np.full(n, np.nan)
            ltp = np.full(n, np.nan)
            for i, pair in enumerate(ticks):
                tick = pair[side]
                if tick is None:
                    continue
                ltp[i] = float(tick.last_price)
                if tick.bid is not None and tick.ask is not None and tick.bid > 0:
                    mid[i] = 0.5 * (float(tick.bid) + float(tick.ask))
                else:
                    mid[i] = ltp[i]
            return mid, ltp

        call_mid, call_ltp = mids(0)
        put_mid, put_ltp = mids(1)
        forward = self._forward(strikes, call_mid, put_mid, years, future, spot)
        call_a = put_a = None
        if forward is not None and n:
            both = np.concatenate([call_mid, put_mid])
            is_call = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
            priced = np.where(np.isfinite(both) & (both > 0), both, np.nan)
            analytics = analyse(
                np.nan_to_num(priced, nan=0.0),
                forward,
                np.concatenate([strikes, strikes]),
                years,
                self.rate,
                is_call,
            )
            vol = np.where(np.isfinite(priced), analytics.iv.vol, np.nan)
            g = analytics.greeks
            call_a = (vol[:n], g.delta[:n], g.gamma[:n], g.theta[:n], g.vega[:n])
            put_a = (vol[n:], g.delta[n:], g.gamma[n:], g.theta[n:], g.vega[n:])
        atm = atm_strike(spot, rules.strike_step) if spot is not None else None
        out_rows = []
        for i, (strike, call, put) in enumerate(rows):
            out_rows.append(
                ChainSnapshotRow(
                    strike=strike,
                    call=self._quote(call, ticks[i][0], call_a, i),
                    put=self._quote(put, ticks[i][1], put_a, i),
                    atm=strike == atm,
                )
            )
        atm_iv = None
        atm_row = next((r for r in out_rows if r.atm), None)
        if atm_row is not None:
            ivs = [v for v in (atm_row.call.iv, atm_row.put.iv) if v is not None]
            atm_iv = sum(ivs) / len(ivs) if ivs else None
        call_oi = sum(r.call.oi or 0 for r in out_rows)
        put_oi = sum(r.put.oi or 0 for r in out_rows)
        first = rows[0][1] if rows else None
        return ChainSnapshot(
            underlying=underlying,
            exchange=rules.exchange,
            expiry=expiry,
            monthly=rules.calendar().is_monthly(expiry),
            index=rules.index_key,
            spot=spot,
            future=future,
            forward=forward,
            days_to_expiry=max(years, 0.0) * DAYS_PER_YEAR,
            expires_today=expiry == trading_day(now),
            atm_strike=atm,
            atm_iv=atm_iv,
            pcr=put_oi / call_oi if call_oi else None,
            lot_size=first.lot_size if first is not None else rules.lot_size,
            freeze_quantity=first.freeze_quantity if first is not None else rules.freeze_quantity,
            rows=tuple(out_rows),
            as_of=now.astimezone(IST),
        )

    def _forward(self, strikes, call_mid, put_mid, years, future, spot) -> float | None:
        """Put-call parity where call and put are closest; else the future; else the spot."""
        both = np.isfinite(call_mid) & np.isfinite(put_mid)
        if years > 0 and np.any(both):
            gap = np.where(both, np.abs(call_mid - put_mid), np.inf)
            i = int(np.argmin(gap))
            forward = strikes[i] + (call_mid[i] - put_mid[i]) * math.exp(self.rate * years)
            if forward > 0:
                return float(forward)
        if future is not None:
            return float(future)
        if spot is not None:
            return float(forward_price(float(spot), years, self.rate))
        return None

    @staticmethod
    def _quote(instrument: Instrument, tick: Tick | None, analytics, i: int) -> OptionQuote:
        if tick is None:
            return OptionQuote(instrument.exchange, instrument.symbol, *([None] * 12))
        change = change_pct = None
        if tick.close is not None and tick.close > 0:
            change = tick.last_price - tick.close
            change_pct = float(change / tick.close * 100)
        iv = delta = gamma = theta = vega = None
        if analytics is not None:
            vol, d, g, t, v = (a[i] for a in analytics)
            if math.isfinite(vol):
                iv, delta, gamma, theta, vega = (_maybe(x) for x in (vol, d, g, t, v))
        return OptionQuote(
            exchange=instrument.exchange,
            symbol=instrument.symbol,
            ltp=tick.last_price,
            change=change,
            change_pct=change_pct,
            bid=tick.bid,
            ask=tick.ask,
            volume=tick.volume,
            oi=tick.oi,
            iv=iv,
            delta=delta,
            gamma=gamma,
            theta=theta,
            vega=vega,
        )
