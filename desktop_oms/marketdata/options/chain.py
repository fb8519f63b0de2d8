"""Paper-mode option chains: the contracts an underlying has open on a day, generated from
its rules (expiry calendar, strike step, lot size) and the spot.

- `listed_expiries`: the option expiries open on a day (weeklies besides the monthlies).
- `option_chain`: one expiry's chain, ATM +/- N strikes at the real strike step, calls
  and puts with their Kite tradingsymbols, lot sizes, tick and freeze quantity.
- `future_contracts`: the monthly futures (NIFTY26DECFUT ...).
- `paper_contracts`: everything above for every open expiry, for the paper instrument list.
- `price_option_chain`: paper quotes of a chain from the spot and the clock (pricing.py).

Contracts expiring today are open (until the close) and say so (`expires_on`); contracts
whose expiry has passed are never generated. Strikes are centred on the spot rounded to
the strike step (the ATM strike, ties upwards).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from desktop_oms.domain import Instrument
from desktop_oms.marketdata.options.pricing import (
    ChainPrices,
    Smile,
    SpreadModel,
    forward_price,
    price_chain,
    years_to_expiry,
)
from desktop_oms.marketdata.options.rules import UnderlyingRules
from desktop_oms.marketdata.options.symbols import (
    FUTURE,
    Expiry,
    future_symbol,
    option_symbol,
)

CALL = "CE"
PUT = "PE"


def paper_token(exchange: str, symbol: str) -> int:
    """A stable instrument token for a generated contract: from a hash of its key, in
    [2**40, 2**41) - far above Kite's 32-bit tokens, so never mistaken for a real one."""
    digest = hashlib.blake2b(f"{exchange}:{symbol}".encode(), digest_size=5).digest()
    return (1 << 40) | int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class OptionContract:
    """An index option or future as the paper instrument list needs it."""

    exchange: str  # NFO / BFO
    tradingsymbol: str
    underlying: str  # NIFTY, SENSEX, ... (Kite's "name" column)
    instrument_type: str  # CE, PE or FUT
    expiry: date
    strike: Decimal | None  # None for futures
    lot_size: int
    tick_size: Decimal
    freeze_quantity: int
    monthly: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.tradingsymbol)

    @property
    def segment(self) -> str:
        return f"{self.exchange}-{'FUT' if self.instrument_type == FUTURE else 'OPT'}"

    @property
    def is_option(self) -> bool:
        return self.instrument_type in (CALL, PUT)

    def expires_on(self, day: date) -> bool:
        """True on its expiry day: still tradable until the close, flagged in the grid."""
        return self.expiry == day

    def expired(self, day: date) -> bool:
        """True from the day after expiry: drops out at the day roll."""
        return day > self.expiry

    def instrument(self) -> Instrument:
        return Instrument(
            exchange=self.exchange,
            symbol=self.tradingsymbol,
            instrument_token=paper_token(self.exchange, self.tradingsymbol),
            name=self.underlying,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            instrument_type=self.instrument_type,
            segment=self.segment,
            expiry=self.expiry,
            strike=self.strike,
            freeze_quantity=self.freeze_quantity,
        )


@dataclass(frozen=True, slots=True)
class ChainRow:
    strike: Decimal
    call: OptionContract
    put: OptionContract


@dataclass(frozen=True, slots=True)
class OptionChain:
    underlying: str
    as_of: date
    expiry: Expiry
    spot: Decimal
    atm_strike: Decimal
    rows: tuple[ChainRow, ...]

    @property
    def strikes(self) -> tuple[Decimal, ...]:
        return tuple(row.strike for row in self.rows)

    @property
    def atm_index(self) -> int:
        return self.strikes.index(self.atm_strike)

    def contracts(self) -> list[OptionContract]:
        return [c for row in self.rows for c in (row.call, row.put)]


