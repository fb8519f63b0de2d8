"""Issue 13 #7: the Alerts log after a restart. The IST trading day's alerts come back in
order with their IST times; earlier days' are not shown (kept RETENTION_DAYS, then
pruned); saving never fails or holds up the action that raised an alert."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from desktop_oms.domain.events import Alert
from desktop_oms.storage import AlertRecord, DatabaseError
from desktop_oms.storage.alerts import RETENTION_DAYS
from desktop_oms.ui.alerts import panel as alerts_panel
from desktop_oms.ui.alerts.panel import AlertJournal, AlertsPanel
from tests.gui.conftest import run_async

DAY = date(2026, 5, 5)  # the IST trading day of these tests
MIDNIGHT = datetime(2026, 5, 4, 18, 30, tzinfo=UTC)  # 00:00 IST on DAY
SHIFT = timedelta(hours=5, minutes=30)


def ist(at: datetime) -> str:
    return (at.replace(tzinfo=None) + SHIFT).strftime("%H:%M:%S")


@pytest.fixture
def on_day(monkeypatch):
    """The window's "today" is DAY (so a test never straddles IST midnight)."""
    monkeypatch.setattr(alerts_panel, "trading_day", lambda at=None: DAY)


def shown(panel) -> list[tuple[str, str, str, str]]:
    """The rows as the trader sees them, newest first: time, level, source, message."""
    panel.model.flush()
    model = panel.model
    return [tuple(model.index(r, c).data() for c in range(4)) for r in range(model.rowCount())]


def test_the_days_alerts_come_back_after_a_restart(qtbot, make_app, tmp_path, on_day, caplog):
    app = make_app(tmp_path)
    w = app.window
    assert shown(w.alerts) == []
    at = MIDNIGHT + timedelta(hours=4)  # 04:00 IST
    # raised every way an alert reaches the panel: directly, as an OMS event, from logging
    w.alerts.add("info", "Sent BUY 10 RELIANCE #1", "ticket", at=at)
    app.events.publish(
        Alert(level="error", message="Rejected #2: margin", at=at + timedelta(seconds=1))
    )
    app.events.publish(
        Alert(
            level="warning",
            message="Daily loss at 3%",
            at=at + timedelta(seconds=2),
            source="risk",
        )
    )
    caplog.set_level(logging.WARNING)
    logger = logging.getLogger("desktop_oms.oms.sync.order_sync")
    record = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, "broker slow to answer", (), None
    )
    record.created = (at + timedelta(seconds=3)).timestamp()
    logger.handle(record)
    qtbot.waitUntil(lambda: len(shown(w.alerts)) == 4, timeout=3000)
    before = shown(w.alerts)
    assert before[1:] == [
        (ist(at + timedelta(seconds=2)), "WARNING", "risk", "Daily loss at 3%"),
        (ist(at + timedelta(seconds=1)), "ERROR", "oms", "Rejected #2: margin"),
        (ist(at), "INFO", "ticket", "Sent BUY 10 RELIANCE #1"),
    ]
    assert before[0] == (
        ist(at + timedelta(seconds=3)),
        "WARNING",
        "order_sync",
        "broker slow to answer",
    )
    run_async(qtbot, app.stop())

    again = make_app(tmp_path)  # a new Application on the same data directory
    assert shown(again.window.alerts) == before
    # a new alert goes on top of the restored ones and is saved too
    again.window.alerts.add("info", "after the restart", "window", at=at + timedelta(hours=1))
    assert shown(again.window.alerts)[0][3] == "after the restart"
    again.window.alerts.flush()
    assert again.db.alerts.count() == 5


