"""Zerodha's charges per trade, from the dated schedule in resources/charges_schedule.toml.

    calc = ChargesCalculator.bundled(instruments)
    calc.trade(exchange="NSE", symbol="RELIANCE", product=Product.MIS, side=OrderSide.BUY,
               quantity=100, price=Decimal("2450"), day=date(2026, 5, 4)).total
    calc.contract_note(trades)          # a day's trades, rounded as a contract note is

Two views of the same rates:
- per fill (`trade`, `for_fill`): exact decimals, never rounded. The OMS adds them to the
  position in the fill's own transaction, so `Position.charges` / `net_pnl` and the daily
  loss limit always include them. Brokerage is per executed *order* ("0.03% or ₹20,
  whichever is lower"; options ₹20 flat), so a partial fill pays the difference between
  the brokerage on the order's turnover after and before it: an order's fills add up to
  exactly one order's brokerage.
- per contract note (`contract_note`): turnover summed per segment and day, each charge
  rounded as the note rounds it (STT to the rupee, the rest to the paisa, per the file),
  GST on the rounded brokerage + exchange charges + SEBI fee. The per-fill total and the
  note differ only by that rounding (under ₹1 per charge per segment-day).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

from ..domain import OrderSide, Product
from ..domain.money import ZERO, to_decimal
from ..resources import resource_path
from .clock import trading_day

log = logging.getLogger(__name__)

SCHEDULE_FILE = "charges_schedule.toml"
CRORE = Decimal("10000000")
HUNDRED = Decimal(100)
PAISA = Decimal("0.01")

# Which exchange's transaction-charge rate applies to a trade on each exchange.
_RATE_EXCHANGE = {"NSE": "NSE", "NFO": "NSE", "BSE": "BSE", "BFO": "BSE"}
_EQUITY = frozenset({"NSE", "BSE"})
_DERIVATIVES = frozenset({"NFO", "BFO"})


class ChargesError(ValueError):
    """The schedule file is wrong, or has no rates for a trade."""


class Segment(StrEnum):
    EQUITY_DELIVERY = "equity_delivery"
    EQUITY_INTRADAY = "equity_intraday"
    FUTURES = "futures"
    OPTIONS = "options"


@dataclass(frozen=True, slots=True)
class Charges:
    """One trade's (or a contract note's) charges, in rupees."""

    brokerage: Decimal = ZERO
    stt: Decimal = ZERO
    exchange_txn: Decimal = ZERO  # including NSE's IPFT charge, as on the contract note
    sebi: Decimal = ZERO
    stamp: Decimal = ZERO
    gst: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.brokerage + self.stt + self.exchange_txn + self.sebi + self.stamp + self.gst

    def __add__(self, other: Charges) -> Charges:
        return Charges(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, Decimal]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["total"] = self.total
        return out


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


@dataclass(frozen=True, slots=True)
class ContractNote:
    """A day's charges per segment, rounded as the broker's contract note rounds them."""

    day: date
    segments: Mapping[Segment, Charges]

    @property
    def charges(self) -> Charges:
        total = Charges()
        for item in self.segments.values():
            total = total + item
        return total

    @property
    def total(self) -> Decimal:
        return self.charges.total


def _segment_of(
    exchange: str, product: Product, instrument_type: str | None, symbol: str
) -> Segment | None:
    if exchange in _EQUITY:
        return Segment.EQUITY_INTRADAY if product is Product.MIS else Segment.EQUITY_DELIVERY
    if exchange in _DERIVATIVES:
        kind = (instrument_type or "").upper()
        if kind == "FUT" or (not kind and symbol.endswith("FUT")):
            return Segment.FUTURES
        if kind in ("CE", "PE") or (not kind and symbol.endswith(("CE", "PE"))):
            return Segment.OPTIONS
    return None


class ChargesCalculator:
    def __init__(self, schedule: ChargesSchedule, instruments=None) -> None:
        self.schedule = schedule
        self.instruments = instruments
        self._warned: set[str] = set()

    @classmethod
    def bundled(cls, instruments=None) -> ChargesCalculator:
        return cls(ChargesSchedule.bundled(), instruments)

    def segment_for(self, exchange: str, symbol: str, product: Product) -> Segment | None:
        """The charges segment of a trade, or None where the schedule has none (MCX, CDS)."""
        instrument = (
            self.instruments.get(exchange, symbol) if self.instruments is not None else None
        )
        kind = instrument.instrument_type if instrument is not None else None
        return _segment_of(exchange, Product(product), kind, symbol)

    def trade(
        self,
        *,
        exchange: str,
        symbol: str,
        product: Product,
        side: OrderSide,
        quantity: int,
        price: Decimal,
        day: date,
        multiplier: Decimal = Decimal(1),
        order_turnover_before: Decimal = ZERO,
        segment: Segment | None = None,
    ) -> Charges:
        """Exact charges of one fill. `order_turnover_before`: turnover of earlier fills of
        the same order (brokerage is per executed order). Raises ChargesError if the
        schedule cannot price the trade."""
        segment = segment or self.segment_for(exchange, symbol, product)
        if segment is None:
            raise ChargesError(
                f"no charges for {exchange}:{symbol} {product}: segment not in the schedule"
            )
        entry = self.schedule.entry_for(day)
        rates = entry.segments[segment]
        turnover = Decimal(quantity) * price * multiplier
        brokerage = rates.brokerage.for_order(
            order_turnover_before + turnover
        ) - rates.brokerage.for_order(order_turnover_before)
        buy = OrderSide(side) is OrderSide.BUY
        stt = turnover * (rates.stt_buy_pct if buy else rates.stt_sell_pct) / HUNDRED
        exchange_txn = turnover * rates.exchange_pct(exchange) / HUNDRED
        sebi = turnover * entry.sebi_per_crore / CRORE
        stamp = turnover * rates.stamp_buy_pct / HUNDRED if buy else ZERO
        gst = (brokerage + exchange_txn + sebi) * entry.gst_pct / HUNDRED
        return Charges(brokerage, stt, exchange_txn, sebi, stamp, gst)

    def for_fill(self, fill, order_before, instrument=None) -> Decimal:
        """The OMS's hook: total charges of one fill of `order_before` (the order before the
        fill). Never raises: a fill must be recorded even if it cannot be priced (logged,
        0 returned)."""
        try:
            segment = None
            if instrument is not None:
                segment = _segment_of(
                    fill.exchange, fill.product, instrument.instrument_type, fill.symbol
                )
            else:
                segment = self.segment_for(fill.exchange, fill.symbol, fill.product)
            if segment is None:
                self._warn_once(
                    f"{fill.exchange}:{fill.product}",
                    f"No charges schedule for {fill.exchange} {fill.product.value} trades: net PnL "
                    f"of {fill.symbol} excludes charges",
                )
                return ZERO
            before = ZERO
            if order_before.filled_quantity and order_before.average_price is not None:
                before = order_before.average_price * order_before.filled_quantity * fill.multiplier
            return self.trade(
                exchange=fill.exchange,
                symbol=fill.symbol,
                product=fill.product,
                side=fill.side,
                quantity=fill.quantity,
                price=fill.price,
                multiplier=fill.multiplier,
                day=trading_day(fill.timestamp),
                order_turnover_before=before,
                segment=segment,
            ).total
        except Exception as exc:  # noqa: BLE001 - never break the fill path
            self._warn_once(
                f"error:{type(exc).__name__}",
                f"Charges of trade {fill.trade_id} not computed: {exc}",
            )
            return ZERO

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)

    def contract_note(self, trades: Iterable, day: date | None = None) -> ContractNote:
        """Charges of one day's trades (anything with exchange, symbol, product, side,
        quantity, price, multiplier, timestamp and order_id), rounded per segment as a
        contract note is. Trades of other days are ignored when `day` is given; without
        it, all trades must be of one day."""
        by_segment: dict[Segment, dict] = {}
        days: set[date] = set()
        for t in trades:
            t_day = trading_day(t.timestamp)
            if day is not None and t_day != day:
                continue
            days.add(t_day)
            segment = self.segment_for(t.exchange, t.symbol, t.product)
            if segment is None:
                raise ChargesError(f"no charges for {t.exchange}:{t.symbol} {t.product}")
            acc = by_segment.setdefault(
                segment, {"orders": {}, "buy": ZERO, "sell": ZERO, "by_exchange": {}}
            )
            turnover = Decimal(t.quantity) * t.price * (t.multiplier or Decimal(1))
            acc["orders"][t.order_id] = acc["orders"].get(t.order_id, ZERO) + turnover
            acc["buy" if OrderSide(t.side) is OrderSide.BUY else "sell"] += turnover
            acc["by_exchange"][t.exchange] = acc["by_exchange"].get(t.exchange, ZERO) + turnover
        if len(days) > 1:
            raise ChargesError("a contract note covers one day; pass day=")
        note_day = day or (days.pop() if days else date.today())
        if not by_segment:
            return ContractNote(note_day, {})
        entry = self.schedule.entry_for(note_day)
        r = self.schedule.round
        out: dict[Segment, Charges] = {}
        for segment, acc in by_segment.items():
            rates = entry.segments[segment]
            brokerage = sum((rates.brokerage.for_order(v) for v in acc["orders"].values()), ZERO)
            stt = (acc["buy"] * rates.stt_buy_pct + acc["sell"] * rates.stt_sell_pct) / HUNDRED
            exchange_txn = sum(
                (v * rates.exchange_pct(ex) / HUNDRED for ex, v in acc["by_exchange"].items()), ZERO
            )
            turnover = acc["buy"] + acc["sell"]
            sebi = turnover * entry.sebi_per_crore / CRORE
            stamp = acc["buy"] * rates.stamp_buy_pct / HUNDRED
            brokerage, stt = r("brokerage", brokerage), r("stt", stt)
            exchange_txn, sebi, stamp = (
                r("exchange_txn", exchange_txn),
                r("sebi", sebi),
                r("stamp", stamp),
            )
            gst = r("gst", (brokerage + exchange_txn + sebi) * entry.gst_pct / HUNDRED)
            out[segment] = Charges(brokerage, stt, exchange_txn, sebi, stamp, gst)
        return ContractNote(note_day, out)
