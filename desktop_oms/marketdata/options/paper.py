"""Paper-mode index derivatives: the futures and option chains the paper exchange lists
for each index of the F&O rules file, and their quotes, derived from the index's spot.

    store = load_bundled_instruments()              # has the indices and their closes
    derivatives = PaperDerivatives(store, FnoRules.bundled(), now=utcnow())
    broker = PaperBroker(instruments=store, derivatives=derivatives)
    broker.set_last_price("NSE", "NIFTY 50", Decimal("26350"))   # its options follow

Listing (`PaperDerivatives(...)`, and again at every day roll): for every underlying of
the rules in force whose index the store lists with a price, the monthly futures and
every open expiry's options, ATM +/- `strikes_each_side` strikes around the spot at the
real strike step, with Kite tradingsymbols, the rules' lot size and freeze quantity
(`chain.paper_contracts`). Contracts the store already lists (the bundled file's
NIFTY26DECFUT) are kept, with the rules' freeze quantity and index added, never listed
twice. At the day roll, expired contracts are delisted and the new expiries listed; when
the index runs within `extend_within` strikes of the edge of a chain, the strikes beyond
are listed (as exchanges add strikes intraday), so ATM +/- N stays listed all day.

Pricing (`derive(prices, now)`, called by the paper exchange with every batch of new
prices): for each index in the batch, its futures at the forward (spot x e^(rT), the
tick either side) and each expiry's chain at once (`pricing.price_chain`: Black-76 on the
forward, an SSVI smile whose ATM level rises when the index falls below its previous
close and falls when it rises, bid/ask on the tick around the model, LTP within half a
tick of it). Only quotes that changed are returned: a quiet far strike sends nothing.
Open interest is a fixed, plausible profile per listing (most at the money, heavier at
round strikes, calls above and puts below the spot), volume grows with the session.

Numbers cross to the exchange as Decimal quotes (`domain.MarketQuote`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from desktop_oms.domain import Instrument, MarketQuote
from desktop_oms.domain.catalog import InstrumentStore
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.options.chain import (
    CALL,
    PUT,
    OptionContract,
    atm_strike,
    paper_contracts,
)
from desktop_oms.marketdata.options.pricing import (
    MARKET_CLOSE,
    Smile,
    SpreadModel,
    atm_vol_after_move,
    black76_price,
    forward_price,
    price_chain,
    quote_on_ticks,
    years_to_expiry,
)
from desktop_oms.marketdata.options.rules import FnoRules, UnderlyingRules, UnknownUnderlying
from desktop_oms.marketdata.options.symbols import option_symbol

log = logging.getLogger(__name__)

Key = tuple[str, str]

RATE = 0.065  # the cost of carry the futures' premium and the options' discounting use
# ATM implied volatility of each index at its previous close (annualised).
BASE_VOLS = {"NIFTY": 0.12, "BANKNIFTY": 0.14, "FINNIFTY": 0.13, "MIDCPNIFTY": 0.17, "SENSEX": 0.12}
DEFAULT_VOL = 0.15
SESSION_OPEN = time(9, 15)
SESSION_SECONDS = 6 * 3600 + 15 * 60


def apply_fno_rules(
    instruments: Iterable[Instrument], rules: FnoRules, day: date
) -> list[Instrument]:
    """Add what the rules file knows to index derivatives (futures and options on NFO/BFO
    whose `name` is an underlying of the rules in force on `day`): the freeze quantity
    (Kite's dump has none) and the index they follow. Lot sizes are left as they are:
    Kite's dump says what is in force, and the bundled file's are the rules' own."""
    try:
        revision = rules.revision_for(day)
    except Exception:  # noqa: BLE001 - no revision yet: nothing to add
        return list(instruments)
    out = []
    for instrument in instruments:
        found = revision.underlyings.get(instrument.name.strip().upper())
        if (
            found is not None
            and instrument.exchange == found.exchange
            and (instrument.is_option or instrument.is_future)
            and (
                instrument.freeze_quantity != found.freeze_quantity
                or instrument.underlying != found.index_key
            )
        ):
            instrument = replace(
                instrument, freeze_quantity=found.freeze_quantity, underlying=found.index_key
            )
        out.append(instrument)
    return out


def _ticks_to_money(ticks: np.ndarray, tick: Decimal) -> list[Decimal]:
    return [tick * n for n in ticks.tolist()]


@dataclass(slots=True)
class _Chain:
    """One expiry of one underlying as priced: strikes ascending, a call and a put each."""

    day: date
    strikes: tuple[Decimal, ...]
    calls: tuple[Key, ...]
    puts: tuple[Key, ...]
    tick: Decimal
    lot_size: int
    oi_calls: list[int]
    oi_puts: list[int]
    close_calls: list[Decimal | None] = field(default_factory=list)
    close_puts: list[Decimal | None] = field(default_factory=list)


@dataclass(slots=True)
class _Future:
    key: Key
    day: date
    tick: Decimal
    close: Decimal | None
    last: Decimal | None = None


@dataclass(slots=True)
class _Underlying:
    rules: UnderlyingRules
    reference_spot: float  # the index's previous close: the smile's anchor
    futures: list[_Future] = field(default_factory=list)
    chains: list[_Chain] = field(default_factory=list)
    spot: Decimal | None = None
    # Every chain's options end to end (priced in one vectorised pass per index tick):
    strikes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sizes: list[int] = field(default_factory=list)
    calls: list[Key] = field(default_factory=list)
    puts: list[Key] = field(default_factory=list)
    oi_calls: list[int] = field(default_factory=list)
    oi_puts: list[int] = field(default_factory=list)
    close_calls: list[Decimal | None] = field(default_factory=list)
    close_puts: list[Decimal | None] = field(default_factory=list)
    last: np.ndarray | None = None  # 6 x n tick counts last sent: (bid, ask, ltp) x 2
    far_turn: int = 0  # the far chain a coalesced call sends next


class PaperDerivatives:
    """Lists and prices the paper exchange's index futures and options (module docstring).

    The paper exchange calls `derive` under its lock; nothing here is thread-safe beyond
    that. `store` is the exchange's instrument store: listing changes it in place."""

    def __init__(
        self,
        store: InstrumentStore,
        rules: FnoRules,
        *,
        now: datetime,
        strikes_each_side: int = 20,
        extend_within: int = 5,
        hot_expiries: int = 2,
        rate: float = RATE,
        vols: Mapping[str, float] | None = None,
        spread: SpreadModel | None = None,
        holidays: Iterable[date] = (),
    ) -> None:
        self.store = store
        self.rules = rules
        self.strikes_each_side = strikes_each_side
        self.extend_within = max(1, min(extend_within, strikes_each_side))
        self.hot_expiries = max(1, hot_expiries)
        self.rate = rate
        self.vols = dict(BASE_VOLS if vols is None else vols)
        self.spread = spread or SpreadModel()
        self.holidays = frozenset(holidays)
        self.day: date = now.astimezone(IST).date()
        self._closes = store.last_prices()  # previous closes of the indices (and others)
        self._by_index: dict[Key, _Underlying] = {}
        self._money_cache: dict[Decimal, dict[int, Decimal]] = {}
        self.list_contracts(self.day)

    # ------------------------------------------------------------------ what is listed
    @property
    def indices(self) -> frozenset[Key]:
        """The indices whose prices drive derivatives here."""
        return frozenset(self._by_index)

    def underlying_of(self, index: Key) -> str | None:
        found = self._by_index.get(index)
        return None if found is None else found.rules.underlying

    def drives(self, key: Key) -> bool:
        return key in self._by_index

    def list_contracts(self, day: date, spots: Mapping[Key, Decimal] | None = None) -> None:
        """(Re)list every underlying's contracts for `day`: expired ones out, new expiries
        in (around the index's price in `spots`, else the last seen, else its close)."""
        if day != self.day:  # the day roll: yesterday's last prices are the closes now
            for key, old in self._by_index.items():
                if old.spot is not None:
                    self._closes[key] = old.spot
                for future in old.futures:
                    if future.last is not None:
                        self._closes[future.key] = future.last
        self.day = day
        try:
            revision = self.rules.revision_for(day)
        except Exception as exc:  # noqa: BLE001 - no rules for the day: nothing derived
            log.warning("no F&O rules for %s: no paper derivatives listed (%s)", day, exc)
            return
        expired = [
            i.key
            for i in self.store
            if i.exchange in ("NFO", "BFO") and i.expiry is not None and i.expired(day)
        ]
        if expired:
            self.store.remove(expired)
            log.info("day roll %s: %d expired contracts delisted", day, len(expired))
        by_index: dict[Key, _Underlying] = {}
        for underlying in revision.underlyings.values():
            index = self.store.get(*underlying.index_key)
            if index is None:
                continue
            old = self._by_index.get(index.key)
            spot = (spots or {}).get(index.key)
            if spot is None and old is not None:
                spot = old.spot
            reference = self._closes.get(index.key)
            if spot is None:
                spot = reference
            if spot is None:
                log.info("no price for %s: its derivatives are not listed", underlying.index_symbol)
                continue
            self._list(underlying, spot, day)
            book = _Underlying(underlying, float(reference or spot), spot=spot)
            by_index[index.key] = book
            self._build(book)
        self._by_index = by_index

    def _list(self, rules: UnderlyingRules, spot: Decimal, day: date) -> None:
        contracts = paper_contracts(rules, spot, day, self.strikes_each_side, self.holidays)
        self._put(rules, contracts)
        # Enrich what the store listed itself (the bundled futures): freeze and index.
        self.store.put(
            apply_fno_rules(
                (
                    i
                    for i in self.store
                    if i.name == rules.underlying
                    and i.exchange == rules.exchange
                    and (i.is_future or i.is_option)
                    and (i.freeze_quantity is None or i.underlying is None)
                ),
                self.rules,
                day,
            )
        )

    def _put(self, rules: UnderlyingRules, contracts: Iterable[OptionContract]) -> None:
        """List the contracts the store does not list yet, following the rules' index."""
        new = [
            replace(contract.instrument(), underlying=rules.index_key)
            for contract in contracts
            if contract.key not in self.store
        ]
        if new:
            self.store.put(new)

    def _build(self, book: _Underlying) -> None:
        """The book of one underlying from what the store lists now."""
        rules = book.rules
        futures: list[_Future] = []
        options: dict[date, dict[Decimal, dict[str, Instrument]]] = {}
        for instrument in self.store:
            if instrument.underlying != rules.index_key or instrument.expiry is None:
                continue
            if instrument.is_future:
                futures.append(
                    _Future(
                        instrument.key,
                        instrument.expiry,
                        instrument.tick_size,
                        self._closes.get(instrument.key),
                    )
                )
            elif instrument.is_option and instrument.strike is not None:
                by_strike = options.setdefault(instrument.expiry, {})
                by_strike.setdefault(instrument.strike, {})[instrument.instrument_type] = instrument
        futures.sort(key=lambda f: f.day)
        chains = []
        for day in sorted(options):
            pairs = [
                (strike, sides[CALL], sides[PUT])
                for strike, sides in sorted(options[day].items())
                if CALL in sides and PUT in sides
            ]
            if not pairs:
                continue
            strikes = tuple(p[0] for p in pairs)
            call0 = pairs[0][1]
            chain = _Chain(
                day=day,
                strikes=strikes,
                calls=tuple(p[1].key for p in pairs),
                puts=tuple(p[2].key for p in pairs),
                tick=call0.tick_size,
                lot_size=call0.lot_size,
                oi_calls=[],
                oi_puts=[],
            )
            chain.oi_calls, chain.oi_puts = self._open_interest(
                chain, book.reference_spot, len(chains)
            )
            chains.append(chain)
        book.futures = futures
        book.chains = chains
        self._closing_prices(book)
        book.strikes = np.array([float(k) for c in chains for k in c.strikes])
        book.sizes = [len(c.strikes) for c in chains]
        book.calls = [k for c in chains for k in c.calls]
        book.puts = [k for c in chains for k in c.puts]
        book.oi_calls = [x for c in chains for x in c.oi_calls]
        book.oi_puts = [x for c in chains for x in c.oi_puts]
        book.close_calls = [x for c in chains for x in c.close_calls]
        book.close_puts = [x for c in chains for x in c.close_puts]
        book.last = None  # all are sent at the next tick

    def _open_interest(
        self, chain: _Chain, spot: float, nearness: int
    ) -> tuple[list[int], list[int]]:
        """A plausible open-interest profile in units (fixed for the listing)."""
        strikes = np.array([float(s) for s in chain.strikes])
        moneyness = (strikes - spot) / spot
        bell = np.exp(-0.5 * (moneyness / 0.03) ** 2)
        round_strike = np.where(np.mod(strikes, 500.0) == 0.0, 1.6, 1.0)
        peak_lots = 120_000.0 / (1.0 + nearness)
        calls = peak_lots * bell * round_strike * np.where(strikes >= spot, 1.0, 0.45)
        puts = peak_lots * bell * round_strike * np.where(strikes <= spot, 1.0, 0.45)
        lots = chain.lot_size
        return (
            [int(x) * lots for x in np.maximum(calls, 1.0)],
            [int(x) * lots for x in np.maximum(puts, 1.0)],
        )

    def _closing_prices(self, book: _Underlying) -> None:
        """Yesterday's closing quotes (the previous close of the index, priced at the
        previous day's close): what change is measured from."""
        close_at = datetime.combine(self.day - timedelta(days=1), MARKET_CLOSE, tzinfo=IST)
        spot = book.reference_spot
        smile = self._smile(book, spot)
        for future in book.futures:
            if future.close is None:
                years = years_to_expiry(close_at, future.day)
                fwd = float(forward_price(spot, years, self.rate))
                future.close = future.tick * round(fwd / float(future.tick))
        for chain in book.chains:
            years = years_to_expiry(close_at, chain.day)
            fwd = float(forward_price(spot, years, self.rate))
            prices = price_chain(fwd, chain.strikes, years, self.rate, smile, chain.tick)
            chain.close_calls = _ticks_to_money(prices.call_ltp, chain.tick)
            chain.close_puts = _ticks_to_money(prices.put_ltp, chain.tick)

    def _smile(self, book: _Underlying, spot: float) -> Smile:
        base = self.vols.get(book.rules.underlying, DEFAULT_VOL)
        return Smile(atm_vol_after_move(base, spot, book.reference_spot))

    def _extend(self, book: _Underlying, spot: Decimal) -> bool:
        """List the strikes beyond a chain's edge when the index nears it."""
        step = book.rules.strike_step
        atm = atm_strike(spot, step)
        grew = False
        for chain in book.chains:
            if chain.day < self.day:
                continue
            low, high = chain.strikes[0], chain.strikes[-1]
            near = self.extend_within * step
            if low + near <= atm <= high - near:
                continue
            wanted = [
                atm + i * step
                for i in range(-self.strikes_each_side, self.strikes_each_side + 1)
                if atm + i * step > 0
            ]
            missing = [k for k in wanted if k not in set(chain.strikes)]
            if not missing:
                continue
            monthly = book.rules.calendar(self.holidays).is_monthly(chain.day)
            contracts = [
                OptionContract(
                    exchange=book.rules.exchange,
                    tradingsymbol=option_symbol(
                        book.rules.underlying, chain.day, strike, kind, monthly=monthly
                    ),
                    underlying=book.rules.underlying,
                    instrument_type=kind,
                    expiry=chain.day,
                    strike=strike,
                    lot_size=chain.lot_size,
                    tick_size=chain.tick,
                    freeze_quantity=book.rules.freeze_quantity,
                    monthly=monthly,
                )
                for strike in missing
                for kind in (CALL, PUT)
            ]
            self._put(book.rules, contracts)
            grew = True
        if grew:
            self._build(book)
        return grew

    # ------------------------------------------------------------------ pricing
    def derive(
        self, prices: Mapping[Key, Decimal], now: datetime, *, coalesce: bool = False
    ) -> dict[Key, MarketQuote]:
        """Quotes of the derivatives of the indices in `prices` that changed (see the module
        docstring). Relists first when `now` is a new day (the day roll).

        `coalesce` (a continuous feed, the simulated market): the futures and the
        `hot_expiries` nearest chains are sent at every call, the farther chains in turn,
        one per call (at 4-5 index ticks a second each far chain is sent about once a
        second, as far months trade less often); what changed meanwhile goes out when its
        turn comes. Without it every chain is priced and sent (an explicit price)."""
        if not self._by_index and not prices:
            return {}
        day = now.astimezone(IST).date()
        if day != self.day:
            self.list_contracts(day, prices)
        out: dict[Key, MarketQuote] = {}
        for key, price in prices.items():
            book = self._by_index.get(key)
            if book is None:
                continue
            book.spot = Decimal(price)
            self._extend(book, book.spot)
            self._price(book, float(price), now, out, coalesce=coalesce)
        return out

    def quotes_now(self, now: datetime) -> dict[Key, MarketQuote]:
        """Every derivative's quote at the last spots seen (the next `derive` still sends
        all that changed since it last sent them)."""
        out: dict[Key, MarketQuote] = {}
        for book in self._by_index.values():
            if book.spot is not None:
                self._price(book, float(book.spot), now, out, remember=False)
        return out

    def _session_share(self, now: datetime) -> float:
        local = now.astimezone(IST)
        opened = datetime.combine(local.date(), SESSION_OPEN, tzinfo=IST)
        return min(max((local - opened).total_seconds() / SESSION_SECONDS, 0.0), 1.0)

    def _price(
        self,
        book: _Underlying,
        spot: float,
        now: datetime,
        out: dict,
        remember: bool = True,
        coalesce: bool = False,
    ) -> None:
        """Quotes into `out`: those that changed since last sent (`remember`: they count
        as sent now), or all of them (not `remember`); `coalesce`: see `derive`."""
        for future in book.futures:
            years = years_to_expiry(now, future.day)
            if years < 0:
                continue
            fwd = float(forward_price(spot, years, self.rate))
            ticks = max(round(fwd / float(future.tick)), 1)
            last = future.tick * ticks
            if remember:
                if last == future.last:
                    continue
                future.last = last
            out[future.key] = MarketQuote(
                last_price=last,
                bid=last - future.tick if ticks > 1 else None,
                ask=last + future.tick,
                close=future.close,
            )
        if not book.chains:
            return
        smile = self._smile(book, spot)
        tick = book.rules.tick_size
        tick_f = float(tick)
        years = np.repeat(np.array([years_to_expiry(now, c.day) for c in book.chains]), book.sizes)
        forwards = spot * np.exp(self.rate * np.maximum(years, 0.0))
        vols = smile.vol(forwards, book.strikes, years)
        table = np.stack(
            (
                *quote_on_ticks(
                    black76_price(forwards, book.strikes, years, self.rate, vols, True),
                    tick_f,
                    self.spread,
                ),
                *quote_on_ticks(
                    black76_price(forwards, book.strikes, years, self.rate, vols, False),
                    tick_f,
                    self.spread,
                ),
            )
        )
        if not remember or book.last is None or book.last.shape != table.shape:
            changed_calls = changed_puts = np.arange(table.shape[1])
            if remember:
                book.last = table
        else:
            diff = table != book.last
            if coalesce:
                diff &= self._due(book)
            changed_calls = np.flatnonzero(diff[0] | diff[1] | diff[2])
            changed_puts = np.flatnonzero(diff[3] | diff[4] | diff[5])
            if remember:
                book.last = np.where(diff, table, book.last)
        money = self._money(tick)
        lot = book.rules.lot_size
        turnover = 3.0 * self._session_share(now)
        for side, rows, keys, oi, closes in (
            (0, changed_calls, book.calls, book.oi_calls, book.close_calls),
            (3, changed_puts, book.puts, book.oi_puts, book.close_puts),
        ):
            if not len(rows):
                continue
            bids = table[side, rows].tolist()
            asks = table[side + 1, rows].tolist()
            ltps = table[side + 2, rows].tolist()
            for i, bid, ask, ltp in zip(rows.tolist(), bids, asks, ltps, strict=True):
                last = money.get(ltp)
                if last is None:
                    last = money[ltp] = tick * ltp
                offer = money.get(ask)
                if offer is None:
                    offer = money[ask] = tick * ask
                if bid > 0:
                    bid_price = money.get(bid)
                    if bid_price is None:
                        bid_price = money[bid] = tick * bid
                else:
                    bid_price = None
                out[keys[i]] = MarketQuote(
                    last, bid_price, offer, closes[i], int(oi[i] * turnover) // lot * lot, oi[i]
                )

    def _due(self, book: _Underlying) -> np.ndarray:
        """Which options a coalesced call sends: the nearest chains, and the next far one."""
        hot = min(self.hot_expiries, len(book.sizes))
        far = len(book.sizes) - hot
        due = np.zeros(len(book.strikes), dtype=bool)
        due[: sum(book.sizes[:hot])] = True
        if far:
            turn = hot + book.far_turn % far
            book.far_turn += 1
            start = sum(book.sizes[:turn])
            due[start : start + book.sizes[turn]] = True
        return due

    def _money(self, tick: Decimal) -> dict[int, Decimal]:
        """Prices as Decimal by whole ticks (made once: thousands are needed per tick)."""
        cache = self._money_cache.get(tick)
        if cache is None or len(cache) > 500_000:
            cache = self._money_cache[tick] = {}
        return cache

    # ------------------------------------------------------------------ for the window
    def spot(self, index: Key) -> Decimal | None:
        book = self._by_index.get(index)
        return None if book is None else book.spot

    def expiries(self, underlying: str) -> list[date]:
        for book in self._by_index.values():
            if book.rules.underlying == underlying:
                return [c.day for c in book.chains]
        raise UnknownUnderlying(f"no paper derivatives of {underlying!r}")


def paper_market(
    now: datetime, rules: FnoRules | None = None, **options
) -> tuple[InstrumentStore, PaperDerivatives]:
    """What paper mode lists: the bundled instruments (stocks, the indices and their
    previous closes) plus the index futures and option chains of the F&O rules file,
    priced from the indices (`PaperDerivatives` keywords in `options`)."""
    from desktop_oms.marketdata.instruments import load_bundled_instruments

    store = load_bundled_instruments()
    derivatives = PaperDerivatives(store, rules or FnoRules.bundled(), now=now, **options)
    return store, derivatives


__all__ = ["PaperDerivatives", "apply_fno_rules", "paper_market"]
