"""Kite secrets: the API secret and the day's access token live in the OS keyring only.

Never in the database, the settings file or the logs. Where no keyring backend exists
(headless Linux without Secret Service: keyring falls back to `fail.Keyring`), or the
backend fails at run time (locked/absent D-Bus service), the store keeps the values in
memory for this session only and says so (`persistent` is False, `warning` explains it):
the trader then logs in again next time. Nothing is ever written to disk in plain text.

Every secret this store handles is registered with `infra.redaction`, which masks it in
every log record.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from desktop_oms.infra.redaction import register_secret

log = logging.getLogger(__name__)

__all__ = ["SERVICE_NAME", "CredentialStore", "StoredToken"]

SERVICE_NAME = "desktop-oms"

NO_KEYRING_WARNING = (
    "No OS keyring is available, so the Kite API secret and access token are kept in "
    "memory for this session only (never written to disk). You will have to enter the "
    "secret and log in again next time. Install and unlock a keyring (e.g. GNOME Keyring / "
    "KWallet via Secret Service) to remember them."
)


# ---------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredToken:
    access_token: str
    expires_at: datetime | None

    def is_valid(self, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return True
        current = now or datetime.now(self.expires_at.tzinfo)
        return current < self.expires_at

    def __repr__(self) -> str:  # never print the token
        return f"StoredToken(access_token='***', expires_at={self.expires_at!r})"


def _backend_usable(backend) -> bool:
    try:
        from keyring.backends import chainer, fail, null
    except ImportError:  # pragma: no cover
        return False
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend) and not list(backend.backends):
        return False
    return True


class CredentialStore:
    """API secret and access token per API key, in the OS keyring (or memory, see above).

    `backend` is a keyring backend instance (tests pass an in-memory one); by default the
    one `keyring` selects for this machine.
    """

    def __init__(self, service: str = SERVICE_NAME, *, backend=None) -> None:
        self.service = service
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self.warning: str | None = None
        if backend is None:
            try:
                import keyring

                backend = keyring.get_keyring()
            except Exception as exc:  # noqa: BLE001 - any import/init failure
                log.warning("keyring could not be initialised: %s", type(exc).__name__)
                backend = None
        self._backend = backend if backend is not None and _backend_usable(backend) else None
        if self._backend is None:
            self._fall_back("no usable keyring backend")

    @property
    def persistent(self) -> bool:
        """True while values go to the OS keyring (survive a restart)."""
        return self._backend is not None

    @property
    def backend_name(self) -> str:
        if self._backend is None:
            return "memory (this session only)"
        return f"{type(self._backend).__module__}.{type(self._backend).__name__}"

    def _fall_back(self, reason: str) -> None:
        self._backend = None
        if self.warning is None:
            self.warning = NO_KEYRING_WARNING
            log.warning("credentials kept in memory only (%s)", reason)

    # -- raw access ------------------------------------------------------------------------

    def _get(self, name: str) -> str | None:
        with self._lock:
            if self._backend is not None:
                try:
                    value = self._backend.get_password(self.service, name)
                except Exception as exc:  # noqa: BLE001 - locked/absent Secret Service...
                    self._fall_back(f"keyring read failed: {type(exc).__name__}")
                else:
                    if value is not None:
                        register_secret(value)
                    return value
            return self._memory.get(name)

    def _set(self, name: str, value: str) -> None:
        register_secret(value)
        with self._lock:
            if self._backend is not None:
                try:
                    self._backend.set_password(self.service, name, value)
                    return
                except Exception as exc:  # noqa: BLE001
                    self._fall_back(f"keyring write failed: {type(exc).__name__}")
            self._memory[name] = value

    def _delete(self, name: str) -> None:
        with self._lock:
            self._memory.pop(name, None)
            if self._backend is not None:
                try:
                    self._backend.delete_password(self.service, name)
                except Exception:  # noqa: BLE001 - absent entry (PasswordDeleteError) is fine
                    pass

    # -- API -------------------------------------------------------------------------------

    @staticmethod
    def _name(kind: str, api_key: str) -> str:
        if not api_key:
            raise ValueError("an API key is required")
        return f"kite:{api_key}:{kind}"

    def get_api_secret(self, api_key: str) -> str | None:
        return self._get(self._name("api_secret", api_key))

    def set_api_secret(self, api_key: str, api_secret: str) -> None:
        if not api_secret:
            raise ValueError("the API secret is empty")
        self._set(self._name("api_secret", api_key), api_secret)

    def get_access_token(self, api_key: str, *, now: datetime | None = None) -> StoredToken | None:
        """Today's token if one is stored and not expired (an expired one is deleted)."""
        raw = self._get(self._name("access_token", api_key))
        if not raw:
            return None
        try:
            data = json.loads(raw)
            token = str(data["access_token"])
            expires = data.get("expires_at")
            stored = StoredToken(token, datetime.fromisoformat(expires) if expires else None)
        except (ValueError, KeyError, TypeError):
            log.warning("discarding an unreadable stored Kite access token")
            self.clear_access_token(api_key)
            return None
        register_secret(stored.access_token)
        if not stored.is_valid(now):
            self.clear_access_token(api_key)
            return None
        return stored

    def set_access_token(
        self, api_key: str, access_token: str, expires_at: datetime | None
    ) -> None:
        if not access_token:
            raise ValueError("the access token is empty")
        register_secret(access_token)
        payload = {
            "access_token": access_token,
            "expires_at": expires_at.isoformat() if expires_at else None,
        }
        self._set(self._name("access_token", api_key), json.dumps(payload))

    def clear_access_token(self, api_key: str) -> None:
        self._delete(self._name("access_token", api_key))

    def forget(self, api_key: str) -> None:
        """Remove everything stored for this API key."""
        self._delete(self._name("api_secret", api_key))
        self._delete(self._name("access_token", api_key))
