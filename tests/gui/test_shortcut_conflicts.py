"""Issue 13, defect 2: no two shortcuts of the window may answer the same key where both
can fire. Del did nothing in the blotter because the market watch bound Delete window-wide
too; Qt then fires neither ("QAction::event: Ambiguous shortcut overload: Del").

The test walks every QAction and QShortcut of the main window, in a state where the
selection-dependent ones are enabled (an open order selected in the blotter, a position in
the grid, a row in the market watch), and fails on two enabled ones with the same key
sequence whose contexts overlap:
- ApplicationShortcut overlaps everything;
- WindowShortcut overlaps anything in the same window;
- WidgetWithChildrenShortcut overlaps another when one widget contains the other (or they
  are the same widget), and a WidgetShortcut on a widget inside it;
- WidgetShortcut overlaps another on the same widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QWidget

from tests.helpers import limit

CTX = Qt.ShortcutContext


@dataclass(frozen=True)
class Binding:
    owner: QObject  # the QAction or QShortcut
    key: str  # QKeySequence in portable text ("Del", "Ctrl+E")
    context: Qt.ShortcutContext
    widget: QWidget  # where the context is anchored

    def describe(self) -> str:
        kind = type(self.owner).__name__
        name = self.owner.objectName() or getattr(self.owner, "text", lambda: "")() or "?"
        return f"{kind} {name!r} [{self.key}] {self.context.name} on {_where(self.widget)}"


def _where(widget: QWidget) -> str:
    """The widget's name, or its type inside the nearest named ancestor."""
    if widget.objectName():
        return widget.objectName()
    named = widget.parentWidget()
    while named is not None and not named.objectName():
        named = named.parentWidget()
    inside = f" in {named.objectName()}" if named is not None else ""
    return f"{type(widget).__name__}{inside}"


def _anchor(widget: QWidget) -> QWidget | None:
    """Where a shortcut of an action shown in `widget` lives: an action in a menu works
    through the menu bar (or the widget) the menu hangs from, as Qt's shortcut matcher
    resolves it (a window shortcut there: the bar's window; a widget-with-children one:
    only with the focus in the bar)."""
    seen = set()
    while isinstance(widget, QMenu) and id(widget) not in seen:
        seen.add(id(widget))
        owners = [o for o in widget.menuAction().associatedObjects() if isinstance(o, QWidget)]
        if not owners:
            return None
        widget = owners[0]
    return widget


def _keys(sequences) -> list[str]:
    out = []
    for seq in sequences:
        text = QKeySequence(seq).toString(QKeySequence.SequenceFormat.PortableText)
        if text:
            out.append(text)
    return out


def window_bindings(window) -> list[Binding]:
    """Every enabled shortcut of the window's QActions and QShortcuts, per key and anchor."""
    bindings: list[Binding] = []
    for action in window.findChildren(QAction):
        if not action.isEnabled():
            continue
        keys = _keys(action.shortcuts())
        if not keys:
            continue
        anchors = {
            id(w): w
            for w in (_anchor(o) for o in action.associatedObjects() if isinstance(o, QWidget))
            if w is not None
        }
        for widget in anchors.values():
            for key in keys:
                bindings.append(Binding(action, key, action.shortcutContext(), widget))
    for shortcut in window.findChildren(QShortcut):
        if not shortcut.isEnabled():
            continue
        widget = shortcut.parent()
        if not isinstance(widget, QWidget):
            continue
        for key in _keys(shortcut.keys()):
            bindings.append(Binding(shortcut, key, shortcut.context(), widget))
    return bindings


def _contains(outer: QWidget, inner: QWidget) -> bool:
    return outer is inner or outer.isAncestorOf(inner)


