"""The GTT tab's dialogs, opened with open() and answered by signals (never exec()):

- `ProtectDialog`: a GTT OCO for an open CNC/NRML position (stop, target, the stop's
  limit price optional: blank = 1 % beyond the trigger);
- `ModifyGttDialog`: an active GTT's triggers, its orders' prices and quantity.

Both stay open while the request is sent (`set_sending`), close when it went through
(`sent`) and show a refusal in themselves (`refused`), fields editable again.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import OrderSide, Position
from desktop_oms.domain.gtt import Gtt, GttType
from desktop_oms.ui.common import PriceEdit, QuantitySpinBox, parse_int_text, theme
from desktop_oms.ui.common import format as fmt


class _SendingDialog(QDialog):
    def _init_common(self, ok_text: str) -> None:
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.sending = False
        self.message = QLabel("")
        self.message.setObjectName("gttMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            parent=self,
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(ok_text)
        ok.setObjectName("gttSubmit")
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)

    def _fields(self) -> list[QWidget]:
        return []

    def _set_message(self, text: str, level: str) -> None:
        colour = {"error": theme.LOSS, "warning": theme.WARNING}.get(level, theme.TEXT)
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def _set_editable(self, editable: bool) -> None:
        for field in self._fields():
            field.setEnabled(editable)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(editable)

    def set_sending(self, text: str) -> None:
        self.sending = True
        self._set_editable(False)
        self._set_message(text, "info")

    def sent(self) -> None:
        self.sending = False
        self.accept()

    def refused(self, reason: str) -> None:
        self.sending = False
        self._set_editable(True)
        self._set_message(reason, "error")

    def _on_ok(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _price(edit: PriceEdit, name: str) -> Decimal:
    value = edit.value()
    if value is None or value <= 0:
        raise ValueError(f"Enter the {name} (a price above zero)")
    return value


class ProtectDialog(_SendingDialog):
    """objectName "gttProtectDialog". `submitted(key, stop, target, stop_limit|None)`."""

    submitted = Signal(object, object, object, object)

    def __init__(
        self,
        positions: Sequence[Position],
        last_price,
        *,
        tick_size=lambda exchange, symbol: Decimal("0.05"),
        selected: tuple[str, str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("gttProtectDialog")
        self.setWindowTitle("Protect a position with a GTT")
        self._init_common("&Place GTT")
        self._last_price = last_price
        self._tick_size = tick_size
        self.positions = list(positions)
        self.position = QComboBox(self)
        self.position.setObjectName("gttPosition")
        for p in self.positions:
            self.position.addItem(
                f"{p.exchange}:{p.symbol} {p.product.value} {p.quantity:+d} @ "
                f"{fmt.price(p.average_price)}",
                (p.exchange, p.symbol, p.product),
            )
        self.last = QLabel("")
        self.last.setObjectName("gttLast")
        self.stop = PriceEdit(self, placeholder="stop-loss trigger")
        self.stop.setObjectName("gttStop")
        self.target = PriceEdit(self, placeholder="target")
        self.target.setObjectName("gttTarget")
        self.stop_limit = PriceEdit(self, placeholder="auto: 1 % beyond the stop")
        self.stop_limit.setObjectName("gttStopLimit")
        self.position.currentIndexChanged.connect(self._position_changed)
        if selected is not None:
            for row in range(self.position.count()):
                key = self.position.itemData(row)
                if key is not None and (key[0], key[1], str(key[2])) == selected:
                    self.position.setCurrentIndex(row)
        self._position_changed()
        hint = QLabel(
            "Rests at the broker until the stop or the target is hit; one of them fires, "
            "the other is never placed. It does not follow the position: modify it when "
            "the position changes."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        form = QFormLayout()
        form.addRow("Position", self.position)
        form.addRow("Last price", self.last)
        form.addRow("Stop-loss", self.stop)
        form.addRow("Target", self.target)
        form.addRow("Stop limit", self.stop_limit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if not self.positions:
            self._set_editable(False)
            self._set_message("No open CNC/NRML position to protect.", "warning")

    def _fields(self) -> list[QWidget]:
        return [self.position, self.stop, self.target, self.stop_limit]

    def key(self):
        return self.position.currentData()

    def _position_changed(self, *_args) -> None:
        key = self.key()
        if key is None:
            self.last.setText("\u2014")
            return
        tick = self._tick_size(key[0], key[1])
        for edit in (self.stop, self.target, self.stop_limit):
            edit.setSingleStep(tick)
        last = self._last_price(key[0], key[1])
        self.last.setText(fmt.price(last) if last is not None else "unknown")

    def _on_ok(self) -> None:
        if self.sending or self.key() is None:
            return
        try:
            stop = _price(self.stop, "stop-loss")
            target = _price(self.target, "target")
            limit = self.stop_limit.value() if self.stop_limit.text().strip() else None
            if self.stop_limit.text().strip() and (limit is None or limit <= 0):
                raise ValueError("The stop limit must be a price above zero (or blank)")
        except ValueError as exc:
            self._set_message(str(exc), "error")
            return
        self.submitted.emit(self.key(), stop, target, limit)


class ModifyGttDialog(_SendingDialog):
    """objectName "gttModifyDialog". `submitted(triggers tuple, prices tuple, quantity)`."""

    submitted = Signal(object, object, int)

    def __init__(self, gtt: Gtt, *, tick_size=Decimal("0.05"), parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("gttModifyDialog")
        self.gtt = gtt
        self.setWindowTitle(f"Modify GTT #{gtt.gtt_id}")
        self._init_common("&Modify")
        oco = gtt.gtt_type is GttType.OCO
        # Kite's OCO: the lower trigger first - a long's stop, a short's target.
        long = gtt.legs[0].side is OrderSide.SELL
        names = (
            (("Stop-loss", "Target") if long else ("Target", "Stop-loss")) if oco else ("Trigger",)
        )
        title = QLabel(
            f"<b>{gtt.exchange}:{gtt.symbol}</b> {'OCO' if oco else 'single'} "
            f"\u2014 {gtt.status.value}"
        )
        title.setObjectName("gttModifyTitle")
        self.triggers: list[PriceEdit] = []
        self.prices: list[PriceEdit] = []
        form = QFormLayout()
        for index, (value, leg) in enumerate(zip(gtt.trigger_values, gtt.legs, strict=True)):
            name = names[index] if index < len(names) else f"Trigger {index + 1}"
            trigger = PriceEdit(self, placeholder="trigger")
            trigger.setObjectName(f"gttTrigger{index}")
            price = PriceEdit(self, placeholder="limit price")
            price.setObjectName(f"gttPrice{index}")
            for edit in (trigger, price):
                edit.setSingleStep(tick_size)
            trigger.setValue(value)
            price.setValue(leg.price)
            self.triggers.append(trigger)
            self.prices.append(price)
            form.addRow(f"{name} trigger", trigger)
            form.addRow(f"{name} {fmt.enum_text(leg.side).lower()} at", price)
        self.quantity = QuantitySpinBox(self)
        self.quantity.setObjectName("gttQuantity")
        self.quantity.set_quantity(gtt.legs[0].quantity)
        form.addRow("Quantity", self.quantity)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _fields(self) -> list[QWidget]:
        return [*self.triggers, *self.prices, self.quantity]

    def _on_ok(self) -> None:
        if self.sending:
            return
        try:
            triggers = tuple(_price(edit, "trigger") for edit in self.triggers)
            prices = tuple(_price(edit, "limit price") for edit in self.prices)
            quantity = parse_int_text(self.quantity.text_value())
            if quantity is None or quantity <= 0:
                raise ValueError("Enter a quantity above zero")
        except ValueError as exc:
            self._set_message(str(exc), "error")
            return
        self.submitted.emit(triggers, prices, quantity)
