"""The instrument catalogue: instruments by (exchange, symbol) and by token, read from
Kite's instruments CSV format (what `GET /instruments` returns and the bundled paper-mode
file uses):

    instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,
    tick_size,lot_size,instrument_type,segment,exchange

Kite's dump has no multiplier column: every parsed instrument gets multiplier 1 (Kite
reports NFO quantities in units, so 1 is right there too). Index rows (segment
INDICES, tick and lot size 0) are kept but marked not tradable. Options keep their strike;
the freeze quantity and the index a derivative follows are not in the dump (the F&O rules
file adds them: `marketdata.options.apply_fno_rules`).

Pure: it parses text it is given; opening files is marketdata's (`read_instruments_csv`,
`load_bundled_instruments`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from desktop_oms.domain.instrument import OPTION_TYPES, Instrument

COLUMNS = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)

_NOT_TRADABLE_SEGMENTS = frozenset({"INDICES"})


class UnknownInstrument(KeyError):
    """No such instrument. A KeyError whose str() is the plain message (no quotes)."""

    def __init__(self, exchange: str, symbol: str) -> None:
        super().__init__(f"Unknown instrument {exchange}:{symbol}")
        self.exchange = exchange
        self.symbol = symbol

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class InstrumentsFile:
    """What one instruments CSV holds: the instruments and the last prices it quoted."""

    instruments: list[Instrument]
    last_prices: dict[tuple[str, str], Decimal]


def parse_instruments(
    stream: Iterable[str],
    label: str = "<stream>",
    *,
    strict_duplicates: bool = True,
    on_duplicate: Callable[[str], None] | None = None,
) -> InstrumentsFile:
    """Parse a Kite instruments CSV from text lines (an open text stream, `io.StringIO`).

    Raises ValueError naming `label` and the line of a bad row. A second row for the same
    (exchange, tradingsymbol) is an error, unless `strict_duplicates` is False: then the
    first row wins and `on_duplicate` is told of the others.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{label}: empty file, expected a Kite instruments CSV header") from None
    header = [column.strip().lower() for column in header]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ValueError(
            f"{label}: line 1: not a Kite instruments CSV header (missing column(s): {', '.join(missing)})"
        )
    index = {column: header.index(column) for column in COLUMNS}
    instruments: list[Instrument] = []
    prices: dict[tuple[str, str], Decimal] = {}
    first_line: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{label}: line {line}: expected {len(header)} fields, found {len(row)}"
            )
        values = {column: row[index[column]].strip() for column in COLUMNS}
        try:
            instrument, last_price = _instrument_from_row(values)
        except ValueError as exc:
            raise ValueError(f"{label}: line {line}: {exc}") from None
        if instrument.key in first_line:
            problem = (
                f"{label}: line {line}: duplicate instrument {instrument.exchange}:{instrument.symbol}"
                f" (first on line {first_line[instrument.key]})"
            )
            if strict_duplicates:
                raise ValueError(problem)
            if on_duplicate is not None:
                on_duplicate(problem)
            continue
        first_line[instrument.key] = line
        instruments.append(instrument)
        if last_price > 0:
            prices[instrument.key] = last_price
    return InstrumentsFile(instruments=instruments, last_prices=prices)


def _int(values: Mapping[str, str], column: str, minimum: int) -> int:
    text = values[column]
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a whole number") from None
    if number < minimum:
        raise ValueError(f"{column} {number} must be at least {minimum}")
    return number


def _decimal(values: Mapping[str, str], column: str) -> Decimal:
    text = values[column]
    try:
        number = Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        raise ValueError(f"{column} {text!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{column} {text!r} must be a non-negative number")
    return number


def _instrument_from_row(values: Mapping[str, str]) -> tuple[Instrument, Decimal]:
    symbol = values["tradingsymbol"].upper()
    exchange = values["exchange"].upper()
    if not symbol:
        raise ValueError("tradingsymbol is empty")
    if not exchange:
        raise ValueError("exchange is empty")
    segment = values["segment"].upper()
    tradable = segment not in _NOT_TRADABLE_SEGMENTS
    token = _int(values, "instrument_token", 1)
    _int(values, "exchange_token", 0)
    tick_size = _decimal(values, "tick_size")
    lot_size = _int(values, "lot_size", 0)
    if tradable:
        if tick_size <= 0:
            raise ValueError(f"tick_size {values['tick_size']!r} must be positive")
        if lot_size < 1:
            raise ValueError(f"lot_size {lot_size} must be at least 1")
    else:
        lot_size = max(lot_size, 1)  # indices: Kite says 0; 1 keeps lot arithmetic safe
    last_price = _decimal(values, "last_price")
    strike = _decimal(values, "strike")
    instrument_type = values["instrument_type"].upper()
    expiry_text = values["expiry"]
    expiry = None
    if expiry_text:
        try:
            expiry = date.fromisoformat(expiry_text)
        except ValueError:
            raise ValueError(f"expiry {expiry_text!r} is not a YYYY-MM-DD date") from None
    instrument = Instrument(
        exchange=exchange,
        symbol=symbol,
        instrument_token=token,
        name=values["name"],
        tick_size=tick_size,
        lot_size=lot_size,
        multiplier=Decimal(1),
        instrument_type=instrument_type,
        segment=segment,
        expiry=expiry,
        tradable=tradable,
        strike=strike if instrument_type in OPTION_TYPES and strike > 0 else None,
    )
    return instrument, last_price


