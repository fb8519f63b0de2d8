"""KeyedTableModel as Qt sees it: rowCount / columnCount / data / headerData / flags, and
the dataChanged signalling of changed cells (runs of contiguous rows, at most
_REPAINT_CELLS cells each, nearby runs merged past _MAX_RUNS).

A mixin of `KeyedTableModel` (ui/common/table_model.py), which holds the state these methods read
(`_items`, `_keys`, `_visible`, `_cache`, ...) and the display cache (`_row_cache`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop_oms.ui.common.columns import (
    _ALIGN,
    _DISPLAY,
    _FOREGROUND,
    _TOOLTIP,
    ITEM_ROLE,
    KEY_ROLE,
    SORT_ROLE,
)

if TYPE_CHECKING:  # type checkers see the model's API; at run time a plain mixin
    _ModelBase = QAbstractTableModel
else:
    _ModelBase = object

# data() answers these; a view asks ~7 roles per painted cell (font, decoration, check
# state, background... too), so the others return at once
_ROLES = frozenset({_DISPLAY, _FOREGROUND, _ALIGN, _TOOLTIP, SORT_ROLE, ITEM_ROLE, KEY_ROLE})
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
)

_MAX_RUNS = 64  # more runs of changed rows than this: nearby runs merge, then one span
_REPAINT_CELLS = 200  # Qt repaints the whole viewport for a dataChanged over more cells


class KeyedQtMixin(_ModelBase):
    """Qt model interface and change signalling of `KeyedTableModel`."""

    # ---- Qt model interface -------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._items) if self._visible is None else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._ncols

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> object:
        # Called for every role of every painted cell: the cheap answers first.
        if role not in _ROLES:
            return None
        col = index.column()
        if not 0 <= col < self._ncols:
            return None
        role = int(role)
        if role == _ALIGN:
            return self._aligns[col]
        row = index.row()
        visible = self._visible
        if visible is None:
            if not 0 <= row < len(self._items):
                return None
            slot = row
        else:
            count = len(visible)
            if not 0 <= row < count:
                return None
            slot = visible[count - 1 - row] if self._descending else visible[row]
        if role == _DISPLAY:
            cached = self._cache[slot]
            return (cached or self._row_cache(slot)).texts[col]
        if role == _FOREGROUND:
            cached = self._cache[slot]
            return (cached or self._row_cache(slot)).colours[col]
        if role == SORT_ROLE:
            return self.columns[col].sort_value(self._items[slot])
        if role == _TOOLTIP:
            column = self.columns[col]
            return column.tooltip(self._items[slot]) if column.tooltip is not None else None
        if role == ITEM_ROLE:
            return self._items[slot]
        if role == KEY_ROLE:
            return self._keys[slot]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:
        role = int(role)
        if orientation != Qt.Orientation.Horizontal:
            if role == _DISPLAY and 0 <= section < self.rowCount():
                return str(section + 1)
            return None
        if not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == _DISPLAY:
            return column.header
        if role == _TOOLTIP:
            return column.header_tip or column.header
        if role == _ALIGN:
            return int(column.align.value)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ROW_FLAGS

    # ---- change signalling --------------------------------------------------------

    def _emit_changed(self, rows: list[int], columns: int | None = None) -> None:
        """dataChanged for the changed cells: the columns from the first to the last in
        the `columns` bit mask (None: all), one signal per run of contiguous rows, a run
        cut at _REPAINT_CELLS cells: over more, Qt repaints the whole viewport even for
        rows scrolled out of it (within that, only the cells shown). Past _MAX_RUNS
        runs, nearby runs share a signal."""
        if not rows:
            return
        union = self._all_columns if columns is None else columns
        if not union:
            return
        first_col = (union & -union).bit_length() - 1
        last_col = union.bit_length() - 1
        rows = sorted(rows)
        limit = max(1, _REPAINT_CELLS // (last_col - first_col + 1))
        runs = _chunks(rows, limit, 1)
        if len(runs) > _MAX_RUNS:
            runs = _chunks(rows, limit, limit)
            if len(runs) > _MAX_RUNS:
                runs = [(rows[0], rows[-1])]  # one repaint of the whole viewport
        index = self.index
        emit = self.dataChanged.emit
        for first, last in runs:
            emit(index(first, first_col), index(last, last_col))


def _chunks(rows: list[int], limit: int, gap: int) -> list[tuple[int, int]]:
    """Sorted rows (duplicates allowed) as (first, last) runs: a run takes the next row
    while it is at most `gap` rows on and the run stays within `limit` rows."""
    out = []
    start = prev = rows[0]
    for row in rows:
        if row - prev > gap or row - start >= limit:
            out.append((start, prev))
            start = row
        prev = row
    out.append((start, prev))
    return out
