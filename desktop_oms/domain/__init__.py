"""Pure trading domain: no I/O, no Qt. Money is Decimal."""

from .enums import (
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
from .ids import ClientOrderIdGenerator, is_valid_client_order_id
from .instrument import Instrument
from .orders import Fill, Order, OrderRequest, OrderResult, order_shape_problem
from .positions import FillOutcome, Position, PositionAction, apply_fill, mark_to_market
from .reports import OrderReport, PositionReport, TradeReport
from .state_machine import TRANSITIONS, InvalidTransition, can_transition

__all__ = [
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
