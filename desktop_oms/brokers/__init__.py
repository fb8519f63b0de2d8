"""Broker adapters behind one port (`port.Broker`): the paper broker and Kite."""

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)
from desktop_oms.brokers.port import Broker, BrokerUpdate

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerOutcomeUnknown",
    "BrokerRateLimited",
    "BrokerRejected",
    "BrokerUnavailable",
    "BrokerUpdate",
    "OrderNotFoundAtBroker",
    "SessionExpired",
]
