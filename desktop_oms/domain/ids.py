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
_VALID = re.compile(r"[A-Za-z0-9]{1,20}")


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
    return isinstance(value, str) and _VALID.fullmatch(value) is not None


def _decode36(text: str) -> int:
    return int(text, 36)


# Last (time, sequence) issued per prefix in this process: two generators with the same
# prefix (e.g. an OMS restarted in-process) continue one sequence instead of colliding.
_ISSUED: dict[str, tuple[int, int]] = {}
_ISSUED_LOCK = threading.Lock()


class ClientOrderIdGenerator:
    """Ids increase strictly per prefix. `last_issued` (e.g. the journal's highest id with
    this prefix) seeds the sequence so a restart after a clock step back cannot collide."""

    def __init__(
        self, install_prefix: str, clock=time.time_ns, last_issued: str | None = None
    ) -> None:
        if not re.fullmatch(r"[A-Z0-9]{4}", install_prefix):
            raise ValueError("install prefix must be 4 base36 characters")
        self._prefix = install_prefix
        self.prefix = install_prefix  # every client order id of this install starts with it
        self._clock = clock
        if last_issued and len(last_issued) == 17 and last_issued.startswith(install_prefix):
            seeded = (_decode36(last_issued[4:14]), _decode36(last_issued[14:]))
            with _ISSUED_LOCK:
                _ISSUED[install_prefix] = max(_ISSUED.get(install_prefix, (0, 0)), seeded)

    def next_id(self) -> str:
        with _ISSUED_LOCK:
            last_us, seq = _ISSUED.get(self._prefix, (0, -1))
            now_us = max(self._clock() // 1000 - _EPOCH_US, last_us)
            if now_us == last_us:
                seq += 1
                if seq >= 36**3:
                    now_us += 1
                    seq = 0
            else:
                seq = 0
            _ISSUED[self._prefix] = (now_us, seq)
            return f"{self._prefix}{base36(now_us, 10)}{base36(seq, 3)}"
