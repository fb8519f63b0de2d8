"""Kite's GTT (trigger) rows <-> domain GTTs. Pure functions, no I/O.

A trigger row (GET /gtt/triggers): `id` (int), `type` ("single" / "two-leg"), `status`,
`created_at` / `updated_at` / `expires_at` (naive IST), `condition` {exchange,
tradingsymbol, trigger_values, last_price}, `orders` (one per trigger value, each with a
`result` once it fired: the order placed, or why placing it failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from desktop_oms.brokers.kite.parsing.values import (
    BrokerDataError,
    UnsupportedKiteRow,
    _dec,
    _enum,
    _int,
    _req_dec,
    _text,
    parse_timestamp,
)
from desktop_oms.domain import OrderSide, OrderType, Product
from desktop_oms.domain.gtt import Gtt, GttLeg, GttLegResult, GttRequest, GttStatus, GttType


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BrokerDataError(f"Kite sent a GTT without {what}")
    return value


def _result_from_kite(value: object) -> GttLegResult | None:
    if value is None:
        return None
    result = _mapping(value, "a readable order result")
    outcome = result.get("order_result")
    outcome = outcome if isinstance(outcome, Mapping) else {}
    order_id = outcome.get("order_id")
    reason = outcome.get("rejection_reason")
    return GttLegResult(
        triggered_at=_dec(result.get("triggered_at"), "triggered_at"),
        at=parse_timestamp(result.get("timestamp")),
        order_id=str(order_id) if order_id not in (None, "") else None,
        status=str(outcome.get("status") or ""),
        rejection_reason=str(reason) if reason else None,
    )


def _leg_from_kite(row: object) -> GttLeg:
    leg = _mapping(row, "readable orders")
    return GttLeg(
        side=_enum(OrderSide, leg, "transaction_type"),
        quantity=_int(leg.get("quantity"), "GTT order quantity"),
        price=_req_dec(leg.get("price"), "GTT order price"),
        product=_enum(Product, leg, "product"),
        order_type=_enum(OrderType, leg, "order_type"),
        result=_result_from_kite(leg.get("result")),
    )


def _time(value: object, field: str) -> datetime:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise BrokerDataError(f"Kite sent a GTT without {field}")
    return parsed


def gtt_from_kite(row: object) -> Gtt:
    """One trigger row as a domain GTT (BrokerDataError if garbled, UnsupportedKiteRow
    for a type, status or product this app does not model)."""
    data = _mapping(row, "a readable row")
    gtt_id = data.get("id")
    if isinstance(gtt_id, bool) or not isinstance(gtt_id, int):
        gtt_id = _int(gtt_id, "GTT id")
    try:
        kind = GttType(str(data.get("type")))
    except ValueError:
        raise UnsupportedKiteRow(f"GTT type {data.get('type')!r} is not supported") from None
    try:
        status = GttStatus(str(data.get("status")).lower())
    except ValueError:
        raise UnsupportedKiteRow(f"GTT status {data.get('status')!r} is not known") from None
    condition = _mapping(data.get("condition"), "a condition")
    triggers = condition.get("trigger_values")
    if not isinstance(triggers, list) or not triggers:
        raise BrokerDataError("Kite sent a GTT without trigger values")
    orders = data.get("orders")
    if not isinstance(orders, list) or not orders:
        raise BrokerDataError("Kite sent a GTT without orders")
    return Gtt(
        gtt_id=gtt_id,
        gtt_type=kind,
        exchange=_text(condition, "exchange").upper(),
        symbol=_text(condition, "tradingsymbol"),
        trigger_values=tuple(_req_dec(v, "trigger value") for v in triggers),
        last_price=_req_dec(condition.get("last_price"), "GTT last price"),
        legs=tuple(_leg_from_kite(o) for o in orders),
        status=status,
        created_at=_time(data.get("created_at"), "created_at"),
        updated_at=_time(data.get("updated_at") or data.get("created_at"), "updated_at"),
        expires_at=parse_timestamp(data.get("expires_at")),
    )


def gtt_params(request: GttRequest) -> dict[str, Any]:
    """Keyword arguments for `KiteConnect.place_gtt` / `modify_gtt` (kiteconnect 5.x).

    The client JSON-encodes `condition` and `orders` itself, and reads prices with
    `float()`: decimals go as floats (a tick-sized price is exact in its shortest repr)."""
    return {
        "trigger_type": request.gtt_type.value,
        "tradingsymbol": request.symbol,
        "exchange": request.exchange,
        "trigger_values": [float(v) for v in request.trigger_values],
        "last_price": float(request.last_price),
        "orders": [
            {
                "transaction_type": leg.side.value,
                "quantity": int(leg.quantity),
                "order_type": leg.order_type.value,
                "product": leg.product.value,
                "price": float(leg.price),
            }
            for leg in request.legs
        ],
    }


def trigger_id_of(data: object) -> int:
    """The trigger id of a place / modify / delete answer ({"trigger_id": 123})."""
    answer = _mapping(data, "a trigger id")
    value = answer.get("trigger_id")
    if isinstance(value, bool):
        raise BrokerDataError(f"Kite sent an unusable trigger id: {value!r}")
    return _int(value, "trigger id")


__all__ = ["gtt_from_kite", "gtt_params", "trigger_id_of"]
