"""Client order ids: <= 20 alphanumerics, unique per install, usable as the Kite `tag`.

Layout: install prefix (4 base36 chars) + microseconds since 2024-01-01 (base36, 10 chars)
+ per-process sequence (base36, 3 chars) = 17 characters. The time part is monotonic
within a process (never goes backwards even if the clock does), and the journal's unique
constraint on client_order_id catches anything that slips past across restarts.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_EPOCH_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
CLIENT_ORDER_ID_MAX = 20
_VALID = re.compile(r"^[A-Za-z0-9]{1,20}$")


def base36(number: int, width: int) -> str:
    if number < 0:
        raise ValueError("base36 needs a non-negative number")
    chars = []
    while number:
        number, rem = divmod(number, 36)
        chars.append(_ALPHABET[rem])
    text = "".join(reversed(chars)) or "0"
    if len(text) > width:
        text = text[-width:]
    return text.rjust(width, "0")


def new_install_prefix() -> str:
    return base36(secrets.randbelow(36**4), 4)


def is_valid_client_order_id(value: str) -> bool:
    return bool(_VALID.match(value or ""))


class ClientOrderIdGenerator:
    def __init__(self, install_prefix: str, clock=time.time_ns) -> None:
        if not re.fullmatch(r"[A-Z0-9]{4}", install_prefix):
            raise ValueError("install prefix must be 4 base36 characters")
        self._prefix = install_prefix
        self._clock = clock
        self._last_us = 0
        self._seq = 0
        self._lock = threading.Lock()

    def next_id(self) -> str:
        with self._lock:
            now_us = max(self._clock() // 1000 - _EPOCH_US, self._last_us)
            if now_us == self._last_us:
                self._seq += 1
                if self._seq >= 36**3:
                    now_us += 1
                    self._seq = 0
            else:
                self._seq = 0
            self._last_us = now_us
            return f"{self._prefix}{base36(now_us, 10)}{base36(self._seq, 3)}"
