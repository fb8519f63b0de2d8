"""The audit tab: one order's event history (order_events), oldest first.

`AuditView.show_order(order)` asks for the history through the OMS (as a kept task) and
`set_events` fills the table; the window calls `refresh()` (debounced) when the shown
order changes status, so the history stays current while the trader watches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import Order
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)


def _time(value) -> str:
    """HH:MM:SS.mmm in IST (the audit trail's events are often milliseconds apart)."""
    return fmt.ist_time_ms(value)


def _details(details: dict | None) -> str:
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if value is None:
            continue
        parts.append(f"{key}={value}")
    return ", ".join(parts) if parts else json.dumps(details, default=str)


class AuditModel(QAbstractTableModel):
    """Rows: OrderEventRecord-like objects (at, event_type, old_status, new_status, reason,
    details)."""

    HEADERS = ("Time", "Event", "From", "To", "Reason", "Details")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> object:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if not 0 <= row < len(self._rows) or not 0 <= col < len(self.HEADERS):
            return None
        event = self._rows[row]
        role = int(role)
        if role == _DISPLAY:
            return self._text(event, col)
        if role == int(Qt.ItemDataRole.ForegroundRole):
            if col == 3 and event.new_status is not None:
                return theme.status_colour(event.new_status)
            if col == 2 and event.old_status is not None:
                return theme.qcolor(theme.TEXT_DIM)
            if col == 0:
                return theme.qcolor(theme.TEXT_DIM)
            return None
        if role == int(Qt.ItemDataRole.ToolTipRole):
            if col == 0:
                return fmt.ist_datetime(event.at)
            text = self._text(event, col)
            return text or None
        return None

    @staticmethod
    def _text(event, col: int) -> str:
        if col == 0:
            return _time(event.at)
        if col == 1:
            return str(event.event_type).replace("_", " ")
        if col == 2:
            return fmt.enum_text(event.old_status)
        if col == 3:
            return fmt.enum_text(event.new_status)
        if col == 4:
            return event.reason or ""
        return _details(event.details)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:
        if (
            int(role) == _DISPLAY
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def set_events(self, events: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(events)
        self.endResetModel()

    def events(self) -> list[Any]:
        return list(self._rows)


class AuditView(QWidget):
    """objectName "auditPanel": a caption and the "auditView" table.

    `load(order_id)` is a callable returning an awaitable of the events (the window passes
    `order_manager.get_order_events`); `run(coro, what, on_result=...)` schedules it (the
    window's TaskRunner)."""

    def __init__(
        self,
        load: Callable[[int], Any],
        run: Callable[..., Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("auditPanel")
        self._load = load
        self._run = run
        self._order: Order | None = None
        self._generation = 0
        self.model = AuditModel(self)
        self.caption = QLabel("Select an order in the Orders tab to see its history.", self)
        self.caption.setObjectName("auditCaption")
        self.caption.setProperty("role", "dim")
        self.caption.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 2px 4px;")
        self.view = QTableView(self)
        self.view.setObjectName("auditView")
        self.view.setModel(self.model)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for col, sample in enumerate(
            ("00:00:00.000", "STATUS CHANGED", "PARTIALLY FILLED", "PARTIALLY FILLED")
        ):
            header.resizeSection(col, metrics.horizontalAdvance(sample) + 20)
        header.resizeSection(4, 260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.view)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._fetch)

    @property
    def order_id(self) -> int | None:
        return None if self._order is None else self._order.id

    def show_order(self, order: Order | None) -> None:
        """Show `order`'s history (None: nothing selected)."""
        if order is None:
            self._order = None
            self._generation += 1
            self.model.set_events([])
            self.caption.setText("Select an order in the Orders tab to see its history.")
            return
        same = self._order is not None and self._order.id == order.id
        self._order = order
        self._caption(order, None if not same else self.model.rowCount())
        self._fetch()

    def refresh(self, order: Order | None = None) -> None:
        """The shown order changed: re-read its history shortly (bursts coalesce)."""
        if order is not None and self._order is not None and order.id == self._order.id:
            self._order = order
        if self._order is not None:
            self._debounce.start()

    def _caption(self, order: Order, count: int | None) -> None:
        side = fmt.enum_text(order.side)
        what = (
            f"Order #{order.id} \u00b7 {side} {fmt.quantity(order.quantity)} "
            f"{order.exchange}:{order.symbol} {fmt.enum_text(order.order_type)} \u00b7 "
            f"{fmt.enum_text(order.status)}"
        )
        if order.broker_order_id:
            what += f" \u00b7 broker {order.broker_order_id}"
        if count is not None:
            what += f" \u00b7 {count} event{'s' if count != 1 else ''}"
        self.caption.setText(what)

    def _fetch(self) -> None:
        order = self._order
        if order is None:
            return
        self._generation += 1
        generation = self._generation

        def done(events) -> None:
            if generation != self._generation:
                return  # a newer request (or another order) superseded this one
            self.model.set_events(events)
            if self._order is not None:
                self._caption(self._order, len(events))

        self._run(self._load(order.id), f"audit of order #{order.id}", on_result=done)
