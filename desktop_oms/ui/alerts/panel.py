"""Log / alerts panel: rejections, reconciliation mismatches, errors from background tasks.

A bounded model (newest first, last `capacity` kept) behind a QTableView; `add()` may be
called at any rate (batched on a short timer); `QtLogHandler` feeds it from `logging`,
from any thread, through a queued Qt signal. Times are shown in IST.

Kept across a restart: `AlertsPanel.persist_to(db.alerts)` shows the IST trading day's
saved alerts again (in their order, older days not shown; alerts older than the alerts
log's retention are pruned then) and saves every new one through an `AlertJournal`:
written on the loop after the panel's own batching, at most `AlertJournal.CHUNK` rows a
loop turn, so `add()` never touches the disk and a failed write never reaches the code
that raised the alert.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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

from desktop_oms.infra.clock import day_bounds, trading_day
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

log = logging.getLogger(__name__)

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
        # Called with each flushed batch (oldest first): the AlertJournal saving them.
        self.on_flush: Callable[[list[AlertRow]], None] | None = None

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
        if self.on_flush is not None:
            try:
                self.on_flush(batch)
            except Exception:  # noqa: BLE001 - saving never costs the alert its row
                log.exception("could not hand alerts to the alerts log")
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

    def restore(self, alerts: Sequence[AlertRow]) -> None:
        """Put saved alerts (oldest first) below the ones already here (a restart)."""
        self.flush()
        combined = list(alerts) + list(self._all)
        self.beginResetModel()
        self._all = deque(combined[-self.capacity :], maxlen=self.capacity)
        self._rows = [a for a in reversed(self._all) if _RANK[a.level] >= self._min_rank]
        self.endResetModel()

    def alert_at(self, row: int) -> AlertRow:
        return self._rows[row]

    def alerts(self) -> list[AlertRow]:
        """Everything kept (not only what the level filter shows), oldest first."""
        return list(self._all) + list(self._pending)


class AlertJournal(QObject):
    """Saves the panel's alerts in the alerts log (`db.alerts`, storage.AlertLog).

    `write(rows)` is called with each batch the model flushes (so never from `add()`):
    it stores at most CHUNK rows at once, in one transaction on the loop (about a
    millisecond for a full chunk), and the rest on the following loop turns. A failed
    write keeps the rows queued (at most MAX_QUEUE; the oldest are dropped beyond) and
    is retried with the next batch or after RETRY_MS; the panel says once that alerts
    are not being saved, and again once they are. Nothing is written after the
    database closed."""

    CHUNK = 200
    MAX_QUEUE = 20_000
    RETRY_MS = 5_000

    def __init__(
        self, store: Any, report: Callable[[str, str], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._report = report
        self._queue: deque[AlertRow] = deque()
        self.failing = False
        self.written = 0
        self.dropped = 0
        self.transactions = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._drain_chunk)

    def write(self, rows: Sequence[AlertRow]) -> None:
        queue = self._queue
        for row in rows:
            if len(queue) >= self.MAX_QUEUE:
                queue.popleft()
                self.dropped += 1
            queue.append(row)
        self._drain(self.CHUNK)

    def pending(self) -> int:
        return len(self._queue)

    def drain(self) -> None:
        """Store every queued row now (shutdown)."""
        self._drain(None)

    def _drain_chunk(self) -> None:
        self._drain(self.CHUNK)

    def _drain(self, budget: int | None) -> None:
        """Store up to `budget` queued rows (all if None), CHUNK per transaction; what is
        left goes on the next loop turn."""
        queue = self._queue
        while queue and (budget is None or budget > 0):
            if getattr(self._store, "closed", False):
                queue.clear()  # shutting down: nothing can be saved any more
                self._timer.stop()
                return
            size = min(len(queue), self.CHUNK, self.CHUNK if budget is None else budget)
            chunk = [queue[i] for i in range(size)]
            try:
                self._store.append(chunk)
            except Exception as exc:  # noqa: BLE001 - the alert is shown all the same
                self._failed(exc)
                self._timer.start(self.RETRY_MS)
                return
            for _ in range(size):
                queue.popleft()
            self.transactions += 1
            self.written += size
            if budget is not None:
                budget -= size
            if self.failing:
                self.failing = False
                self._report("info", "Alerts are being saved again")
        if queue:
            self._timer.start(0)  # the rest on the next loop turn
        else:
            self._timer.stop()

    def _failed(self, exc: BaseException) -> None:
        if self.failing:
            return
        self.failing = True
        reason = (
            str(exc) if type(exc).__name__ == "DatabaseError" else f"{type(exc).__name__}: {exc}"
        )
        text = f"Alerts are not being saved ({reason}); they are still shown"
        log.warning(text, extra={"oms_shown": True})
        self._report("warning", text)


class AlertsPanel(QWidget):
    """objectName "alertsPanel"; table "alertsView". `add(level, message, source)`."""

    alert_added = Signal(str, str, str)  # level, message, source (e.g. status-bar flash)

    def __init__(self, parent: QWidget | None = None, *, capacity: int = 5000) -> None:
        super().__init__(parent)
        self.setObjectName("alertsPanel")
        self.model = AlertsModel(capacity, self)
        self.journal: AlertJournal | None = None  # saving the alerts, once persist_to()
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
        """Empty the view (the alerts log keeps what was saved)."""
        self.model.clear()

    def persist_to(self, store: Any, *, day: Any = None) -> int:
        """Show the saved alerts of the IST trading day `day` (today) below the ones here
        and save every alert from now on in `store` (a storage.AlertLog). Prunes the
        alerts past the log's retention. Returns how many were restored."""
        day = day or trading_day()
        start, end = day_bounds(day)
        saved: list = []
        try:
            store.prune(start)
            saved = store.between(start, end, limit=self.model.capacity)
        except Exception as exc:  # noqa: BLE001 - the panel works without its history
            log.warning("could not read the saved alerts: %s", exc, extra={"oms_shown": True})
            self.add("warning", f"Today's earlier alerts could not be read: {exc}", "alerts")
        self.model.flush()
        current = self.model.alerts()  # raised before this (none when wired at start)
        self.model.restore(
            [AlertRow(a.at, normalise_level(a.level), a.source, a.message) for a in saved]
        )
        self.journal = AlertJournal(
            store, lambda level, text: self.add(level, text, "alerts"), self
        )
        self.model.on_flush = self.journal.write
        if current:
            self.journal.write(current)
        return len(saved)

    def flush(self) -> None:
        """Show pending alerts now and save everything not saved yet (shutdown)."""
        self.model.flush()
        if self.journal is not None:
            self.journal.drain()

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
