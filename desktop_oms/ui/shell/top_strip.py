"""The strip across the top of the window: the kill switch, the day's P&L and the key hints.

A toolbar ("killSwitchBar") that cannot be moved, floated or hidden: the kill switch is
always one press away. `TopStrip` builds it and keeps its parts; the window adds `bar`. Features add their own read-outs beside the kill switch
(`add_beside_kill_switch`: the risk panel).
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QSizePolicy, QToolBar, QWidget

from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme
from desktop_oms.ui.positions import PositionTotals

KEY_HINTS = (
    "F1 / B buy \u00b7 F2 / S sell \u00b7 Enter send \u00b7 Esc clear \u00b7 Del cancel order"
)


class ElidedLabel(QLabel):
    """A one-line label that never widens its window: on less room than its text it shows
    the text elided ("F1 / B buy \u00b7 F2 / S\u2026"), the whole of it in its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def full_text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        room = self.contentsRect().width()
        if metrics.horizontalAdvance(self._full) <= room:
            shown = self._full
        else:
            shown = metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        self.setToolTip(self._full if shown != self._full else "")
        super().setText(shown)


class TopStrip:
    """The toolbar "killSwitchBar" (`bar`, a plain QToolBar) holding the strip "topStrip":
    the kill switch button, the P&L summary "pnlSummary" and the key hints "keyHints"."""

    def __init__(self, kill_button: QWidget, parent: QWidget | None = None) -> None:
        bar = QToolBar("Kill switch", parent)
        bar.setObjectName("killSwitchBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setAllowedAreas(Qt.ToolBarArea.TopToolBarArea)
        bar.toggleViewAction().setVisible(False)  # never offered for hiding
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.bar = bar
        self.kill_button = kill_button
        strip = QWidget(bar)
        strip.setObjectName("topStrip")
        row = QHBoxLayout(strip)
        row.setContentsMargins(6, 4, 6, 4)
        row.setSpacing(16)
        row.addWidget(kill_button)
        self.pnl_summary = QLabel("", strip)
        self.pnl_summary.setObjectName("pnlSummary")
        self.pnl_summary.setTextFormat(Qt.TextFormat.RichText)
        self.pnl_summary.setStyleSheet("font-size: 13px;")
        row.addWidget(self.pnl_summary)
        self.hint = ElidedLabel(KEY_HINTS, strip)
        self.hint.setObjectName("keyHints")
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.hint, 1)  # the rest of the strip; it gives way on a narrow window
        strip.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(strip)
        self.strip = strip
        self._row: QBoxLayout = row
        self.show_totals(PositionTotals())

    def add_beside_kill_switch(self, widget: QWidget) -> None:
        """A read-out right of the kill switch (the strip is always shown)."""
        index = self._row.indexOf(self.kill_button)
        self._row.insertWidget(index + 1 if index >= 0 else 1, widget)

    def show_totals(self, totals: PositionTotals) -> None:
        """The one-line P&L summary (the positions grid's totals)."""

        def money(label: str, value: Decimal, big: bool = False) -> str:
            colour = theme.PROFIT if value > 0 else theme.LOSS if value < 0 else theme.TEXT
            weight = "font-weight: bold;" if big else ""
            return (
                f"<span style='color:{theme.TEXT_DIM}'>{label}</span> "
                f"<span style='color:{colour}; {weight}'>{fmt.signed_money(value)}</span>"
            )

        parts = [
            money("Day P&amp;L", totals.total, True),
            money("Realized", totals.realized),
            money("Unrealized", totals.unrealized),
            f"<span style='color:{theme.TEXT_DIM}'>Open</span> {totals.open_positions}",
        ]
        if totals.charges:
            parts.insert(1, money("Net", totals.net))
        self.pnl_summary.setText(" &nbsp;&nbsp; ".join(parts))
