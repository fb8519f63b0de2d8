"""The status bar: broker + connection, market data age, last reconciliation, data file.

Pure display: the window feeds it (`set_broker`, `set_market_data`, `set_reconciliation`,
`set_data_file`) from a 0.5 s timer and from events. Each part is a QLabel with an
objectName and a `level` property (ok | warn | error) that colours it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

STALE_AFTER_S = 5.0

_QSS = f"""
QLabel[statusPart="true"] {{ padding: 1px 8px; color: {theme.TEXT_DIM}; }}
QLabel[statusPart="true"][level="ok"] {{ color: {theme.TEXT}; }}
QLabel[statusPart="true"][level="good"] {{ color: {theme.PROFIT}; }}
QLabel[statusPart="true"][level="warn"] {{ color: #1c1f24; background: {theme.AMBER};
    border-radius: 3px; }}
QLabel[statusPart="true"][level="error"] {{ color: #ffffff; background: {theme.KILL};
    border-radius: 3px; }}
"""


def _part(name: str, parent: QWidget) -> QLabel:
    label = QLabel("", parent)
    label.setObjectName(name)
    label.setProperty("statusPart", True)
    label.setProperty("level", "ok")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _set(label: QLabel, text: str, level: str, tip: str | None = None) -> None:
    if label.text() != text:
        label.setText(text)
    if tip is not None and label.toolTip() != tip:
        label.setToolTip(tip)
    if label.property("level") != level:
        label.setProperty("level", level)
        theme.repolish(label)


class OmsStatusBar(QStatusBar):
    """objectName "statusBar"; parts "statusBroker", "statusMarketData",
    "statusReconciliation", "statusDataFile", "statusTrading" and "statusSession" (shown
    only while a broker session has expired)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setStyleSheet(_QSS)
        self.setSizeGripEnabled(True)
        self.broker = _part("statusBroker", self)
        self.market_data = _part("statusMarketData", self)
        self.reconciliation = _part("statusReconciliation", self)
        self.data_file = _part("statusDataFile", self)
        self.trading = _part("statusTrading", self)
        self.session = _part("statusSession", self)  # "Kite session expired — log in"
        self.session.hide()
        for label in (
            self.session,
            self.trading,
            self.broker,
            self.market_data,
            self.reconciliation,
        ):
            self.addPermanentWidget(label)
        self.addPermanentWidget(self.data_file)
        self._data_path: str = ""

    # ---- parts -------------------------------------------------------------------

    def set_broker(self, name: str, state: str, detail: str | None = None) -> None:
        """e.g. ("paper", "connected"); state connected | connecting | reconnecting | ..."""
        level = {
            "connected": "ok",
            "connecting": "warn",
            "reconnecting": "warn",
            "idle": "warn",
            "stopped": "error",
            "expired": "error",
            "session expired": "error",
        }.get(state, "warn")
        text = f"{name} \u00b7 {state}"
        _set(
            self.broker, text, level, f"Broker: {name}, {state}" + (f"\n{detail}" if detail else "")
        )

    def show_broker(self, text: str, level: str, tip: str) -> None:
        """The broker part as ui.broker_status words it (e.g. "broker reconnecting", warn)."""
        _set(self.broker, text, level, tip)

    def set_session_expired(self, expired: bool, detail: str | None = None) -> None:
        """A red "Kite session expired — log in" part while the broker's session is dead."""
        if expired:
            _set(
                self.session,
                "Kite session expired \u2014 log in",
                "error",
                "New orders are halted until you log in to Kite again"
                + (f" ({detail})" if detail else "")
                + ". The login window opens by itself.",
            )
        if self.session.isHidden() == expired:
            self.session.setVisible(expired)

    def set_market_data(self, age_s: float | None, ticks: int | None = None) -> None:
        """Seconds since the last tick (None: no tick yet); stale (amber) after 5 s."""
        if age_s is None:
            _set(self.market_data, "market data: none yet", "warn", "No tick received yet")
            return
        tip = "Time since the last tick" + (f" ({ticks:,} ticks so far)" if ticks else "")
        if age_s > STALE_AFTER_S:
            _set(self.market_data, f"market data stale {_age(age_s)}", "warn", tip)
        else:
            _set(self.market_data, f"market data live \u00b7 {_age(age_s)}", "ok", tip)

    def set_reconciliation(
        self,
        at: datetime | None,
        mismatches: int | None,
        *,
        ok: bool = True,
        error: str | None = None,
    ) -> None:
        if not ok:
            when = fmt.ist_time(at) if at else ""
            _set(
                self.reconciliation,
                f"reconciliation FAILED {when}".strip(),
                "error",
                f"Reconciliation with the broker failed: {error or 'unknown error'}",
            )
            return
        if at is None:
            _set(
                self.reconciliation,
                "not reconciled yet",
                "warn",
                "Waiting for the first reconciliation with the broker",
            )
            return
        count = mismatches or 0
        text = f"reconciled {fmt.ist_time(at)} \u2014 {count} mismatch{'es' if count != 1 else ''}"
        _set(
            self.reconciliation,
            text,
            "warn" if count else "ok",
            f"Last reconciliation with the broker: {fmt.ist_datetime(at)}; "
            f"{count} mismatch{'es' if count != 1 else ''} fixed by trusting the broker",
        )

    def set_trading(self, enabled: bool, reason: str = "") -> None:
        if enabled:
            _set(self.trading, "TRADING", "good", "Orders can be sent")
        else:
            short = "HALTED" if reason.lower().startswith(("kill", "trading")) else "ORDERS HELD"
            _set(self.trading, short, "error" if short == "HALTED" else "warn", reason)

    def set_data_file(self, path: Path | str) -> None:
        self._data_path = str(path)
        self._elide_data_file()

    def _elide_data_file(self) -> None:
        if not self._data_path:
            return
        metrics = self.data_file.fontMetrics()
        text = metrics.elidedText(f"data {self._data_path}", Qt.TextElideMode.ElideMiddle, 340)
        _set(self.data_file, text, "ok", f"Database in use: {self._data_path}")


def _age(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"
