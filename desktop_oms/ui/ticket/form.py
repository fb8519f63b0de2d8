"""The order ticket's widgets and layout (its behaviour is ticket.OrderTicket, a subclass)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import OrderSide, OrderType, Product, Validity
from desktop_oms.ui.common import PriceEdit, QuantitySpinBox, theme
from desktop_oms.ui.ticket.logic import TicketInput

EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "BCD")
ORDER_TYPES = (OrderType.MARKET, OrderType.LIMIT, OrderType.SL, OrderType.SL_M)
PRODUCTS = (Product.MIS, Product.CNC, Product.NRML)
VALIDITIES = (Validity.DAY, Validity.IOC)
NO_SETUP = "(no setup)"

_MESSAGE_COLOURS = {
    "info": theme.TEXT_DIM,
    "ok": theme.PROFIT,
    "warn": theme.AMBER,
    "error": theme.LOSS,
}


_TICKET_QSS = f"""
QLabel#ticketSide {{ font-weight: bold; padding: 3px 10px; border-radius: 3px; color: #ffffff; }}
QLabel#ticketSide[side="BUY"] {{ background: {theme.BUY_BUTTON}; }}
QLabel#ticketSide[side="SELL"] {{ background: {theme.SELL_BUTTON}; }}
QPushButton#buyButton, QPushButton#sellButton {{ color: #ffffff; font-weight: bold;
    border-radius: 4px; padding: 8px 6px; border: 2px solid transparent; }}
QPushButton#buyButton {{ background: {theme.BUY_BUTTON}; }}
QPushButton#buyButton:hover {{ background: {theme.BUY_BUTTON_HOVER}; }}
QPushButton#sellButton {{ background: {theme.SELL_BUTTON}; }}
QPushButton#sellButton:hover {{ background: {theme.SELL_BUTTON_HOVER}; }}
QPushButton#buyButton[current="true"], QPushButton#sellButton[current="true"] {{
    border: 2px solid #e8ecef; }}
QPushButton#buyButton:disabled {{ background: #2c4136; color: #7f958a; }}
QPushButton#sellButton:disabled {{ background: #4a2f2f; color: #9b8585; }}
QLineEdit[invalid="true"], QAbstractSpinBox[invalid="true"], QComboBox[invalid="true"] {{
    border: 2px solid {theme.LOSS}; border-radius: 3px; }}
QLabel[role="dim"] {{ color: {theme.TEXT_DIM}; }}
"""


class _WheelGuard(QObject):
    """Scrolling over an unfocused combo or spin box must not change the order."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            event.ignore()
            return True
        return False


