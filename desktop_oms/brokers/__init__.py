"""Broker adapters behind one port (`base.Broker`)."""

from desktop_oms.brokers.base import Broker, BrokerUpdate, Funds, Tick
from desktop_oms.brokers.errors import (
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