def overlap(a: Binding, b: Binding) -> bool:
    if CTX.ApplicationShortcut in (a.context, b.context):
        return True
    if CTX.WindowShortcut in (a.context, b.context):
        return a.widget.window() is b.widget.window()
    if a.context == b.context == CTX.WidgetWithChildrenShortcut:
        return _contains(a.widget, b.widget) or _contains(b.widget, a.widget)
    if a.context == b.context == CTX.WidgetShortcut:
        return a.widget is b.widget
    wide, narrow = (a, b) if a.context == CTX.WidgetWithChildrenShortcut else (b, a)
    return _contains(wide.widget, narrow.widget)


def conflicts(bindings: list[Binding]) -> list[str]:
    """One line per pair of shortcuts (and key) that can both fire."""
    found: dict[tuple[int, int, str], str] = {}
    for i, a in enumerate(bindings):
        for b in bindings[i + 1 :]:
            if a.owner is b.owner or a.key != b.key:
                continue
            pair = (*sorted((id(a.owner), id(b.owner))), a.key)
            if pair not in found and overlap(a, b):
                found[pair] = f"{a.describe()}  <->  {b.describe()}"
    return list(found.values())


# ---- the walk itself, checked on made-up bindings (it must be able to fail) ----------


def test_the_walk_finds_a_window_wide_key_shadowing_a_panels_key(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    panel, other = QWidget(window), QWidget(window)
    inner = QWidget(panel)
    cancel = QAction("Cancel", panel)
    cancel.setShortcut(QKeySequence(Qt.Key.Key_Delete))
    cancel.setShortcutContext(CTX.WidgetWithChildrenShortcut)
    panel.addAction(cancel)
    remove = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), other)  # window-wide
    copy_a = QAction("Copy", panel)
    copy_a.setShortcut("Ctrl+C")
    copy_a.setShortcutContext(CTX.WidgetWithChildrenShortcut)
    panel.addAction(copy_a)
    copy_b = QAction("Copy", other)  # a sibling panel: no overlap
    copy_b.setShortcut("Ctrl+C")
    copy_b.setShortcutContext(CTX.WidgetWithChildrenShortcut)
    other.addAction(copy_b)
    copy_c = QAction("Copy inner", inner)  # inside the panel: overlaps
    copy_c.setShortcut("Ctrl+C")
    copy_c.setShortcutContext(CTX.WidgetShortcut)
    inner.addAction(copy_c)

    found = conflicts(window_bindings(window))
    assert len(found) == 2, found
    assert any("Cancel" in f and "QShortcut" in f for f in found)
    assert any("Copy inner" in f for f in found)
    remove.setEnabled(False)  # a disabled shortcut fires nothing: no conflict
    assert len(conflicts(window_bindings(window))) == 1


# ---- the real window ----------------------------------------------------------------


def test_no_two_shortcuts_of_the_window_share_a_key(make_app, arun, qtbot):
    app = make_app()
    window = app.window
    qtbot.waitUntil(lambda: window.load_task.done() and app.order_manager.ready, timeout=10_000)
    app.broker.set_last_price("NSE", "INFY", Decimal("1540"))
    app.broker.set_last_price("NSE", "SBIN", Decimal("800"))
    resting = arun(app.order_manager.place_order(limit("INFY", qty=10, price="1500")))
    arun(app.order_manager.place_order(limit("SBIN", qty=10, price="800")))  # fills at once
    qtbot.waitUntil(lambda: len(window.positions_model.open_positions()) == 1, timeout=10_000)

    def order_row() -> int:
        for row in range(window.orders_model.rowCount()):
            if window.orders_model.item_at(row).id == resting.order_id:
                return row
        return -1

    qtbot.waitUntil(lambda: order_row() >= 0, timeout=10_000)
    # the states in which the selection-dependent actions are enabled
    window.select_rows(window.blotter, [order_row()])
    window.select_rows(window.positions_grid, [0])
    window.menus.refresh_menu_actions()
    assert window.blotter_panel.cancel_action.isEnabled()  # Del: cancel the selected order

    found = conflicts(window_bindings(window))
    assert not found, "shortcuts that answer the same key in overlapping contexts:\n" + "\n".join(
        found
    )
