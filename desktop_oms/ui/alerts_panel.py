"""Log / alerts panel: rejections, reconciliation mismatches, errors from background tasks.

A bounded model (newest first, last `capacity` kept) behind a QTableView; `add()` may be
called at any rate (batched on a short timer); `QtLogHandler` feeds it from `logging`,
from any thread, through a queued Qt signal. Times are shown in IST.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt
from . import theme

LEVELS = ("debug", "info", "success", "warning", "error", "critical")
_RANK = {name: i for i, name in enumerate(LEVELS)}
_COLOURS = {
    "debug": theme.TEXT_DIM,
    "info": theme.TEXT,
    "success": theme.PROFIT,
    "warning": theme.AMBER,
    "error": theme.LOSS,
    "critical": theme.LOSS,
}
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)


def normalise_level(level: str | int) -> str:
    if isinstance(level, int):
        if level >= logging.CRITICAL:
            return "critical"
        if level >= logging.ERROR:
            return "error"
        if level >= logging.WARNING:
            return "warning"
        if level >= logging.INFO:
            return "info"
        return "debug"
    text = str(level).strip().lower()
    if text in ("warn",):
        return "warning"
    if text in ("fatal",):
        return "critical"
    return text if text in _RANK else "info"


@dataclass(frozen=True, slots=True)
class AlertRow:
    at: datetime
    level: str
    source: str
    message: str


class AlertsModel(QAbstractTableModel):
    """Newest first; at most `capacity` rows (the oldest fall off the bottom)."""

    HEADERS = ("Time", "Level", "Source", "Message")

    def __init__(
        self, capacity: int = 5000, parent: QObject | None = None, *, flush_ms: int = 100
    ) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._rows: list[AlertRow] = []  # newest first
        self._pending: deque[AlertRow] = deque(maxlen=capacity)
        self._min_rank = 0
        self._all: deque[AlertRow] = deque(maxlen=capacity)  # everything, oldest first
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)

    # ---- Qt ----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> object:
        row, col = index.row(), index.column()
        if not index.isValid() or not 0 <= row < len(self._rows) or not 0 <= col < 4:
            return None
        alert = self._rows[row]
        role = int(role)
        if role == _DISPLAY:
            if col == 0:
                return fmt.ist_time(alert.at)
            if col == 1:
                return alert.level.upper()
            if col == 2:
                return alert.source
            return alert.message.replace("\n", " \u23ce ")
        if role == int(Qt.ItemDataRole.ForegroundRole):
            return (
                theme.qcolor(_COLOURS.get(alert.level, theme.TEXT))
                if col != 0
                else theme.qcolor(theme.TEXT_DIM)
            )
        if role == int(Qt.ItemDataRole.ToolTipRole):
            return f"{fmt.ist_datetime(alert.at)} [{alert.level}] {alert.source}\n{alert.message}"
        if role == int(Qt.ItemDataRole.UserRole):
            return alert
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:
        if int(role) == _DISPLAY and orientation == Qt.Orientation.Horizontal and 0 <= section < 4:
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

    # ---- API ---------------------------------------------------------------------

    def add(
        self, level: str | int, message: str, source: str = "app", at: datetime | None = None
    ) -> AlertRow:
        # A naive `at` is taken as the machine's local time (Python's meaning of naive);
        # the app's own times are aware.
        when = datetime.now(UTC) if at is None else at.astimezone(UTC)
        alert = AlertRow(when, normalise_level(level), str(source), str(message))
        self._pending.append(alert)
        if not self._timer.isActive():
            self._timer.start()
        return alert

    def flush(self) -> None:
        self._timer.stop()
        if not self._pending:
            return
        batch = list(self._pending)
        self._pending.clear()
        self._all.extend(batch)
        shown = [a for a in batch if _RANK[a.level] >= self._min_rank]
        if not shown:
            return
        shown.reverse()  # newest first
        shown = shown[: self.capacity]
        overflow = len(self._rows) + len(shown) - self.capacity
        if overflow > 0:
            first = len(self._rows) - overflow
            self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
            del self._rows[first:]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(shown) - 1)
        self._rows[0:0] = shown
        self.endInsertRows()

    def set_min_level(self, level: str) -> None:
        """Show only alerts at or above `level` (everything is still kept)."""
        self.flush()
        self.beginResetModel()
        self._min_rank = _RANK[normalise_level(level)]
        self._rows = [a for a in reversed(self._all) if _RANK[a.level] >= self._min_rank]
        self.endResetModel()

    def clear(self) -> None:
        self._pending.clear()
        self.beginResetModel()
        self._rows.clear()
        self._all.clear()
        self.endResetModel()

    def alert_at(self, row: int) -> AlertRow:
        return self._rows[row]

    def alerts(self) -> list[AlertRow]:
        """Everything kept (not only what the level filter shows), oldest first."""
        return list(self._all) + list(self._pending)


class AlertsPanel(QWidget):
    """objectName "alertsPanel"; table "alertsView". `add(level, message, source)`."""

    alert_added = Signal(str, str, str)  # level, message, source (e.g. status-bar flash)

    def __init__(self, parent: QWidget | None = None, *, capacity: int = 5000) -> None:
        super().__init__(parent)
        self.setObjectName("alertsPanel")
        self.model = AlertsModel(capacity, self)
        self.view = QTableView(self)
        self.view.setObjectName("alertsView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        width = self.fontMetrics().horizontalAdvance("00:00:00 ")
        header.resizeSection(0, width + 12)
        header.resizeSection(1, self.fontMetrics().horizontalAdvance("CRITICAL") + 14)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("reconciliation") + 12)
        self.level_filter = QComboBox(self)
        self.level_filter.setObjectName("alertsLevel")
        self.level_filter.addItems(["All", "Info+", "Warnings+", "Errors"])
        self.level_filter.currentIndexChanged.connect(self._on_filter)
        self.count_label = QLabel("", self)
        clear = QPushButton("Clear", self)
        clear.setObjectName("alertsClear")
        clear.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Show", self))
        top.addWidget(self.level_filter)
        top.addStretch(1)
        top.addWidget(self.count_label)
        top.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view)
        self.model.rowsInserted.connect(self._update_count)
        self.model.modelReset.connect(self._update_count)

    def add(
        self, level: str | int, message: str, source: str = "app", at: datetime | None = None
    ) -> None:
        alert = self.model.add(level, message, source, at)
        self.alert_added.emit(alert.level, alert.message, alert.source)

    def clear(self) -> None:
        self.model.clear()

    def _on_filter(self, index: int) -> None:
        self.model.set_min_level(("debug", "info", "warning", "error")[index])

    def _update_count(self, *_args: object) -> None:
        self.count_label.setText(f"{self.model.rowCount()} shown")


class _Bridge(QObject):
    record = Signal(str, str, str, object)


class QtLogHandler(logging.Handler):
    """logging -> AlertsPanel, safe from any thread (the signal is queued to the GUI)."""

    def __init__(self, panel: AlertsPanel, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._bridge = _Bridge()
        self._bridge.moveToThread(panel.thread())
        self._bridge.record.connect(panel.add, Qt.ConnectionType.QueuedConnection)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            at = datetime.fromtimestamp(record.created, UTC)
            source = record.name.rsplit(".", 1)[-1] if record.name else "log"
            self._bridge.record.emit(normalise_level(record.levelno), message, source, at)
        except RuntimeError:  # the panel is gone (shutdown)
            pass
        except Exception:
            self.handleError(record)


def attach_logging(
    panel: AlertsPanel, logger: logging.Logger | None = None, level: int = logging.WARNING
) -> QtLogHandler:
    """Install a QtLogHandler on `logger` (root by default); remove it on shutdown."""
    handler = QtLogHandler(panel, level)
    (logger or logging.getLogger()).addHandler(handler)
    return handler
