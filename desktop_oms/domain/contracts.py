"""Contract multipliers of lot-quoted derivatives (MCX commodities, CDS/BCD currencies):
the dated table of resources/contract_multipliers.toml, checked and looked up.

On Kite these contracts are traded in lots (the instruments dump says lot_size 1) and the
multiplier - units of the quoted price per lot - is needed for P&L, order value, margin
and every risk check. Pure: it checks a parsed TOML document it is given (opening the
bundled file is the caller's); a bad document never half-loads (`ContractTableError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from desktop_oms.domain.instrument import Instrument

CONTRACTS_FILE = "contract_multipliers.toml"
# Exchanges whose quantities are lots and whose multiplier is not 1.
LOT_QUOTED_EXCHANGES = frozenset({"MCX", "CDS", "BCD"})
_NAME = re.compile(r"[A-Z][A-Z0-9]*")


class ContractTableError(ValueError):
    """The contract multipliers document is wrong."""


@dataclass(frozen=True, slots=True)
class ContractRevision:
    effective_from: date
    multipliers: Mapping[tuple[str, str], Decimal]  # (exchange, contract name) -> multiplier


@dataclass(frozen=True, slots=True)
class ContractMultipliers:
    """The dated table; `multiplier` answers for one day (IST)."""

    revisions: tuple[ContractRevision, ...]  # oldest first

    def revision(self, day: date) -> ContractRevision | None:
        current = None
        for revision in self.revisions:
            if revision.effective_from <= day:
                current = revision
        return current

    def multiplier(self, exchange: str, name: str, day: date) -> Decimal | None:
        revision = self.revision(day)
        if revision is None:
            return None
        return revision.multipliers.get((exchange.upper(), name.upper()))

    def contract_of(self, instrument: Instrument, day: date) -> str | None:
        """The table's name for the instrument's contract: the dump's `name`, else the
        longest table name the symbol starts with followed by a digit (GOLDM26JANFUT)."""
        revision = self.revision(day)
        if revision is None:
            return None
        exchange = instrument.exchange.upper()
        name = instrument.name.strip().upper()
        if (exchange, name) in revision.multipliers:
            return name
        symbol = instrument.symbol.upper()
        best = None
        for ex, contract in revision.multipliers:
            if ex != exchange or not symbol.startswith(contract):
                continue
            rest = symbol[len(contract) :]
            if rest[:1].isdigit() and (best is None or len(contract) > len(best)):
                best = contract
        return best

    def for_instrument(self, instrument: Instrument, day: date) -> Decimal | None:
        """The instrument's multiplier on that day, or None when the table does not know it
        (every instrument outside MCX/CDS/BCD: their multiplier is not this table's)."""
        if instrument.exchange.upper() not in LOT_QUOTED_EXCHANGES:
            return None
        contract = self.contract_of(instrument, day)
        return None if contract is None else self.multiplier(instrument.exchange, contract, day)

    def apply(
        self, instruments: Iterable[Instrument], day: date
    ) -> tuple[list[Instrument], set[tuple[str, str]]]:
        """The instruments with the table's multipliers set, and the (exchange, name) of
        tradable lot-quoted contracts the table does not know (they keep theirs)."""
        out: list[Instrument] = []
        unknown: set[tuple[str, str]] = set()
        for instrument in instruments:
            multiplier = self.for_instrument(instrument, day)
            if multiplier is None:
                if instrument.tradable and instrument.exchange.upper() in LOT_QUOTED_EXCHANGES:
                    unknown.add((instrument.exchange, instrument.name or instrument.symbol))
                out.append(instrument)
            elif multiplier != instrument.multiplier:
                out.append(replace(instrument, multiplier=multiplier))
            else:
                out.append(instrument)
        return out, unknown


def parse_contract_multipliers(
    document: Mapping[str, object], label: str = CONTRACTS_FILE
) -> ContractMultipliers:
    """Check a parsed contract multipliers document (see resources/contract_multipliers.toml)."""
    if document.get("format") != 1:
        raise ContractTableError(f"{label}: format must be 1, found {document.get('format')!r}")
    raw = document.get("revision")
    if not isinstance(raw, list) or not raw:
        raise ContractTableError(f"{label}: no [[revision]]")
    revisions: list[ContractRevision] = []
    for index, entry in enumerate(raw, 1):
        where = f"{label}: revision {index}"
        if not isinstance(entry, Mapping):
            raise ContractTableError(f"{where} is not a table")
        effective = entry.get("effective_from")
        if not isinstance(effective, date):
            raise ContractTableError(f"{where}: effective_from must be a date (YYYY-MM-DD)")
        multipliers: dict[tuple[str, str], Decimal] = {}
        for exchange, contracts in entry.items():
            if exchange in ("effective_from", "note", "sources"):
                continue
            if exchange not in LOT_QUOTED_EXCHANGES or not isinstance(contracts, Mapping):
                raise ContractTableError(
                    f"{where}: unexpected {exchange!r} (exchanges: "
                    f"{', '.join(sorted(LOT_QUOTED_EXCHANGES))})"
                )
            for name, value in contracts.items():
                if not _NAME.fullmatch(name):
                    raise ContractTableError(f"{where}: {exchange}.{name}: not a contract name")
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ContractTableError(
                        f"{where}: {exchange}.{name}: the multiplier must be a whole number "
                        f"of at least 1, found {value!r}"
                    )
                multipliers[(exchange, name)] = Decimal(value)
        if not multipliers:
            raise ContractTableError(f"{where}: names no contract")
        revisions.append(ContractRevision(effective, multipliers))
    dates = [r.effective_from for r in revisions]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise ContractTableError(f"{label}: revisions must be in date order, one per date")
    return ContractMultipliers(tuple(revisions))


__all__ = [
    "CONTRACTS_FILE",
    "LOT_QUOTED_EXCHANGES",
    "ContractMultipliers",
    "ContractRevision",
    "ContractTableError",
    "parse_contract_multipliers",
]
