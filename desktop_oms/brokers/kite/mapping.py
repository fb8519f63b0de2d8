"""Kite wire values <-> domain values: statuses, reports, order parameters, errors.

Pure functions, no I/O. Everything Kite sends is untrusted: numbers are turned into
Decimal through `str` (never through float arithmetic), order ids stay strings (they are
up to 19 digits), naive Kite timestamps are IST and become timezone-aware.

Rows that are well formed but use something the domain does not model (a CO/BO product,
say) raise `UnsupportedKiteRow`, which list readers skip with a warning; rows that are
malformed (missing or garbled fields) raise `BrokerDataError`, which fails the whole
read: a reconciliation must not act on a partial order book.

This module builds the order requests (`order_params`) and re-exports the rest, which
lives in three modules: `kite_parse` (timestamps, numbers, enums, statuses, tags),
`kite_reports` (order/trade/position/quote/instrument rows) and `kite_failures`
(classifying failed requests into domain errors).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from desktop_oms.brokers.errors import BrokerRejected
from desktop_oms.brokers.kite.failures import SESSION_HELP as SESSION_HELP
from desktop_oms.brokers.kite.failures import STATIC_IP_HELP as STATIC_IP_HELP
from desktop_oms.brokers.kite.failures import Classified as Classified
from desktop_oms.brokers.kite.failures import (
    Failure,
    StaticIpRejected,
    classify_failure,
    to_broker_error,
)
from desktop_oms.brokers.kite.failures import is_static_ip_message as is_static_ip_message
from desktop_oms.brokers.kite.parsing.reports import (
    instrument_from_kite,
    order_report_from_kite,
    parse_instruments_csv,
    position_report_from_kite,
    tick_from_quote,
    trade_report_from_kite,
)
from desktop_oms.brokers.kite.parsing.values import (
    ACTIVE_KITE_STATUSES,
    IST,
    KITE_STATUS_MAP,
    BrokerDataError,
    UnsupportedKiteRow,
    client_order_id_of,
    has_tag,
    map_kite_status,
    parse_timestamp,
)
from desktop_oms.brokers.kite.parsing.values import _id as _id
from desktop_oms.brokers.kite.parsing.values import instruments_day as instruments_day
from desktop_oms.brokers.kite.parsing.values import iter_rows as iter_rows
from desktop_oms.brokers.kite.parsing.values import now_ist as now_ist
from desktop_oms.domain import Order, OrderType, Validity, Variety, is_valid_client_order_id

__all__ = [
    "ACTIVE_KITE_STATUSES",
    "IST",
    "KITE_STATUS_MAP",
    "BrokerDataError",
    "Failure",
    "StaticIpRejected",
    "UnsupportedKiteRow",
    "classify_failure",
    "client_order_id_of",
    "has_tag",
    "instrument_from_kite",
    "map_kite_status",
    "order_params",
    "order_report_from_kite",
    "parse_instruments_csv",
    "plain_decimal",
    "parse_timestamp",
    "position_report_from_kite",
    "tick_from_quote",
    "to_broker_error",
    "trade_report_from_kite",
]


# ---------------------------------------------------------------------------------------
# Order parameters
# ---------------------------------------------------------------------------------------

MARKET_PROTECTION_AUTO = -1


def plain_decimal(value) -> str:
    """A price as Kite reads it: plain digits, never exponent form (`str(Decimal("1E+3"))`
    is "1E+3", which Kite refuses as an invalid price; this gives "1000")."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise BrokerRejected(f"{value!r} is not a price")
    return format(number, "f")


def order_params(order: Order) -> dict[str, Any]:
    """Keyword arguments for `KiteConnect.place_order` (kiteconnect 5.2 signature).

    Raises BrokerRejected (nothing sent) for an order Kite would certainly refuse or that
    this adapter cannot express.
    """
    tag = order.client_order_id
    if not is_valid_client_order_id(tag):
        raise BrokerRejected(f"client order id {tag!r} cannot be a Kite tag (<= 20 letters/digits)")
    if order.variety in (Variety.ICEBERG, Variety.AUCTION):
        raise BrokerRejected(f"{order.variety.value} orders are not supported by this app")
    if order.variety is Variety.CO:
        # A cover order needs its stop-loss trigger and comes back as product CO with a
        # second (stop) leg; this app models neither, so it would lose track of it.
        raise BrokerRejected(
            "cover orders (variety co) are not supported by this app: place a regular "
            "order with a bracket stop-loss instead"
        )
    if order.validity is Validity.TTL:
        raise BrokerRejected(
            "TTL validity needs a duration in minutes, which this app does not send"
        )
    params: dict[str, Any] = {
        "variety": order.variety.value,
        "exchange": order.exchange,
        "tradingsymbol": order.symbol,
        "transaction_type": order.side.value,
        "quantity": int(order.quantity),
        "product": order.product.value,
        "order_type": order.order_type.value,
        "validity": order.validity.value,
        "tag": tag,
    }
    if order.order_type.needs_price:
        if order.price is None:
            raise BrokerRejected(f"a {order.order_type.value} order needs a price")
        params["price"] = plain_decimal(order.price)
    if order.order_type.needs_trigger:
        if order.trigger_price is None:
            raise BrokerRejected(f"a {order.order_type.value} order needs a trigger price")
        params["trigger_price"] = plain_decimal(order.trigger_price)
    if order.order_type in (OrderType.MARKET, OrderType.SL_M):
        # Mandatory since April 2026 (0 is rejected); -1 lets Kite apply its default band.
        params["market_protection"] = MARKET_PROTECTION_AUTO
    return params