class InstrumentStore:
    """Instruments by (exchange, symbol) and by token, with symbol search for the ticket."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        last_prices: Mapping[tuple[str, str], Decimal] | None = None,
    ) -> None:
        self._items: list[Instrument] = []
        self._by_key: dict[tuple[str, str], Instrument] = {}
        self._by_token: dict[int, Instrument] = {}
        for instrument in instruments:
            if instrument.key in self._by_key:
                raise ValueError(f"duplicate instrument {instrument.exchange}:{instrument.symbol}")
            self._items.append(instrument)
            self._by_key[instrument.key] = instrument
            if instrument.instrument_token:
                self._by_token.setdefault(instrument.instrument_token, instrument)
        self._last_prices: dict[tuple[str, str], Decimal] = {}
        self.version = 0  # counts listing changes (put / remove): caches key on it
        for key, price in (last_prices or {}).items():
            if key not in self._by_key:
                raise ValueError(f"last price given for unknown instrument {key[0]}:{key[1]}")
            if price > 0:
                self._last_prices[key] = Decimal(price)

    @classmethod
    def from_csv(cls, stream: Iterable[str], label: str | None = None) -> InstrumentStore:
        """From a Kite instruments CSV (an open text stream; see `parse_instruments`)."""
        parsed = parse_instruments(stream, label or getattr(stream, "name", "<stream>"))
        return cls(parsed.instruments, parsed.last_prices)

    @classmethod
    def from_csv_text(cls, text: str) -> InstrumentStore:
        return cls.from_csv(io.StringIO(text))

    @staticmethod
    def _key(exchange: str, symbol: str) -> tuple[str, str]:
        return (str(exchange).strip().upper(), str(symbol).strip().upper())

    def get(self, exchange: str, symbol: str) -> Instrument | None:
        return self._by_key.get(self._key(exchange, symbol))

    def require(self, exchange: str, symbol: str) -> Instrument:
        key = self._key(exchange, symbol)
        instrument = self._by_key.get(key)
        if instrument is None:
            raise UnknownInstrument(*key)
        return instrument

    def by_token(self, token: int) -> Instrument | None:
        return self._by_token.get(int(token))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self._key(*key) in self._by_key

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._items)

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        """Last prices the instruments file quoted (> 0 only), by (exchange, symbol)."""
        return dict(self._last_prices)

    def set_multiplier(self, exchange: str, symbol: str, multiplier: Decimal) -> Instrument | None:
        """Replace the instrument's contract multiplier (Kite's positions show MCX/CDS
        multipliers its dump lacks); returns the new instrument, None if not listed."""
        key = self._key(exchange, symbol)
        old = self._by_key.get(key)
        if old is None:
            return None
        multiplier = Decimal(multiplier)
        if multiplier <= 0:
            raise ValueError(f"a multiplier must be positive, got {multiplier}")
        if old.multiplier == multiplier:
            return old
        new = replace(old, multiplier=multiplier)
        self._items[self._items.index(old)] = new
        self._by_key[key] = new
        if old.instrument_token and self._by_token.get(old.instrument_token) is old:
            self._by_token[old.instrument_token] = new
        self.version += 1
        return new

    # -- changes (the paper exchange lists and delists its index derivatives) -----------
    def put(self, instruments: Iterable[Instrument]) -> None:
        """Add instruments; one already listed under the same (exchange, symbol) is
        replaced in place (e.g. with its freeze quantity added)."""
        for instrument in instruments:
            old = self._by_key.get(instrument.key)
            if old is not None:
                self._items[self._items.index(old)] = instrument
                if self._by_token.get(old.instrument_token) is old:
                    del self._by_token[old.instrument_token]
            else:
                self._items.append(instrument)
            self._by_key[instrument.key] = instrument
            if instrument.instrument_token:
                self._by_token.setdefault(instrument.instrument_token, instrument)
            self.version += 1

    def remove(self, keys: Iterable[tuple[str, str]]) -> list[Instrument]:
        """Delist these instruments (unknown keys are ignored); returns those removed."""
        gone = []
        for key in keys:
            instrument = self._by_key.pop(self._key(*key), None)
            if instrument is None:
                continue
            gone.append(instrument)
            if self._by_token.get(instrument.instrument_token) is instrument:
                del self._by_token[instrument.instrument_token]
            self._last_prices.pop(instrument.key, None)
        if gone:
            dropped = {id(i) for i in gone}
            self._items = [i for i in self._items if id(i) not in dropped]
            self.version += 1
        return gone

    def search(self, prefix: str, limit: int = 20) -> list[Instrument]:
        """Symbol completion, case-insensitive.

        Symbols starting with the text come first (shortest, then alphabetical: an exact
        match leads), then instruments whose name starts with it, then those with a word
        of the name starting with it. "NFO:NIF" restricts the search to one exchange.
        """
        text = (prefix or "").strip().upper()
        exchange = None
        if ":" in text:
            exchange, _, text = text.partition(":")
            exchange, text = exchange.strip(), text.strip()
        if not text or limit <= 0:
            return []
        pool = [i for i in self._items if exchange is None or i.exchange == exchange]
        by_symbol = sorted(
            (i for i in pool if i.symbol.startswith(text)),
            key=lambda i: (len(i.symbol), i.symbol, i.exchange),
        )
        seen = {i.key for i in by_symbol}
        by_name = sorted(
            (i for i in pool if i.key not in seen and i.name.upper().startswith(text)),
            key=lambda i: (i.name.upper(), i.symbol, i.exchange),
        )
        seen.update(i.key for i in by_name)
        by_word = sorted(
            (
                i
                for i in pool
                if i.key not in seen and any(w.startswith(text) for w in i.name.upper().split())
            ),
            key=lambda i: (i.symbol, i.exchange),
        )
        return (by_symbol + by_name + by_word)[:limit]
