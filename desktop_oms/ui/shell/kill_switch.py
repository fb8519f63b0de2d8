"""MainWindow's kill switch: engaging it from the button or the shortcut, showing the
outcome on the button, re-arming it after a confirmation, and matching the button to a
kill switch already engaged at start.

A mixin of `MainWindow` (ui/shell/main_window.py), not a helper object: the button's signal and
the Risk menu are connected to these methods on the window and the tests call
`window.request_rearm`; `_kill_task` is set up in `MainWindow.__init__`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMainWindow, QMessageBox

from desktop_oms.ui.common import describe_error
from desktop_oms.ui.risk import KillSwitchState

if TYPE_CHECKING:  # type checkers see the window's API; at run time a plain mixin
    _WindowBase = QMainWindow
else:
    _WindowBase = object


class WindowKillSwitchMixin(_WindowBase):
    """The kill switch button, its engage / re-arm flow and its state."""

    _kill_round = 0  # engages started from the window; an outcome shows only for its own

    def _sync_kill_switch(self) -> None:
        ks = self.app.kill_switch
        if ks is None:
            return
        if ks.state == "ENGAGED":
            self.kill_button.set_state(KillSwitchState.ENGAGED, f"since: {ks.reason or 'earlier'}")
        elif ks.state == "ENGAGING":
            self.kill_button.set_state(KillSwitchState.ENGAGING, "in progress\u2026")

    def engage_kill_switch(self) -> asyncio.Task | None:
        """The button was held (or the shortcut pressed twice): halt, cancel, flatten."""
        ks = self.app.kill_switch
        if ks is None:
            self.alerts.add("error", "No kill switch is configured", "kill_switch")
            return None
        previous = self._kill_task
        if previous is not None and not previous.done() and ks.busy:
            return previous  # still working: the button shows its progress
        # An earlier engage's outcome may not have been delivered yet although the kill
        # switch is done (and perhaps re-armed meanwhile): this engage is a new one, and
        # only its own outcome is shown.
        self._kill_round += 1
        round_ = self._kill_round
        self.kill_button.set_state(KillSwitchState.ENGAGING, "halting\u2026")
        self._kill_task = self.tasks.run(
            ks.engage(reason=f"manual ({self.kill_button.trigger})"),
            "kill switch",
            on_result=lambda result: self._kill_done(result, round_),
            on_error=lambda exc: self._kill_failed(exc, round_),
        )
        self._update_trading_state()
        return self._kill_task

    def _kill_done(self, result, round_: int | None = None) -> None:
        ks = self.app.kill_switch
        if ks is not None and not ks.engaged:
            return  # re-armed before this outcome was shown: the button stays armed
        if round_ is not None and round_ != self._kill_round:
            return  # the outcome of an earlier engage: a newer one is under way

        def get(name: str, default=None):
            if isinstance(result, dict):
                return result.get(name, default)
            return getattr(result, name, default)

        text = get("message") or (
            f"cancelled {get('cancelled', 0)}/{get('to_cancel', 0)}, "
            f"flattened {get('flattened', 0)}/{get('to_flatten', 0)}"
            + ("" if get("verified", True) else ", NOT verified")
        )
        self.kill_button.set_state(KillSwitchState.ENGAGED, text)
        self._update_trading_state()

    def _kill_failed(self, exc: BaseException, round_: int | None = None) -> None:
        text = describe_error(exc)
        self.alerts.add("critical", f"Kill switch failed: {text}", "kill_switch")
        if round_ is not None and round_ != self._kill_round:
            return  # an earlier engage's failure (reported); a newer engage owns the button
        ks = self.app.kill_switch
        halted = self.app.order_manager.halted or (ks is not None and ks.engaged)
        if halted:
            self.kill_button.set_state(
                KillSwitchState.ENGAGED, f"FAILED: {text} \u2014 check the broker"
            )
        else:
            self.kill_button.set_state(KillSwitchState.ARMED, f"engage failed: {text}")
        self._update_trading_state()

    def request_rearm(self) -> QMessageBox | None:
        ks = self.app.kill_switch
        if ks is None or not ks.engaged:
            return None
        problem = ks.rearm_problem() if hasattr(ks, "rearm_problem") else None
        if problem:
            self.alerts.add("warning", f"Cannot re-arm the kill switch: {problem}", "kill_switch")
            return None
        return self._confirm(
            "Re-arm the kill switch",
            f"Allow trading again?\nThe kill switch was engaged: {ks.reason or 'manual'}",
            self.rearm_kill_switch,
            yes_text="&Re-arm",
            no_text="&Stay halted",
        )

    def rearm_kill_switch(self) -> bool:
        ks = self.app.kill_switch
        try:
            ks.rearm()
        except Exception as exc:
            self.alerts.add(
                "error", f"Cannot re-arm the kill switch: {describe_error(exc)}", "kill_switch"
            )
            return False
        self.kill_button.set_state(KillSwitchState.ARMED)  # the kill switch alerts it itself
        self._update_trading_state()
        return True
