"""The OMS: OrderManager, PositionManager, reconciliation, event bus, errors."""

from desktop_oms.oms.baskets import BasketLeg, BasketOutcome
from desktop_oms.oms.checks import allowed_validities, validity_problem
from desktop_oms.oms.errors import (
    OMSError,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
    OrderSubmissionFailed,
    StorageError,
)
from desktop_oms.oms.event_bus import EventBus
from desktop_oms.oms.exits import ExitOutcome
from desktop_oms.oms.order_manager import OrderManager
from desktop_oms.oms.position_manager import PositionManager

__all__ = [
    "BasketLeg",
    "BasketOutcome",
    "EventBus",
    "ExitOutcome",
    "OMSError",
    "OrderManager",
    "OrderNotCancellable",
    "OrderNotFound",
    "OrderNotModifiable",
    "OrderRejected",
    "OrderSubmissionFailed",
    "PositionManager",
    "StorageError",
    "allowed_validities",
    "validity_problem",
]
