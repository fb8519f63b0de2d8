"""The paper exchange's operator console: faults injected into the next order requests.

Public through `PaperBroker` and meant for tests and demos: inject_rejection,
inject_outcome_unknown and inject_unavailable queue what the next `place_order` calls
(one per injected count, first in, first out) do instead of the normal path. The
exchange acting by itself (fill, reject_open_order) and the broker's truth changing
without orders (set_position, clear_position, set_funds) are the exchange's own
(`SimulatedExchange`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str  # reject | unknown | unavailable
    message: str
    accept: bool = False  # unknown: the order is accepted first, only the answer is lost
    push_updates: bool = True  # unknown + accept: its pushed updates still arrive


class FaultInjector:
    """Faults waiting for the next place_order calls, first in, first out (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def inject_rejection(
        self, message: str = "Order rejected by RMS (paper broker, injected)", count: int = 1
    ) -> None:
        """The next `count` place_order calls raise BrokerRejected(message); nothing is accepted."""
        self._add(Fault("reject", message), count)

    def inject_outcome_unknown(
        self,
        accept: bool = True,
        count: int = 1,
        message: str = "Timed out waiting for the paper broker's response (injected)",
        push_updates: bool = True,
    ) -> None:
        """The next `count` place_order calls raise BrokerOutcomeUnknown.

        accept=True: the order is accepted (and matched) first, as if only the response
        was lost; its pushed updates are still delivered unless push_updates=False (as
        Kite's WebSocket would still report it). accept=False: nothing is accepted.
        """
        self._add(Fault("unknown", message, accept=accept, push_updates=push_updates), count)

    def inject_unavailable(
        self, count: int = 1, message: str = "Paper broker unavailable (injected)"
    ) -> None:
        """The next `count` place_order calls raise BrokerUnavailable; nothing is accepted."""
        self._add(Fault("unavailable", message), count)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def next(self) -> Fault | None:
        """The fault for this place_order call, if one waits."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _add(self, fault: Fault, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive whole number")
        with self._lock:
            self._faults.extend([fault] * count)
