"""Kite ticker binary packets, built with struct in the documented layout.

A frame is `>H` packet count, then for each packet `>H` length + packet. Prices are
integers in paise (divisor 100; 10^7 for CDS, 10^4 for BCD) and every field is a
big-endian unsigned 32-bit integer except the depth `orders` count (16 bits + 2 padding).

    LTP   (8 bytes):   token, last_price
    quote (44 bytes):  token, last_price, last_qty, avg_price, volume, buy_qty, sell_qty,
                       open, high, low, close
    full  (184 bytes): quote + last_trade_time, oi, oi_day_high, oi_day_low,
                       exchange_timestamp, 10 depth entries (qty, price, orders:H, pad:2)
    index quote (28) / full (32): token, last_price, high, low, open, close, change, [ts]
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from tests.kite_server.mocks import mock_path

_SEGMENT_DIVISORS = {3: 10_000_000, 6: 10_000, 12: 10_000}


def divisor_for(token: int) -> int:
    return _SEGMENT_DIVISORS.get(token & 0xFF, 100)


def _p(value: Decimal | str | int | float, divisor: int) -> int:
    return int((Decimal(str(value)) * divisor).to_integral_value())


def ltp_packet(token: int, last_price) -> bytes:
    return struct.pack(">II", token, _p(last_price, divisor_for(token)))


def quote_packet(
    token: int,
    last_price,
    *,
    last_quantity: int = 1,
    average_price=None,
    volume: int = 0,
    buy_quantity: int = 0,
    sell_quantity: int = 0,
    open=None,
    high=None,
    low=None,
    close=None,
) -> bytes:
    d = divisor_for(token)
    lp = Decimal(str(last_price))
    return struct.pack(
        ">11I",
        token,
        _p(lp, d),
        last_quantity,
        _p(average_price if average_price is not None else lp, d),
        volume,
        buy_quantity,
        sell_quantity,
        _p(open if open is not None else lp, d),
        _p(high if high is not None else lp, d),
        _p(low if low is not None else lp, d),
        _p(close if close is not None else lp, d),
    )


def full_packet(
    token: int,
    last_price,
    *,
    bids: Sequence[tuple[int, object, int]] = (),
    asks: Sequence[tuple[int, object, int]] = (),
    last_trade_time: datetime | None = None,
    exchange_timestamp: datetime | None = None,
    oi: int = 0,
    **quote_fields,
) -> bytes:
    """bids/asks: up to 5 (quantity, price, orders) levels each."""
    d = divisor_for(token)
    head = quote_packet(token, last_price, **quote_fields)
    ltt = int(last_trade_time.timestamp()) if last_trade_time else 0
    ts = int(exchange_timestamp.timestamp()) if exchange_timestamp else 0
    body = struct.pack(">5I", ltt, oi, oi, oi, ts)
    depth = b""
    for levels in (bids, asks):
        padded = list(levels)[:5] + [(0, 0, 0)] * (5 - min(len(levels), 5))
        for quantity, price, orders in padded:
            depth += struct.pack(">IIHxx", quantity, _p(price, d), orders)
    packet = head + body + depth
    assert len(packet) == 184, len(packet)
    return packet


def frame(*packets: bytes) -> bytes:
    out = struct.pack(">H", len(packets))
    for packet in packets:
        out += struct.pack(">H", len(packet)) + packet
    return out


HEARTBEAT = b"\x00"


def fixture_packet(name: str) -> bytes:
    """Zerodha's own raw packet (`ticker_full` or `ticker_quote`), without the frame header."""
    return base64.b64decode(mock_path(f"{name}.packet").read_text().strip())


def packet_for_mode(mode: str, token: int, last_price, **fields) -> bytes:
    if mode == "ltp":
        return ltp_packet(token, last_price)
    if mode == "full":
        return full_packet(token, last_price, **fields)
    allowed = {
        k: v
        for k, v in fields.items()
        if k not in ("bids", "asks", "last_trade_time", "exchange_timestamp", "oi")
    }
    return quote_packet(token, last_price, **allowed)