def test_earlier_days_are_not_shown_and_old_ones_are_pruned(qtbot, make_app, tmp_path, on_day):
    app = make_app(tmp_path, show=False)
    app.db.alerts.append(
        [
            AlertRecord(MIDNIGHT - timedelta(days=RETENTION_DAYS + 1), "info", "app", "long ago"),
            AlertRecord(MIDNIGHT - timedelta(seconds=1), "error", "app", "yesterday 23:59:59"),
            AlertRecord(MIDNIGHT, "info", "app", "today 00:00:00"),
            AlertRecord(MIDNIGHT + timedelta(days=1), "info", "app", "tomorrow"),
        ]
    )
    run_async(qtbot, app.stop())
    again = make_app(tmp_path, show=False)
    assert [row[3] for row in shown(again.window.alerts)] == ["today 00:00:00"]
    assert shown(again.window.alerts)[0][0] == "00:00:00"
    # yesterday's is kept in the journal (within RETENTION_DAYS); the older one is gone
    remaining = again.db.alerts.between(MIDNIGHT - timedelta(days=60), MIDNIGHT + timedelta(2))
    assert [r.message for r in remaining] == ["yesterday 23:59:59", "today 00:00:00", "tomorrow"]


class FlakyLog:
    """An AlertLog double: records each append; raises while `broken`."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.broken = False
        self.closed = False

    def append(self, rows) -> int:
        if self.broken:
            raise DatabaseError("the disk is full")
        self.batches.append(list(rows))
        return len(rows)

    def prune(self, today_start) -> int:
        return 0

    def between(self, since, until, *, limit=None) -> list:
        return []

    @property
    def stored(self) -> list[str]:
        return [a.message for batch in self.batches for a in batch]


def test_saving_never_fails_or_holds_up_the_action(qtbot, on_day):
    panel = AlertsPanel()
    qtbot.addWidget(panel)
    store = FlakyLog()
    panel.persist_to(store)
    journal = panel.journal
    assert isinstance(journal, AlertJournal)

    # add() never touches the store: it is written after the panel's own batching
    panel.add("info", "one", "test")
    assert store.batches == []
    qtbot.waitUntil(lambda: store.stored == ["one"], timeout=2000)

    # a full disk: the alert is shown all the same, the action is not failed, and the
    # panel says once that alerts are not being saved
    store.broken = True
    panel.add("error", "two", "test")
    panel.add("error", "three", "test")
    panel.model.flush()
    panel.add("error", "four", "test")
    panel.model.flush()
    warning = "Alerts are not being saved (the disk is full); they are still shown"
    assert [row[3] for row in shown(panel)] == ["four", warning, "three", "two", "one"]
    assert journal.failing and journal.pending() == 4 and store.stored == ["one"]

    # the disk recovers: everything queued is saved in order, and the panel says so
    store.broken = False
    panel.add("info", "five", "test")
    panel.flush()
    again = "Alerts are being saved again"
    assert [row[3] for row in shown(panel)][:2] == [again, "five"]
    panel.flush()
    assert store.stored == ["one", "two", "three", warning, "four", "five", again]
    assert not journal.failing and journal.pending() == 0


def test_a_flood_is_written_a_chunk_per_loop_turn(qtbot, on_day):
    panel = AlertsPanel(capacity=5000)
    qtbot.addWidget(panel)
    store = FlakyLog()
    panel.persist_to(store)
    for i in range(1000):
        panel.add("warning", f"flood {i}", "test")
    assert store.batches == []
    panel.model.flush()  # the panel's batch: one chunk now, the rest on later turns
    assert len(store.batches) == 1 and len(store.batches[0]) == AlertJournal.CHUNK
    qtbot.waitUntil(lambda: panel.journal.pending() == 0, timeout=3000)
    assert max(len(b) for b in store.batches) <= AlertJournal.CHUNK
    assert store.stored == [f"flood {i}" for i in range(1000)]


def test_nothing_is_written_once_the_database_closed(qtbot, on_day):
    panel = AlertsPanel()
    qtbot.addWidget(panel)
    store = FlakyLog()
    panel.persist_to(store)
    store.closed = True
    panel.add("info", "at shutdown", "test")
    panel.flush()
    assert store.batches == [] and panel.journal.pending() == 0
    assert [row[3] for row in shown(panel)] == ["at shutdown"]
