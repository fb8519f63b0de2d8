"""The day review (dock "dayReview"): the trades of a date range as round trips, grouped by
setup, with the same numbers as `desktop-oms export review`.

Per setup (and ALL): trades, win rate, average win / loss, gross, charges, net, largest
loss, how many had a stop-loss; then every round trip. Dates are IST trading days (from /
to, both included; today by default). Export CSV (UTF-8 with BOM) and an HTML report
with the PnL chart are written by the `reports` it is given (the application's exports,
the same files as the command line), through a save dialog opened with open().
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain.review import RoundTrip, SetupStats, round_trips, setup_statistics
from desktop_oms.infra.clock import day_bounds, trading_day
from desktop_oms.ui.common import KeyedTableModel, ReviewReports, make_table, size_columns, theme
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.review.columns import SETUP_COLUMNS, percent_text, trip_columns

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 1000  # after fills, while the panel is shown: at most once a second


def ist_today() -> date:
    return trading_day()


class ReviewPanel(QWidget):
    """objectName "reviewPanel": dates "reviewFrom" / "reviewTo", "reviewRefresh",
    "reviewExportCsv", "reviewExportHtml", tables "reviewSetups" and "reviewTrips",
    "reviewSummary".

    `fills(since, until)` -> ReviewFill list (Reporting.review_fills); `snapshots(since,
    until)` -> PnL snapshots for the HTML report's chart; `reports` writes the exports
    (`write_review_csv`, `write_review_html`: the application's exports)."""

    exported = Signal(str, str)  # (level, message) for the alerts panel

    def __init__(
        self,
        fills: Callable[[datetime, datetime], list],
        snapshots: Callable[[datetime, datetime], list],
        reports: ReviewReports,
        parent: QWidget | None = None,
        *,
        today: Callable[[], date] = ist_today,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self._fills = fills
        self._snapshots = snapshots
        self._reports = reports
        self._today = today
        self.stats: list[SetupStats] = []
        self.trips: list[RoundTrip] = []
        self.file_dialog: QFileDialog | None = None
        self._range: tuple[date, date] | None = None

        day = today()
        self.from_date = self._date_edit("reviewFrom", day)
        self.to_date = self._date_edit("reviewTo", day)
        self.today_button = QPushButton("Today")
        self.today_button.setObjectName("reviewToday")
        self.today_button.setAutoDefault(False)
        self.today_button.clicked.connect(self.show_today)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("reviewRefresh")
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        self.csv_button = QPushButton("Export CSV\u2026")
        self.csv_button.setObjectName("reviewExportCsv")
        self.csv_button.setToolTip("The review as CSV (UTF-8, opens in Excel with \u20b9)")
        self.csv_button.clicked.connect(self.ask_export_csv)
        self.html_button = QPushButton("Export report (HTML)\u2026")
        self.html_button.setObjectName("reviewExportHtml")
        self.html_button.setToolTip("A report with the PnL chart, by setup and every round trip")
        self.html_button.clicked.connect(self.ask_export_html)
        for button in (self.csv_button, self.html_button):
            button.setAutoDefault(False)
        self.summary = QLabel("")
        self.summary.setObjectName("reviewSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLabel("")
        self.note.setObjectName("reviewNote")
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.note.setWordWrap(True)

        self.setups_model = KeyedTableModel(SETUP_COLUMNS, lambda s: s.setup, parent=self)
        self.setups_view = make_table("reviewSetups", self.setups_model, self)
        self.setups_view.setSortingEnabled(False)  # alphabetical, ALL last
        self.setups_view.horizontalHeader().setSortIndicatorShown(False)
        self.setups_model.sort(-1)
        size_columns(
            self.setups_view,
            {
                "setup": 14,
                "trades": 6,
                "win_rate": 8,
                "average_win": 10,
                "average_loss": 10,
                "gross": 11,
                "charges": 9,
                "net": 11,
                "largest_loss": 11,
                "with_stop_loss": 8,
            },
        )
        self.trips_model = KeyedTableModel(
            trip_columns(self._multi_day), lambda r: r[0], parent=self
        )
        self.trips_view = make_table("reviewTrips", self.trips_model, self)
        self.trips_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # by time opened
        size_columns(
            self.trips_view,
            {
                "opened": 9,
                "closed": 9,
                "symbol": 10,
                "direction": 5,
                "setup": 12,
                "quantity": 6,
                "gross": 10,
                "charges": 8,
                "net": 10,
                "stop_loss": 8,
            },
        )

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(QLabel("From"))
        bar.addWidget(self.from_date)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.to_date)
        bar.addWidget(self.today_button)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.html_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setObjectName("reviewSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(self.setups_view)
        split.addWidget(self.trips_view)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        summary_row = QHBoxLayout()
        summary_row.setContentsMargins(6, 0, 6, 0)
        summary_row.addWidget(self.summary, 1)
        layout.addLayout(summary_row)
        layout.addWidget(split, 1)
        layout.addWidget(self.note)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.from_date.dateChanged.connect(self._dates_changed)
        self.to_date.dateChanged.connect(self._dates_changed)

    def _date_edit(self, name: str, day: date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("dd MMM yyyy")
        edit.setToolTip("Trading days in IST (both included)")
        return edit

    # ---- period ---------------------------------------------------------------------

    def period(self) -> tuple[date, date]:
        return self.from_date.date().toPython(), self.to_date.date().toPython()

    def set_period(self, start: date, end: date) -> None:
        for edit, day in ((self.from_date, start), (self.to_date, end)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)
        self.refresh()

    def show_today(self) -> None:
        day = self._today()
        self.set_period(day, day)

    def _multi_day(self) -> bool:
        return self._range is not None and self._range[0] != self._range[1]

    def period_text(self) -> str:
        start, end = self._range or self.period()
        return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"

    def _dates_changed(self, *_args) -> None:
        start, end = self.period()
        if end < start:  # keep the range valid: the other end follows
            other = self.to_date if self.sender() is self.from_date else self.from_date
            other.blockSignals(True)
            day = start if other is self.to_date else end
            other.setDate(QDate(day.year, day.month, day.day))
            other.blockSignals(False)
        self.refresh()

    # ---- computing --------------------------------------------------------------------

    def schedule_refresh(self) -> None:
        """After new fills: refresh soon (coalesced), if the panel is on screen and shows
        today."""
        if not self.isVisible():
            return
        start, end = self.period()
        if start <= self._today() <= end and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> bool:
        self._refresh_timer.stop()
        start, end = self.period()
        try:
            since, until = day_bounds(start, end)
            fills = self._fills(since, until)
            trips = round_trips(list(fills))
            stats = setup_statistics(trips)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, the old numbers kept
            log.exception("day review failed")
            self.summary.setText(
                f"<span style='color:{theme.LOSS}'>Could not compute the review: "
                f"{type(exc).__name__}: {exc}</span>"
            )
            return False
        self._range = (start, end)
        self.trips = trips
        self.stats = stats
        self.setups_model.reset(stats)
        self.trips_model.reset(list(enumerate(trips)))
        self._show_summary()
        return True

    def _show_summary(self) -> None:
        total = next((s for s in self.stats if s.setup == "ALL"), None)
        open_trips = sum(1 for t in self.trips if not t.is_closed)
        period = self.period_text()
        if total is None:
            text = f"{period}: no closed trades"
        else:
            colour = (
                theme.PROFIT
                if total.net_pnl > 0
                else theme.LOSS
                if total.net_pnl < 0
                else theme.TEXT
            )
            text = (
                f"{period}: {total.trades} closed trade{'s' if total.trades != 1 else ''}, "
                f"{percent_text(total.win_rate)} won, net "
                f"<span style='color:{colour}; font-weight:bold'>{fmt.rupees(total.net_pnl)}</span>"
                f" (gross {fmt.rupees(total.gross_pnl)}, charges {fmt.rupees(total.charges)}), "
                f"{total.with_stop_loss} of {total.trades} with a stop-loss"
            )
        if open_trips:
            text += f"; {open_trips} still open (not counted)"
        self.summary.setText(text)
        no_charges = bool(self.trips) and all(not t.charges for t in self.trips)
        self.note.setText(
            "Charges are not recorded per trade for this period: net equals gross here."
            if no_charges
            else ""
        )
        self.note.setVisible(no_charges)

    # ---- exports --------------------------------------------------------------------

    def export_csv(self, path: str | Path) -> int:
        """The review as shown, to CSV (per setup, a blank line, the round trips)."""
        return self._reports.write_review_csv(Path(path), self.stats, self.trips)

    def export_html(self, path: str | Path) -> int:
        start, end = self._range or self.period()
        since, until = day_bounds(start, end)
        points = [p for p in self._snapshots(since, until) if since <= p.at < until]
        return self._reports.write_review_html(
            Path(path), f"Desktop OMS review, {self.period_text()}", self.stats, self.trips, points
        )

    def ask_export_csv(self) -> QFileDialog:
        return self._ask("csv", "Export the review to CSV", "CSV files (*.csv)", self.export_csv)

    def ask_export_html(self) -> QFileDialog:
        return self._ask(
            "html", "Export the review report", "HTML files (*.html *.htm)", self.export_html
        )

    def _ask(self, suffix: str, title: str, name_filter: str, export) -> QFileDialog:
        if self.file_dialog is not None:
            self.file_dialog.close()
        start, end = self._range or self.period()
        stem = f"review-{start.isoformat()}" + ("" if start == end else f"-to-{end.isoformat()}")
        folder = Path.home() / "Documents"
        if not folder.is_dir():
            folder = Path.home()
        dialog = QFileDialog(self, title, str(folder / f"{stem}.{suffix}"))
        dialog.setObjectName("reviewExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(name_filter)
        dialog.setDefaultSuffix(suffix)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.run_export(export, path))
        dialog.finished.connect(lambda _r: setattr(self, "file_dialog", None))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def run_export(self, export: Callable[[str | Path], int], path: str | Path) -> int:
        """Run an export and report it (the alerts panel listens to `exported`)."""
        try:
            count = export(path)
        except (OSError, ValueError) as exc:
            self.exported.emit("error", f"Could not export the review to {path}: {exc}")
            return -1
        self.exported.emit(
            "info", f"Exported the review ({count} round trip{'s' if count != 1 else ''}) to {path}"
        )
        return count
