"""Table views with the house settings, shared by every panel that shows a keyed model:
`make_table` (read-only, row-selecting, model-sorted), default column widths and order,
the selected rows / items, and copying rows as tab-separated text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from desktop_oms.ui.common.table_model import KeyedTableModel


def make_table(name: str, model, parent: QWidget | None = None) -> QTableView:
    """A read-only, row-selecting, model-sorted table with the house settings."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionsMovable(True)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    return view


def size_columns(view: QTableView, widths: dict[str, int], padding: int = 14) -> None:
    """Default widths in characters for a KeyedTableModel's columns (by key)."""
    model = view.model()
    char = view.fontMetrics().horizontalAdvance("0")
    for col, column in enumerate(getattr(model, "columns", [])):
        chars = widths.get(column.key)
        if chars:
            view.horizontalHeader().resizeSection(col, int(chars * char) + padding)


def move_columns_last(view: QTableView, keys: tuple[str, ...]) -> None:
    """Default visual order: these columns (by key) at the end, in this order."""
    model = view.model()
    header = view.horizontalHeader()
    for key in keys:
        logical = model.column_index(key)
        header.moveSection(header.visualIndex(logical), header.count() - 1)


def selected_rows(view: QTableView) -> list[int]:
    selection = view.selectionModel()
    if selection is None:
        return []
    rows = sorted({index.row() for index in selection.selectedRows()})
    if not rows:
        current = view.currentIndex()
        if current.isValid() and selection.isSelected(current):
            rows = [current.row()]
    return rows


def selected_items(view: QTableView) -> list[object]:
    model = view.model()
    if not isinstance(model, KeyedTableModel):
        return []
    items = []
    for row in selected_rows(view):
        try:
            items.append(model.item_at(row))
        except IndexError:
            continue
    return items


def rows_as_text(view: QTableView, rows: list[int]) -> str:
    """Tab-separated, with a header line, in the view's visual column order (pastes into a
    spreadsheet)."""
    model = view.model()
    header = view.horizontalHeader()
    columns = [
        header.logicalIndex(v)
        for v in range(header.count())
        if not header.isSectionHidden(header.logicalIndex(v))
    ]
    lines = ["\t".join(str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in columns)]
    for row in rows:
        lines.append("\t".join(str(model.index(row, c).data() or "") for c in columns))
    return "\n".join(lines)


def copy_rows(view: QTableView) -> int:
    rows = selected_rows(view)
    if not rows:
        return 0
    QGuiApplication.clipboard().setText(rows_as_text(view, rows))
    return len(rows)
