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

This module holds `ChargesCalculator` (per fill, per contract note, which segment a trade
is in) and `ContractNote`; schedule.py loads and checks the dated schedule, amounts.py
holds the `Charges` breakdown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.money import ZERO
from desktop_oms.infra.clock import trading_day
from desktop_oms.risk.charges.amounts import Charges
from desktop_oms.risk.charges.schedule import CRORE, HUNDRED, ChargesError, ChargesSchedule, Segment
from desktop_oms.risk.charges.schedule import PAISA as PAISA
from desktop_oms.risk.charges.schedule import SCHEDULE_FILE as SCHEDULE_FILE
from desktop_oms.risk.charges.schedule import Brokerage as Brokerage
from desktop_oms.risk.charges.schedule import ScheduleEntry as ScheduleEntry
from desktop_oms.risk.charges.schedule import SegmentRates as SegmentRates

log = logging.getLogger(__name__)

_EQUITY = frozenset({"NSE", "BSE"})
_DERIVATIVES = frozenset({"NFO", "BFO"})


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


@dataclass(frozen=True, slots=True)
class _FillRates:
    """The rates one kind of fill pays (schedule entry, segment, exchange, side)."""

    brokerage: Brokerage
    stt_pct: Decimal
    exchange_pct: Decimal  # the exchange's transaction charge, IPFT included
    sebi_per_crore: Decimal
    stamp_pct: Decimal | None  # None: no stamp duty (a sell)
    gst_pct: Decimal

    def amounts(
        self, quantity: int, price: Decimal, multiplier: Decimal, order_turnover_before: Decimal
    ) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]:
        """Exact brokerage, STT, exchange charges, SEBI fee, stamp duty and GST of one fill."""
        turnover = Decimal(quantity) * price * multiplier
        brokerage = self.brokerage.for_order(
            order_turnover_before + turnover
        ) - self.brokerage.for_order(order_turnover_before)
        stt = turnover * self.stt_pct / HUNDRED
        exchange_txn = turnover * self.exchange_pct / HUNDRED
        sebi = turnover * self.sebi_per_crore / CRORE
        stamp = turnover * self.stamp_pct / HUNDRED if self.stamp_pct is not None else ZERO
        gst = (brokerage + exchange_txn + sebi) * self.gst_pct / HUNDRED
        return brokerage, stt, exchange_txn, sebi, stamp, gst


class ChargesCalculator:
    def __init__(self, schedule: ChargesSchedule, instruments=None) -> None:
        self.schedule = schedule
        self.instruments = instruments
        self._warned: set[str] = set()
        self._rates: dict[tuple, _FillRates] = {}
        self._rates_of: ChargesSchedule | None = None

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
        rates = self._fill_rates(day, segment, exchange, OrderSide(side) is OrderSide.BUY)
        return Charges(*rates.amounts(quantity, price, multiplier, order_turnover_before))

    def _fill_rates(self, day: date, segment: Segment, exchange: str, buy: bool) -> _FillRates:
        """The rates of a fill of this kind on this day, looked up once (per fill they
        were a third of the charges' time)."""
        if self._rates_of is not self.schedule:
            self._rates_of = self.schedule
            self._rates.clear()
        key = (day, segment, exchange, buy)
        rates = self._rates.get(key)
        if rates is None:
            entry = self.schedule.entry_for(day)
            segment_rates = entry.segments[segment]
            rates = _FillRates(
                brokerage=segment_rates.brokerage,
                stt_pct=segment_rates.stt_buy_pct if buy else segment_rates.stt_sell_pct,
                exchange_pct=segment_rates.exchange_pct(exchange),
                sebi_per_crore=entry.sebi_per_crore,
                stamp_pct=segment_rates.stamp_buy_pct if buy else None,
                gst_pct=entry.gst_pct,
            )
            if len(self._rates) >= 512:
                self._rates.clear()
            self._rates[key] = rates
        return rates

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
            side = fill.side
            buy = (side if side.__class__ is OrderSide else OrderSide(side)) is OrderSide.BUY
            rates = self._fill_rates(trading_day(fill.timestamp), segment, fill.exchange, buy)
            brokerage, stt, exchange_txn, sebi, stamp, gst = rates.amounts(
                fill.quantity, fill.price, fill.multiplier, before
            )
            # As Charges.total adds them.
            return brokerage + stt + exchange_txn + sebi + stamp + gst
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

    # ==================================================================
    # `ChargesCalculator.contract_note`: uses the calculator's schedule and segment_for.
    # ==================================================================

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
        note_day = day or (days.pop() if days else trading_day())  # today in IST
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
