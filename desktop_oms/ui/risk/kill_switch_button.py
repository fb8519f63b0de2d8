"""The kill-switch button: big, always red-bordered, engaged only by press-and-hold.

A quick click does nothing but say "hold to engage". Holding (mouse, or Space/Enter while
focused) for `hold_ms` fills a progress bar across the button and then emits
`engageRequested` exactly once. For a window shortcut, `keyboard_engage()` is a two-step
guard: the first call arms it for a few seconds ("press again to ENGAGE"), the second
within that window emits.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QElapsedTimer, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from desktop_oms.ui.common import theme


class KillSwitchState(StrEnum):
    ARMED = "ARMED"  # ready: nothing engaged
    ENGAGING = "ENGAGING"  # requested, the OMS is halting / cancelling / flattening
    ENGAGED = "ENGAGED"  # trading halted until re-armed


_QSS = f"""
QPushButton#killSwitchButton {{ font-weight: bold; font-size: 13px; border-radius: 5px;
    padding: 6px 14px; color: #ffd7d7; background: {theme.KILL_DARK}; border: 2px solid {theme.KILL}; }}
QPushButton#killSwitchButton:hover {{ background: #6e2020; }}
QPushButton#killSwitchButton[state="ENGAGING"] {{ color: #ffffff; background: #8e2323; border-color: {theme.AMBER}; }}
QPushButton#killSwitchButton[state="ENGAGED"] {{ color: #ffffff; background: {theme.KILL}; border-color: #ff8a80; }}
QPushButton#killSwitchButton:focus {{ border-color: #ffffff; }}
"""


class KillSwitchButton(QPushButton):
    engageRequested = Signal()  # noqa: N815 (Qt-style signal name, contract)
    holdProgress = Signal(float)  # noqa: N815 0..1 while held

    def __init__(
        self, parent: QWidget | None = None, *, hold_ms: int = 1000, confirm_window_ms: int = 3000
    ) -> None:
        super().__init__(parent)
        self.setObjectName("killSwitchButton")
        self.setStyleSheet(_QSS)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(44)
        self.setMinimumWidth(220)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.hold_ms = hold_ms
        self.confirm_window_ms = confirm_window_ms
        self._state = KillSwitchState.ARMED
        # How the last engage was asked for (audited): "button" (mouse hold), "keyboard"
        # (the window shortcut twice, or Space/Enter held on the focused button).
        self.trigger = "button"
        self._progress_text = ""
        self._hint = ""
        self._holding = False
        self._hold_by_mouse = False
        self._fired = False
        self._fraction = 0.0
        self._elapsed = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(16)
        self._tick.timeout.connect(self._on_tick)
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.timeout.connect(self._clear_hint)
        self._keyboard_armed = QTimer(self)
        self._keyboard_armed.setSingleShot(True)
        self._keyboard_armed.timeout.connect(self._disarm_keyboard)
        self._refresh()

    # ---- state -------------------------------------------------------------------

    @property
    def state(self) -> KillSwitchState:
        return self._state

    @property
    def holding(self) -> bool:
        return self._holding

    @property
    def hold_fraction(self) -> float:
        return self._fraction

    def set_state(self, state: KillSwitchState | str, progress: str | None = None) -> None:
        self._state = KillSwitchState(state)
        if progress is not None:
            self._progress_text = progress
        if self._state is KillSwitchState.ARMED:
            self._progress_text = progress or ""
        self._cancel_hold()
        self._refresh()

    def set_progress_text(self, text: str) -> None:
        """e.g. "cancelled 12/14, flattened 3/3" while ENGAGING / once ENGAGED."""
        self._progress_text = text
        self._refresh()

    def _refresh(self) -> None:
        state = self._state
        if state is KillSwitchState.ARMED:
            title = "KILL SWITCH \u00b7 ARMED"
            detail = self._hint or f"hold {self.hold_ms / 1000:g} s to engage"
        elif state is KillSwitchState.ENGAGING:
            title = "KILL SWITCH \u00b7 ENGAGING\u2026"
            detail = self._progress_text or self._hint
        else:
            title = "KILL SWITCH ENGAGED"
            detail = self._progress_text or self._hint or "trading halted"
        self.setText(f"{title}\n{detail}" if detail else title)
        self.setProperty("state", state.value)
        self.setToolTip(
            "Halts new orders, cancels all open orders and flattens positions.\n"
            f"Press and hold for {self.hold_ms / 1000:g} s (mouse, or Space while focused)."
        )
        self.setAccessibleName(f"Kill switch {state.value}")
        theme.repolish(self)

    # ---- hold to engage ------------------------------------------------------------

    def begin_hold(self) -> None:
        """Start the guarded hold (mouse press, key press, or a held window shortcut)."""
        if self._state is not KillSwitchState.ARMED or self._holding:
            return
        self._holding = True
        self._fired = False
        self._fraction = 0.0
        self._elapsed.start()
        self._tick.start()
        self.update()

    def end_hold(self) -> None:
        """Released: engaged if held long enough (already emitted), else say how."""
        if not self._holding:
            return
        fired = self._fired
        self._cancel_hold()
        if not fired and self._state is KillSwitchState.ARMED:
            self._show_hint(f"HOLD for {self.hold_ms / 1000:g} s to engage")

    def keyboard_engage(self) -> bool:
        """Two-step guard for a window shortcut: first call arms, second (within the window)
        emits engageRequested. Returns True when it emitted."""
        if self._state is not KillSwitchState.ARMED:
            return False
        if self._keyboard_armed.isActive():
            self._keyboard_armed.stop()
            self._hint = ""
            self.trigger = "keyboard shortcut"
            self._fire()
            return True
        self._keyboard_armed.start(self.confirm_window_ms)
        self._show_hint("press the shortcut AGAIN to ENGAGE", self.confirm_window_ms)
        return False

    def _disarm_keyboard(self) -> None:
        self._clear_hint()

    def _on_tick(self) -> None:
        if not self._holding:
            self._tick.stop()
            return
        if self._hold_by_mouse and not QGuiApplication.mouseButtons() & Qt.MouseButton.LeftButton:
            self.end_hold()  # the release went missing (popup, grab): never engage on a stuck hold
            return
        self._fraction = (
            min(self._elapsed.elapsed() / self.hold_ms, 1.0) if self.hold_ms > 0 else 1.0
        )
        self.holdProgress.emit(self._fraction)
        if self._fraction >= 1.0 and not self._fired:
            self._fired = True
            self._tick.stop()
            self._fire()
        self.update()

    def _fire(self) -> None:
        self._state = KillSwitchState.ENGAGING
        self._progress_text = "requested\u2026"
        self._refresh()
        self.engageRequested.emit()

    def _cancel_hold(self) -> None:
        self._holding = False
        self._hold_by_mouse = False
        self._tick.stop()
        self._fraction = 0.0
        self.update()

    def _show_hint(self, text: str, ms: int = 2500) -> None:
        self._hint = text
        self._hint_timer.start(ms)
        self._refresh()

    def _clear_hint(self) -> None:
        self._hint = ""
        self._refresh()

    # ---- events: never QPushButton's click --------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.trigger = "button"
            self.begin_hold()
            self._hold_by_mouse = True
            event.accept()
            return
        event.ignore()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.end_hold()
            event.accept()
            return
        event.ignore()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        event.accept()  # a double click is two quick clicks, never a hold

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if not event.isAutoRepeat():
                self.trigger = "keyboard on the button"
                self.begin_hold()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if not event.isAutoRepeat():
                self.end_hold()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._cancel_hold()
        super().focusOutEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._holding and self._fraction > 0:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            colour = QColor(theme.KILL)
            colour.setAlpha(150)
            rect = QRectF(self.rect()).adjusted(2, 2, -2, -2)
            rect.setWidth(rect.width() * self._fraction)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(rect, 4, 4)
            painter.end()
