"""Non-modal, qasync-safe dialogs: shown with open() and answered through signals.

Never QDialog.exec()/QMessageBox.exec(): a nested event loop inside the qasync loop
re-enters OMS callbacks mid-await.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import Order, OrderSide, OrderType
from desktop_oms.domain.orders import MAX_MODIFICATIONS
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme
from desktop_oms.ui.common.fields import (
    PriceEdit,
    QuantitySpinBox,
    parse_decimal_text,
    parse_int_text,
)

log = logging.getLogger(__name__)

_OPEN: set[QDialog] = set()  # keeps parentless dialogs alive until answered


def _call(callback: Callable[[], object] | None, what: str) -> None:
    if callback is None:
        return
    try:
        callback()
    except Exception:  # never let a slot raise into Qt
        log.exception("%s callback failed", what)


def confirm(
    parent: QWidget | None,
    title: str,
    text: str,
    on_yes: Callable[[], object],
    *,
    on_no: Callable[[], object] | None = None,
    yes_text: str = "&Yes",
    no_text: str = "&Cancel",
    informative: str | None = None,
    default_yes: bool = False,
    icon: QMessageBox.Icon = QMessageBox.Icon.Warning,
) -> QMessageBox:
    """Ask, without blocking: calls on_yes() or on_no() later. Returns the (open) box.

    The default button is the safe one (no) unless default_yes; Esc is always no.
    The box's objectName is "confirmDialog"; its buttons "confirmYes" / "confirmNo".
    """
    box = QMessageBox(parent)
    box.setObjectName("confirmDialog")
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirmYes")
    no = box.addButton(no_text, QMessageBox.ButtonRole.RejectRole)
    no.setObjectName("confirmNo")
    box.setDefaultButton(yes if default_yes else no)
    box.setEscapeButton(no)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    answered = False

    def finished(_result: int) -> None:
        nonlocal answered
        if answered:
            return
        answered = True
        _OPEN.discard(box)
        if box.clickedButton() is yes:
            _call(on_yes, "confirm yes")
        else:
            _call(on_no, "confirm no")

    box.finished.connect(finished)
    _OPEN.add(box)
    box.open()
    return box


class ModifyOrderDialog(QDialog):
    """Modify an open order: price / quantity / trigger prefilled and validated.

    Use: dlg = ModifyOrderDialog(order, tick_size=..., lot_size=..., parent=window);
    dlg.accepted_values.connect(lambda price, qty, trigger: ...); dlg.open().
    accepted_values carries the order's values after the change (price/trigger None
    where the order type takes none); `changes()` gives only what changed, as keyword
    arguments for OrderManager.modify_order.

    Where the trader looks: with `stay_open=True` (the window's use) the dialog stays open
    while the modify is sent (`set_sending`), closes when it is done (`sent`), and shows a
    refusal in itself (`refused`) with the fields editable again. `track(order)` follows
    the order live: its fill and terms in the title; once it is finished (filled,
    cancelled, rejected) the dialog says so and can only be closed.
    """

    accepted_values = Signal(object, int, object)  # price: Decimal|None, quantity, trigger

    def __init__(
        self,
        order: Order,
        *,
        tick_size: Decimal | None = None,
        lot_size: int = 1,
        parent: QWidget | None = None,
        stay_open: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modifyOrderDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.order = order
        self._tick = tick_size
        self._lot = max(lot_size, 1)
        self._stay_open = stay_open
        self.finished_order = False
        self.sending = False
        self.setWindowTitle(f"Modify order #{order.id}")
        self.title = QLabel()
        self.title.setObjectName("modifyTitle")
        title = self.title
        self._show_title(order)
        self.price = PriceEdit(self, placeholder="price")
        self.price.setObjectName("modifyPrice")
        self.quantity = QuantitySpinBox(self)
        self.quantity.setObjectName("modifyQuantity")
        self.trigger = PriceEdit(self, placeholder="trigger")
        self.trigger.setObjectName("modifyTrigger")
        if tick_size:
            self.price.setSingleStep(tick_size)
            self.trigger.setSingleStep(tick_size)
        self.quantity.set_lot_size(self._lot)
        self.quantity.set_quantity(order.quantity)
        self.price.setValue(order.price)
        self.trigger.setValue(order.trigger_price)
        self.price.setEnabled(order.order_type.needs_price)
        self.trigger.setEnabled(order.order_type.needs_trigger)
        self.message = QLabel("")
        self.message.setObjectName("modifyMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.LOSS};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Modify")
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Quantity", self.quantity)
        form.addRow("Price", self.price)
        form.addRow("Trigger", self.trigger)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._values: tuple[Decimal | None, int, Decimal | None] | None = None
        self._check_modifications(order)

    # ---- the order, live -----------------------------------------------------------

    def _show_title(self, order: Order) -> None:
        side = fmt.enum_text(order.side)
        colour = theme.BUY if order.side is OrderSide.BUY else theme.SELL
        self.title.setText(
            f"<b style='color:{colour}'>{side}</b> "
            f"{order.exchange}:{order.symbol} {fmt.enum_text(order.order_type)} "
            f"\u2014 {fmt.enum_text(order.status)}, filled {fmt.quantity(order.filled_quantity)} "
            f"of {fmt.quantity(order.quantity)}"
        )

    def _check_modifications(self, order: Order) -> bool:
        """Kite's 25 modifications per order, predicted here: the count in the tooltip,
        and an order that has had them all cannot be modified (the reason shown)."""
        used = order.modification_count
        self.title.setToolTip(f"Modified {used} of {MAX_MODIFICATIONS} times Kite allows")
        if used < MAX_MODIFICATIONS:
            return True
        self._set_editable(False)
        self._set_message(
            f"Kite allows {MAX_MODIFICATIONS} modifications per order and order #{order.id} "
            "has had them all: cancel it and place a new order.",
            "error",
        )
        return False

    def track(self, order: Order) -> None:
        """The order changed (status, fill, terms): show it; finished: nothing to modify."""
        if order.id != self.order.id:
            return
        previous, self.order = self.order, order
        self._show_title(order)
        if order.status.is_terminal:
            self.finished_order = True
            self.sending = False
            self._set_editable(False)
            self._set_message(
                f"Order #{order.id} is {fmt.enum_text(order.status).lower()} "
                f"(filled {fmt.quantity(order.filled_quantity)} of {fmt.quantity(order.quantity)}): "
                "there is nothing left to modify.",
                "warning",
            )
            return
        if self.sending or not self._check_modifications(order):
            return
        # Terms the trader has not touched follow the order (a modify from elsewhere).
        if parse_decimal_text(self.price.text()) == previous.price:
            self.price.setValue(order.price)
        if parse_decimal_text(self.trigger.text()) == previous.trigger_price:
            self.trigger.setValue(order.trigger_price)
        if self.quantity.text_value() == str(previous.quantity):
            self.quantity.set_quantity(order.quantity)

    def set_sending(self, text: str) -> None:
        self.sending = True
        self._set_editable(False)
        self._set_message(text, "info")

    def sent(self) -> None:
        """The modify went through: close."""
        self.sending = False
        self.accept()

    def refused(self, reason: str) -> None:
        """The modify was refused: say why here, and let the trader try again."""
        self.sending = False
        if not self.finished_order:
            self._set_editable(True)
        self._set_message(f"Not modified: {reason}", "error")

    def _set_editable(self, editable: bool) -> None:
        self.quantity.setEnabled(editable)
        self.price.setEnabled(editable and self.order.order_type.needs_price)
        self.trigger.setEnabled(editable and self.order.order_type.needs_trigger)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(editable)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("&Close" if self.finished_order else "Cancel")
        if not editable and self.finished_order:
            cancel.setDefault(True)
            cancel.setFocus()

    def _set_message(self, text: str, kind: str) -> None:
        colour = {"info": theme.TEXT, "warning": theme.WARNING}.get(kind, theme.LOSS)
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def values(self) -> tuple[Decimal | None, int, Decimal | None] | None:
        """The validated values, once accepted."""
        return self._values

    def changes(self) -> dict[str, object]:
        """Only what changed: {"price": ..., "quantity": ..., "trigger_price": ...}."""
        if self._values is None:
            return {}
        price, qty, trigger = self._values
        out: dict[str, object] = {}
        if price != self.order.price:
            out["price"] = price
        if qty != self.order.quantity:
            out["quantity"] = qty
        if trigger != self.order.trigger_price:
            out["trigger_price"] = trigger
        return out

    def _price(self, edit: PriceEdit, label: str, problems: list[str]) -> Decimal | None:
        text = edit.text().strip()
        if not edit.isEnabled():
            return None
        if not text:
            problems.append(f"{label} is required")
            theme.set_invalid(edit, True, problems[-1])
            return None
        value = parse_decimal_text(text)
        problem = None
        if value is None:
            problem = f"{label} '{text}' is not a number"
        elif value <= 0:
            problem = f"{label} must be more than zero"
        elif self._tick and value % self._tick != 0:
            problem = f"{label} {value} is not a multiple of the tick size {self._tick}"
        theme.set_invalid(edit, problem is not None, problem)
        if problem:
            problems.append(problem)
            return None
        return value

    def validate(self) -> tuple[Decimal | None, int, Decimal | None] | None:
        problems: list[str] = []
        if self.finished_order:
            self._set_message(f"Order #{self.order.id} is finished: nothing to modify", "warning")
            return None
        qty_text = self.quantity.text_value()
        qty = parse_int_text(qty_text)
        qty_problem = None
        if qty is None:
            qty_problem = (
                "Enter a quantity"
                if not qty_text
                else f"Quantity '{qty_text}' is not a whole number"
            )
        elif qty <= 0:
            qty_problem = "Quantity must be more than zero"
        elif qty % self._lot:
            qty_problem = f"Quantity {qty} is not a multiple of the lot size {self._lot}"
        elif qty <= self.order.filled_quantity:
            qty_problem = f"Quantity must be more than the {fmt.quantity(self.order.filled_quantity)} already filled"
        theme.set_invalid(self.quantity, qty_problem is not None, qty_problem)
        if qty_problem:
            problems.append(qty_problem)
        price = self._price(self.price, "Price", problems)
        trigger = self._price(self.trigger, "Trigger", problems)
        if (
            not problems
            and self.order.order_type is OrderType.SL
            and price is not None
            and trigger is not None
        ):
            if self.order.side is OrderSide.BUY and trigger > price:
                problems.append("A buy SL order's trigger must not be above its limit price")
            elif self.order.side is OrderSide.SELL and trigger < price:
                problems.append("A sell SL order's trigger must not be below its limit price")
        if not problems and qty is not None:
            if (price, qty, trigger) == (
                self.order.price,
                self.order.quantity,
                self.order.trigger_price,
            ):
                problems.append("Nothing changed")
        self._set_message("; ".join(problems), "error")
        if problems or qty is None:
            return None
        return price, qty, trigger

    def _on_ok(self) -> None:
        if self.sending:
            return
        values = self.validate()
        if values is None:
            return
        self._values = values
        self.accepted_values.emit(*values)
        if not self._stay_open:
            self.accept()
