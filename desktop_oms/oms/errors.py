"""OMS exceptions (contract names)."""

from __future__ import annotations


class OMSError(Exception):
    pass


class OrderRejected(OMSError):
    """Refused before reaching the broker, or refused by the broker."""

    def __init__(
        self, reason: str, failed_check: str | None = None, order_id: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failed_check = failed_check
        self.order_id = order_id

    def __str__(self) -> str:
        return self.reason


class OrderSubmissionFailed(OMSError):
    """The order was journaled but could not be sent (or its fate is still being resolved)."""

    def __init__(self, message: str, order_id: int | None = None) -> None:
        super().__init__(message)
        self.order_id = order_id


class OrderNotFound(OMSError):
    def __init__(self, order_id: object) -> None:
        super().__init__(f"Order {order_id} not found")
        self.order_id = order_id


class OrderNotCancellable(OMSError):
    """The order cannot be cancelled: it is final, not yet known to the broker, or the
    broker refused the cancel (then `reason` carries the broker's explanation, e.g. the
    static-IP rule)."""

    def __init__(self, status: object, order_id: object = None, reason: str | None = None) -> None:
        status_name = getattr(status, "value", status)
        super().__init__(reason or f"Order {order_id} cannot be cancelled in status {status_name}")
        self.status = status
        self.order_id = order_id


class OrderNotModifiable(OMSError):
    def __init__(self, status: object, order_id: object = None, reason: str | None = None) -> None:
        status_name = getattr(status, "value", status)
        super().__init__(reason or f"Order {order_id} cannot be modified in status {status_name}")
        self.status = status
        self.order_id = order_id


class TradingHaltedError(OrderRejected):
    pass


class StorageError(OMSError):
    """The journal could not be written; nothing was sent."""
