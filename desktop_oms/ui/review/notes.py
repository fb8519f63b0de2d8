"""The trader's per-trade notes (why in, why out): a small non-modal editor, and a mark
with a tooltip on the symbol cell of rows that have a note.

Notes live in the database's workspace (`set_order_note` / `set_position_note`); this
module only edits and shows them. Lookups are one indexed read per row, made lazily
(only for rows that are painted, batched on the next loop turn) and cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

from PySide6.QtCore import QEvent, QModelIndex, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QStyledItemDelegate,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.ui.common import ITEM_ROLE, theme

log = logging.getLogger(__name__)

MAX_NOTE = 10_000  # what the workspace accepts
LOOKUPS_PER_TURN = 200


class NoteDialog(QDialog):
    """objectName "noteDialog": a multi-line editor ("noteText"), Save / Cancel.

    `save(text)` is called on Save (it may raise ValueError/OSError: shown, dialog stays
    open); `saved(text)` is emitted after it succeeded. Opened with open(), never exec()."""

    saved = Signal(str)

    def __init__(
        self,
        title: str,
        heading: str,
        text: str,
        save: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("noteDialog")
        self.setWindowTitle(title)
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._save = save
        self._initial = text
        self.heading = QLabel(heading)
        self.heading.setObjectName("noteHeading")
        self.heading.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("noteText")
        self.editor.setPlaceholderText(
            "Why in: the setup, what you saw, where the stop was\u2026\n"
            "Why out: target, stop, time, changed mind\u2026"
        )
        self.editor.setPlainText(text)
        self.editor.setTabChangesFocus(True)
        self.error = QLabel("")
        self.error.setObjectName("noteError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.LOSS};")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("noteSave")
        self.save_button.setToolTip("Save the note (Ctrl+Enter)")
        self.save_button.setShortcut("Ctrl+Return")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(460, 280)
        self.editor.setFocus()

    def text(self) -> str:
        return self.editor.toPlainText()

    def is_changed(self) -> bool:
        """Edited since it was opened (or last saved)."""
        return self.text() != self._initial

    def save(self) -> bool:
        text = self.text()
        if len(text) > MAX_NOTE:
            self._fail(f"A note is at most {MAX_NOTE:,} characters (this one has {len(text):,})")
            return False
        try:
            self._save(text)
        except (ValueError, OSError) as exc:
            self._fail(f"Not saved: {exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - a failed save is shown, the text kept
            log.exception("saving a note failed")
            self._fail(f"Not saved: {type(exc).__name__}: {exc}")
            return False
        self._initial = text
        self.saved.emit(text)
        self.accept()
        return True

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class NoteMarks(QStyledItemDelegate):
    """Delegate for a symbol column: paints the cell as usual plus a small corner mark
    when the row has a note, and shows the note as the cell's tooltip.

    `key_of(item)` -> note key (order id, position key); `lookup(key)` -> note text ("" for
    none). Unknown keys are looked up lazily after paint, at most LOOKUPS_PER_TURN at a
    time, and cached; `set(key, text)` updates the cache after an edit."""

    def __init__(
        self,
        view: QAbstractItemView,
        key_of: Callable[[object], Hashable | None],
        lookup: Callable[[Hashable], str],
    ) -> None:
        super().__init__(view)
        self._view = view
        self._key_of = key_of
        self._lookup = lookup
        self._notes: dict[Hashable, str] = {}
        self._pending: set[Hashable] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._look_up_pending)
        self._mark = QColor(theme.AMBER)

    # ---- cache ---------------------------------------------------------------------

    def note(self, key: Hashable) -> str | None:
        """The cached note ("" none), or None if not looked up yet."""
        return self._notes.get(key)

    def set(self, key: Hashable, text: str) -> None:
        self._notes[key] = text if text.strip() else ""
        self._pending.discard(key)
        self._view.viewport().update()

    def note_now(self, key: Hashable) -> str:
        """The note, looked up now if needed."""
        if key not in self._notes:
            self._notes[key] = self._safe_lookup(key)
            self._pending.discard(key)
        return self._notes[key]

    def _safe_lookup(self, key: Hashable) -> str:
        try:
            return self._lookup(key) or ""
        except Exception:  # noqa: BLE001 - a missing mark is not worth an error dialog
            log.exception("note lookup %r failed", key)
            return ""

    def _look_up_pending(self) -> None:
        found = False
        for _ in range(min(len(self._pending), LOOKUPS_PER_TURN)):
            key = self._pending.pop()
            text = self._safe_lookup(key)
            self._notes[key] = text
            found = found or bool(text)
        if self._pending:
            self._timer.start()
        if found:
            self._view.viewport().update()

    def _key(self, index: QModelIndex) -> Hashable | None:
        item = index.data(ITEM_ROLE)
        if item is None:
            return None
        try:
            return self._key_of(item)
        except Exception:  # noqa: BLE001
            return None

    # ---- painting / tooltips ------------------------------------------------------------

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        key = self._key(index)
        if key is None:
            return
        text = self._notes.get(key)
        if text is None:
            self._pending.add(key)
            if not self._timer.isActive():
                self._timer.start()
            return
        if text:
            r = option.rect
            size = min(8, r.height() // 2)
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._mark)
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(r.right() - size, r.top()),
                        QPointF(r.right() + 1, r.top()),
                        QPointF(r.right() + 1, r.top() + size),
                    ]
                )
            )
            painter.restore()

    def helpEvent(self, event, view, option, index) -> bool:  # noqa: N802
        if event is not None and event.type() == QEvent.Type.ToolTip:
            key = self._key(index)
            text = self.note_now(key) if key is not None else ""
            if text:
                base = index.data(Qt.ItemDataRole.ToolTipRole) or index.data() or ""
                QToolTip.showText(event.globalPos(), tooltip_text(str(base), text), view)
                return True
        return super().helpEvent(event, view, option, index)


def tooltip_text(base: str, note: str, limit: int = 600) -> str:
    short = note if len(note) <= limit else note[:limit].rstrip() + "\u2026"
    return f"{base}\n\nNote:\n{short}" if base else f"Note:\n{short}"


def position_key(position) -> tuple[str, str, str]:
    product = getattr(position.product, "value", position.product)
    return (position.exchange, position.symbol, str(product))
