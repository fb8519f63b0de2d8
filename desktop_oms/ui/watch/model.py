"""One watchlist as a table: rows in the trader's order (drag to reorder), updated in place.

Quotes arrive already coalesced (QuotesUpdated, a few times a second); `update_ticks`
touches only the rows whose instrument ticked and emits one dataChanged per run of rows.
A changed price tints its row briefly (green up, red down) and fades; the age column shows
how old the last tick is once it is stale.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from desktop_oms.domain.market import Tick
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

FLASH_S = 0.6
STALE_S = 5.0
MIME = "application/x-desktop-oms-watch-rows"
COLUMNS = (
    "Symbol",
    "LTP",
    "Chg",
    "Chg %",
    "Bid",
    "Ask",
    "Bid qty",
    "Ask qty",
    "High",
    "Low",
    "Volume",
    "Age",
)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
# Qt repaints the whole viewport for a dataChanged over more than 200 cells (even rows
# scrolled out of it): runs of changed rows are cut to stay within that
_RUN_ROWS = max(1, 200 // len(COLUMNS))
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemNeverHasChildren
    | Qt.ItemFlag.ItemIsDropEnabled
    | Qt.ItemFlag.ItemIsDragEnabled
)


@dataclass(slots=True)
class WatchRow:
    exchange: str
    symbol: str
    tick: Tick | None = None
    received: float = 0.0  # monotonic time of the last tick
    flash_until: float = 0.0
    direction: int = 0  # +1 up, -1 down

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def change(self) -> Decimal | None:
        t = self.tick
        if t is None or not t.close:
            return None
        return t.last_price - t.close

    @property
    def change_pct(self) -> Decimal | None:
        change = self.change
        return None if change is None else change * 100 / self.tick.close


def _price(value) -> str:
    return "" if value is None else fmt.money(value)


def _qty(value) -> str:
    return "" if value is None else f"{value:,}"


class WatchlistModel(QAbstractTableModel):
    def __init__(
        self, items: Iterable[tuple[str, str]] = (), clock=time.monotonic, parent=None
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._rows: list[WatchRow] = []
        self._index: dict[tuple[str, str], int] = {}
        self._up = theme.qcolor(theme.BUY)
        self._down = theme.qcolor(theme.SELL)
        self._dim = theme.qcolor(theme.TEXT_DIM)
        self.set_items(items)

    # ------------------------------------------------------------------ content
    def keys(self) -> list[tuple[str, str]]:
        return [r.key for r in self._rows]

    def row_of(self, key: tuple[str, str]) -> int | None:
        return self._index.get(key)

    def row_at(self, row: int) -> WatchRow:
        return self._rows[row]

    def set_items(self, items: Iterable[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._rows = [WatchRow(e, s) for e, s in dict.fromkeys(items)]
        self._reindex()
        self.endResetModel()

    def add(self, exchange: str, symbol: str) -> bool:
        key = (exchange, symbol)
        if key in self._index:
            return False
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(WatchRow(exchange, symbol))
        self._index[key] = row
        self.endInsertRows()
        return True

    def remove_rows(self, rows: Sequence[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        self._reindex()

    def _reindex(self) -> None:
        self._index = {r.key: i for i, r in enumerate(self._rows)}

    def move(self, source: int, destination: int) -> bool:
        """Move one row so that it ends up at `destination` (0..rowCount-1)."""
        n = len(self._rows)
        if not (0 <= source < n and 0 <= destination < n) or source == destination:
            return False
        qt_dest = destination + 1 if destination > source else destination
        if not self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), qt_dest):
            return False
        self._rows.insert(destination, self._rows.pop(source))
        self._reindex()
        self.endMoveRows()
        return True

    # ------------------------------------------------------------------ ticks
    def update_ticks(self, ticks: Iterable[Tick]) -> int:
        now = self._clock()
        touched: list[int] = []
        for tick in ticks:
            row = self._index.get((tick.exchange, tick.symbol))
            if row is None:
                continue
            item = self._rows[row]
            if item.tick is not None and tick.last_price != item.tick.last_price:
                item.direction = 1 if tick.last_price > item.tick.last_price else -1
                item.flash_until = now + FLASH_S
            item.tick = tick
            item.received = now
            touched.append(row)
        self._changed(touched)
        return len(touched)

    def refresh_time(self) -> None:
        """Repaint what depends on time only: fading flashes and the age column."""
        now = self._clock()
        rows = [i for i, r in enumerate(self._rows) if r.flash_until and r.flash_until <= now]
        for i in rows:
            self._rows[i].flash_until = 0.0
        self._changed(rows)
        if self._rows:
            col = len(COLUMNS) - 1
            for start in range(0, len(self._rows), 200):
                self.dataChanged.emit(
                    self.index(start, col),
                    self.index(min(start + 199, len(self._rows) - 1), col),
                    [Qt.ItemDataRole.DisplayRole],
                )

    def _changed(self, rows: list[int]) -> None:
        if not rows:
            return
        rows.sort()
        start = prev = rows[0]
        for row in rows[1:] + [None]:
            if row is not None and row == prev + 1 and row - start < _RUN_ROWS:
                prev = row
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(prev, len(COLUMNS) - 1))
            if row is not None:
                start = prev = row

    def age(self, row: WatchRow) -> float | None:
        return None if not row.received else self._clock() - row.received

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.TextAlignmentRole
            and section > 0
        ):
            return int(_RIGHT)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_LEFT if col == 0 else _RIGHT)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col in (2, 3):
                change = row.change
                if change:
                    return self._up if change > 0 else self._down
            if col == len(COLUMNS) - 1 or row.tick is None:
                return self._dim
            return None
        if role == Qt.ItemDataRole.BackgroundRole and row.flash_until > self._clock():
            colour = QColor(self._up if row.direction > 0 else self._down)
            colour.setAlpha(45)  # a tint, not a blink: easy on the eye all day
            return colour
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{row.exchange}:{row.symbol}"
        if role == Qt.ItemDataRole.UserRole:
            return row.key
        return None

    def _text(self, row: WatchRow, col: int) -> str:
        t = row.tick
        if col == 0:
            return row.symbol
        if t is None:
            return "" if col != 1 else fmt.DASH
        if col == 1:
            return _price(t.last_price)
        if col == 2:
            change = row.change
            return "" if change is None else f"{'+' if change > 0 else ''}{fmt.money(change)}"
        if col == 3:
            pct = row.change_pct
            return (
                "" if pct is None else f"{'+' if pct > 0 else ''}{pct.quantize(Decimal('0.01'))}%"
            )
        if col == 4:
            return _price(t.bid)
        if col == 5:
            return _price(t.ask)
        if col == 6:
            return _qty(t.bid_quantity)
        if col == 7:
            return _qty(t.ask_quantity)
        if col == 8:
            return _price(t.high)
        if col == 9:
            return _price(t.low)
        if col == 10:
            return _qty(t.volume)
        age = self.age(row)
        return "" if age is None or age < STALE_S else f"{int(age)} s"

    # ------------------------------------------------------------------ drag to reorder
    def flags(self, index):
        if index.isValid():
            return _ROW_FLAGS  # per painted cell: no enum arithmetic
        return Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self):
        return Qt.DropAction.MoveAction

    def mimeTypes(self):
        return [MIME]

    def mimeData(self, indexes):
        rows = sorted({i.row() for i in indexes if i.isValid()})
        data = QMimeData()
        data.setData(MIME, QByteArray(",".join(map(str, rows)).encode()))
        return data

    def dropMimeData(self, data, action, row, column, parent):
        if action != Qt.DropAction.MoveAction or not data.hasFormat(MIME):
            return False
        rows = [int(x) for x in bytes(data.data(MIME)).decode().split(",") if x]
        if len(rows) != 1:
            return False
        target = parent.row() if row < 0 and parent.isValid() else row
        if target < 0:
            target = len(self._rows)
        source = rows[0]
        destination = target - 1 if target > source else target
        self.move(source, min(destination, len(self._rows) - 1))
        return False  # we moved the row ourselves: the view must not remove the source
