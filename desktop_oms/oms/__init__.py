"""The OMS: OrderManager, PositionManager, reconciliation, event bus, errors."""

from .errors import (
    OMSError,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
    OrderSubmissionFailed,
    StorageError,
)
from .event_bus import EventBus
from .order_manager import OrderManager
from .position_manager import PositionManager

__all__ = [
    "EventBus",
    "OMSError",
    "OrderManager",
    "OrderNotCancellable",
    "OrderNotFound",
    "OrderNotModifiable",
    "OrderRejected",
    "OrderSubmissionFailed",
    "PositionManager",
    "StorageError",
]
