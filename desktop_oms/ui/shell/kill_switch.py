"""The kill switch in the window (`KillSwitchController`): engaging it from the button or
the shortcut (Risk > Engage, Ctrl+Shift+K pressed twice), showing its progress and outcome
on the button, re-arming it after a confirmation, and matching the button to a kill switch
already engaged at start.

Engaging runs as a kept task of the window's TaskRunner; only the latest engage's outcome
is shown (an earlier one that arrives late changes nothing). `changed` is emitted whenever
the kill switch's state may have changed: the window re-checks whether orders may be sent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_oms.domain.events import KillSwitchProgress
from desktop_oms.ui.common import Subscriptions, TaskRunner, describe_error
from desktop_oms.ui.risk import KillSwitchButton, KillSwitchState
from desktop_oms.ui.shell.confirmations import Confirmations

if TYPE_CHECKING:
    from desktop_oms.oms import OrderManager
    from desktop_oms.risk import KillSwitch
    from desktop_oms.ui.alerts import AlertsPanel


class KillSwitchController(QObject):
    """The kill switch button, the Risk menu's engage / re-arm actions and their flow."""

    changed = Signal()  # the kill switch's state may have changed

    def __init__(
        self,
        *,
        kill_switch: KillSwitch | None,
        order_manager: OrderManager,
        button: KillSwitchButton,
        tasks: TaskRunner,
        alerts: AlertsPanel,
        confirmations: Confirmations,
        subscriptions: Subscriptions,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.ks = kill_switch
        self.om = order_manager
        self.button = button
        self.tasks = tasks
        self.alerts = alerts
        self.confirmations = confirmations
        self.task: asyncio.Task | None = None  # the latest engage from the window
        self._round = 0  # engages started from the window; an outcome shows only for its own
        self.engage_action = QAction("&Engage kill switch (press twice)", parent)
        self.engage_action.setObjectName("actionEngageKillSwitch")
        self.engage_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.engage_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.engage_action.triggered.connect(button.keyboard_engage)
        self.rearm_action = QAction("&Re-arm kill switch\u2026", parent)
        self.rearm_action.setObjectName("actionRearmKillSwitch")
        self.rearm_action.triggered.connect(self.request_rearm)
        button.engageRequested.connect(self.engage)
        subscriptions.add(KillSwitchProgress, self._on_progress)
        self._show_state_at_start()

    def _show_state_at_start(self) -> None:
        ks = self.ks
        if ks is None:
            return
        if ks.state == "ENGAGED":
            self.button.set_state(KillSwitchState.ENGAGED, f"since: {ks.reason or 'earlier'}")
        elif ks.state == "ENGAGING":
            self.button.set_state(KillSwitchState.ENGAGING, "in progress\u2026")

    def sync_actions(self) -> None:
        """Engage / re-arm enabled as the kill switch allows, on every change of the trading
        state (not only when a menu opens: a disabled action's shortcut does nothing)."""
        ks = self.ks
        self.rearm_action.setEnabled(ks is not None and ks.state == "ENGAGED")
        self.engage_action.setEnabled(ks is not None and not ks.engaged)

    # ================================================================== engaging

    def engage(self) -> asyncio.Task | None:
        """The button was held (or the shortcut pressed twice): halt, cancel, flatten."""
        ks = self.ks
        if ks is None:
            self.alerts.add("error", "No kill switch is configured", "kill_switch")
            return None
        previous = self.task
        if ks.busy and previous is not None:
            return previous  # already engaging: the same sequence, not a second one
        # An earlier engage's outcome may not have been delivered yet although the kill
        # switch is done (and perhaps re-armed meanwhile): this engage is a new one, and
        # only its own outcome is shown.
        self._round += 1
        round_ = self._round
        self.button.set_state(KillSwitchState.ENGAGING, "halting\u2026")
        self.task = self.tasks.run(
            ks.engage(reason=f"manual ({self.button.trigger})"),
            "kill switch",
            on_result=lambda result: self._done(result, round_),
            on_error=lambda exc: self._failed(exc, round_),
        )
        self.changed.emit()
        return self.task

    def _done(self, result, round_: int) -> None:
        ks = self.ks
        if ks is not None and not ks.engaged:
            return  # re-armed before this outcome was shown: the button stays armed
        if round_ != self._round:
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
        self.button.set_state(KillSwitchState.ENGAGED, text)
        self.changed.emit()

    def _failed(self, exc: BaseException, round_: int) -> None:
        text = describe_error(exc)
        if round_ != self._round:  # an earlier engage's failure: a newer one owns the button
            self.alerts.add("error", f"Kill switch: {text}", "kill_switch")
            return
        self.alerts.add("critical", f"Kill switch failed: {text}", "kill_switch")
        ks = self.ks
        halted = self.om.halted or (ks is not None and ks.engaged)
        if halted:
            self.button.set_state(
                KillSwitchState.ENGAGED, f"FAILED: {text} \u2014 check the broker"
            )
        else:
            self.button.set_state(KillSwitchState.ARMED, f"engage failed: {text}")
        self.changed.emit()

    def _on_progress(self, event: KillSwitchProgress) -> None:
        state = event.state
        ks = self.ks
        if state != "ARMED" and ks is not None and not ks.engaged:
            self.changed.emit()  # a late note of an engage already re-armed
            return
        button = self.button
        if state == "ARMED":
            button.set_state(KillSwitchState.ARMED)
        elif state in ("ENGAGED", "DONE"):
            button.set_state(KillSwitchState.ENGAGED, event.message)
        elif state == "FAILED":
            button.set_state(KillSwitchState.ENGAGED, f"FAILED: {event.message}")
        elif button.state is KillSwitchState.ENGAGING:
            button.set_progress_text(event.message)
        else:  # engaged by the risk monitor, not the button
            button.set_state(KillSwitchState.ENGAGING, event.message)
        self.changed.emit()

    # ================================================================== re-arming

    def request_rearm(self) -> QMessageBox | None:
        ks = self.ks
        if ks is None or not ks.engaged:
            return None
        problem = ks.rearm_problem()
        if problem:
            self.alerts.add("warning", f"Cannot re-arm the kill switch: {problem}", "kill_switch")
            return None
        return self.confirmations.ask(
            "Re-arm the kill switch",
            f"Allow trading again?\nThe kill switch was engaged: {ks.reason or 'manual'}",
            self.rearm,
            yes_text="&Re-arm",
            no_text="&Stay halted",
        )

    def rearm(self) -> bool:
        ks = self.ks
        try:
            ks.rearm()
        except Exception as exc:
            self.alerts.add(
                "error", f"Cannot re-arm the kill switch: {describe_error(exc)}", "kill_switch"
            )
            return False
        self.button.set_state(KillSwitchState.ARMED)  # the kill switch alerts it itself
        self.changed.emit()
        return True
