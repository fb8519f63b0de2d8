"""Index derivatives rules: the dated file resources/fno_rules.toml - loading and checking
it (`FnoRules`), one underlying's rules in force on a day (`UnderlyingRules`), and looking
them up by underlying, by index or by an option's/future's tradingsymbol.

A bad file never half-loads: every revision and field is checked before anything is
returned, and the first problem raises `FnoRulesError` naming where it is.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType

from desktop_oms.infra.resources import resource_path
from desktop_oms.marketdata.options.symbols import (
    ExpiryCalendar,
    SymbolError,
    parse_symbol,
    weekday_number,
)

RULES_FILE = "fno_rules.toml"
EXCHANGES = {"NFO": "NSE", "BFO": "BSE"}  # derivatives exchange -> exchange of its indices
_UNDERLYING_NAME = re.compile(r"[A-Z][A-Z0-9]*")
_REVISION_KEYS = {"effective_from", "note", "circulars"}
_REQUIRED = {
    "exchange",
    "index",
    "lot_size",
    "freeze_quantity",
    "strike_step",
    "tick_size",
    "monthly_expiry",
    "monthly_listed",
}
_OPTIONAL = {"weekly_expiry", "weekly_listed", "sources", "unconfirmed"}
_FIELDS = _REQUIRED | _OPTIONAL


class FnoRulesError(ValueError):
    """The rules file is wrong, or has no rules for what was asked."""


class UnknownUnderlying(FnoRulesError, LookupError):
    """No rules for this underlying (or index, or tradingsymbol) on that day."""


@dataclass(frozen=True, slots=True)
class UnderlyingRules:
    """One underlying's rules in one revision. Quantities are in units (not lots)."""

    underlying: str
    exchange: str  # NFO or BFO
    index_exchange: str  # NSE or BSE
    index_symbol: str  # Kite tradingsymbol of the index, e.g. "NIFTY 50"
    lot_size: int
    freeze_quantity: int
    strike_step: Decimal
    tick_size: Decimal
    monthly_expiry: int  # weekday, 0 = Monday
    weekly_expiry: int | None
    weekly_listed: int
    monthly_listed: int
    effective_from: date
    sources: Mapping[str, str]
    unconfirmed: frozenset[str]

    @property
    def index_key(self) -> tuple[str, str]:
        """(exchange, tradingsymbol) of the index, as the instrument store keys it."""
        return (self.index_exchange, self.index_symbol)

    @property
    def has_weeklies(self) -> bool:
        return self.weekly_expiry is not None

    @property
    def max_lots_per_order(self) -> int:
        """Whole lots one order may carry without crossing the freeze quantity."""
        return self.freeze_quantity // self.lot_size

    @property
    def max_quantity_per_order(self) -> int:
        """Units one order may carry: whole lots at most the freeze quantity (NIFTY: 1,755)."""
        return self.max_lots_per_order * self.lot_size

    def calendar(self, holidays: Iterable[date] = ()) -> ExpiryCalendar:
        """This underlying's expiry calendar (holidays move an expiry to the day before)."""
        return ExpiryCalendar(self.monthly_expiry, self.weekly_expiry, frozenset(holidays))

    def is_confirmed(self, field_name: str) -> bool:
        return field_name not in self.unconfirmed


@dataclass(frozen=True, slots=True)
class RulesRevision:
    effective_from: date
    note: str
    circulars: tuple[str, ...]
    underlyings: Mapping[str, UnderlyingRules]


def _table(data: object, where: str) -> dict:
    if not isinstance(data, dict):
        raise FnoRulesError(f"{where} must be a table")
    return data


