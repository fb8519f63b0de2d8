"""Input fields for money: they show exactly what was typed and never silently turn bad
text into a number (a plain QSpinBox reverts "1O0" to its previous value on focus-out,
and that value would then be sent). Validation happens on send, on the text."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QValidator, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QSpinBox, QWidget

from desktop_oms.domain.money import round_to_tick

_INT = re.compile(r"^[+-]?\d+$")
_INT_MAX = 2**31 - 1


def clean_number_text(text: str) -> str:
    """Strip spaces and digit-grouping commas/underscores: ' 1,00,000 ' -> '100000'."""
    return text.strip().replace(",", "").replace("_", "").replace(" ", "")


def parse_int_text(text: str) -> int | None:
    cleaned = clean_number_text(text)
    if not _INT.match(cleaned):
        return None
    return int(cleaned)


def parse_decimal_text(text: str) -> Decimal | None:
    """Decimal for well-formed finite text, else None (empty is None too)."""
    cleaned = clean_number_text(text)
    if not cleaned or not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)$", cleaned):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class QuantitySpinBox(QSpinBox):
    """Integer quantity stepping by lot size; keeps invalid text visible instead of reverting.

    `text_value()` is the source of truth for validation; `value()` is the last valid number.
    Negative numbers are allowed in the field so they can be refused with a reason.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._raw: tuple[str, int] | None = None  # (typed text, value it was typed over)
        self._lot = 1
        self.setRange(-_INT_MAX, _INT_MAX)
        self.setValue(0)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setAccelerated(True)
        self.valueChanged.connect(self._forget_raw)

    # QAbstractSpinBox hooks ---------------------------------------------------------

    def validate(self, text: str, pos: int) -> QValidator.State:  # noqa: N802 (Qt API)
        return QValidator.State.Acceptable

    def fixup(self, text: str) -> str:
        return text

    def valueFromText(self, text: str) -> int:  # noqa: N802
        number = parse_int_text(text)
        if number is None or not self.minimum() <= number <= self.maximum():
            self._raw = (text, self.value())
            return self.value()
        self._raw = None
        return number

    def textFromValue(self, value: int) -> str:  # noqa: N802
        if self._raw is not None and self._raw[1] == value:
            return self._raw[0]
        return str(value)

    def stepBy(self, steps: int) -> None:  # noqa: N802
        lot = self._lot
        self._raw = None
        current = parse_int_text(self.lineEdit().text())
        if current is None or current < 0:
            current = 0
        if current % lot == 0:
            target = current + steps * lot
        elif steps > 0:
            target = (current // lot + steps) * lot
        else:
            target = (current // lot + 1 + steps) * lot
        self.set_quantity(max(target, lot))
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802
        return (
            QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
            | QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        )

    # API ----------------------------------------------------------------------------

    def _forget_raw(self, value: int) -> None:
        if self._raw is not None and self._raw[1] != value:
            self._raw = None

    @property
    def lot_size(self) -> int:
        return self._lot

    def set_lot_size(self, lot: int) -> None:
        self._lot = max(int(lot), 1)
        self.setSingleStep(self._lot)
        self.setToolTip(f"Quantity (lot size {self._lot}); arrows step one lot")

    def text_value(self) -> str:
        return self.lineEdit().text().strip()

    def set_quantity(self, quantity: int | None) -> None:
        """Set a number (None: empty field)."""
        self._raw = None
        if quantity is None:
            self.lineEdit().clear()
            self._raw = ("", self.value())
            return
        quantity = max(min(int(quantity), self.maximum()), self.minimum())
        if quantity == self.value():
            self.lineEdit().setText(str(quantity))
        else:
            self.setValue(quantity)

    def clear(self) -> None:
        self.set_quantity(None)


class PriceEdit(QLineEdit):
    """Decimal price field: free text, Up/Down (and the wheel, when focused) step by tick.

    `value()` -> Decimal | None (None when empty or not a number); `text()` is validated
    on send. `setValue()` accepts Decimal/float/str/None (spin-box compatible).
    """

    stepped = Signal()

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self._tick = Decimal("0.05")
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if placeholder:
            self.setPlaceholderText(placeholder)

    def singleStep(self) -> Decimal:  # noqa: N802 (spin-box compatible)
        return self._tick

    def setSingleStep(self, tick: Decimal | float | str) -> None:  # noqa: N802
        tick = Decimal(str(tick))
        if tick > 0:
            self._tick = tick

    def value(self) -> Decimal | None:
        return parse_decimal_text(self.text())

    def setValue(self, value: Decimal | float | str | None) -> None:  # noqa: N802
        if value is None or value == "":
            self.clear()
            return
        number = Decimal(str(value))
        places = max(-self._tick.normalize().as_tuple().exponent, 2)  # type: ignore[operator]
        self.setText(
            f"{number:.{places}f}"
            if number == number.quantize(Decimal(1).scaleb(-places))
            else str(number)
        )

    def step(self, steps: int) -> None:
        current = self.value()
        if current is None or current <= 0:
            return
        target = round_to_tick(current, self._tick) + steps * self._tick
        if target > 0:
            self.setValue(target)
            self.stepped.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Up and not self.isReadOnly():
            self.step(10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            return
        if event.key() == Qt.Key.Key_Down and not self.isReadOnly():
            self.step(-10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else -1)
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.hasFocus() and not self.isReadOnly():
            delta = event.angleDelta().y()
            if delta:
                self.step(1 if delta > 0 else -1)
                event.accept()
                return
        super().wheelEvent(event)
