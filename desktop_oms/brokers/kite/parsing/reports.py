"""Kite rows -> domain reports: orders, trades, positions, quotes and instruments.

Each mapper takes one untrusted row of a Kite answer (order book, order history or
order-update postback, trade book, net positions, /quote entry, instruments dump) and
builds the domain value from the primitives in `kite_parse`, raising `BrokerDataError`
for a malformed row and `UnsupportedKiteRow` for one the domain does not model.
Re-exported by `kite_mapping`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from desktop_oms.brokers.kite.parsing.values import (
    IST,
    BrokerDataError,
    _dec,
    _enum,
    _id,
    _int,
    _req_dec,
    _text,
    client_order_id_of,
    is_interim_status,
    map_kite_status,
    market_protection_of,
    parse_timestamp,
)
from desktop_oms.domain import (
    Instrument,
    OrderReport,
    OrderSide,
    OrderType,
    PositionReport,
    Product,
    TradeReport,
)
from desktop_oms.domain.catalog import parse_instruments
from desktop_oms.domain.market import Tick

# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------


def _require_mapping(row: object, what: str) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise BrokerDataError(f"Kite sent a {what} that is not an object: {type(row).__name__}")
    return row


def order_report_from_kite(row: object, *, now: datetime | None = None) -> OrderReport:
    """An order book / order history / order-update row as an OrderReport."""
    row = _require_mapping(row, "order")
    broker_order_id = _id(row.get("order_id"), "order_id")
    if not isinstance(row.get("status"), str) or not row["status"].strip():
        raise BrokerDataError(f"Kite sent order {broker_order_id} without a status")
    symbol = _text(row, "tradingsymbol")
    exchange = _text(row, "exchange").upper()
    side = _enum(OrderSide, row, "transaction_type")
    order_type = _enum(OrderType, row, "order_type")
    product = _enum(Product, row, "product")
    quantity = _int(row.get("quantity"), "quantity")
    filled = _int(row.get("filled_quantity"), "filled_quantity", default=0)
    status = map_kite_status(
        row["status"], filled_quantity=filled, quantity=quantity, order_type=order_type
    )
    if status.is_terminal:
        pending = 0
    else:
        pending = _int(
            row.get("pending_quantity"), "pending_quantity", default=max(quantity - filled, 0)
        )
    timestamp = (
        parse_timestamp(row.get("exchange_update_timestamp"))
        or parse_timestamp(row.get("order_timestamp"))
        or parse_timestamp(row.get("exchange_timestamp"))
        or now
        or datetime.now(IST)
    )
    message = row.get("status_message")
    protected, protection_pct = market_protection_of(row)
    return OrderReport(
        broker_order_id=broker_order_id,
        client_order_id=client_order_id_of(row),
        symbol=symbol,
        exchange=exchange,
        side=side,
        order_type=order_type,
        product=product,
        quantity=quantity,
        filled_quantity=filled,
        pending_quantity=pending,
        price=_dec(row.get("price"), "price", zero_is_none=True),
        trigger_price=_dec(row.get("trigger_price"), "trigger_price", zero_is_none=True),
        average_price=_dec(row.get("average_price"), "average_price", zero_is_none=True),
        status=status,
        status_message=message if isinstance(message, str) and message else None,
        timestamp=timestamp,
        interim=status.is_active and is_interim_status(row["status"]),
        protected=protected,
        protection_pct=protection_pct,
    )


def trade_report_from_kite(row: object, *, now: datetime | None = None) -> TradeReport:
    row = _require_mapping(row, "trade")
    product_text = row.get("product")
    product = None
    if isinstance(product_text, str) and product_text:
        product = _enum(Product, row, "product")
    timestamp = (
        parse_timestamp(row.get("fill_timestamp"))
        or parse_timestamp(row.get("exchange_timestamp"))
        or parse_timestamp(row.get("order_timestamp"))
        or now
        or datetime.now(IST)
    )
    return TradeReport(
        trade_id=_id(row.get("trade_id"), "trade_id"),
        broker_order_id=_id(row.get("order_id"), "order_id"),
        symbol=_text(row, "tradingsymbol"),
        exchange=_text(row, "exchange").upper(),
        side=_enum(OrderSide, row, "transaction_type"),
        quantity=_int(row.get("quantity"), "quantity"),
        price=_req_dec(row.get("average_price", row.get("price")), "average_price"),
        timestamp=timestamp,
        product=product,
    )


def position_report_from_kite(row: object) -> PositionReport:
    row = _require_mapping(row, "position")
    multiplier = _dec(row.get("multiplier"), "multiplier") or Decimal("1")
    return PositionReport(
        symbol=_text(row, "tradingsymbol"),
        exchange=_text(row, "exchange").upper(),
        product=_enum(Product, row, "product"),
        quantity=_int(row.get("quantity"), "quantity"),
        average_price=_dec(row.get("average_price"), "average_price") or Decimal("0"),
        multiplier=multiplier,
        last_price=_dec(row.get("last_price"), "last_price", zero_is_none=True),
    )


def tick_from_quote(key: str, row: object, *, now: datetime | None = None) -> Tick:
    """A /quote (or /quote/ltp) entry keyed "EXCHANGE:SYMBOL" as a Tick."""
    row = _require_mapping(row, "quote")
    exchange, _, symbol = key.partition(":")
    if not symbol:
        raise BrokerDataError(f"Kite sent a quote key without an exchange: {key!r}")
    ohlc = row.get("ohlc") if isinstance(row.get("ohlc"), Mapping) else {}
    depth = row.get("depth") if isinstance(row.get("depth"), Mapping) else {}

    def best(side: str) -> tuple[Decimal | None, int | None]:
        levels = depth.get(side) if isinstance(depth, Mapping) else None
        if isinstance(levels, list) and levels and isinstance(levels[0], Mapping):
            price = _dec(levels[0].get("price"), f"{side} price", zero_is_none=True)
            qty = levels[0].get("quantity")
            if price is not None:
                return price, _int(qty, f"{side} quantity", default=0)
        return None, None

    bid, bid_qty = best("buy")
    ask, ask_qty = best("sell")
    extra: dict[str, Any] = {}
    if row.get("instrument_token") is not None:
        extra["instrument_token"] = _int(row.get("instrument_token"), "instrument_token")
    for name in ("lower_circuit_limit", "upper_circuit_limit", "average_price"):
        if row.get(name) is not None:
            extra[name] = _dec(row.get(name), name)
    volume = row.get("volume")
    return Tick(
        exchange=exchange.upper(),
        symbol=symbol,
        last_price=_req_dec(row.get("last_price"), "last_price"),
        timestamp=parse_timestamp(row.get("timestamp")) or now or datetime.now(IST),
        volume=_int(volume, "volume") if volume is not None else None,
        bid=bid,
        ask=ask,
        bid_quantity=bid_qty,
        ask_quantity=ask_qty,
        open=_dec(ohlc.get("open"), "open", zero_is_none=True),
        high=_dec(ohlc.get("high"), "high", zero_is_none=True),
        low=_dec(ohlc.get("low"), "low", zero_is_none=True),
        close=_dec(ohlc.get("close"), "close", zero_is_none=True),
        extra=extra,
    )


# ---------------------------------------------------------------------------------------
# Instruments (the daily CSV dump)
# ---------------------------------------------------------------------------------------


def instrument_from_kite(row: Mapping[str, Any]) -> Instrument:
    """One instruments-dump row (raw CSV strings or kiteconnect's parsed values).

    Same conventions as `domain.catalog`: symbols upper-case, multiplier 1 (the dump
    has none: the broker applies the bundled MCX/CDS table, and Kite's positions carry
    the multiplier), indices kept but not tradable.
    """
    expiry = row.get("expiry")
    if isinstance(expiry, datetime):
        expiry = expiry.date()
    elif isinstance(expiry, str):
        expiry = date.fromisoformat(expiry) if len(expiry) == 10 else None
    elif not isinstance(expiry, date):
        expiry = None
    segment = str(row.get("segment") or "").upper()
    tradable = segment != "INDICES"
    tick = _dec(row.get("tick_size"), "tick_size") or Decimal("0")
    lot = _int(row.get("lot_size"), "lot_size", default=0)
    if tradable and (tick <= 0 or lot < 1):
        raise BrokerDataError(f"instrument {row.get('tradingsymbol')!r} has no tick or lot size")
    kind = str(row.get("instrument_type") or "").upper()
    strike = _dec(row.get("strike"), "strike", zero_is_none=True) if kind in ("CE", "PE") else None
    return Instrument(
        exchange=_text(row, "exchange").upper(),
        symbol=_text(row, "tradingsymbol").upper(),
        instrument_token=_int(row.get("instrument_token"), "instrument_token"),
        name=str(row.get("name") or ""),
        tick_size=tick,
        lot_size=max(lot, 1),
        multiplier=Decimal("1"),
        instrument_type=kind,
        segment=segment,
        expiry=expiry,
        tradable=tradable,
        strike=strike,
    )


def parse_instruments_csv(data: bytes | str) -> list[Instrument]:
    """Parse Kite's instruments CSV dump (bytes or text) with the domain's shared parser."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        return parse_instruments(io.StringIO(text)).instruments
    except ValueError as exc:
        raise BrokerDataError(f"Kite's instruments dump could not be read: {exc}") from exc
