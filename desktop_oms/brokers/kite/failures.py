"""Kite request failures: what a failed `KiteConnect` call means, as a domain error.

`classify_failure` sorts anything the client raised (Kite exceptions, `requests`
network errors, unreadable answers) into a `Failure` - rejected, session expired, rate
limited, not found, never sent, sent but unanswered, malformed - which decides whether
the broker may retry or must resolve a write by its tag; `to_broker_error` turns a final
failure into the domain exception (with the static-IP and session help texts).
Re-exported by `kite_mapping`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)
from desktop_oms.brokers.kite.parsing.values import BrokerDataError


class StaticIpRejected(BrokerRejected):
    """Kite refused an order request because it did not come from the registered static IP."""


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class Failure(Enum):
    """What a failed request means for the caller."""

    REJECTED = "rejected"  # Kite refused it: nothing happened
    SESSION_EXPIRED = "session_expired"
    RATE_LIMITED = "rate_limited"  # 429: nothing happened
    NOT_FOUND = "not_found"  # the order id is unknown to Kite
    NOT_SENT = "not_sent"  # never reached Kite (connection refused, connect timeout)
    SERVER_ERROR = "server_error"  # 5xx / Network / General: may or may not have happened
    RESPONSE_LOST = "response_lost"  # sent, answer lost (read timeout, reset)
    MALFORMED = "malformed"  # an answer came but could not be understood


@dataclass(frozen=True, slots=True)
class Classified:
    failure: Failure
    message: str
    code: int | None = None


_IP_PATTERN = re.compile(
    r"\bIPs?\b|ip\s*address|static\s*ip|white\s*-?\s*list|whitelist|unregistered\s+ip",
    re.IGNORECASE,
)
_NOT_FOUND_PATTERN = re.compile(
    r"(couldn'?t|could not|cannot|can't|unable to) find|not found|does not exist|doesn'?t exist|invalid\W+order[_ ]?id",
    re.IGNORECASE,
)

STATIC_IP_HELP = (
    "Kite accepts order requests only from a static IP registered for your account "
    "(SEBI/NSE rules since April 2026). Register this machine's public IP on the Kite "
    "Connect developer console (developers.kite.trade -> Profile -> IP Whitelist), or trade "
    "from the network whose IP is registered. The exchange allows one IP change per week."
)
SESSION_HELP = (
    "The Kite session has expired or was revoked (access tokens end at 6 AM IST each day, "
    "and on logout): log in to Kite again."
)


def is_static_ip_message(message: str) -> bool:
    return bool(_IP_PATTERN.search(message or ""))


def _requests_failure(exc: BaseException) -> Failure | None:
    try:
        import requests
        from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    except ImportError:  # pragma: no cover - both come with kiteconnect
        return None
    if not isinstance(exc, requests.exceptions.RequestException):
        return None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.NOT_SENT
    if isinstance(exc, requests.exceptions.ConnectionError):
        # Was the connection never made (refused, DNS, connect timeout, TLS handshake)?
        seen: set[int] = set()
        stack: list[object] = [exc]
        while stack:
            item = stack.pop()
            if item is None or id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, NewConnectionError | ConnectTimeoutError):
                return Failure.NOT_SENT
            if isinstance(item, requests.exceptions.SSLError):
                return Failure.NOT_SENT
            if isinstance(item, BaseException):
                stack.extend(item.args)
                stack.append(getattr(item, "reason", None))
                stack.append(item.__cause__)
                stack.append(item.__context__)
        return Failure.RESPONSE_LOST
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return Failure.NOT_SENT
    # ReadTimeout, ChunkedEncodingError, ContentDecodingError, ...: sent, answer lost.
    return Failure.RESPONSE_LOST


class StaleSessionRefusal(Exception):  # noqa: N818 - a refusal, not a program error
    """Kite refused a request for the access token a re-login replaced while it was in
    flight: it was not taken, and it says nothing about the new session (a read is
    asked again with the new token; a write was not placed)."""


def classify_failure(exc: BaseException) -> Classified:
    """Classify anything `KiteConnect` raised."""
    from kiteconnect import exceptions as kex

    if isinstance(exc, StaleSessionRefusal):
        return Classified(Failure.NOT_SENT, str(exc))

    if isinstance(exc, kex.KiteException):
        message = str(exc) or type(exc).__name__
        code = getattr(exc, "code", None)
        code = code if isinstance(code, int) else None
        if isinstance(exc, kex.TokenException):
            if is_static_ip_message(message):  # an IP refusal is not an expired session
                return Classified(Failure.REJECTED, message, code)
            return Classified(Failure.SESSION_EXPIRED, message, code)
        if code == 429:
            return Classified(Failure.RATE_LIMITED, message, code)
        if isinstance(exc, kex.InputException | kex.OrderException | kex.PermissionException):
            # The class alone proves nothing: pykiteconnect's OrderException defaults to
            # HTTP 500, and Kite answers 5xx with these types when its back end failed
            # after taking the order. Only a 4xx is Kite saying no; anything else is an
            # unknown outcome (a write is then looked up by its tag, never resent).
            if code is None or not 400 <= code < 500:
                return Classified(Failure.SERVER_ERROR, message, code)
            if code == 404 or _NOT_FOUND_PATTERN.search(message):
                return Classified(Failure.NOT_FOUND, message, code)
            return Classified(Failure.REJECTED, message, code)
        if isinstance(exc, kex.DataException):
            return Classified(Failure.MALFORMED, message, code)
        # NetworkException, GeneralException (and error types the library does not know).
        if code == 404:
            return Classified(Failure.NOT_FOUND, message, code)
        if code is not None and 400 <= code < 500:
            return Classified(Failure.REJECTED, message, code)
        return Classified(Failure.SERVER_ERROR, message, code)
    network = _requests_failure(exc)
    if network is not None:
        return Classified(network, f"{type(exc).__name__}: {exc}")
    # Anything else escaping the library (KeyError on a body without "data", a
    # missing Content-Type header, ...) means the answer could not be understood.
    return Classified(Failure.MALFORMED, f"{type(exc).__name__}: {exc}")


def to_broker_error(classified: Classified, *, action: str) -> BrokerError:
    """The domain exception for a classified failure (for reads, or writes that are final)."""
    message = classified.message
    if classified.failure is Failure.SESSION_EXPIRED:
        return SessionExpired(f"{SESSION_HELP} (Kite: {message})")
    if classified.failure is Failure.REJECTED:
        if is_static_ip_message(message):
            return StaticIpRejected(f"Kite refused to {action}: {message}. {STATIC_IP_HELP}")
        return BrokerRejected(message)
    if classified.failure is Failure.RATE_LIMITED:
        return BrokerRateLimited(f"Kite's rate limit was hit while trying to {action}: {message}")
    if classified.failure is Failure.NOT_FOUND:
        return OrderNotFoundAtBroker(message)
    if classified.failure is Failure.MALFORMED:
        return BrokerDataError(
            f"Kite sent an answer that could not be understood while trying to {action}: {message}"
        )
    if classified.failure is Failure.NOT_SENT:
        return BrokerUnavailable(f"Kite could not be reached to {action}: {message}")
    return BrokerUnavailable(f"Kite failed to {action}: {message}")
