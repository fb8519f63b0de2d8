"""One question at a time in the window: cancel all, exits, re-arming the kill switch and
closing with live orders all ask through `Confirmations.ask`.

A new question closes the one still open (which counts as "no"). The box is non-modal
(common.dialogs.confirm: open() and signals, never exec()).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_oms.ui.common import dialogs


class Confirmations(QObject):
    """The window's one open confirmation (`box`), if any."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.box: QMessageBox | None = None

    def ask(self, title: str, text: str, on_yes: Callable[[], object], **kw) -> QMessageBox:
        if self.box is not None:
            self.box.close()  # one question at a time; the old one counts as "no"
        box = dialogs.confirm(self._parent, title, text, on_yes, **kw)
        self.box = box
        box.finished.connect(lambda _r: self._forget(box))
        return box

    def _forget(self, box: QMessageBox) -> None:
        if self.box is box:
            self.box = None

    def close(self) -> None:
        if self.box is not None:
            self.box.close()
