"""A keyed, coalescing, self-sorting QAbstractTableModel over declarative columns.

A `Column` (ui/common/columns.py) says how to get a raw value from a row object, how to
show it, how to sort it and how to colour it. `KeyedTableModel` stores rows by key (key ->
slot map), so `upsert` changes rows in place and adds new ones with beginInsertRows. An update signals only the
cells that can look different: the columns (first to last) whose values changed, one
dataChanged per contiguous run of changed rows, each over at most 200 cells (over more,
Qt repaints the whole viewport, even for rows scrolled out of it). `queue_upsert` may be
called at any rate: items are kept per key (last one wins) and flushed by a single-shot
timer, so a burst of 2,000 updates costs one model update and one repaint.

Sorting and filtering happen inside the model, in Python, on cached sort keys
(`sort(column, order)` is what QTableView calls when sorting is enabled;
`set_filter(predicate)`). Measured on 100,000 orders: a QSortFilterProxyModel over a
Python model needs ~3 million Python data() calls per sort (about 12 s, window frozen);
sorting cached keys in the model takes ~0.1 s, and later updates move single rows
(beginMoveRows / beginInsertRows / beginRemoveRows) instead of re-sorting; when many
shown rows move at once (positions sorted by P&L, on every mark) one layout change.
SORT_ROLE (= Qt.UserRole) still returns the raw sort key (float or str) for any external
proxy or test.

Roles: DisplayRole (precomputed string, cached per row until the row changes; the
caches of the rows painted least recently are dropped past _CACHED_ROWS),
TextAlignmentRole, ForegroundRole (QColor), ToolTipRole, SORT_ROLE, ITEM_ROLE (the row
object), KEY_ROLE (its key).

One class, in sections: construction; the Qt model interface and change signalling;
keyed access; updates (the coalescing queue, applying a batch, per-cell change
detection); subclass hooks and replacing rows; sorting and filtering (the shown slots
kept ordered by cached sort keys); ordered updates (single-row inserts, removes and
moves, one layout change when many move); the display cache. Like a long engine, it is
one cohesive class: its sections share the slot arrays on every hot path.
"""

from __future__ import annotations

import bisect
import csv
import gc
import logging
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common.columns import (
    _ALIGN,
    _DISPLAY,
    _FOREGROUND,
    _TOOLTIP,
    ITEM_ROLE,
    KEY_ROLE,
    SORT_ROLE,
    Column,
)

__all__ = ["KeyedTableModel", "export_csv", "export_header", "export_value"]

log = logging.getLogger(__name__)

_CACHED_ROWS = 4_096  # display caches kept (rows painted lately); the oldest half goes
_BULK = 2_000  # more structural changes than this in one batch: reset instead
_RELAYOUT = 64  # more rows moving than this (and 1/64 of the rows): one layout change
_MAX_RUNS = 64  # more runs of changed rows than this: nearby runs merge, then one span
_REPAINT_CELLS = 200  # Qt repaints the whole viewport for a dataChanged over more cells

# data() answers these; a view asks ~7 roles per painted cell (font, decoration, check
# state, background... too), so the others return at once
_ROLES = frozenset({_DISPLAY, _FOREGROUND, _ALIGN, _TOOLTIP, SORT_ROLE, ITEM_ROLE, KEY_ROLE})
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
)


class _RowCache:
    __slots__ = ("texts", "colours")

    def __init__(self, texts: list[str], colours: list[QColor | None]) -> None:
        self.texts = texts
        self.colours = colours


