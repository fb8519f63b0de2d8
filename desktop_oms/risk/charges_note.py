"""Charges: the contract note - a day's trades summed per segment, each charge rounded as
the broker's note rounds it (`ContractNote`, and `contract_note`, a mixin of
`ChargesCalculator` in risk/charges.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_oms.domain import OrderSide
from desktop_oms.domain.money import ZERO
from desktop_oms.risk.charges_amounts import Charges
from desktop_oms.risk.charges_schedule import CRORE, HUNDRED, ChargesError, Segment
from desktop_oms.risk.clock import trading_day


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


class ContractNoteMixin:
    """`ChargesCalculator.contract_note`: uses the calculator's schedule and segment_for."""

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
