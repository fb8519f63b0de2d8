"""Opening a KiteBroker for the app: a stored token if it is still valid, else a login.

The login itself is UI (a dialog); it reaches this module as a coroutine function so the
same code runs headless in tests: `login(api_key, reason) -> KiteLogin | None`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from desktop_oms.brokers.errors import SessionExpired
from desktop_oms.brokers.kite.broker import KiteBroker
from desktop_oms.brokers.kite.credentials import CredentialStore, StoredToken

log = logging.getLogger(__name__)

MAX_LOGIN_ATTEMPTS = 3


@dataclass(frozen=True)
class KiteLogin:
    api_key: str
    access_token: str
    expires_at: datetime | None

    def __repr__(self) -> str:  # never print the token
        return f"KiteLogin(api_key={self.api_key!r}, access_token='***', expires_at={self.expires_at!r})"


LoginCallback = Callable[[str | None, str], Awaitable[KiteLogin | None]]


class KiteLoginRequired(Exception):
    """No valid Kite session and no way (or no wish) to log in."""


async def open_kite_broker(
    *,
    api_key: str | None,
    credentials: CredentialStore,
    login: LoginCallback | None,
    root: str | None = None,
    ticker_root: str | None = None,
    instruments_cache=None,
    broker_options: dict | None = None,
) -> KiteBroker:
    """A KiteBroker whose session the broker has confirmed (profile call)."""
    stored: StoredToken | None = credentials.get_access_token(api_key) if api_key else None
    reason = "Log in to Kite to start trading." if stored is None else ""
    for _ in range(MAX_LOGIN_ATTEMPTS):
        if stored is None:
            if login is None:
                raise KiteLoginRequired(
                    "No valid Kite session: start Desktop OMS with its window to log in "
                    "(Kite access tokens expire at 06:00 every day)."
                )
            result = await login(api_key, reason)
            if result is None:
                raise KiteLoginRequired("Kite login was cancelled")
            api_key = result.api_key
            credentials.set_access_token(api_key, result.access_token, result.expires_at)
            stored = StoredToken(result.access_token, result.expires_at)
        broker = KiteBroker(
            api_key,
            stored.access_token,
            root=root,
            ticker_root=ticker_root,
            instruments_cache=instruments_cache,
            **(broker_options or {}),
        )
        try:
            await broker.verify_session()
        except SessionExpired as exc:
            await broker.close()
            credentials.clear_access_token(api_key)
            stored = None
            reason = f"Your Kite session has expired ({exc.message}). Log in again."
            log.warning("stored Kite session rejected: %s", exc.message)
            continue
        except BaseException:
            await broker.close()
            raise
        return broker
    raise KiteLoginRequired("Kite did not accept the new session after several logins")
