"""A one-line notice under a panel: the outcome of what the trader just did there.

Refusals and failures of actions started from a panel (cancel or modify from the blotter,
Exit from the positions grid) are shown where the trader is looking, not only as a row in
the alerts panel. An error stays until dismissed (the x button, or Esc with the panel
focused) or replaced; an info or warning fades after a while.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop_oms.ui.common import theme

FADE_MS = {"info": 6000, "warning": 12000}
_COLOURS = {"info": theme.TEXT, "warning": theme.WARNING, "error": theme.ERROR}


class NoticeBar(QWidget):
    """objectName given by the panel (e.g. "positionsNotice"); hidden while empty."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName(f"{name}Close")
        self.close_button.setText("\u00d7")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level
        self.label.setText(text)
        self.label.setToolTip(text)
        colour = _COLOURS.get(level, theme.TEXT)
        self.label.setStyleSheet(f"color: {colour};")
        self._timer.stop()
        if level in FADE_MS:
            self._timer.start(FADE_MS[level])
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self._timer.stop()
        self.label.clear()
        self.level = ""
        self.hide()
