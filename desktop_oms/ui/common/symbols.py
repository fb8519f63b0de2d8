"""Symbol completion over the instruments list (prefix on symbol, then name).

The list is as wide as its longest line (symbol, exchange and name: never "HDF..."),
not the symbol field's width, and kept on the screen when that is wider than the space
right of the field."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLineEdit, QStyle

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
        self._placing = False  # (QCompleter already filters its popup's events)

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
        self._fit_width()

    def _fit_width(self) -> None:
        """The popup at least as wide as its longest line (QCompleter makes it as wide as
        the line edit, which cuts "HDFCBANK   NSE   HDFC Bank" to "HDF...")."""
        popup = self.popup()
        rows = self._items.rowCount()
        if not rows:
            return
        metrics = popup.fontMetrics()
        widest = max(metrics.horizontalAdvance(self._items.item(r).text()) for r in range(rows))
        style = popup.style()
        margins = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, popup) + 1)
        scrollbar = (
            style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, popup)
            if rows > self.maxVisibleItems()
            else 0
        )
        width = widest + margins + scrollbar + 2 * popup.frameWidth() + 16
        widget = self.widget()
        screen = widget.screen() if widget is not None else None
        if screen is not None:
            width = min(width, screen.availableGeometry().width())
        popup.setMinimumWidth(max(width, 0))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.popup() and event.type() in (
            QEvent.Type.Show,
            QEvent.Type.Move,
            QEvent.Type.Resize,
        ):
            self._keep_on_screen()
        return super().eventFilter(watched, event)

    def _keep_on_screen(self) -> None:
        """QCompleter places the popup for the line edit's width; wider, it may run off
        the right edge of the screen: move it left (never past the left edge)."""
        if self._placing:
            return
        popup = self.popup()
        widget = self.widget()
        screen = widget.screen() if widget is not None else popup.screen()
        if screen is None:
            return
        area = screen.availableGeometry()
        geo = popup.geometry()
        x = min(geo.x(), area.x() + area.width() - geo.width())
        x = max(x, area.x())
        if x != geo.x():
            self._placing = True
            try:
                popup.move(x, geo.y())
            finally:
                self._placing = False

    def clear_items(self) -> None:
        self._items.clear()

    def _on_activated(self, index: QModelIndex) -> None:
        self._picked(str(index.data(EXCHANGE_ROLE)), str(index.data(SYMBOL_ROLE)))
