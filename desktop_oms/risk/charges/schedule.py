"""Charges: the dated schedule in resources/charges_schedule.toml - loading and checking
it (`ChargesSchedule`), the rates of each entry per segment (`ScheduleEntry`,
`SegmentRates`, `Brokerage`), the entry in force on a day, and the contract note's
rounding steps.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

from desktop_oms.domain.money import ZERO, to_decimal
from desktop_oms.infra.resources import resource_path

SCHEDULE_FILE = "charges_schedule.toml"
CRORE = Decimal("10000000")
HUNDRED = Decimal(100)
PAISA = Decimal("0.01")

# Which exchange's transaction-charge rate applies to a trade on each exchange.
_RATE_EXCHANGE = {"NSE": "NSE", "NFO": "NSE", "BSE": "BSE", "BFO": "BSE"}


class ChargesError(ValueError):
    """The schedule file is wrong, or has no rates for a trade."""


class Segment(StrEnum):
    EQUITY_DELIVERY = "equity_delivery"
    EQUITY_INTRADAY = "equity_intraday"
    FUTURES = "futures"
    OPTIONS = "options"


@dataclass(frozen=True, slots=True)
class Brokerage:
    pct: Decimal = ZERO
    cap: Decimal | None = None
    flat: Decimal | None = None

    def for_order(self, turnover: Decimal) -> Decimal:
        """Brokerage of one executed order with this much turnover (0 if nothing executed)."""
        if turnover <= 0:
            return ZERO
        if self.flat is not None:
            return self.flat
        amount = turnover * self.pct / HUNDRED
        return amount if self.cap is None else min(amount, self.cap)


@dataclass(frozen=True, slots=True)
class SegmentRates:
    brokerage: Brokerage
    stt_buy_pct: Decimal
    stt_sell_pct: Decimal
    exchange_txn_pct: Mapping[str, Decimal]
    ipft_pct: Mapping[str, Decimal]
    stamp_buy_pct: Decimal

    def exchange_pct(self, exchange: str) -> Decimal:
        rate_exchange = _RATE_EXCHANGE.get(exchange)
        if rate_exchange is None or rate_exchange not in self.exchange_txn_pct:
            raise ChargesError(f"no exchange transaction charge for {exchange} in the schedule")
        return self.exchange_txn_pct[rate_exchange] + self.ipft_pct.get(rate_exchange, ZERO)


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    effective_from: date
    note: str
    gst_pct: Decimal
    sebi_per_crore: Decimal
    segments: Mapping[Segment, SegmentRates]


def _money(value: object, where: str) -> Decimal:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ChargesError(f'{where}: write rates as text ("0.03"), got {value!r}')
    try:
        amount = to_decimal(value, where)
    except ValueError as exc:
        raise ChargesError(str(exc)) from None
    if amount < 0:
        raise ChargesError(f"{where} must not be negative, got {amount}")
    return amount


def _table(data: object, where: str) -> dict:
    if not isinstance(data, dict):
        raise ChargesError(f"{where} must be a table")
    return data


def _rates_by_exchange(data: object, where: str) -> dict[str, Decimal]:
    return {str(k): _money(v, f"{where}.{k}") for k, v in _table(data, where).items()}


def _brokerage(data: object, where: str) -> Brokerage:
    table = _table(data, where)
    unknown = set(table) - {"pct", "cap", "flat"}
    if unknown:
        raise ChargesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "flat" in table:
        if set(table) != {"flat"}:
            raise ChargesError(f"{where}: a flat brokerage takes no pct or cap")
        return Brokerage(flat=_money(table["flat"], f"{where}.flat"))
    if "pct" not in table:
        raise ChargesError(f"{where}: give pct (and cap) or flat")
    cap = _money(table["cap"], f"{where}.cap") if "cap" in table else None
    return Brokerage(pct=_money(table["pct"], f"{where}.pct"), cap=cap)


_SEGMENT_KEYS = {
    "brokerage",
    "stt_buy_pct",
    "stt_sell_pct",
    "exchange_txn_pct",
    "ipft_pct",
    "stamp_buy_pct",
}


def _segment(data: object, where: str) -> SegmentRates:
    table = _table(data, where)
    missing = _SEGMENT_KEYS - set(table) - {"ipft_pct"}
    if missing:
        raise ChargesError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(table) - _SEGMENT_KEYS
    if unknown:
        raise ChargesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return SegmentRates(
        brokerage=_brokerage(table["brokerage"], f"{where}.brokerage"),
        stt_buy_pct=_money(table["stt_buy_pct"], f"{where}.stt_buy_pct"),
        stt_sell_pct=_money(table["stt_sell_pct"], f"{where}.stt_sell_pct"),
        exchange_txn_pct=_rates_by_exchange(table["exchange_txn_pct"], f"{where}.exchange_txn_pct"),
        ipft_pct=_rates_by_exchange(table.get("ipft_pct", {}), f"{where}.ipft_pct"),
        stamp_buy_pct=_money(table["stamp_buy_pct"], f"{where}.stamp_buy_pct"),
    )


class ChargesSchedule:
    """The dated schedule: `entry_for(day)` is the entry in force on that day."""

    def __init__(
        self, entries: Iterable[ScheduleEntry], rounding: Mapping[str, Decimal], source: str = ""
    ) -> None:
        self.entries = tuple(sorted(entries, key=lambda e: e.effective_from))
        if not self.entries:
            raise ChargesError("the charges schedule has no entries")
        self.rounding = dict(rounding)
        self.source = source

    @classmethod
    def bundled(cls) -> ChargesSchedule:
        return cls.load(resource_path(SCHEDULE_FILE))

    @classmethod
    def load(cls, path: Path | str) -> ChargesSchedule:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ChargesError(f"charges schedule {path} cannot be read: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_text(cls, text: str) -> ChargesSchedule:
        try:
            return cls.from_dict(tomllib.loads(text), source="<text>")
        except tomllib.TOMLDecodeError as exc:
            raise ChargesError(f"charges schedule is not valid TOML: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> ChargesSchedule:
        if data.get("format") != 1:
            raise ChargesError(
                f"{source}: unsupported charges schedule format {data.get('format')!r}"
            )
        note_rounding = _table(data.get("contract_note", {}), "contract_note")
        rounding = {k: _money(v, f"contract_note.{k}") for k, v in note_rounding.items()}
        rounding.setdefault("default", PAISA)
        entries = []
        seen: set[date] = set()
        raw_entries = data.get("schedule")
        if not isinstance(raw_entries, list):
            raise ChargesError(f"{source}: no [[schedule]] entries")
        for i, raw in enumerate(raw_entries):
            where = f"schedule[{i}]"
            raw = _table(raw, where)
            effective = raw.get("effective_from")
            if not isinstance(effective, date) or hasattr(effective, "hour"):
                raise ChargesError(f"{where}.effective_from must be a date (2026-04-01)")
            if effective in seen:
                raise ChargesError(f"{where}: two entries take effect on {effective}")
            seen.add(effective)
            segments = {}
            for segment in Segment:
                if segment.value not in raw:
                    raise ChargesError(f"{where}: missing [{segment.value}] rates")
                segments[segment] = _segment(raw[segment.value], f"{where}.{segment.value}")
            entries.append(
                ScheduleEntry(
                    effective_from=effective,
                    note=str(raw.get("note", "")),
                    gst_pct=_money(raw.get("gst_pct"), f"{where}.gst_pct"),
                    sebi_per_crore=_money(raw.get("sebi_per_crore"), f"{where}.sebi_per_crore"),
                    segments=segments,
                )
            )
        return cls(entries, rounding, source)

    def entry_for(self, day: date) -> ScheduleEntry:
        chosen = None
        for entry in self.entries:
            if entry.effective_from <= day:
                chosen = entry
        if chosen is None:
            raise ChargesError(
                f"no charges schedule for {day}: the earliest entry takes effect on "
                f"{self.entries[0].effective_from}"
            )
        return chosen

    def round(self, component: str, amount: Decimal) -> Decimal:
        step = self.rounding.get(component, self.rounding["default"])
        if step <= 0:
            return amount
        return (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
