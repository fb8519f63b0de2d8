"""The day's risk at a glance, in the top strip next to the kill switch.

    Net +1,199.00    Realized +800.00     Charges 35.00     [ loss 12% of ₹60,000 ]
    Gross +1,234.00  Unrealized +434.00   Drawdown 500.00   Open positions 2

All of it is today's (the risk monitor's day ledger: realized and unrealized change since
the day began, charges of today's trades), so the numbers agree with each other and with
the daily loss limit. It takes the place of the window's older one-line P&L summary
(`pnlSummary`, which summed the positions grid and is hidden by RiskGui).

Fed by RiskUpdated events (`show(snapshot)` only stores the newest snapshot; a short
single-shot timer draws it, so a burst of price marks costs one repaint). The loss bar is
how much of the daily loss limit today's net loss uses: plain below the warning level,
amber ("warn") from `warn_at_loss_pct`, red ("error") at the limit. The tooltip lists each
open position's exposure and risk to its stop.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from desktop_oms.domain.money import ZERO
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme

REDRAW_MS = 120

_QSS = f"""
QWidget#riskPanel QLabel {{ font-size: 13px; }}
QProgressBar#riskLossUsed {{ border: 1px solid {theme.BORDER}; border-radius: 3px;
    background: {theme.BASE}; color: {theme.TEXT}; text-align: center; font-size: 12px; }}