class KeyedTableModel(QAbstractTableModel):
    """Rows keyed by `key_fn(item)`: in-place updates, coalesced queue, in-model sort/filter.

    Storage is append-only "slots" (key -> slot). With no sort and no filter the rows are
    the slots in insertion order. Otherwise `_visible` lists the shown slots ascending by
    (sort key, slot); a descending sort shows that list back to front.
    """

    flushed = Signal(int, int)  # (rows changed, rows added) after each applied batch

    # Every cell's value compared on each update, to repaint only the cells that changed
    # (False: every changed row repaints whole).
    cell_changes = True
    # A load() / reset() adding at least this many rows freezes them out of the cyclic
    # GC's full passes (see _settle_bulk_load); None: never. Unfrozen, 100,000 loaded
    # orders made every full pass under load take ~50 ms (twice a second); frozen, 16 ms.
    # (It was off for a while: the 0.2-1.3 s stalls first blamed on it were journal
    # fsyncs on the loop, since moved to their own thread.)
    freeze_after_rows: int | None = 10_000

    def __init__(
        self,
        columns: Iterable[Column],
        key_fn: Callable[[Any], Hashable],
        *,
        flush_interval_ms: int = 150,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns: list[Column] = list(columns)
        self._ncols = len(self.columns)
        self._all_columns = (1 << self._ncols) - 1
        # (bit, value getter or None when the column decides itself, column)
        self._probes = [
            (1 << i, c.value if type(c).changed is Column.changed else None, c)
            for i, c in enumerate(self.columns)
        ]
        self._aligns = [int(c.align.value) for c in self.columns]
        self._column_index = {c.key: i for i, c in enumerate(self.columns)}
        self._key_fn = key_fn
        self._items: list[Any] = []
        self._keys: list[Hashable] = []
        self._slot_of: dict[Hashable, int] = {}
        self._cache: list[_RowCache | None] = []
        self._cached: dict[int, None] = {}  # slots given a display cache, oldest first
        self._pending: dict[Hashable, Any] = {}
        # ordering / filtering
        self._sort_column = -1
        self._descending = False
        self._sort_keys: list[object] = []  # per slot, for _sort_column
        self._filter: Callable[[Any], bool] | None = None
        self._visible: list[int] | None = None  # None: identity (all slots, in order)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_interval_ms)
        self._timer.timeout.connect(self.flush)
        self.flush_count = 0  # batches applied (tests, diagnostics)

    # ================================================================== Qt model interface

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

    # ================================================================== change signalling

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

    # ================================================================== keyed access

    def column_index(self, key: str) -> int:
        return self._column_index[key]

    def row_for_key(self, key: Hashable) -> int | None:
        """The row a key is shown on, or None (unknown or filtered out)."""
        slot = self._slot_of.get(key)
        return None if slot is None else self._row_for_slot(slot)

    def item_at(self, row: int) -> Any:
        slot = self._slot_for_row(row)
        if slot is None:
            raise IndexError(row)
        return self._items[slot]

    def key_at(self, row: int) -> Hashable:
        slot = self._slot_for_row(row)
        if slot is None:
            raise IndexError(row)
        return self._keys[slot]

    def get(self, key: Hashable) -> Any | None:
        """The item for a key, shown or filtered out."""
        slot = self._slot_of.get(key)
        return None if slot is None else self._items[slot]

    def items(self) -> list[Any]:
        """All items (including filtered-out ones) in insertion order."""
        return list(self._items)

    def visible_items(self) -> list[Any]:
        return [self.item_at(row) for row in range(self.rowCount())]

    def __len__(self) -> int:
        return len(self._items)

    def has_pending(self) -> bool:
        return bool(self._pending)

    # ================================================================== updates

    def queue_upsert(self, item: Any) -> None:
        """Cheap at any rate: the newest item per key is applied at the next flush."""
        self._pending[self._key_fn(item)] = item
        if not self._timer.isActive():
            self._timer.start()

    def queue_upsert_many(self, items: Iterable[Any]) -> None:
        key_fn = self._key_fn
        pending = self._pending
        for item in items:
            pending[key_fn(item)] = item
        if pending and not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Apply everything queued so far in one batch (also called by the timer)."""
        self._timer.stop()
        if not self._pending:
            return
        batch = self._pending
        self._pending = {}
        self._apply(batch)

    def load(self, items: Iterable[Any]) -> int:
        """Initial load beside live updates: apply `items` now, except keys that have a
        queued update (an event that arrived while loading is at least as new as what was
        read). Later items win over earlier ones with the same key. Returns rows applied."""
        batch: dict[Hashable, Any] = {}
        pending = self._pending
        for item in items:
            key = self._key_fn(item)
            if key not in pending:
                batch[key] = item
        if batch:
            self._apply(batch)
            self._settle_bulk_load(len(batch))
        return len(batch)

    def _settle_bulk_load(self, rows: int) -> None:
        """Rows loaded in bulk (the day's or all orders) live as long as the window: keep
        them out of the cyclic GC's full passes, which otherwise walk every row object
        now and then (~60 ms per 100,000 orders, a visible freeze under load). Like the
        app's freeze after start-up; collected first so no garbage is frozen with them.
        The rows are still freed by reference counting when replaced or removed."""
        limit = self.freeze_after_rows
        if limit is None or rows < limit:
            return
        gc.collect()
        gc.freeze()

    def upsert(self, items: Iterable[Any]) -> None:
        """Apply now: update known keys in place, add new ones. Supersedes queued copies."""
        batch: dict[Hashable, Any] = {}
        for item in items:
            key = self._key_fn(item)
            batch[key] = item
            self._pending.pop(key, None)
        if batch:
            self._apply(batch)

    def _apply(self, batch: dict[Hashable, Any]) -> None:
        changed: list[int] = []
        new: list[tuple[Hashable, Any]] = []
        slot_of = self._slot_of
        for key, item in batch.items():
            slot = slot_of.get(key)
            if slot is None:
                new.append((key, item))
            else:
                changed.append(slot)
        if self._visible is None:
            self._apply_identity(batch, changed, new)
        elif len(changed) + len(new) > _BULK:
            self.beginResetModel()
            self._store(batch, changed, new)
            self._rebuild_order()
            self.endResetModel()
        else:
            self._apply_ordered(batch, changed, new)
        self.flush_count += 1
        self._after_apply()
        self.flushed.emit(len(changed), len(new))

    def _store(self, batch, changed: list[int], new: list[tuple[Hashable, Any]]) -> int:
        """Store the batch; returns the columns that changed in any changed row (_changes)."""
        keys = self._keys
        items = self._items
        cache = self._cache
        track = self._track
        changes = self._changes
        full = self._all_columns
        union = 0
        for slot in changed:
            key = keys[slot]
            item = batch[key]
            if union != full:
                union = changes(items[slot], item, union)
            items[slot] = item
            cache[slot] = None
            if track is not None:
                track(key, item)
        for key, item in new:
            self._slot_of[key] = len(items)
            keys.append(key)
            items.append(item)
            cache.append(None)
            if track is not None:
                track(key, item)
        return union

    def _changes(self, old: Any, new: Any, known: int = 0) -> int:
        """`known` plus a bit for each other column that must repaint as row `old` becomes
        `new` (all of them for the same object again: the caller wants a repaint)."""
        if old is new or not self.cell_changes:
            return self._all_columns
        mask = known
        for bit, value, column in self._probes:
            if mask & bit:
                continue
            try:
                if value is None:  # the column decides (Column.changed overridden)
                    if column.changed(old, new):
                        mask |= bit
                    continue
                a = value(old)  # Column.changed, inline: this runs per cell per update
                b = value(new)
                if a is b:
                    continue
                if a != b or type(a) is not type(b) or column.text(old) != column.text(new):
                    mask |= bit
            except Exception:  # noqa: BLE001 - when in doubt, repaint
                mask |= bit
        return mask

    def _apply_identity(self, batch, changed: list[int], new: list[tuple[Hashable, Any]]) -> None:
        union = self._store(batch, changed, [])
        self._emit_changed(changed, union)
        if new:
            start = len(self._items)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._store(batch, [], new)
            self.endInsertRows()

    # ================================================================== hooks and replacing rows

    def _after_apply(self) -> None:
        """Subclass hook (e.g. totals), after every change to the rows."""

    # Subclass hooks keeping running aggregates (e.g. the open-order count) in step with
    # the rows without recounting them: _track(key, item) after a row is stored (new or
    # changed), _untrack(key) before one is removed, _untrack_all() when all are replaced.
    _track: Callable[[Hashable, Any], None] | None = None

    def _untrack(self, key: Hashable) -> None:
        pass

    def _untrack_all(self) -> None:
        pass

    def remove(self, key: Hashable) -> bool:
        """Drop one row (rare: O(rows))."""
        self._pending.pop(key, None)
        slot = self._slot_of.get(key)
        if slot is None:
            return False
        self._untrack(key)
        row = self._row_for_slot(slot)
        if row is not None:
            self.beginRemoveRows(QModelIndex(), row, row)
        index = self._index_of(slot) if self._visible is not None else -1
        if index >= 0:
            del self._visible[index]
        del self._items[slot]
        del self._keys[slot]
        del self._cache[slot]
        self._cached = {s: None for s, c in enumerate(self._cache) if c is not None}  # shifted
        if self._sort_keys:
            del self._sort_keys[slot]
        self._slot_of = {k: i for i, k in enumerate(self._keys)}
        if self._visible is not None:
            self._visible = [s - 1 if s > slot else s for s in self._visible]
        if row is not None:
            self.endRemoveRows()
        self._after_apply()
        return True

    def clear(self) -> None:
        self.reset([])

    def reset(self, items: Iterable[Any]) -> None:
        """Replace all rows at once (e.g. the day's orders at start-up)."""
        self._pending.clear()
        self._timer.stop()
        self.beginResetModel()
        self._items = []
        self._keys = []
        self._slot_of = {}
        self._untrack_all()
        track = self._track
        merged: dict[Hashable, Any] = {}
        for item in items:
            merged[self._key_fn(item)] = item
        for key, item in merged.items():
            self._slot_of[key] = len(self._items)
            self._keys.append(key)
            self._items.append(item)
            if track is not None:
                track(key, item)
        self._cache = [None] * len(self._items)
        self._cached = {}
        self._rebuild_order()
        self.endResetModel()
        self._settle_bulk_load(len(self._items))
        self._after_apply()

    # ================================================================== sorting

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

    # ================================================================== ordering and filtering

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

    # ================================================================== ordered updates

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

    # ================================================================== display cache

    def _row_cache(self, slot: int) -> _RowCache:
        cached = self._cache[slot]
        if cached is None:
            item = self._items[slot]
            texts: list[str] = []
            colours: list[QColor | None] = []
            for column in self.columns:
                try:
                    texts.append(column.text(item))
                    colours.append(column.colour(item) if column.colour is not None else None)
                except Exception:  # one bad row must not break painting
                    log.exception("cannot display column %s of %r", column.key, item)
                    texts.append("?")
                    colours.append(None)
            cached = self._cache[slot] = _RowCache(texts, colours)
            remembered = self._cached
            remembered[slot] = None
            if len(remembered) > _CACHED_ROWS:
                # A long session scrolls through every row: keep the newer half only.
                order = list(remembered)
                half = len(order) // 2
                cache = self._cache
                for old in order[:half]:
                    if old != slot and old < len(cache):
                        cache[old] = None
                self._cached = dict.fromkeys(order[half:])
                self._cached[slot] = None
        return cached


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


def export_value(value: object) -> str:
    """Raw, spreadsheet-friendly text: numbers without grouping, IST times."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return fmt.ist_datetime(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(getattr(value, "value", value))


def export_header(column: Column) -> str:
    """A column's CSV header; a time column says its zone ("Time (IST)")."""
    return f"{column.header} (IST)" if column.sort is fmt.time_key else column.header


def export_csv(model: QAbstractItemModel, path: str | Path) -> int:
    """Write the rows a model shows (its filter, its order) to a UTF-8 CSV Excel opens.

    Raw values (no digit grouping) so spreadsheets see numbers. Returns rows written.
    """
    source = model
    proxy = None
    if isinstance(model, QSortFilterProxyModel):
        source = model.sourceModel()
        proxy = model
    if not isinstance(source, KeyedTableModel):
        raise TypeError("export_csv needs a KeyedTableModel (or a proxy over one)")
    count = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([export_header(c) for c in source.columns])
        for row in range(model.rowCount()):
            source_row = row if proxy is None else proxy.mapToSource(proxy.index(row, 0)).row()
            item = source.item_at(source_row)
            writer.writerow([export_value(c.value(item)) for c in source.columns])
            count += 1
    return count
