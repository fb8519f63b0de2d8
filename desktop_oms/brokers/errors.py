"""Broker failures, classified by what the OMS may safely do next."""

from __future__ import annotations


class BrokerError(Exception):
    """Base class. `message` is the broker's own words, shown to the trader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BrokerRejected(BrokerError):
    """The broker refused the request (bad input, RMS, margins). Nothing happened."""


class BrokerUnavailable(BrokerError):
    """The request certainly did not take effect (connection refused, 5xx before acceptance)."""


class BrokerOutcomeUnknown(BrokerError):
    """The request may have reached the broker (read timeout, reset). Look the tag up."""


class BrokerRateLimited(BrokerUnavailable):
    """HTTP 429 / client-side limiter: try later."""


class SessionExpired(BrokerError):
    """Access token expired or revoked: halt new orders, ask the trader to log in."""


class OrderNotFoundAtBroker(BrokerError):
    """The broker does not know this order id."""
