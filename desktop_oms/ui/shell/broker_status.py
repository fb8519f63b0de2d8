"""The broker's connection state in the status bar.

For a broker with a live stream (KiteBroker: `add_stream_state_listener`,
`stream_status`, `session_expired`, `add_session_expired_listener`) the status bar's
broker part follows the stream:

    connected      "kite · connected"          (plain)
    connecting     "kite · connecting…"        (amber)
    reconnecting   "broker reconnecting"       (amber; attempts and the last error in the tip)
    expired        "kite · session expired"    (red) and a red "Kite session expired — log in"
    stopped        "kite · stream stopped"     (red: no live orders or ticks)

A broker without a stream (the paper broker) is "paper · connected".

The listeners may be called on the loop thread (or, for some adapters, a broker thread):
they only store what they were given. `refresh()` (the window's 0.5 s timer) turns that
into text, so a burst of state changes costs nothing and Qt is only touched on the GUI
thread. "market data stale N s" is the status bar's market-data part (`set_market_data`).
"""

from __future__ import annotations

from datetime import datetime

from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.shell.status_bar import OmsStatusBar

_WORDS = {
    "connected": ("connected", "ok"),
    "connecting": ("connecting\u2026", "warn"),
    "idle": ("not streaming yet", "warn"),
    "stopped": ("stream stopped", "error"),
    "expired": ("session expired", "error"),
}


def _state_name(status: object) -> str:
    state = getattr(status, "state", status)
    return str(getattr(state, "value", state) or "").lower()


class BrokerStatus:
    """Watches one broker and words its state for an OmsStatusBar (`refresh()`)."""

    def __init__(self, broker: object, bar: OmsStatusBar, name: str | None = None) -> None:
        self.broker = broker
        self.bar = bar
        self.name = name or str(getattr(broker, "name", "broker"))
        # The paper broker is in-process: no live stream to show (it is always connected).
        self.streaming = self.name != "paper"
        self._status: object | None = None
        self._expired: str | None = None  # reason given by the session-expired listener
        self._shown: tuple | None = None
        if self.streaming:
            self._status = broker.stream_status
            broker.add_stream_state_listener(self._on_state)
        broker.add_session_expired_listener(self._on_expired)

    # ---- listeners: store only (any thread) ------------------------------------------

    def _on_state(self, status: object) -> None:
        self._status = status

    def _on_expired(self, reason: object) -> None:
        self._expired = str(reason or "session expired")

    # ---- state -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """connected | connecting | reconnecting | idle | stopped | expired."""
        if self.session_expired:
            return "expired"
        if not self.streaming:
            return "connected"
        name = _state_name(self._status)
        return name or "connecting"

    @property
    def session_expired(self) -> bool:
        # the broker clears it when a new token is installed (re-login)
        expired = bool(self.broker.session_expired)
        if not expired:
            self._expired = None
        return expired or _state_name(self._status) == "expired"

    def describe(self) -> tuple[str, str, str]:
        """(text, level, tooltip) for the status bar's broker part."""
        state = self.state
        name = self.name
        status = self._status
        if not self.streaming:
            tip = (
                "Paper broker: simulated fills, no real orders"
                if name == "paper"
                else f"Broker: {name}"
            )
            return f"{name} \u00b7 connected", "ok", tip
        details = []
        last_tick = getattr(status, "last_tick_at", None)
        if isinstance(last_tick, datetime):
            details.append(f"last tick {fmt.ist_time(last_tick)}")
        reconnects = getattr(status, "reconnects", 0) or 0
        if reconnects:
            details.append(f"{reconnects} reconnect{'s' if reconnects != 1 else ''} so far")
        error = getattr(status, "error", None)
        if state == "reconnecting":
            attempts = getattr(status, "connection_attempts", 0) or 0
            if attempts:
                details.insert(0, f"attempt {attempts}")
            text, level = "broker reconnecting", "warn"
            head = f"{name}: the live stream dropped and is reconnecting; nothing is sent twice"
        elif state == "expired":
            text, level = f"{name} \u00b7 session expired", "error"
            head = f"{name}: the session expired; log in again"
            error = error or self._expired
        else:
            words, level = _WORDS.get(state, (state, "warn"))
            text = f"{name} \u00b7 {words}"
            head = f"{name}: live stream {words}"
        if error:
            details.append(str(error))
        tip = head + ("\n" + "\n".join(details) if details else "")
        return text, level, tip

    def refresh(self) -> None:
        text, level, tip = self.describe()
        expired = self.session_expired
        shown = (text, level, tip, expired)
        if shown == self._shown:
            return
        self._shown = shown
        self.bar.show_broker(text, level, tip)
        self.bar.set_session_expired(expired, self._expired)
