"""Dark theme for a full trading day: soft dark greys (not black), muted green/red.

Named colours are the single source of truth for buy/profit (green), sell/loss (red),
order status colours and the amber warning, so every widget agrees.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from desktop_oms.domain import OrderSide, OrderStatus

# Surfaces
WINDOW = "#23272e"
BASE = "#1c1f24"
ALT_BASE = "#22262c"
SURFACE = "#2b3038"
BORDER = "#3a404a"
TEXT = "#d6dae0"
TEXT_DIM = "#8b939e"
DISABLED = "#5f6670"
HIGHLIGHT = "#2f5e8c"
LINK = "#6cb0f0"

# Meaning
BUY = "#4fc48c"  # text/line green on dark
PROFIT = BUY
SELL = "#ef6f6c"  # text/line red on dark
LOSS = SELL
BUY_BUTTON = "#1f7a4b"  # fills behind white text (contrast >= 4.5)
BUY_BUTTON_HOVER = "#268f59"
SELL_BUTTON = "#a83434"
SELL_BUTTON_HOVER = "#c03d3d"
AMBER = "#e3a53c"
WARNING = AMBER
ERROR = SELL
INFO = TEXT
KILL = "#c62828"
KILL_DARK = "#5c1a1a"
NEUTRAL = TEXT

STATUS_COLOURS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "#a3abb6",
    OrderStatus.SUBMITTED: "#9fc1e6",
    OrderStatus.OPEN: "#6cb0f0",
    OrderStatus.TRIGGER_PENDING: "#c59df2",
    OrderStatus.PARTIALLY_FILLED: "#e2c15e",
    OrderStatus.FILLED: PROFIT,
    OrderStatus.CANCELLED: "#7c848e",
    OrderStatus.REJECTED: LOSS,
}

_QCOLORS: dict[str, QColor] = {}


def qcolor(hex_or_name: str) -> QColor:
    """Cached QColor (models return these for ForegroundRole on every paint)."""
    colour = _QCOLORS.get(hex_or_name)
    if colour is None:
        colour = _QCOLORS[hex_or_name] = QColor(hex_or_name)
    return colour


def side_colour(side: OrderSide | str | None) -> QColor | None:
    if side is None:
        return None
    value = getattr(side, "value", side)
    return qcolor(BUY if value == "BUY" else SELL)


def pnl_colour(value: Decimal | float | int | None) -> QColor | None:
    """Green above zero, red below, default text colour at zero/None."""
    if value is None or value == 0:
        return None
    return qcolor(PROFIT if value > 0 else LOSS)


def status_colour(status: OrderStatus | None) -> QColor | None:
    if status is None:
        return None
    return qcolor(STATUS_COLOURS.get(status, TEXT))


def dark_palette() -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    pairs = {
        role.Window: WINDOW,
        role.WindowText: TEXT,
        role.Base: BASE,
        role.AlternateBase: ALT_BASE,
        role.ToolTipBase: SURFACE,
        role.ToolTipText: TEXT,
        role.PlaceholderText: TEXT_DIM,
        role.Text: TEXT,
        role.Button: SURFACE,
        role.ButtonText: TEXT,
        role.BrightText: "#ffffff",
        role.Highlight: HIGHLIGHT,
        role.HighlightedText: "#ffffff",
        role.Link: LINK,
        role.Light: "#3d434d",
        role.Midlight: "#343a43",
        role.Mid: "#2c3139",
        role.Dark: "#16181c",
        role.Shadow: "#0e0f12",
    }
    for r, colour in pairs.items():
        pal.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        pal.setColor(group.Disabled, r, QColor(DISABLED))
    pal.setColor(group.Disabled, role.Base, QColor(WINDOW))
    pal.setColor(group.Disabled, role.Button, QColor("#262a31"))
    return pal


STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background: {SURFACE}; border: 1px solid {BORDER}; }}
QTableView {{ gridline-color: {BORDER}; selection-background-color: {HIGHLIGHT}; }}
QHeaderView::section {{ background: {SURFACE}; color: {TEXT}; border: 0;
    border-right: 1px solid {BORDER}; border-bottom: 1px solid {BORDER}; padding: 3px 6px; }}
QLineEdit[invalid="true"], QAbstractSpinBox[invalid="true"], QComboBox[invalid="true"] {{
    border: 2px solid {LOSS}; border-radius: 3px; }}
QDockWidget::title {{ background: {SURFACE}; padding: 4px; }}
QStatusBar {{ color: {TEXT_DIM}; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style, the dark palette and a small stylesheet, application-wide."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)


def repolish(widget) -> None:
    """Re-apply style after a dynamic property (e.g. invalid) changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def set_invalid(widget, invalid: bool, reason: str | None = None) -> None:
    """Mark a field as offending (red border via the `invalid` property) with a tooltip."""
    if bool(widget.property("invalid")) == invalid and not reason:
        return
    widget.setProperty("invalid", invalid)
    widget.setToolTip(reason or "")
    repolish(widget)
