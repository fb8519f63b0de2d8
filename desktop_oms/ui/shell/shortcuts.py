"""Help > Keyboard shortcuts: every key of the window, generated from its actions.

`shortcut_bindings(window)` walks every QAction and QShortcut whose widget lives in the
window and says where each key works (the whole window, or one panel). The dialog lists
them; the shortcut-conflict test uses the same walk, so a key added anywhere shows up in
both. Keys that widgets handle themselves (typing in the ticket) are declared in
`WIDGET_KEYS` beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# Keys handled by the widgets themselves (not actions): (keys, what, where)
WIDGET_KEYS = (
    ("Enter", "Send the order", "Order ticket"),
    ("Esc", "Clear the order ticket", "Order ticket"),
    ("Up / Down", "Step the quantity (lots) or a price (ticks)", "Order ticket"),
    ("B / S", "Open the ticket on the buy / sell side for the row", "Market watch"),
    ("Del", "Remove the selected symbol from the watchlist", "Market watch"),
    ("Enter / double-click", "Open the ticket for the row", "Market watch"),
    ("Space (held)", "Engage the kill switch (when the button has the focus)", "Kill switch"),
    ("Tab / Shift+Tab", "Select the next / previous order, stop or target line", "Chart"),
    ("Up / Down", "Move the selected line a tick (Shift: ten), or the price cursor", "Chart"),
    ("Enter", "Send the line's move / the prepared order; at the cursor: the order menu", "Chart"),
    ("Esc", "Undo the line's move, drop the prepared order", "Chart"),
    ("Menu / Shift+F10", "Buy / sell limit or stop at the cursor price", "Chart"),
    ("Del", "Cancel the selected order", "Chart"),
    ("Left / Right, + / -, Home", "Pan, zoom, show the latest candles", "Chart"),
    ("I / Shift+I, V", "Next / previous interval, show or hide VWAP", "Chart"),
    (
        "Enter / Space",
        "Buy limit (Bid cell) / sell limit (Ask cell) at the row; cancel (own order)",
        "Depth",
    ),
    ("Del", "Cancel your orders at the row", "Depth"),
    (
        "Ctrl+Up / Ctrl+Down, Enter",
        "Carry your order a tick, send the move (Esc drops it)",
        "Depth",
    ),
    ("+ / -, C", "More / fewer lots per click, centre on the last price", "Depth"),
)

_WINDOW_CONTEXTS = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


@dataclass(frozen=True)
class Binding:
    """One key of one action or shortcut, and the widgets it works in."""

    keys: QKeySequence
    text: str
    context: Qt.ShortcutContext
    scopes: tuple[QWidget, ...]  # the widgets it is attached to (the window for window-wide)
    enabled: bool
    owner: QObject

    @property
    def window_wide(self) -> bool:
        return self.context in _WINDOW_CONTEXTS

    def where(self, window: QWidget) -> str:
        if self.window_wide:
            return "Anywhere in the window"
        names = []
        for scope in self.scopes:
            names.append(_panel_name(scope, window))
        return ", ".join(dict.fromkeys(names)) or "\u2014"


def _panel_name(widget: QWidget, window: QWidget) -> str:
    """The title of the dock (or the object name) a widget lives in."""
    w = widget
    while w is not None and w is not window:
        title = w.windowTitle() if hasattr(w, "windowTitle") else ""
        if title and w.parentWidget() is window:
            return title.replace("&&", "&")
        w = w.parentWidget()
    return widget.objectName() or type(widget).__name__


def _action_text(action: QAction) -> str:
    text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text.rstrip("\u2026").strip() or action.objectName()


def shortcut_bindings(window: QWidget) -> list[Binding]:
    """Every QAction / QShortcut with a key whose widgets are in `window`."""
    found: list[Binding] = []
    for action in window.findChildren(QAction):
        widgets = [
            o for o in action.associatedObjects() if isinstance(o, QWidget) and o.window() is window
        ]
        if not widgets:
            continue
        context = action.shortcutContext()
        scopes = tuple(w for w in widgets if not isinstance(w, QMenu)) or (window,)
        if context in _WINDOW_CONTEXTS:
            scopes = (window,)
        for keys in action.shortcuts():
            if keys.isEmpty():
                continue
            found.append(
                Binding(keys, _action_text(action), context, scopes, action.isEnabled(), action)
            )
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if not isinstance(parent, QWidget) or parent.window() is not window:
            continue
        context = shortcut.context()
        scopes = (window,) if context in _WINDOW_CONTEXTS else (parent,)
        text = shortcut.whatsThis() or shortcut.objectName() or "shortcut"
        for keys in shortcut.keys():
            if keys.isEmpty():
                continue
            found.append(Binding(keys, text, context, scopes, shortcut.isEnabled(), shortcut))
    return found


def keyboard_shortcuts(window: QWidget) -> list[tuple[str, str, str]]:
    """(keys, what, where) rows for the Help dialog, actions first, then widget keys."""
    rows: dict[tuple[str, str], str] = {}
    for binding in shortcut_bindings(window):
        keys = binding.keys.toString(QKeySequence.SequenceFormat.NativeText)
        key = (keys, binding.text)
        where = binding.where(window)
        if key in rows and where not in rows[key]:
            rows[key] = f"{rows[key]}, {where}"
        else:
            rows.setdefault(key, where)
    listed = sorted(((k, t, w) for (k, t), w in rows.items()), key=lambda r: (r[2], r[0]))
    return listed + list(WIDGET_KEYS)


class ShortcutsDialog(QDialog):
    """objectName "shortcutsDialog": a table of keys, what they do and where."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model = QStandardItemModel(0, 3, self)
        self.model.setHorizontalHeaderLabels(["Keys", "What it does", "Where"])
        for keys, what, where in rows:
            items = [QStandardItem(keys), QStandardItem(what), QStandardItem(where)]
            for item in items:
                item.setEditable(False)
            self.model.appendRow(items)
        self.view = QTableView(self)
        self.view.setObjectName("shortcutsTable")
        self.view.setModel(self.model)
        self.view.verticalHeader().setVisible(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)
        self.resize(720, 520)

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.model.item(r, c).text() for c in range(3))
            for r in range(self.model.rowCount())
        ]
