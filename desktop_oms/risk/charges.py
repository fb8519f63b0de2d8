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

Layout: this module holds `ChargesCalculator` (per fill, and which segment a trade is
in); `charges_schedule` loads and checks the dated schedule, `charges_amounts` holds the
`Charges` breakdown and `charges_note` the contract note (`ContractNote` and the
calculator's `contract_note`, a mixin).
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.money import ZERO
from desktop_oms.risk.charges_amounts import Charges
from desktop_oms.risk.charges_note import ContractNote as ContractNote
from desktop_oms.risk.charges_note import ContractNoteMixin
from desktop_oms.risk.charges_schedule import CRORE, HUNDRED, ChargesError, ChargesSchedule, Segment
from desktop_oms.risk.charges_schedule import PAISA as PAISA
from desktop_oms.risk.charges_schedule import SCHEDULE_FILE as SCHEDULE_FILE
from desktop_oms.risk.charges_schedule import Brokerage as Brokerage
from desktop_oms.risk.charges_schedule import ScheduleEntry as ScheduleEntry
from desktop_oms.risk.charges_schedule import SegmentRates as SegmentRates
from desktop_oms.risk.clock import trading_day

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


class ChargesCalculator(ContractNoteMixin):
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
