"""Declarative table columns and a keyed, coalescing, self-sorting QAbstractTableModel.

A `Column` says how to get a raw value from a row object, how to show it, how to sort it
and how to colour it. `KeyedTableModel` stores rows by key (key -> slot map), so `upsert`
changes rows in place and adds new ones with beginInsertRows. An update signals only the
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

Layout: the column declarations and roles are in ui/common/columns.py; KeyedTableModel
(here: its state, its display caches, CSV export) takes its behaviour from mixins in
ui/common/table_model_store.py (storage, coalesced updates), ui/common/table_model_order.py (sorting,
filtering) and ui/common/table_model_qt.py (data() and change signalling). Everything is imported
from this module, as before.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QObject,
    QSortFilterProxyModel,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common.columns import (
    CENTER,
    ITEM_ROLE,
    KEY_ROLE,
    LEFT,
    RIGHT,
    SORT_ROLE,
    Column,
    num_column,
    pnl_column,
    text_column,
    time_column,
)
from desktop_oms.ui.common.table_model_order import KeyedOrderMixin
from desktop_oms.ui.common.table_model_qt import KeyedQtMixin
from desktop_oms.ui.common.table_model_store import KeyedStoreMixin

__all__ = [
    "CENTER",
    "ITEM_ROLE",
    "KEY_ROLE",
    "LEFT",
    "RIGHT",
    "SORT_ROLE",
    "Column",
    "KeyedTableModel",
    "export_csv",
    "export_value",
    "num_column",
    "pnl_column",
    "text_column",
    "time_column",
]

log = logging.getLogger(__name__)

# Read by _row_cache below, so patching columns._CACHED_ROWS still takes effect; the other
# tuning constants live beside the code that reads them (columns_store/_order/_qt.py).
_CACHED_ROWS = 4_096  # display caches kept (rows painted lately); the oldest half goes


class _RowCache:
    __slots__ = ("texts", "colours")

    def __init__(self, texts: list[str], colours: list[QColor | None]) -> None:
        self.texts = texts
        self.colours = colours


class KeyedTableModel(KeyedQtMixin, KeyedOrderMixin, KeyedStoreMixin, QAbstractTableModel):
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
    # GC's full passes (see _settle_bulk_load); None: never. Off by default: after a
    # 100,000-row load was frozen, the next window's place_order steps stalled 180 ms-1.3 s
    # in the one-minute load test (33-60 ms with it off); cause not yet understood.
    freeze_after_rows: int | None = None

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

    # ---- internals ---------------------------------------------------------------

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
