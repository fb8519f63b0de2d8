"""Broker adapters behind one port (`base.Broker`)."""

from .base import Broker, BrokerUpdate, Funds, Tick
from .errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerOutcomeUnknown",
    "BrokerRateLimited",
    "BrokerRejected",
    "BrokerUnavailable",
    "BrokerUpdate",
    "Funds",
    "OrderNotFoundAtBroker",
    "SessionExpired",
    "Tick",
]
