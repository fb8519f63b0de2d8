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
from .exits import ExitOutcome
from .order_manager import OrderManager
from .position_manager import PositionManager

__all__ = [
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
]
