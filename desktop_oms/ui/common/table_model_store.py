"""KeyedTableModel's row storage: keyed access, the coalescing update queue
(`queue_upsert` / `flush`), `upsert` / `load` / `remove` / `reset`, applying a batch
(in place, appended, or one reset past _BULK changes), per-cell change detection,
the subclass tracking hooks and settling bulk loads out of the cyclic GC.

A mixin of `KeyedTableModel` (ui/common/table_model.py), which holds the state these methods use.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex

if TYPE_CHECKING:  # type checkers see the model's API; at run time a plain mixin
    _ModelBase = QAbstractTableModel
else:
    _ModelBase = object

_BULK = 2_000  # more structural changes than this in one batch: reset instead


class KeyedStoreMixin(_ModelBase):
    """Storage, keyed access and (coalesced) updates of `KeyedTableModel`."""

    # ---- keyed access ------------------------------------------------------------

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

    # ---- updates -----------------------------------------------------------------

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

    # ---- hooks and replacing rows ------------------------------------------------

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