class TicketForm(QWidget):
    """Builds the children with their contract object names; reads and marks them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orderTicket")
        self.setStyleSheet(_TICKET_QSS)
        self.setMinimumWidth(340)
        self._side = OrderSide.BUY
        self._message_kind = "info"
        self._message_source = "live"  # live | check | result
        self._build()

    def _build(self) -> None:
        def named(widget, name):
            widget.setObjectName(name)
            return widget

        self.side_label = named(QLabel("BUY"), "ticketSide")
        self.instrument_label = named(QLabel(""), "ticketInstrument")
        self.instrument_label.setProperty("role", "dim")
        self.exchange = named(QComboBox(), "ticketExchange")
        self.exchange.addItems(list(EXCHANGES))
        self.symbol = named(QLineEdit(), "ticketSymbol")
        self.symbol.setPlaceholderText("symbol")
        self.symbol.setMaxLength(40)
        self.quantity = named(QuantitySpinBox(), "ticketQuantity")
        self.quantity.clear()
        self.order_type = named(QComboBox(), "ticketOrderType")
        self.order_type.addItems([t.value for t in ORDER_TYPES])
        self.order_type.setCurrentText(OrderType.LIMIT.value)
        self.price = named(PriceEdit(placeholder="price"), "ticketPrice")
        self.trigger = named(PriceEdit(placeholder="trigger"), "ticketTriggerPrice")
        self.product = named(QComboBox(), "ticketProduct")
        self.product.addItems([p.value for p in PRODUCTS])
        self.validity = named(QComboBox(), "ticketValidity")
        self.validity.addItems([v.value for v in VALIDITIES])
        self.stop_loss = named(PriceEdit(placeholder="optional"), "ticketStopLoss")
        self.take_profit = named(PriceEdit(placeholder="optional"), "ticketTakeProfit")
        self.setup = named(QComboBox(), "ticketSetup")
        self.setup.addItem(NO_SETUP)  # index 0: no setup
        self.setup.setToolTip(
            "The setup this trade follows (for the day review); edit the list with "
            "Journal > Setups\u2026"
        )
        self.last_price_label = named(QLabel(), "ticketLastPrice")
        self.value_label = named(QLabel(), "ticketOrderValue")
        self.risk_label = named(QLabel(), "ticketRisk")
        self.rr_label = named(QLabel(), "ticketRewardRisk")
        for label in (self.last_price_label, self.value_label, self.risk_label, self.rr_label):
            label.setProperty("role", "metric")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The pre-flight: what the broker or the exchange would refuse this order for,
        # predicted as the trader types (OrderTicket._run_preflight), before sending.
        self.preflight_label = named(QLabel(""), "ticketPreflight")
        self.preflight_label.setWordWrap(True)
        self.preflight_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preflight_label.hide()
        self.buy_button = named(QPushButton("BUY  (F1)"), "buyButton")
        self.sell_button = named(QPushButton("SELL  (F2)"), "sellButton")
        for button in (self.buy_button, self.sell_button):
            button.setAutoDefault(False)
            button.setMinimumHeight(34)
        self.message = named(QLabel(""), "ticketMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() * 2 + 4)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # The last order that went out, kept in view when a later message (a duplicate
        # refused, a typing mistake) takes ticketMessage: the trader never loses sight of
        # what did go out. Hidden while ticketMessage itself shows it.
        self.sent_label = named(QLabel(""), "ticketLastSent")
        self.sent_label.setWordWrap(True)
        self.sent_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sent_label.setStyleSheet(f"color: {_MESSAGE_COLOURS['ok']};")
        self.sent_label.hide()
        self._last_sent = ""

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)

        def row(r, label1, w1, label2=None, w2=None):
            grid.addWidget(QLabel(label1), r, 0)
            grid.addWidget(w1, r, 1)
            if label2 is not None:
                grid.addWidget(QLabel(label2), r, 2)
                grid.addWidget(w2, r, 3)

        row(0, "Symbol", self.symbol, "Exch", self.exchange)
        row(1, "Qty", self.quantity, "Type", self.order_type)
        row(2, "Price", self.price, "Trigger", self.trigger)
        row(3, "Product", self.product, "Validity", self.validity)
        row(4, "Stop-loss", self.stop_loss, "Target", self.take_profit)
        grid.addWidget(QLabel("Setup"), 5, 0)
        grid.addWidget(self.setup, 5, 1, 1, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)

        metrics = QGridLayout()
        metrics.setHorizontalSpacing(12)
        metrics.setVerticalSpacing(2)
        metrics.addWidget(self.last_price_label, 0, 0)
        metrics.addWidget(self.value_label, 0, 1)
        metrics.addWidget(self.risk_label, 1, 0, 1, 2)
        metrics.addWidget(self.rr_label, 2, 0, 1, 2)
        metrics.setColumnStretch(0, 1)
        metrics.setColumnStretch(1, 1)

        head = QHBoxLayout()
        head.addWidget(self.side_label)
        head.addWidget(self.instrument_label, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.buy_button)
        buttons.addWidget(self.sell_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(head)
        layout.addLayout(grid)
        layout.addLayout(metrics)
        layout.addWidget(self.preflight_label)
        layout.addLayout(buttons)
        layout.addWidget(self.sent_label)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self._wheel_guard = _WheelGuard(self)
        for widget in (
            self.exchange,
            self.quantity,
            self.order_type,
            self.product,
            self.validity,
            self.setup,
        ):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(self._wheel_guard)

        self._field_widgets: dict[str, QWidget] = {
            "symbol": self.symbol,
            "quantity": self.quantity,
            "price": self.price,
            "trigger": self.trigger,
            "stop_loss": self.stop_loss,
            "take_profit": self.take_profit,
        }

    def _input(self) -> TicketInput:
        kind = OrderType(self.order_type.currentText())
        return TicketInput(
            side=self._side,
            exchange=self.exchange.currentText(),
            symbol=self.symbol.text(),
            quantity=self.quantity.text_value(),
            order_type=kind,
            price=self.price.text() if kind.needs_price else "",
            trigger=self.trigger.text() if kind.needs_trigger else "",
            product=Product(self.product.currentText()),
            validity=Validity(self.validity.currentText()),
            stop_loss=self.stop_loss.text(),
            take_profit=self.take_profit.text(),
            setup=self.setup.currentText() if self.setup.currentIndex() > 0 else "",
        )

    def _mark(self, problems: dict[str, str]) -> None:
        for name, widget in self._field_widgets.items():
            bad = name in problems and widget.isEnabledTo(self)
            theme.set_invalid(widget, bad, problems.get(name) if bad else None)

    def _show(self, text: str, kind: str, *, source: str) -> None:
        self._message_kind = kind
        self._message_source = source
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {_MESSAGE_COLOURS.get(kind, theme.TEXT)};")
        self._sync_sent_line()

    def _note_sent(self, text: str, at: str) -> None:
        """`text` (the "Sent ... #n" line) is the last order that went out, at `at`."""
        self._last_sent = text
        self.sent_label.setText(f"{text} \u00b7 {at}" if at else text)
        self._sync_sent_line()

    def _sync_sent_line(self) -> None:
        shown = bool(self._last_sent) and self.message.text() != self._last_sent
        if shown != self.sent_label.isVisibleTo(self):
            self.sent_label.setVisible(shown)
