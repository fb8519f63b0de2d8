"""Credentials in the keyring (in-memory/fail backends only) and the log redaction filter."""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

import keyring
import pytest
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from desktop_oms.brokers.kite.credentials import CredentialStore, StoredToken
from desktop_oms.brokers.kite.mapping import IST
from desktop_oms.infra.redaction import (
    SecretRedactingFilter,
    install_redaction,
    redact,
    register_secret,
)
from tests.helpers import MemoryKeyring


class LockedKeyring(MemoryKeyring):
    def set_password(self, service, username, password):
        raise KeyringLocked("the collection is locked")

    def get_password(self, service, username):
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def global_keyring():
    """Restore the process-wide keyring after tests that change it."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


NOW = datetime(2026, 11, 24, 10, 0, tzinfo=IST)
EXPIRY = datetime(2026, 11, 25, 6, 0, tzinfo=IST)


def test_secret_and_token_go_to_the_keyring(backend):
    store = CredentialStore(backend=backend)
    assert store.persistent and store.warning is None
    store.set_api_secret("key1", "supersecret123")
    store.set_access_token("key1", "accesstoken456", EXPIRY)
    assert store.get_api_secret("key1") == "supersecret123"
    token = store.get_access_token("key1", now=NOW)
    assert token == StoredToken("accesstoken456", EXPIRY)
    assert "accesstoken456" not in repr(token)
    # A second store on the same keyring (the next app start) sees them.
    again = CredentialStore(backend=backend)
    assert again.get_api_secret("key1") == "supersecret123"
    assert again.get_access_token("key1", now=NOW).access_token == "accesstoken456"
    assert all(service == "desktop-oms" for service, _ in backend.items)


def test_expired_token_is_not_returned_and_is_deleted(backend):
    store = CredentialStore(backend=backend)
    store.set_access_token("key1", "accesstoken456", EXPIRY)
    assert store.get_access_token("key1", now=EXPIRY + timedelta(seconds=1)) is None
    assert store.get_access_token("key1", now=NOW) is None
    assert store.get_api_secret("key1") is None


def test_forget_and_clear(backend):
    store = CredentialStore(backend=backend)
    store.set_api_secret("key1", "supersecret123")
    store.set_access_token("key1", "accesstoken456", None)
    store.clear_access_token("key1")
    assert store.get_access_token("key1") is None
    assert store.get_api_secret("key1") == "supersecret123"
    store.forget("key1")
    store.forget("key1")  # absent entries are fine
    assert backend.items == {}


def test_unreadable_stored_token_is_discarded(backend):
    store = CredentialStore(backend=backend)
    backend.set_password("desktop-oms", "kite:key1:access_token", "garbage{")
    assert store.get_access_token("key1") is None
    assert backend.items == {}


@pytest.mark.parametrize("no_backend", [fail.Keyring(), null.Keyring()])
def test_without_a_keyring_values_live_in_memory_with_a_warning(no_backend, caplog):
    caplog.set_level(logging.WARNING, logger="desktop_oms.brokers.kite.credentials")
    store = CredentialStore(backend=no_backend)
    assert not store.persistent
    assert "memory" in store.warning and "session" in store.warning
    store.set_api_secret("key1", "supersecret123")
    store.set_access_token("key1", "accesstoken456", EXPIRY)
    assert store.get_api_secret("key1") == "supersecret123"
    assert store.get_access_token("key1", now=NOW).access_token == "accesstoken456"
    # A new store (the next start) has nothing: nothing was persisted anywhere.
    assert CredentialStore(backend=no_backend).get_api_secret("key1") is None
    assert any("memory only" in r.getMessage() for r in caplog.records)
    assert not any("supersecret123" in r.getMessage() for r in caplog.records)


def test_default_backend_fail_keyring_falls_back(global_keyring):
    keyring.set_keyring(fail.Keyring())
    store = CredentialStore()
    assert not store.persistent and store.warning
    store.set_api_secret("key1", "supersecret123")
    assert store.get_api_secret("key1") == "supersecret123"


def test_default_backend_is_used_when_usable(global_keyring):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    store = CredentialStore()
    store.set_api_secret("key1", "supersecret123")
    assert backend.items[("desktop-oms", "kite:key1:api_secret")] == "supersecret123"


def test_a_keyring_failing_at_run_time_falls_back_to_memory():
    store = CredentialStore(backend=LockedKeyring())
    assert store.persistent
    store.set_api_secret("key1", "supersecret123")
    assert not store.persistent and store.warning
    assert store.get_api_secret("key1") == "supersecret123"


def test_stored_token_validity():
    assert StoredToken("x" * 10, None).is_valid()
    assert StoredToken("x" * 10, EXPIRY).is_valid(NOW)
    assert not StoredToken("x" * 10, EXPIRY).is_valid(EXPIRY)


# -- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("GET wss://ws.kite.trade?api_key=abc123&access_token=tok987654", "tok987654"),
        ('{"access_token": "tok987654", "user_id": "AB1234"}', "tok987654"),
        ("{'api_key': 'k', 'request_token': 'rt123456', 'checksum': 'c0ffee1234'}", "rt123456"),
        ("{'api_key': 'k', 'request_token': 'rt123456', 'checksum': 'c0ffee1234'}", "c0ffee1234"),
        ("headers {'Authorization': 'token abc123:tok987654'}", "tok987654"),
        ("Authorization: token abc123:tok987654", "tok987654"),
        ("api_secret=s3cr3tvalue and more", "s3cr3tvalue"),
        ("refresh_token: rf55555555", "rf55555555"),
    ],
)
def test_redact_patterns(text, hidden):
    cleaned = redact(text)
    assert hidden not in cleaned
    assert "***" in cleaned


def test_redact_keeps_ordinary_text():
    text = "Kite order ABC placed: order id 1953341975595868160; access token expired at 06:00"
    assert redact(text) == text
    assert "api_key=abc123" in redact("api_key=abc123&access_token=x1234567")


def test_registered_secrets_are_masked_anywhere():
    register_secret("verysecretvalue42")
    assert redact("the value verysecretvalue42 leaked") == "the value *** leaked"
    register_secret("abc")  # too short to register safely: ignored
    assert redact("abc") == "abc"


def test_filter_masks_messages_args_and_tracebacks():
    register_secret("tracebacktoken77")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactingFilter())
    logger = logging.getLogger("test_credentials.filter")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("connecting with access_token=%s", "argtoken1234")
        try:
            raise RuntimeError("boom with tracebacktoken77")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "argtoken1234" not in output and "tracebacktoken77" not in output
    assert "access_token=***" in output and "RuntimeError" in output


def test_install_redaction_covers_child_loggers_and_later_handlers():
    root = logging.getLogger()
    flt = install_redaction(root)
    assert install_redaction(root) is flt  # idempotent
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added after installation, no filter of its own
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)
    try:
        logging.getLogger("some.library").info(
            "Request: POST /session/token {'request_token': 'rt99887766', 'api_secret': 'sec99887766'} "
            "{'Authorization': 'token key:tok99887766'}"
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    output = stream.getvalue()
    assert (
        "rt99887766" not in output and "sec99887766" not in output and "tok99887766" not in output
    )
    assert "POST /session/token" in output
