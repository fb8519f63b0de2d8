"""Symbol completion over the instruments list (prefix on symbol, then name)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLineEdit

log = logging.getLogger(__name__)

SYMBOL_ROLE = int(Qt.ItemDataRole.UserRole)
EXCHANGE_ROLE = SYMBOL_ROLE + 1


class SymbolCompleter(QCompleter):
    """Fills itself from `instruments.search(prefix, limit)` as the trader types;
    `picked(exchange, symbol)` is called when a completion is chosen."""

    def __init__(
        self, line_edit: QLineEdit, instruments, picked: Callable[[str, str], None], limit: int = 20
    ) -> None:
        self._items = QStandardItemModel(line_edit)
        super().__init__(self._items, line_edit)
        self._instruments = instruments
        self._picked = picked
        self._limit = limit
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setCompletionRole(SYMBOL_ROLE)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setMaxVisibleItems(12)
        line_edit.setCompleter(self)
        line_edit.textEdited.connect(self._refill)
        self.activated[QModelIndex].connect(self._on_activated)

    def _refill(self, text: str) -> None:
        prefix = text.strip().upper()
        self._items.clear()
        if not prefix:
            return
        try:
            found = self._instruments.search(prefix, self._limit)
        except Exception:  # noqa: BLE001 - completion is a convenience
            log.exception("instrument search %r failed", prefix)
            return
        for inst in found:
            item = QStandardItem(f"{inst.symbol}   {inst.exchange}   {inst.name}".rstrip())
            item.setData(inst.symbol, SYMBOL_ROLE)
            item.setData(inst.exchange, EXCHANGE_ROLE)
            item.setToolTip(f"lot {inst.lot_size}, tick {inst.tick_size}")
            self._items.appendRow(item)

    def clear_items(self) -> None:
        self._items.clear()

    def _on_activated(self, index: QModelIndex) -> None:
        self._picked(str(index.data(EXCHANGE_ROLE)), str(index.data(SYMBOL_ROLE)))