QProgressBar#riskLossUsed::chunk {{ background: #3d6e58; border-radius: 2px; }}
QProgressBar#riskLossUsed[level="warn"] {{ border-color: {theme.AMBER}; }}
QProgressBar#riskLossUsed[level="warn"]::chunk {{ background: {theme.AMBER}; }}
QProgressBar#riskLossUsed[level="warn"][fill="high"] {{ color: #1c1f24; }}
QProgressBar#riskLossUsed[level="error"] {{ border-color: {theme.KILL}; color: #ffffff; }}
QProgressBar#riskLossUsed[level="error"]::chunk {{ background: {theme.KILL}; }}
"""


def loss_level(snapshot) -> str:
    """ok | warn (from the warning level) | error (at the daily loss limit)."""
    loss = -snapshot.net
    if snapshot.loss_limit > 0 and loss >= snapshot.loss_limit:
        return "error"
    if snapshot.loss_warning > 0 and loss >= snapshot.loss_warning:
        return "warn"
    return "ok"


def _pct(value: Decimal) -> str:
    if value >= 10 or value == value.to_integral_value():
        return f"{value:.0f}%"
    return f"{value:.1f}%"


def _money_html(label: str, value: Decimal, *, signed: bool = True, bold: bool = False) -> str:
    colour = (
        theme.PROFIT if signed and value > 0 else theme.LOSS if signed and value < 0 else theme.TEXT
    )
    text = fmt.signed_money(value) if signed else fmt.money(value)
    weight = " font-weight: bold;" if bold else ""
    return (
        f"<span style='color:{theme.TEXT_DIM}'>{label}</span> "
        f"<span style='color:{colour};{weight}'>{text}</span>"
    )


class RiskPanel(QWidget):
    """objectName "riskPanel": "riskNet", "riskGross", "riskRealized", "riskUnrealized",
    "riskCharges", "riskDrawdown", the "riskLossUsed" bar (property level ok | warn |
    error) and "riskOpen"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskPanel")
        self.setStyleSheet(_QSS)
        self.snapshot = None
        self._pending = None
        # two rows, to stay narrow in the strip:
        #   Net +1,199.00    Realized +800.00     Charges 35.00     [ loss 12% of ₹60,000 ]
        #   Gross +1,234.00  Unrealized +434.00   Drawdown 500.00   Open 2
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(0)

        def label(name: str, row: int, col: int) -> QLabel:
            lab = QLabel("", self)
            lab.setObjectName(name)
            lab.setTextFormat(Qt.TextFormat.RichText)
            grid.addWidget(lab, row, col)
            return lab

        self.net_label = label("riskNet", 0, 0)
        self.gross_label = label("riskGross", 1, 0)
        self.realized_label = label("riskRealized", 0, 1)
        self.unrealized_label = label("riskUnrealized", 1, 1)
        self.charges_label = label("riskCharges", 0, 2)
        self.drawdown_label = label("riskDrawdown", 1, 2)
        self.loss_bar = QProgressBar(self)
        self.loss_bar.setObjectName("riskLossUsed")
        self.loss_bar.setRange(0, 1000)  # tenths of a percent
        self.loss_bar.setProperty("level", "ok")
        self.loss_bar.setFixedWidth(
            self.loss_bar.fontMetrics().horizontalAdvance("loss 100% of \u20b988,88,888") + 24
        )
        self.loss_bar.setFixedHeight(self.fontMetrics().height() + 2)
        self.loss_bar.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        grid.addWidget(self.loss_bar, 0, 3)
        self.open_label = label("riskOpen", 1, 3)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)
        self._draw(None)

    # ---- feeding -------------------------------------------------------------------

    def show_snapshot(self, snapshot) -> None:
        """Cheap at any rate: the newest snapshot is drawn at the next redraw tick."""
        self._pending = snapshot
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Draw the newest snapshot now (the timer, tests, a screenshot)."""
        self._timer.stop()
        if self._pending is None:
            return
        snapshot, self._pending = self._pending, None
        self._draw(snapshot)

    @property
    def level(self) -> str:
        return str(self.loss_bar.property("level"))

    def loss_text(self) -> str:
        return self.loss_bar.format()

    # ---- drawing -------------------------------------------------------------------

    def _draw(self, snapshot) -> None:
        self.snapshot = snapshot
        if snapshot is None:
            gross = net = charges = drawdown = realized = unrealized = ZERO
            used = ZERO
            limit = None
            level = "ok"
            open_count = 0
        else:
            gross, net, charges = snapshot.gross, snapshot.net, snapshot.charges
            realized, unrealized = snapshot.realized, snapshot.unrealized
            drawdown = max(snapshot.drawdown, ZERO)
            used = snapshot.loss_used_pct
            limit = snapshot.loss_limit
            level = loss_level(snapshot)
            open_count = len(snapshot.positions or ())
        self.net_label.setText(_money_html("Net", net, bold=True))
        self.gross_label.setText(_money_html("Gross", gross))
        self.realized_label.setText(_money_html("Realized", realized))
        self.unrealized_label.setText(_money_html("Unrealized", unrealized))
        self.charges_label.setText(_money_html("Charges", charges, signed=False))
        self.open_label.setText(
            f"<span style='color:{theme.TEXT_DIM}'>Open positions</span> {open_count}"
        )
        dd_colour = theme.LOSS if drawdown > 0 else theme.TEXT
        self.drawdown_label.setText(
            f"<span style='color:{theme.TEXT_DIM}'>Drawdown</span> "
            f"<span style='color:{dd_colour}'>{fmt.money(drawdown)}</span>"
        )
        value = int(min(used, Decimal(100)) * 10)
        self.loss_bar.setValue(value)
        fill = "high" if value >= 500 else "low"  # the centred text sits on the chunk or not
        if self.loss_bar.property("fill") != fill:
            self.loss_bar.setProperty("fill", fill)
            theme.repolish(self.loss_bar)
        limit_text = f" of {fmt.rupees(limit, 0)}" if limit is not None else ""
        self.loss_bar.setFormat(f"loss {_pct(used)}{limit_text}")
        if self.loss_bar.property("level") != level:
            self.loss_bar.setProperty("level", level)
            theme.repolish(self.loss_bar)
        self._tooltips(snapshot, level)

    def _tooltips(self, snapshot, level: str) -> None:
        if snapshot is None:
            self.setToolTip("Today's risk: waiting for the first update")
            return
        lines = [
            f"Today, gross {fmt.rupees(snapshot.gross)} (realized {fmt.rupees(snapshot.realized)}, "
            f"unrealized {fmt.rupees(snapshot.unrealized)}); charges {fmt.rupees(snapshot.charges)}; "
            f"net {fmt.rupees(snapshot.net)}",
            f"Daily loss limit {fmt.rupees(snapshot.loss_limit, 0)} (net of charges); "
            f"warning at {fmt.rupees(snapshot.loss_warning, 0)}",
            f"Peak today {fmt.rupees(snapshot.peak)}; drawdown from it "
            f"{fmt.rupees(max(snapshot.drawdown, ZERO))}",
        ]
        if level == "error":
            lines.append("The daily loss limit is reached: only reducing orders pass.")
        elif level == "warn":
            lines.append("The day's loss has reached the warning level.")
        positions = snapshot.positions or ()
        if positions:
            lines.append("")
            lines.append("Open positions:")
            for p in positions[:12]:
                stop = (
                    f"stop {fmt.price(p.stop)}, risk to stop {fmt.rupees(p.risk_to_stop, 0)}"
                    if p.stop is not None and p.risk_to_stop is not None
                    else "no working stop"
                )
                qty = ("+" if p.quantity > 0 else "") + fmt.quantity(p.quantity)
                lines.append(
                    f"  {p.symbol} {p.product.value} {qty}: exposure "
                    f"{fmt.rupees(p.exposure, 0)}, net {fmt.rupees(p.net_pnl)}, {stop}"
                )
            if len(positions) > 12:
                lines.append(f"  \u2026 and {len(positions) - 12} more")
        tip = "\n".join(lines)
        self.setToolTip(tip)
        self.loss_bar.setToolTip(tip)