def atm_strike(spot: Decimal, step: Decimal) -> Decimal:
    """The strike nearest the spot (half way rounds up)."""
    if step <= 0:
        raise ValueError(f"strike step must be positive, got {step}")
    spot = Decimal(spot)
    if not spot.is_finite() or spot <= 0:
        raise ValueError(f"spot must be a positive number, got {spot}")
    steps = (spot / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(steps, Decimal(1)) * step


def strikes_around(spot: Decimal, step: Decimal, each_side: int) -> tuple[Decimal, ...]:
    """ATM and `each_side` strikes below and above it (none at or below zero)."""
    if each_side < 0:
        raise ValueError(f"strikes each side must not be negative, got {each_side}")
    atm = atm_strike(spot, step)
    return tuple(atm + i * step for i in range(-each_side, each_side + 1) if atm + i * step > 0)


def listed_expiries(
    rules: UnderlyingRules, as_of: date, holidays: Iterable[date] = ()
) -> list[Expiry]:
    calendar = rules.calendar(holidays)
    return calendar.listed_expiries(as_of, rules.weekly_listed, rules.monthly_listed)


def _option(rules: UnderlyingRules, expiry: Expiry, strike: Decimal, kind: str) -> OptionContract:
    return OptionContract(
        exchange=rules.exchange,
        tradingsymbol=option_symbol(
            rules.underlying, expiry.day, strike, kind, monthly=expiry.monthly
        ),
        underlying=rules.underlying,
        instrument_type=kind,
        expiry=expiry.day,
        strike=strike,
        lot_size=rules.lot_size,
        tick_size=rules.tick_size,
        freeze_quantity=rules.freeze_quantity,
        monthly=expiry.monthly,
    )


def option_chain(
    rules: UnderlyingRules,
    spot: Decimal,
    as_of: date,
    expiry: date | None = None,
    strikes_each_side: int = 20,
    holidays: Iterable[date] = (),
) -> OptionChain:
    """One expiry's chain (the nearest open expiry unless `expiry` names another)."""
    holidays = frozenset(holidays)
    open_expiries = listed_expiries(rules, as_of, holidays)
    if expiry is None:
        chosen = open_expiries[0]
    else:
        matches = [e for e in open_expiries if e.day == expiry]
        if not matches:
            listed = ", ".join(e.day.isoformat() for e in open_expiries)
            raise ValueError(
                f"{rules.underlying} has no expiry on {expiry} open on {as_of} (open: {listed})"
            )
        chosen = matches[0]
    strikes = strikes_around(spot, rules.strike_step, strikes_each_side)
    rows = tuple(
        ChainRow(strike, _option(rules, chosen, strike, CALL), _option(rules, chosen, strike, PUT))
        for strike in strikes
    )
    return OptionChain(
        underlying=rules.underlying,
        as_of=as_of,
        expiry=chosen,
        spot=Decimal(spot),
        atm_strike=atm_strike(spot, rules.strike_step),
        rows=rows,
    )


def future_contracts(
    rules: UnderlyingRules, as_of: date, holidays: Iterable[date] = ()
) -> list[OptionContract]:
    """The monthly futures open on `as_of` (as many months as monthly options)."""
    calendar = rules.calendar(holidays)
    return [
        OptionContract(
            exchange=rules.exchange,
            tradingsymbol=future_symbol(rules.underlying, day),
            underlying=rules.underlying,
            instrument_type=FUTURE,
            expiry=day,
            strike=None,
            lot_size=rules.lot_size,
            tick_size=rules.tick_size,
            freeze_quantity=rules.freeze_quantity,
            monthly=True,
        )
        for day in calendar.monthly_expiries(as_of, rules.monthly_listed)
    ]


def paper_contracts(
    rules: UnderlyingRules,
    spot: Decimal,
    as_of: date,
    strikes_each_side: int = 20,
    holidays: Iterable[date] = (),
) -> list[OptionContract]:
    """Futures, then every open expiry's options (nearest first, strikes ascending)."""
    holidays = frozenset(holidays)
    out = future_contracts(rules, as_of, holidays)
    for expiry in listed_expiries(rules, as_of, holidays):
        chain = option_chain(rules, spot, as_of, expiry.day, strikes_each_side, holidays)
        out.extend(chain.contracts())
    return out


def index_instrument(rules: UnderlyingRules) -> Instrument:
    """The underlying index, as Kite lists it: segment INDICES, not tradable."""
    exchange, symbol = rules.index_key
    return Instrument(
        exchange=exchange,
        symbol=symbol,
        instrument_token=paper_token(exchange, symbol),
        name=symbol,
        instrument_type="EQ",
        segment="INDICES",
        tradable=False,
    )


def price_option_chain(
    chain: OptionChain,
    spot: Decimal,
    now: datetime,
    rate: float,
    smile: Smile,
    spread: SpreadModel | None = None,
    dividend_yield: float = 0.0,
) -> ChainPrices:
    """Paper quotes of a chain: Black-76 on the forward to its expiry (from the spot), the
    smile, the spread and the tick. Time runs to 15:30 IST on the expiry day; after that
    the options are worth their intrinsic value."""
    years = years_to_expiry(now, chain.expiry.day)
    forward = float(forward_price(float(spot), years, rate, dividend_yield))
    tick = chain.rows[0].call.tick_size if chain.rows else Decimal("0.05")
    return price_chain(forward, chain.strikes, years, rate, smile, tick, spread)
