"""Kite's binary tick packets: the frame parser and the packet -> domain Tick mapping.

Pure functions, no I/O. The binary format is the one `kiteconnect.ticker.KiteTicker.
_parse_binary` decodes (the tests check our parser against it on Zerodha's own
packets), but prices become exact Decimals (integer paise / divisor) and timestamps
aware IST datetimes, not floats and naive local times. Used by `kite_stream`, which
re-exports the public names.
"""

from __future__ import annotations

import logging
import struct
from datetime import datetime
from decimal import Decimal
from typing import Any

from desktop_oms.brokers.kite.parsing.values import IST
from desktop_oms.domain.market import DepthLevel, MarketDepth, Tick

# Split out of kite_stream: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.stream.stream")

MODE_FULL = "full"
MODE_QUOTE = "quote"
MODE_LTP = "ltp"
_MODES = (MODE_LTP, MODE_QUOTE, MODE_FULL)

# Segment (low byte of the instrument token) -> price divisor (as KiteTicker).
_SEGMENT_CDS = 3
_SEGMENT_BCD = 6
_SEGMENT_INDICES = 9
_SEGMENT_NCO = 12
_HUNDRED = Decimal(100)


def _divisor(segment: int) -> Decimal:
    if segment == _SEGMENT_CDS:
        return Decimal(10_000_000)
    if segment in (_SEGMENT_BCD, _SEGMENT_NCO):
        return Decimal(10_000)
    return _HUNDRED


def _u32(packet: bytes, start: int) -> int:
    return struct.unpack_from(">I", packet, start)[0]


def _epoch(value: int) -> datetime | None:
    if value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, IST)
    except (OverflowError, OSError, ValueError):
        return None


def _split(payload: bytes) -> list[bytes]:
    if len(payload) < 2:
        return []  # heartbeat
    count = struct.unpack_from(">H", payload, 0)[0]
    packets = []
    offset = 2
    for _ in range(count):
        if offset + 2 > len(payload):
            raise ValueError("truncated tick frame")
        length = struct.unpack_from(">H", payload, offset)[0]
        start = offset + 2
        if start + length > len(payload):
            raise ValueError("truncated tick packet")
        packets.append(payload[start : start + length])
        offset = start + length
    return packets


def parse_binary(payload: bytes) -> list[dict[str, Any]]:
    """Decode one binary frame into tick dicts (KiteTicker's keys, Decimal prices).

    Raises ValueError on a truncated frame. Packets of unknown length are skipped.
    """
    ticks: list[dict[str, Any]] = []
    for packet in _split(payload):
        if len(packet) < 8:
            continue
        token = _u32(packet, 0)
        segment = token & 0xFF
        div = _divisor(segment)
        tradable = segment != _SEGMENT_INDICES

        def price(start: int, packet=packet, div=div) -> Decimal:
            return Decimal(_u32(packet, start)) / div

        size = len(packet)
        if size == 8:
            ticks.append(
                {
                    "tradable": tradable,
                    "mode": MODE_LTP,
                    "instrument_token": token,
                    "last_price": price(4),
                }
            )
        elif size in (28, 32):  # indices
            tick: dict[str, Any] = {
                "tradable": tradable,
                "mode": MODE_QUOTE if size == 28 else MODE_FULL,
                "instrument_token": token,
                "last_price": price(4),
                "ohlc": {"high": price(8), "low": price(12), "open": price(16), "close": price(20)},
            }
            close = tick["ohlc"]["close"]
            tick["change"] = (
                (tick["last_price"] - close) * _HUNDRED / close if close else Decimal(0)
            )
            if size == 32:
                tick["exchange_timestamp"] = _epoch(_u32(packet, 28))
            ticks.append(tick)
        elif size in (44, 184):
            tick = {
                "tradable": tradable,
                "mode": MODE_QUOTE if size == 44 else MODE_FULL,
                "instrument_token": token,
                "last_price": price(4),
                "last_traded_quantity": _u32(packet, 8),
                "average_traded_price": price(12),
                "volume_traded": _u32(packet, 16),
                "total_buy_quantity": _u32(packet, 20),
                "total_sell_quantity": _u32(packet, 24),
                "ohlc": {
                    "open": price(28),
                    "high": price(32),
                    "low": price(36),
                    "close": price(40),
                },
            }
            close = tick["ohlc"]["close"]
            tick["change"] = (
                (tick["last_price"] - close) * _HUNDRED / close if close else Decimal(0)
            )
            if size == 184:
                tick["last_trade_time"] = _epoch(_u32(packet, 44))
                tick["oi"] = _u32(packet, 48)
                tick["oi_day_high"] = _u32(packet, 52)
                tick["oi_day_low"] = _u32(packet, 56)
                tick["exchange_timestamp"] = _epoch(_u32(packet, 60))
                depth: dict[str, list[dict[str, Any]]] = {"buy": [], "sell": []}
                for index, offset in enumerate(range(64, size, 12)):
                    depth["sell" if index >= 5 else "buy"].append(
                        {
                            "quantity": _u32(packet, offset),
                            "price": price(offset + 4),
                            "orders": struct.unpack_from(">H", packet, offset + 8)[0],
                        }
                    )
                tick["depth"] = depth
            ticks.append(tick)
        else:
            log.debug("skipping a tick packet of unknown length %d", size)
    return ticks


def _levels(rows: list[dict[str, Any]]) -> tuple[DepthLevel, ...]:
    """A side of a full-mode packet's depth; empty levels (price 0) are left out."""
    return tuple(
        DepthLevel(row["price"], int(row["quantity"]), int(row.get("orders") or 0))
        for row in rows
        if row["price"] > 0
    )


def tick_from_packet(
    data: dict[str, Any], exchange: str, symbol: str, *, now: datetime | None = None
) -> Tick:
    """A parsed packet as the domain Tick (bid/ask from the best depth level and the five
    levels each side as `depth`, in full mode)."""
    ohlc = data.get("ohlc") or {}
    bid = ask = None
    bid_qty = ask_qty = None
    depth = data.get("depth")
    book = None
    if depth:
        book = MarketDepth(_levels(depth["buy"]), _levels(depth["sell"]))
        buy = depth["buy"][0] if depth["buy"] else None
        sell = depth["sell"][0] if depth["sell"] else None
        if buy and buy["price"] > 0:
            bid, bid_qty = buy["price"], buy["quantity"]
        if sell and sell["price"] > 0:
            ask, ask_qty = sell["price"], sell["quantity"]
    extra = {
        key: value
        for key, value in data.items()
        if key not in ("last_price", "ohlc", "volume_traded", "exchange_timestamp")
    }
    return Tick(
        exchange=exchange,
        symbol=symbol,
        last_price=data["last_price"],
        timestamp=data.get("exchange_timestamp") or now or datetime.now(IST),
        volume=data.get("volume_traded"),
        bid=bid,
        ask=ask,
        bid_quantity=bid_qty,
        ask_quantity=ask_qty,
        open=ohlc.get("open") or None,
        high=ohlc.get("high") or None,
        low=ohlc.get("low") or None,
        close=ohlc.get("close") or None,
        extra=extra,
        depth=book,
    )
