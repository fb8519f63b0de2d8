"""The paper exchange's GTTs: their journal form and the checks a new GTT passes.

A GTT is kept as the domain `Gtt` (immutable; replaced as a whole by each event):

    gtt_placed    a new GTT (its full description)
    gtt_modified  an active GTT's new triggers and legs (its full description)
    gtt_status    a GTT finished: deleted, triggered (with the leg that fired and the
                  order it placed, or why placing it failed) or expired

The exchange fires GTTs in its price passes (`SimulatedExchange.set_prices`): the first
trigger a price reaches places its leg as a LIMIT order (tag None, like an order Kite's
GTT places), and a two-leg GTT's other leg is never placed. A GTT lives a year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from desktop_oms.brokers.errors import BrokerRejected
from desktop_oms.brokers.paper.records import PaperStateError, dec, need_dec, undec, when
from desktop_oms.domain import Instrument, OrderSide, OrderType, Product
from desktop_oms.domain.gtt import (
    Gtt,
    GttLeg,
    GttLegResult,
    GttRequest,
    GttStatus,
    GttType,
    gtt_problem,
)
from desktop_oms.domain.margin import DERIVATIVE_EXCHANGES

GTT_LIFETIME = timedelta(days=365)


def check_gtt(request: GttRequest, instrument: Instrument | None) -> None:
    """BrokerRejected, in Kite's words where it has them, for a GTT Kite would refuse."""
    problem = gtt_problem(request)
    if problem:
        raise BrokerRejected(problem)
    name = f"{request.exchange}:{request.symbol}"
    if instrument is None or not instrument.tradable:
        raise BrokerRejected(f"Unknown instrument {name}: a GTT needs a tradable instrument")
    for leg in request.legs:
        if instrument.exchange in DERIVATIVE_EXCHANGES and leg.product is Product.CNC:
            raise BrokerRejected(f"Product CNC is not allowed for {instrument.exchange}; use NRML")
        if instrument.exchange not in DERIVATIVE_EXCHANGES and leg.product is Product.NRML:
            raise BrokerRejected(f"Product NRML is for F&O and commodities; {name} is CNC")
        tick = instrument.tick_size
        if tick and leg.price % tick:
            raise BrokerRejected(
                f"Tick size for this script is {tick}. Kindly enter the price in multiples of it."
            )
        if leg.quantity % max(instrument.lot_size, 1):
            raise BrokerRejected(
                f"Quantity should be a multiple of the lot size {instrument.lot_size}"
            )


def new_gtt(gtt_id: int, request: GttRequest, now: datetime) -> Gtt:
    return Gtt(
        gtt_id=gtt_id,
        gtt_type=request.gtt_type,
        exchange=request.exchange,
        symbol=request.symbol,
        trigger_values=request.trigger_values,
        last_price=request.last_price,
        legs=tuple(replace(leg, result=None) for leg in request.legs),
        status=GttStatus.ACTIVE,
        created_at=now,
        updated_at=now,
        expires_at=now + GTT_LIFETIME,
    )


def modified_gtt(gtt: Gtt, request: GttRequest, now: datetime) -> Gtt:
    if (request.exchange, request.symbol) != gtt.key:
        raise BrokerRejected("a GTT's instrument cannot be changed: delete it and make another")
    return replace(
        gtt,
        gtt_type=request.gtt_type,
        trigger_values=request.trigger_values,
        last_price=request.last_price,
        legs=tuple(replace(leg, result=None) for leg in request.legs),
        updated_at=now,
    )


# ---------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------


def _result_to_json(result: GttLegResult | None) -> dict | None:
    if result is None:
        return None
    return {
        "triggered_at": dec(result.triggered_at),
        "at": result.at.isoformat() if result.at else None,
        "order_id": result.order_id,
        "status": result.status,
        "rejection_reason": result.rejection_reason,
    }


def result_from_json(data: object) -> GttLegResult | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise PaperStateError("a GTT leg's result must be an object")
    return GttLegResult(
        triggered_at=undec(data.get("triggered_at"), "triggered at"),
        at=when(data["at"]) if data.get("at") else None,
        order_id=data.get("order_id"),
        status=str(data["status"]),
        rejection_reason=data.get("rejection_reason"),
    )


def gtt_to_json(gtt: Gtt) -> dict:
    return {
        "gtt_id": gtt.gtt_id,
        "type": gtt.gtt_type.value,
        "exchange": gtt.exchange,
        "symbol": gtt.symbol,
        "trigger_values": [str(v) for v in gtt.trigger_values],
        "last_price": str(gtt.last_price),
        "legs": [
            {
                "side": leg.side.value,
                "quantity": leg.quantity,
                "price": str(leg.price),
                "product": leg.product.value,
                "order_type": leg.order_type.value,
                "result": _result_to_json(leg.result),
            }
            for leg in gtt.legs
        ],
        "status": gtt.status.value,
        "created_at": gtt.created_at.isoformat(),
        "updated_at": gtt.updated_at.isoformat(),
        "expires_at": gtt.expires_at.isoformat() if gtt.expires_at else None,
    }


def gtt_from_json(data: object) -> Gtt:
    if not isinstance(data, dict):
        raise PaperStateError("a GTT must be an object")
    try:
        gtt_id = data["gtt_id"]
        if isinstance(gtt_id, bool) or not isinstance(gtt_id, int):
            raise PaperStateError(f"GTT id must be a whole number, got {gtt_id!r}")
        return Gtt(
            gtt_id=gtt_id,
            gtt_type=GttType(data["type"]),
            exchange=str(data["exchange"]),
            symbol=str(data["symbol"]),
            trigger_values=tuple(need_dec(v, "trigger value") for v in data["trigger_values"]),
            last_price=need_dec(data["last_price"], "GTT last price"),
            legs=tuple(
                GttLeg(
                    side=OrderSide(leg["side"]),
                    quantity=int(leg["quantity"]),
                    price=need_dec(leg["price"], "GTT leg price"),
                    product=Product(leg["product"]),
                    order_type=OrderType(leg.get("order_type", "LIMIT")),
                    result=result_from_json(leg.get("result")),
                )
                for leg in data["legs"]
            ),
            status=GttStatus(data["status"]),
            created_at=when(data["created_at"]),
            updated_at=when(data["updated_at"]),
            expires_at=when(data["expires_at"]) if data.get("expires_at") else None,
        )
    except KeyError as exc:
        raise PaperStateError(f"GTT is missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PaperStateError):
            raise
        raise PaperStateError(f"bad GTT record: {exc}") from None
