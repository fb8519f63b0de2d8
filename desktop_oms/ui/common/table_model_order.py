"""KeyedTableModel's in-model sorting and filtering: `sort` / `set_filter`, the shown
slots (`_visible`) kept ordered by cached sort keys, row <-> slot mapping, and applying
a batch to a sorted or filtered model with single-row inserts / removes / moves (one
layout change when many shown rows move at once).

A mixin of `KeyedTableModel` (ui/common/table_model.py), which holds the state these methods use.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

if TYPE_CHECKING:  # type checkers see the model's API; at run time a plain mixin
    _ModelBase = QAbstractTableModel
else:
    _ModelBase = object

_RELAYOUT = 64  # more rows moving than this (and 1/64 of the rows): one layout change


class KeyedOrderMixin(_ModelBase):
    """Sorting, filtering and ordered updates of `KeyedTableModel`."""

    # ---- sorting -----------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column's sort key (numbers as numbers); column -1: insertion order."""
        column = column if 0 <= column < len(self.columns) else -1
        descending = order == Qt.SortOrder.DescendingOrder and column >= 0
        if column == self._sort_column and descending == self._descending:
            return
        self.flush()

        def reorder() -> None:
            self._sort_column = column
            self._descending = descending
            self._rebuild_order()

        self._change_layout(reorder)

    def _change_layout(self, reorder: Callable[[], None]) -> None:
        """Reorder the shown rows (the same rows) in one layout change, keeping the view's
        selection and current row on their items."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        slots = [self._slot_for_row(p.row()) for p in persistent]
        reorder()
        new_indexes = []
        for old, slot in zip(persistent, slots, strict=True):
            row = None if slot is None else self._row_for_slot(slot)
            new_indexes.append(QModelIndex() if row is None else self.index(row, old.column()))
        self.changePersistentIndexList(persistent, new_indexes)
        self.layoutChanged.emit()

    # ---- ordering and filtering ------------------------------------------------------

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def set_filter(self, predicate: Callable[[Any], bool] | None) -> None:
        """Show only rows for which predicate(item) is true (None: all rows)."""
        self.flush()
        self.beginResetModel()
        self._filter = predicate
        self._rebuild_order()
        self.endResetModel()

    def _rebuild_order(self) -> None:
        column = self._sort_column
        if column < 0:
            self._sort_keys = []
        else:
            sort_value = self.columns[column].stored_sort_value
            self._sort_keys = [sort_value(item) for item in self._items]
        if column < 0 and self._filter is None:
            self._visible = None
            return
        accept = self._filter
        # The slot numbers are _slot_of's own int objects (in slot order), not new ones:
        # 100,000 rows need no second set of ints.
        slots = self._slot_of.values()
        visible = (
            list(slots)
            if accept is None
            else [slot for slot, item in zip(slots, self._items, strict=True) if accept(item)]
        )
        if column >= 0:
            keys = self._sort_keys
            visible.sort(key=keys.__getitem__)  # stable: ties stay in slot order
        self._visible = visible

    def _composite(self, slot: int) -> tuple[object, int] | int:
        if self._sort_column < 0:
            return slot
        return (self._sort_keys[slot], slot)

    def _index_of(self, slot: int) -> int:
        """Ascending index of a slot in _visible (by its *current* cached key), or -1."""
        visible = self._visible
        assert visible is not None
        target = self._composite(slot)
        i = bisect.bisect_left(visible, target, key=self._composite)
        if i < len(visible) and visible[i] == slot:
            return i
        return -1

    def _display_row(self, ascending_index: int, count: int | None = None) -> int:
        if not self._descending:
            return ascending_index
        if count is None:
            count = len(self._visible or ())
        return count - 1 - ascending_index

    def _slot_for_row(self, row: int) -> int | None:
        if row < 0:
            return None
        if self._visible is None:
            return row if row < len(self._items) else None
        if row >= len(self._visible):
            return None
        return self._visible[self._display_row(row)]

    def _row_for_slot(self, slot: int) -> int | None:
        if self._visible is None:
            return slot
        i = self._index_of(slot)
        return None if i < 0 else self._display_row(i)

    # ---- ordered updates ---------------------------------------------------------

    def _apply_ordered(self, batch, changed: list[int], new: list[tuple[Hashable, Any]]) -> None:
        visible = self._visible
        assert visible is not None
        column = self._sort_column
        sort_value = self.columns[column].stored_sort_value if column >= 0 else None
        accept = self._filter
        track = self._track
        changes = self._changes
        full = self._all_columns
        union = 0
        in_place: list[int] = []
        structural: list[tuple[int, bool, object]] = []  # (slot, show, new sort key)
        moving: list[tuple[int, object]] = []  # shown before and after, new sort key
        for slot in changed:
            key = self._keys[slot]
            item = batch[key]
            old = self._items[slot]
            self._items[slot] = item
            self._cache[slot] = None
            if track is not None:
                track(key, item)
            show = accept is None or bool(accept(item))
            new_key = sort_value(item) if sort_value is not None else None
            index = self._index_of(slot)  # still placed by its old key
            if index < 0 and not show:
                if sort_value is not None:
                    self._sort_keys[slot] = new_key
                continue
            if index >= 0 and show:
                if sort_value is None or new_key == self._sort_keys[slot]:
                    in_place.append(self._display_row(index))
                    if union != full:
                        union = changes(old, item, union)
                else:
                    moving.append((slot, new_key))
                continue
            structural.append((slot, show, new_key))
        self._emit_changed(in_place, union)
        if len(moving) > _RELAYOUT and len(moving) * 64 > len(visible):
            # e.g. positions sorted by P&L, each mark re-sorting most rows: one layout
            # change instead of a beginMoveRows per row
            self._move_many(moving)
        else:
            structural.extend((slot, True, new_key) for slot, new_key in moving)
        for slot, show, new_key in structural:
            index = self._index_of(slot)
            if index >= 0 and not show:
                self._remove_visible(index)
                if sort_value is not None:
                    self._sort_keys[slot] = new_key
            elif index < 0:
                if sort_value is not None:
                    self._sort_keys[slot] = new_key
                self._insert_visible(slot)
            else:
                self._move_visible(slot, index, new_key)
        for key, item in new:
            slot = len(self._items)
            self._slot_of[key] = slot
            self._keys.append(key)
            self._items.append(item)
            self._cache.append(None)
            if track is not None:
                track(key, item)
            if sort_value is not None:
                self._sort_keys.append(sort_value(item))
            if accept is None or accept(item):
                self._insert_visible(slot)

    def _move_many(self, moving: list[tuple[int, object]]) -> None:
        """New sort keys for many shown rows at once: one re-sort in one layout change."""
        visible = self._visible
        assert visible is not None

        def reorder() -> None:
            keys = self._sort_keys
            for slot, new_key in moving:
                keys[slot] = new_key
            visible.sort(key=self._composite)  # nearly sorted: timsort's merge runs

        self._change_layout(reorder)
        rows = [self._row_for_slot(slot) for slot, _key in moving]
        self._emit_changed([row for row in rows if row is not None])

    def _remove_visible(self, index: int) -> None:
        visible = self._visible
        assert visible is not None
        row = self._display_row(index)
        self.beginRemoveRows(QModelIndex(), row, row)
        del visible[index]
        self.endRemoveRows()

    def _insert_visible(self, slot: int) -> None:
        visible = self._visible
        assert visible is not None
        index = bisect.bisect_left(visible, self._composite(slot), key=self._composite)
        count = len(visible)
        row = count - index if self._descending else index
        self.beginInsertRows(QModelIndex(), row, row)
        visible.insert(index, slot)
        self.endInsertRows()

    def _move_visible(self, slot: int, index: int, new_key: object) -> None:
        visible = self._visible
        assert visible is not None
        target = (new_key, slot)
        position = bisect.bisect_left(visible, target, key=self._composite)
        final = position - 1 if position > index else position
        count = len(visible)
        if final != index:
            src = self._display_row(index, count)
            dst_final = self._display_row(final, count)
            destination = dst_final + 1 if dst_final > src else dst_final
            self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), destination)
            del visible[index]
            self._sort_keys[slot] = new_key
            visible.insert(final, slot)
            self.endMoveRows()
        else:
            self._sort_keys[slot] = new_key
        row = self._display_row(final, count)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))