def _int(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FnoRulesError(f"{where} must be a whole number, got {value!r}")
    if value < minimum:
        raise FnoRulesError(f"{where} must be at least {minimum}, got {value}")
    return value


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise FnoRulesError(f'{where}: write it as text ("0.05"), got {value!r}')
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise FnoRulesError(f"{where} {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise FnoRulesError(f"{where} must be a positive number, got {value!r}")
    return number


def _weekday(value: object, where: str) -> int:
    if not isinstance(value, str):
        raise FnoRulesError(f'{where} must be a weekday such as "TUE", got {value!r}')
    try:
        return weekday_number(value)
    except ValueError as exc:
        raise FnoRulesError(f"{where}: {exc}") from None


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FnoRulesError(f"{where} must be a list of text")
    return tuple(value)


def _underlying(name: str, data: object, effective: date, where: str) -> UnderlyingRules:
    table = _table(data, where)
    if not _UNDERLYING_NAME.fullmatch(name):
        raise FnoRulesError(f"{where}: {name!r} is not an underlying name (NIFTY, SENSEX, ...)")
    missing = _REQUIRED - set(table)
    if missing:
        raise FnoRulesError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(table) - _FIELDS
    if unknown:
        raise FnoRulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    exchange = table["exchange"]
    if exchange not in EXCHANGES:
        raise FnoRulesError(f"{where}.exchange must be NFO or BFO, got {exchange!r}")
    index = table["index"]
    index_exchange, sep, index_symbol = (
        index.partition(":") if isinstance(index, str) else ("", "", "")
    )
    if not sep or not index_symbol.strip():
        raise FnoRulesError(
            f'{where}.index must read EXCHANGE:SYMBOL ("NSE:NIFTY 50"), got {index!r}'
        )
    if index_exchange != EXCHANGES[exchange]:
        raise FnoRulesError(
            f"{where}.index: {exchange} options follow an index on {EXCHANGES[exchange]}, "
            f"got {index!r}"
        )
    lot_size = _int(table["lot_size"], f"{where}.lot_size", 1)
    freeze = _int(table["freeze_quantity"], f"{where}.freeze_quantity", 1)
    if freeze < lot_size:
        raise FnoRulesError(
            f"{where}: freeze_quantity {freeze} is below one lot ({lot_size}): no order could be placed"
        )
    tick = _decimal(table["tick_size"], f"{where}.tick_size")
    step = _decimal(table["strike_step"], f"{where}.strike_step")
    if step % tick != 0:
        raise FnoRulesError(f"{where}.strike_step {step} is not a whole number of ticks ({tick})")
    weekly = table.get("weekly_expiry")
    weekly_day = None if weekly is None else _weekday(weekly, f"{where}.weekly_expiry")
    if weekly_day is None and "weekly_listed" in table:
        raise FnoRulesError(f"{where}: weekly_listed given without weekly_expiry")
    if weekly_day is not None and "weekly_listed" not in table:
        raise FnoRulesError(f"{where}: weekly_expiry given without weekly_listed")
    weekly_listed = (
        0 if weekly_day is None else _int(table["weekly_listed"], f"{where}.weekly_listed", 1)
    )
    sources = _table(table.get("sources", {}), f"{where}.sources")
    for key, value in sources.items():
        if not isinstance(value, str):
            raise FnoRulesError(f"{where}.sources.{key} must be text")
    unconfirmed = _strings(table.get("unconfirmed", []), f"{where}.unconfirmed")
    strange = set(unconfirmed) - _FIELDS - {"expiry"}
    if strange:
        raise FnoRulesError(
            f"{where}.unconfirmed names unknown field(s) {', '.join(sorted(strange))}"
        )
    return UnderlyingRules(
        underlying=name,
        exchange=exchange,
        index_exchange=index_exchange,
        index_symbol=index_symbol.strip().upper(),
        lot_size=lot_size,
        freeze_quantity=freeze,
        strike_step=step,
        tick_size=tick,
        monthly_expiry=_weekday(table["monthly_expiry"], f"{where}.monthly_expiry"),
        weekly_expiry=weekly_day,
        weekly_listed=weekly_listed,
        monthly_listed=_int(table["monthly_listed"], f"{where}.monthly_listed", 1),
        effective_from=effective,
        sources=MappingProxyType(dict(sources)),
        unconfirmed=frozenset(unconfirmed),
    )


def _revision(data: object, where: str) -> RulesRevision:
    table = _table(data, where)
    effective = table.get("effective_from")
    if not isinstance(effective, date) or hasattr(effective, "hour"):
        raise FnoRulesError(f"{where}.effective_from must be a date (2026-03-02)")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise FnoRulesError(f"{where}.note must be text")
    circulars = _strings(table.get("circulars", []), f"{where}.circulars")
    underlyings: dict[str, UnderlyingRules] = {}
    for key, value in table.items():
        if key in _REVISION_KEYS:
            continue
        underlyings[key] = _underlying(key, value, effective, f"{where}.{key}")
    if not underlyings:
        raise FnoRulesError(f"{where}: no underlyings ([revision.NIFTY] ...)")
    indices: dict[tuple[str, str], str] = {}
    for rules in underlyings.values():
        other = indices.setdefault(rules.index_key, rules.underlying)
        if other != rules.underlying:
            raise FnoRulesError(
                f"{where}: {other} and {rules.underlying} both follow {':'.join(rules.index_key)}"
            )
    return RulesRevision(effective, note, circulars, MappingProxyType(underlyings))


class FnoRules:
    """The dated rules: `for_underlying(name, day)` is the rule set in force on that day."""

    def __init__(
        self, revisions: Iterable[RulesRevision], max_slices: int, source: str = ""
    ) -> None:
        self.revisions = tuple(sorted(revisions, key=lambda r: r.effective_from))
        if not self.revisions:
            raise FnoRulesError("the rules file has no revisions")
        if len({r.effective_from for r in self.revisions}) != len(self.revisions):
            raise FnoRulesError("two revisions take effect on the same day")
        if isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1:
            raise FnoRulesError(f"max_slices must be a whole number >= 1, got {max_slices!r}")
        self.max_slices = max_slices
        self.source = source

    # -- loading ---------------------------------------------------------------------
    @classmethod
    def bundled(cls) -> FnoRules:
        return cls.load(resource_path(RULES_FILE))

    @classmethod
    def load(cls, path: Path | str) -> FnoRules:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise FnoRulesError(f"F&O rules file {path} cannot be read: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_text(cls, text: str) -> FnoRules:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FnoRulesError(f"F&O rules are not valid TOML: {exc}") from exc
        return cls.from_dict(data, source="<text>")

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> FnoRules:
        try:
            return cls._from_dict(data, source)
        except FnoRulesError as exc:
            if source and not str(exc).startswith(source):
                raise FnoRulesError(f"{source}: {exc}") from None
            raise

    @classmethod
    def _from_dict(cls, data: dict, source: str) -> FnoRules:
        if data.get("format") != 1:
            raise FnoRulesError(f"unsupported F&O rules format {data.get('format')!r} (expected 1)")
        unknown = set(data) - {"format", "slicing", "revision"}
        if unknown:
            raise FnoRulesError(f"unknown top-level key(s) {', '.join(sorted(unknown))}")
        slicing = _table(data.get("slicing"), "[slicing]")
        strange = set(slicing) - {"max_slices", "source"}
        if strange:
            raise FnoRulesError(f"[slicing]: unknown key(s) {', '.join(sorted(strange))}")
        if "max_slices" not in slicing:
            raise FnoRulesError("[slicing] needs max_slices")
        max_slices = _int(slicing["max_slices"], "slicing.max_slices", 1)
        raw = data.get("revision")
        if not isinstance(raw, list) or not raw:
            raise FnoRulesError("no [[revision]] entries")
        revisions = [_revision(item, f"revision[{i}]") for i, item in enumerate(raw)]
        return cls(revisions, max_slices, source)

    # -- lookups ---------------------------------------------------------------------
    def revision_for(self, day: date) -> RulesRevision:
        chosen = None
        for revision in self.revisions:
            if revision.effective_from <= day:
                chosen = revision
        if chosen is None:
            raise FnoRulesError(
                f"no F&O rules for {day}: the earliest revision takes effect on "
                f"{self.revisions[0].effective_from}"
            )
        return chosen

    def underlyings(self, day: date) -> tuple[str, ...]:
        return tuple(self.revision_for(day).underlyings)

    def for_underlying(self, underlying: str, day: date) -> UnderlyingRules:
        name = str(underlying).strip().upper()
        revision = self.revision_for(day)
        rules = revision.underlyings.get(name)
        if rules is None:
            raise UnknownUnderlying(
                f"no F&O rules for {name!r} on {day} (known: {', '.join(revision.underlyings)})"
            )
        return rules

    def for_index(self, exchange: str, symbol: str, day: date) -> UnderlyingRules:
        key = (str(exchange).strip().upper(), str(symbol).strip().upper())
        for rules in self.revision_for(day).underlyings.values():
            if rules.index_key == key:
                return rules
        raise UnknownUnderlying(f"no F&O rules follow the index {key[0]}:{key[1]} on {day}")

    def for_tradingsymbol(
        self, symbol: str, day: date, exchange: str | None = None
    ) -> UnderlyingRules:
        """Rules of the underlying of an option or future tradingsymbol (NIFTY26DEC26400CE).
        `exchange` (NFO/BFO), when given, must match the underlying's."""
        revision = self.revision_for(day)
        try:
            parsed = parse_symbol(symbol, revision.underlyings)
        except SymbolError:
            raise UnknownUnderlying(
                f"{symbol!r} is not an option or future of {', '.join(revision.underlyings)}"
            ) from None
        rules = revision.underlyings[parsed.underlying]
        if exchange is not None and str(exchange).strip().upper() != rules.exchange:
            raise UnknownUnderlying(
                f"{parsed.underlying} derivatives trade on {rules.exchange}, not {exchange}"
            )
        return rules
