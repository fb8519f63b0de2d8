"""Market watch dock (`marketWatch`): named watchlists as tabs, saved in the database.

Double-click (or B / S) on a row opens the ticket for it; the ticket's symbol follows the
selected row. The instruments of every list are streamed (within Kite's 3,000 per
connection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import OrderSide
from desktop_oms.domain.market import Tick
from desktop_oms.ui.common import SymbolCompleter
from desktop_oms.ui.watch.model import WatchlistModel

log = logging.getLogger(__name__)

MAX_STREAMED = 3000  # Kite: instruments per WebSocket connection
DEFAULT_SYMBOLS = ("RELIANCE", "HDFCBANK", "ICICIBANK", "INFY", "TCS", "SBIN", "ITC", "LT")


_TRADE_KEYS = (Qt.Key.Key_B, Qt.Key.Key_F1, Qt.Key.Key_S, Qt.Key.Key_F2)


class WatchTable(QTableView):
    tradeKey = Signal(object)  # OrderSide
    deleteKey = Signal()

    def event(self, event) -> bool:
        # F1 / F2 are also the window's shortcuts (ticket without a symbol): on a row of
        # the market watch they mean "this row", so the table takes them first.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in _TRADE_KEYS
            and event.modifiers()
            in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if event.modifiers() in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        ):
            if key in (Qt.Key.Key_B, Qt.Key.Key_F1):
                self.tradeKey.emit(OrderSide.BUY)
                return
            if key in (Qt.Key.Key_S, Qt.Key.Key_F2):
                self.tradeKey.emit(OrderSide.SELL)
                return
            if key == Qt.Key.Key_Delete:
                self.deleteKey.emit()
                return
        super().keyPressEvent(event)


class MarketWatch(QDockWidget):
    symbolSelected = Signal(str, str)  # exchange, symbol
    tradeRequested = Signal(str, str, object)  # exchange, symbol, OrderSide | None

    def __init__(
        self,
        workspace,
        instruments,
        subscribe: Callable[[list], None],
        parent: QWidget | None = None,
        *,
        quote: Callable[[str, str], Tick | None] | None = None,
    ) -> None:
        """`quote(exchange, symbol)`, if given, is the latest known tick: rows show it at
        once (at start, and for a symbol just added) instead of waiting for the next one."""
        super().__init__("Market watch", parent)
        self.setObjectName("marketWatch")
        self._workspace = workspace
        self._instruments = instruments
        self._subscribe = subscribe
        self._quote = quote
        self._lists: list[tuple[int, WatchlistModel, WatchTable]] = []

        body = QWidget()
        self.add_symbol = QLineEdit()
        self.add_symbol.setObjectName("watchAddSymbol")
        self.add_symbol.setPlaceholderText("Add symbol…")
        self._completer = SymbolCompleter(self.add_symbol, instruments, self._add_picked)
        self.add_symbol.returnPressed.connect(self._add_typed)
        self.message = QLabel("")
        self.message.setObjectName("watchMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        new_list = QToolButton()
        new_list.setText("+")
        new_list.setToolTip("New watchlist")
        new_list.clicked.connect(self._new_list_dialog)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("watchTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(False)
        self.tabs.setCornerWidget(new_list, Qt.Corner.TopRightCorner)
        self.tabs.tabCloseRequested.connect(self._close_list)
        self.tabs.tabBarDoubleClicked.connect(self._rename_dialog)
        self.tabs.currentChanged.connect(lambda _i: self._emit_selected())
        top = QHBoxLayout()
        top.addWidget(self.add_symbol, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        self.setWidget(body)
        # Del removes a symbol only while the market watch has the focus: window-wide it
        # made the blotter's Del (cancel) ambiguous, and Qt then ran neither.
        remove = QShortcut(QKeySequence.StandardKey.Delete, body, activated=self.remove_selected)
        remove.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        remove.setObjectName("watchRemoveShortcut")
        remove.setWhatsThis("Remove the selected symbol from the watchlist")

        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._tick_clock)
        self._timer.start()
        self.reload()

    # ------------------------------------------------------------------ lists
    def reload(self) -> None:
        self.tabs.blockSignals(True)
        while self.tabs.count():
            self.tabs.removeTab(0)
        self._lists.clear()
        lists = self._workspace.watchlists()
        if not lists:
            first = self._workspace.create_watchlist("Watchlist 1")
            defaults = [
                ("NSE", s) for s in DEFAULT_SYMBOLS if self._instruments.get("NSE", s) is not None
            ]
            self._workspace.set_watchlist_items(first.id, defaults)
            lists = self._workspace.watchlists()
        for wl in lists:
            self._add_tab(wl.id, wl.name, wl.items)
        self.tabs.blockSignals(False)
        self._subscribe_all()

    def _add_tab(self, list_id: int, name: str, items) -> None:
        model = WatchlistModel(items, parent=self)
        table = WatchTable()
        table.setObjectName("watchTable")
        table.setModel(model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        table.setDragEnabled(True)
        table.setAcceptDrops(True)
        table.setDropIndicatorShown(True)
        table.setDragDropOverwriteMode(False)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(22)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setDefaultSectionSize(74)
        table.setColumnWidth(0, 110)
        table.horizontalHeader().setStretchLastSection(True)
        table.setAlternatingRowColors(True)
        table.doubleClicked.connect(lambda index, t=table: self._trade_from(t, None))
        table.tradeKey.connect(lambda side, t=table: self._trade_from(t, side))
        table.deleteKey.connect(self.remove_selected)
        table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._emit_selected())
        model.rowsMoved.connect(lambda *_a, lid=list_id, m=model: self._save(lid, m))
        self._lists.append((list_id, model, table))
        self.tabs.addTab(table, name)

    def current(self) -> tuple[int, WatchlistModel, WatchTable] | None:
        index = self.tabs.currentIndex()
        return self._lists[index] if 0 <= index < len(self._lists) else None

    def _save(self, list_id: int, model: WatchlistModel) -> None:
        try:
            self._workspace.set_watchlist_items(list_id, model.keys())
        except Exception as exc:  # noqa: BLE001 - shown, not lost
            log.exception("could not save watchlist")
            self._say(f"Could not save the watchlist: {exc}")

    def _subscribe_all(self) -> None:
        keys = list(dict.fromkeys(k for _lid, m, _t in self._lists for k in m.keys()))
        if len(keys) > MAX_STREAMED:
            self._say(
                f"Only the first {MAX_STREAMED:,} instruments are streamed (Kite's limit per connection)"
            )
            keys = keys[:MAX_STREAMED]
        self._subscribe(keys)
        self._seed(keys)

    def _seed(self, keys) -> None:
        if self._quote is None:
            return
        ticks = []
        for exchange, symbol in keys:
            try:
                tick = self._quote(exchange, symbol)
            except Exception:  # noqa: BLE001 - a missing quote only leaves the row empty
                log.exception("no quote for %s:%s", exchange, symbol)
                continue
            if tick is not None:
                ticks.append(tick)
        if ticks:
            self.on_quotes(ticks)

    def streamed_count(self) -> int:
        return len({k for _lid, m, _t in self._lists for k in m.keys()})

    # ------------------------------------------------------------------ editing
    def _add_picked(self, exchange: str, symbol: str) -> None:
        self.add(exchange, symbol)
        QTimer.singleShot(0, self.add_symbol.clear)

    def _add_typed(self) -> None:
        text = self.add_symbol.text().strip().upper()
        if not text:
            return
        exchange, _, symbol = text.rpartition(":")
        exchange = exchange or "NSE"
        if self.add(exchange, symbol):
            self.add_symbol.clear()

    def add(self, exchange: str, symbol: str) -> bool:
        entry = self.current()
        if entry is None:
            return False
        if self._instruments.get(exchange, symbol) is None:
            self._say(f"Unknown instrument {exchange}:{symbol}")
            return False
        list_id, model, _table = entry
        if (exchange, symbol) not in {
            k for _l, m, _t in self._lists for k in m.keys()
        } and self.streamed_count() >= MAX_STREAMED:
            self._say(f"Kite streams at most {MAX_STREAMED:,} instruments per connection")
            return False
        if not model.add(exchange, symbol):
            self._say(f"{symbol} is already in this list")
            return False
        self._save(list_id, model)
        self._subscribe([(exchange, symbol)])
        self._seed([(exchange, symbol)])
        self._say("")
        return True

    def remove_selected(self) -> None:
        entry = self.current()
        if entry is None:
            return
        list_id, model, table = entry
        rows = [i.row() for i in table.selectionModel().selectedRows()]
        if rows:
            model.remove_rows(rows)
            self._save(list_id, model)

    def create_list(self, name: str) -> bool:
        try:
            wl = self._workspace.create_watchlist(name)
        except ValueError as exc:
            self._say(str(exc))
            return False
        self._add_tab(wl.id, wl.name, ())
        self.tabs.setCurrentIndex(self.tabs.count() - 1)
        return True

    def _new_list_dialog(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("New watchlist")
        dialog.setLabelText("Name")
        dialog.textValueSelected.connect(self.create_list)
        dialog.open()

    def rename_list(self, index: int, name: str) -> bool:
        if not (0 <= index < len(self._lists)):
            return False
        try:
            self._workspace.rename_watchlist(self._lists[index][0], name)
        except Exception as exc:  # noqa: BLE001 - duplicate names, bad names: say so
            self._say(f"Could not rename: {exc}")
            return False
        self.tabs.setTabText(index, " ".join(name.split()))
        return True

    def _rename_dialog(self, index: int) -> None:
        if not (0 <= index < len(self._lists)):
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename watchlist")
        dialog.setLabelText("Name")
        dialog.setTextValue(self.tabs.tabText(index))
        dialog.textValueSelected.connect(lambda name, i=index: self.rename_list(i, name))
        dialog.open()

    def _close_list(self, index: int) -> None:
        if not (0 <= index < len(self._lists)) or len(self._lists) == 1:
            self._say("Keep at least one watchlist")
            return
        from desktop_oms.ui.common import confirm

        name = self.tabs.tabText(index)
        confirm(
            self,
            "Delete watchlist",
            f"Delete the watchlist “{name}”?",
            lambda i=index: self.delete_list(i),
        )

    def delete_list(self, index: int) -> None:
        list_id, _model, _table = self._lists.pop(index)
        self.tabs.removeTab(index)
        self._workspace.delete_watchlist(list_id)

    # ------------------------------------------------------------------ ticks and selection
    def on_quotes(self, ticks) -> None:
        for _lid, model, _table in self._lists:
            model.update_ticks(ticks)

    def _tick_clock(self) -> None:
        entry = self.current()
        if entry is not None and self.isVisible():
            entry[1].refresh_time()

    def selected_key(self) -> tuple[str, str] | None:
        entry = self.current()
        if entry is None:
            return None
        _lid, model, table = entry
        index = table.selectionModel().currentIndex()
        return model.row_at(index.row()).key if index.isValid() else None

    def select(self, exchange: str, symbol: str) -> bool:
        entry = self.current()
        if entry is None:
            return False
        _lid, model, table = entry
        row = model.row_of((exchange, symbol))
        if row is None:
            return False
        table.selectionModel().setCurrentIndex(
            model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        return True

    def _emit_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.symbolSelected.emit(*key)

    def _trade_from(self, table: WatchTable, side) -> None:
        key = self.selected_key()
        if key is not None:
            self.tradeRequested.emit(key[0], key[1], side)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))  # no empty line under the table
