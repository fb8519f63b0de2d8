"""The trader's setups ("Hammer", "Breakout", ...): a short list she edits, chosen on the
ticket and stored on orders as `strategy_id`.

`SetupsDialog` is a small non-modal editor: add, rename (double-click or F2), remove,
move up/down; Save writes the list with `workspace.set_setups` (which also cleans and
de-duplicates names) and emits `saved(names)`. Setups removed from the list stay on
past orders; the review still groups by them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.ui.common import theme

log = logging.getLogger(__name__)

MAX_NAME = 64  # what the workspace accepts (and OrderRequest.strategy_id)


def clean(name: str) -> str:
    return " ".join(str(name).split())


class SetupsDialog(QDialog):
    """objectName "setupsDialog"; list "setupsList", new-name field "setupsNewName",
    buttons "setupsAdd", "setupsRemove", "setupsUp", "setupsDown", Save "setupsSave"."""

    saved = Signal(list)  # the names as stored

    def __init__(
        self,
        names: list[str],
        save: Callable[[list[str]], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("setupsDialog")
        self.setWindowTitle("Setups")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._save = save

        intro = QLabel(
            "The setups you trade. Pick one on the ticket; the day review groups trades by "
            "it. Double-click a name to rename it; drag or use the arrows to reorder."
        )
        intro.setWordWrap(True)
        intro.setProperty("role", "dim")
        intro.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.list = QListWidget()
        self.list.setObjectName("setupsList")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        for name in names:
            self._append(name)
        self.new_name = QLineEdit()
        self.new_name.setObjectName("setupsNewName")
        self.new_name.setPlaceholderText("New setup, e.g. Breakout")
        self.new_name.setMaxLength(MAX_NAME)
        self.new_name.returnPressed.connect(self._add_typed)
        self.add_button = self._button("setupsAdd", "&Add", self._add_typed)
        self.remove_button = self._button("setupsRemove", "&Remove", self.remove_current)
        self.up_button = self._button("setupsUp", "Move &up", lambda: self.move_current(-1))
        self.down_button = self._button("setupsDown", "Move &down", lambda: self.move_current(1))
        self.message = QLabel("")
        self.message.setObjectName("setupsMessage")
        self.message.setWordWrap(True)

        add_row = QHBoxLayout()
        add_row.addWidget(self.new_name, 1)
        add_row.addWidget(self.add_button)
        side = QVBoxLayout()
        for button in (self.remove_button, self.up_button, self.down_button):
            side.addWidget(button)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.list, 1)
        middle.addLayout(side)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("setupsSave")
        self.save_button.setAutoDefault(False)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(add_row)
        layout.addLayout(middle, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(lambda _r: self._update_buttons())
        self.list.itemChanged.connect(lambda _i: self._say(""))
        self.resize(380, 360)
        self._update_buttons()
        self.new_name.setFocus()

    def _button(self, name: str, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    def _append(self, name: str) -> QListWidgetItem:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    # ---- editing ---------------------------------------------------------------------

    def names(self) -> list[str]:
        return [clean(self.list.item(i).text()) for i in range(self.list.count())]

    def add(self, name: str) -> bool:
        name = clean(name)
        if not name:
            self._say("Type a name first")
            return False
        if len(name) > MAX_NAME:
            self._say(f"A setup name is at most {MAX_NAME} characters")
            return False
        if name.casefold() in {n.casefold() for n in self.names()}:
            self._say(f"\u201c{name}\u201d is already in the list")
            return False
        self.list.setCurrentItem(self._append(name))
        self._say("")
        return True

    def _add_typed(self) -> None:
        if self.add(self.new_name.text()):
            self.new_name.clear()

    def rename(self, row: int, name: str) -> bool:
        item = self.list.item(row)
        if item is None:
            return False
        item.setText(clean(name))
        return True

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
        self._update_buttons()

    def move_current(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)

    def _update_buttons(self) -> None:
        row = self.list.currentRow()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < self.list.count() - 1)

    # ---- saving ------------------------------------------------------------------------

    def problem(self) -> str | None:
        seen: set[str] = set()
        for name in self.names():
            if not name:
                return "A setup needs a name (or remove it)"
            if len(name) > MAX_NAME:
                return f"\u201c{name[:20]}\u2026\u201d is longer than {MAX_NAME} characters"
            if name.casefold() in seen:
                return f"\u201c{name}\u201d is in the list twice"
            seen.add(name.casefold())
        return None

    def save(self) -> bool:
        problem = self.problem()
        if problem:
            self._say(problem, error=True)
            return False
        try:
            stored = self._save(self.names())
        except (ValueError, OSError) as exc:
            self._say(f"Not saved: {exc}", error=True)
            return False
        except Exception as exc:  # noqa: BLE001 - shown, the list kept for another try
            log.exception("saving the setups failed")
            self._say(f"Not saved: {type(exc).__name__}: {exc}", error=True)
            return False
        self.saved.emit(list(stored))
        self.accept()
        return True

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.LOSS if error else theme.TEXT_DIM};")
