"""Secrets never reach a log: a filter on the root logger, its handlers and the log-record
factory masks api_secret / access_token / request_token values (key=value, JSON and dict
forms), `Authorization: token api_key:access_token` headers, and every secret registered
with `register_secret` (the Kite credential store registers what it handles), wherever
they appear in a message or traceback. Standard library only.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["MASK", "SecretRedactingFilter", "install_redaction", "redact", "register_secret"]

# ---------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------

_SECRET_KEYS = (
    r"api_secret|apisecret|access_token|request_token|refresh_token|public_token|enctoken"
    r"|checksum|password|passwd|secret|totp"
)
# key=value, key: value, "key": "value", 'key': 'value', key%3Dvalue stays out of scope.
_KEY_VALUE = re.compile(
    rf"(?P<key>[\"']?\b(?:{_SECRET_KEYS})\b[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"'&,;)}}\]]+)",
    re.IGNORECASE,
)
# Authorization: token api_key:access_token
_AUTH_HEADER = re.compile(
    r"(?P<prefix>\btoken\s+[^\s:'\"]+:)(?P<value>[^\s'\",;)}}\]]+)", re.IGNORECASE
)
MASK = "***"
_MIN_SECRET_LENGTH = (
    12  # Kite secrets and tokens are 32 characters; shorter values would mask ordinary words
)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every log record from now on (tokens, secrets)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` with secrets masked."""
    if not text:
        return text
    text = _AUTH_HEADER.sub(lambda m: m.group("prefix") + MASK, text)
    text = _KEY_VALUE.sub(lambda m: m.group("key") + MASK, text)
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_oms_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format is the handler's problem
        return
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg = cleaned
        record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._oms_redacted = True


class SecretRedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the record (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_factory_installed = False
_install_lock = threading.Lock()


def install_redaction(logger: logging.Logger | None = None) -> SecretRedactingFilter:
    """Redact secrets from all log output (idempotent).

    Adds the filter to `logger` (default: the root logger) and its current handlers, and
    wraps the log-record factory so records of every logger (including records that only
    propagate to the root, and handlers added later) are masked when they are created.
    """
    global _factory_installed
    target = logger or logging.getLogger()
    with _install_lock:
        existing = next((f for f in target.filters if isinstance(f, SecretRedactingFilter)), None)
        flt = existing or SecretRedactingFilter()
        if existing is None:
            target.addFilter(flt)
        for handler in target.handlers:
            if not any(isinstance(f, SecretRedactingFilter) for f in handler.filters):
                handler.addFilter(flt)
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args, **kwargs):
                record = previous(*args, **kwargs)
                _redact_record(record)
                return record

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    return flt
