"""Pure trading domain: no I/O, no Qt. Money is Decimal."""

from desktop_oms.domain.enums import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    MODIFIABLE_STATUSES,
    TERMINAL_STATUSES,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)
from desktop_oms.domain.gtt import (
    Gtt,
    GttLeg,
    GttLegResult,
    GttRequest,
    GttStatus,
    GttType,
    fired_leg,
    gtt_problem,
)
from desktop_oms.domain.ids import ClientOrderIdGenerator, is_valid_client_order_id
from desktop_oms.domain.instrument import Instrument
from desktop_oms.domain.market import Funds, MarketQuote, Tick
from desktop_oms.domain.orders import Fill, Order, OrderRequest, OrderResult, order_shape_problem
from desktop_oms.domain.positions import (
    FillOutcome,
    Position,
    PositionAction,
    apply_fill,
    mark_to_market,
)
from desktop_oms.domain.reports import OrderReport, PositionReport, TradeReport
from desktop_oms.domain.state_machine import TRANSITIONS, InvalidTransition, can_transition

__all__ = [
    "Funds",
    "Gtt",
    "GttLeg",
    "GttLegResult",
    "GttRequest",
    "GttStatus",
    "GttType",
    "fired_leg",
    "gtt_problem",
    "MarketQuote",
    "Tick",
    "ACTIVE_STATUSES",
    "CANCELLABLE_STATUSES",
    "MODIFIABLE_STATUSES",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "ClientOrderIdGenerator",
    "Fill",
    "FillOutcome",
    "Instrument",
    "InvalidTransition",
    "Order",
    "OrderReport",
    "OrderRequest",
    "OrderResult",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionAction",
    "PositionReport",
    "Product",
    "TradeReport",
    "Validity",
    "Variety",
    "apply_fill",
    "can_transition",
    "is_valid_client_order_id",
    "mark_to_market",
    "order_shape_problem",
]
