"""Risk > Risk limits…: every RiskLimits field, built from RISK_FIELDS, edited in place.

Non-modal (shown with show(), answered through signals; never exec()): the kill switch
and the rest of the window stay usable while it is open. Each field gets the widget its
kind asks for (money / percent / ratio / seconds: a text field that accepts Indian digit
grouping; int: a spin box; bool: a check box; choice: a combo box; time: HH:mm). Every
edit is checked by building RiskLimits itself, so a field that RiskLimits refuses is
marked with RiskLimits' own ValueError text, and Save stays disabled until everything is
valid: nothing is saved half-way.

Save calls `on_save(limits)` (the window: the risk services' `update_limits`, then the ticket's
copies of the limits); if that raises, the dialog stays open with the reason. `saved`
is emitted after a successful save, then the dialog closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import time
from decimal import Decimal

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.risk.limits import RISK_FIELDS, FieldSpec, LossLimitAction, RiskLimits
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import parse_decimal_text, theme

log = logging.getLogger(__name__)

CHOICE_TEXT = {
    LossLimitAction.ALERT.value: "Alert only",
    LossLimitAction.HALT.value: "Halt: refuse new orders, cancel open ones, keep stops",
    LossLimitAction.HALT_AND_FLATTEN.value: "Halt and flatten (full kill switch)",
}
_DECIMAL_KINDS = ("money", "percent", "ratio", "seconds")
_AMOUNT_OF_CAPITAL = ("risk_per_trade_pct", "daily_loss_limit_pct", "warn_at_loss_pct")
_INT_MAX = 2**31 - 1

_QSS = f"""
QLineEdit[invalid="true"], QSpinBox[invalid="true"], QTimeEdit[invalid="true"],
QComboBox[invalid="true"] {{ border: 1px solid {theme.LOSS}; }}
QLabel[role="fieldError"] {{ color: {theme.LOSS}; }}
QLabel[role="amount"] {{ color: {theme.TEXT_DIM}; }}
QLabel#riskSettingsMessage[level="error"] {{ color: {theme.LOSS}; }}
QLabel#riskSettingsMessage[level="ok"] {{ color: {theme.TEXT_DIM}; }}
"""


def limits_values(limits: RiskLimits) -> dict[str, object]:
    return {f.name: getattr(limits, f.name) for f in fields(RiskLimits)}


def _sentence(text: str) -> str:
    """RiskLimits' reason as shown: its own words, starting with a capital."""
    return text[:1].upper() + text[1:]


def _decimal_text(value: object) -> str:
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return fmt.money(value, 0)
    return fmt.money(value.normalize(), max(-value.normalize().as_tuple().exponent, 0))


class RiskSettingsDialog(QDialog):
    """objectName "riskSettingsDialog"; a field's widget is "risk_<name>", its error label
    "risk_<name>_error"; buttons "riskSave", "riskCancel", "riskDefaults"."""

    saved = Signal(object)  # RiskLimits, after on_save succeeded

    def __init__(
        self,
        limits: RiskLimits,
        on_save: Callable[[RiskLimits], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("riskSettingsDialog")
        self.setWindowTitle("Risk limits")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setStyleSheet(_QSS)
        self._limits = limits
        self._on_save = on_save
        self.widgets: dict[str, QWidget] = {}
        self._help: dict[str, str] = {}
        self.errors: dict[str, QLabel] = {}
        self.amounts: dict[str, QLabel] = {}
        self.problems: dict[str, str] = {}  # field name -> reason ("" key: the whole)
        self._loading = False

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(6)
        for spec in RISK_FIELDS:
            form.addRow(self._label(spec), self._field(spec))

        self.message = QLabel("", self)
        self.message.setObjectName("riskSettingsMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("level", "ok")

        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("riskSave")
        self.save_button.setDefault(True)
        self.cancel_button = buttons.addButton("&Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("riskCancel")
        self.defaults_button = buttons.addButton(
            "Restore &defaults", QDialogButtonBox.ButtonRole.ResetRole
        )
        self.defaults_button.setObjectName("riskDefaults")
        self.defaults_button.setToolTip("Fill in the default limits (saved only with Save)")
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        self.defaults_button.clicked.connect(lambda: self.load(RiskLimits()))

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every order is checked against these limits before it leaves the machine. "
            "Changes apply at once when saved.",
            self,
        )
        intro.setWordWrap(True)
        intro.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.load(limits)

    # ---- building ----------------------------------------------------------------------

    def _label(self, spec: FieldSpec) -> QLabel:
        label = QLabel(spec.label, self)
        label.setToolTip(spec.help)
        return label

    def _field(self, spec: FieldSpec) -> QWidget:
        kind = spec.kind
        if kind in _DECIMAL_KINDS:
            widget: QWidget = QLineEdit(self)
            widget.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            widget.textEdited.connect(self._changed)
        elif kind == "int":
            widget = QSpinBox(self)
            widget.setRange(0, _INT_MAX)  # 0 is typed-able, and refused with RiskLimits' reason
            widget.setGroupSeparatorShown(True)
            widget.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            widget.valueChanged.connect(self._changed)
        elif kind == "bool":
            widget = QCheckBox(self)
            widget.toggled.connect(self._changed)
        elif kind == "choice":
            widget = QComboBox(self)
            for choice in spec.choices:
                widget.addItem(CHOICE_TEXT.get(choice, choice), choice)
            widget.currentIndexChanged.connect(self._changed)
        elif kind == "time":
            widget = QTimeEdit(self)
            widget.setDisplayFormat("HH:mm")
            widget.timeChanged.connect(self._changed)
        else:  # an unknown kind: text, checked by RiskLimits like everything else
            widget = QLineEdit(self)
            widget.textEdited.connect(self._changed)
        widget.setObjectName(f"risk_{spec.name}")
        self._help[spec.name] = spec.help
        widget.setToolTip(spec.help)
        widget.setStatusTip(spec.help)
        widget.setProperty("invalid", False)
        self.widgets[spec.name] = widget

        error = QLabel("", self)
        error.setObjectName(f"risk_{spec.name}_error")
        error.setProperty("role", "fieldError")
        error.setWordWrap(True)
        error.hide()
        self.errors[spec.name] = error

        holder = QWidget(self)
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(widget, 1)
        if spec.name in _AMOUNT_OF_CAPITAL:
            amount = QLabel("", self)
            amount.setObjectName(f"risk_{spec.name}_amount")
            amount.setProperty("role", "amount")
            amount.setMinimumWidth(amount.fontMetrics().horizontalAdvance("= \u20b988,88,888"))
            self.amounts[spec.name] = amount
            row.addWidget(amount)
        column.addLayout(row)
        column.addWidget(error)
        return holder

    # ---- values ------------------------------------------------------------------------

    def load(self, limits: RiskLimits) -> None:
        """Show these limits in the fields (e.g. Restore defaults); nothing is saved."""
        self._loading = True
        try:
            for spec in RISK_FIELDS:
                self._set(spec, getattr(limits, spec.name))
        finally:
            self._loading = False
        self._changed()

    def _set(self, spec: FieldSpec, value: object) -> None:
        widget = self.widgets[spec.name]
        if isinstance(widget, QLineEdit):
            widget.setText(
                _decimal_text(value) if spec.kind in _DECIMAL_KINDS else str(value or "")
            )
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            index = widget.findData(str(getattr(value, "value", value)))
            widget.setCurrentIndex(max(index, 0))
        elif isinstance(widget, QTimeEdit):
            hours, minutes = str(value).split(":")
            widget.setTime(QTime(int(hours), int(minutes)))

    def set_text(self, name: str, text: str) -> None:
        """Type into a text field (tests, and what a paste does)."""
        widget = self.widgets[name]
        if isinstance(widget, QLineEdit):
            widget.setText(text)
            self._changed()
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(text))
        else:
            raise TypeError(f"{name} is not a text field")

    def _read(self, spec: FieldSpec) -> tuple[object, str | None]:
        """(value, parse problem or None) from a field."""
        widget = self.widgets[spec.name]
        if isinstance(widget, QLineEdit):
            text = widget.text()
            if spec.kind in _DECIMAL_KINDS:
                value = parse_decimal_text(text)
                if value is None:
                    label = spec.label.split(" (")[0]
                    if not text.strip():
                        return None, f"Enter a value for {label.lower()}"
                    return None, f"{label}: {text.strip()!r} is not a number"
                if spec.kind == "seconds":
                    return float(value), None
                return value, None
            return text.strip(), None
        if isinstance(widget, QSpinBox):
            return widget.value(), None
        if isinstance(widget, QCheckBox):
            return widget.isChecked(), None
        if isinstance(widget, QComboBox):
            return widget.currentData(), None
        if isinstance(widget, QTimeEdit):
            t = widget.time()
            return time(t.hour(), t.minute()).strftime("%H:%M"), None
        raise TypeError(widget)

    def values(self) -> dict[str, object]:
        """What the fields say now (unparseable text as None)."""
        return {spec.name: self._read(spec)[0] for spec in RISK_FIELDS}

    def limits(self) -> RiskLimits | None:
        """RiskLimits from the fields, or None while any field is invalid."""
        self._validate()
        if self.problems:
            return None
        return RiskLimits(**self.values())

    # ---- validation --------------------------------------------------------------------

    def _validate(self) -> None:
        problems: dict[str, str] = {}
        values: dict[str, object] = {}
        for spec in RISK_FIELDS:
            value, problem = self._read(spec)
            if problem:
                problems[spec.name] = problem
            values[spec.name] = value
        base = limits_values(self._limits)
        for spec in RISK_FIELDS:  # each field alone, on top of the limits in effect
            if spec.name in problems:
                continue
            try:
                RiskLimits(**{**base, spec.name: values[spec.name]})
            except (ValueError, TypeError) as exc:
                problems[spec.name] = str(exc)
        if not problems:
            try:
                RiskLimits(**values)
            except (ValueError, TypeError) as exc:  # a combination RiskLimits refuses
                problems[""] = str(exc)
        self.problems = problems

    def _changed(self, *_args) -> None:
        if self._loading:
            return
        self._validate()
        shown_before = {name for name, label in self.errors.items() if not label.isHidden()}
        for name, widget in self.widgets.items():
            reason = self.problems.get(name)
            error = self.errors[name]
            if widget.property("invalid") != bool(reason):
                widget.setProperty("invalid", bool(reason))
                theme.repolish(widget)
            text = _sentence(reason) if reason else ""
            error.setText(text)
            error.setVisible(bool(reason))
            widget.setToolTip(text or self._help[name])
        self.save_button.setEnabled(not self.problems)
        self._show_amounts()
        if self.problems:
            count = len([name for name in self.problems if name])
            text = (
                f"{count} field{'s' if count != 1 else ''} to fix before saving." if count else ""
            )
            if "" in self.problems:  # a combination: no single field to mark
                text = (text + " " + _sentence(self.problems[""])).strip()
            self._message(text, "error")
        else:
            self._message(self._summary(), "ok")
        shown = {name for name in self.problems if name}
        if shown != shown_before and self.isVisible():
            self.adjustSize()  # room for the reasons that appeared (or went)

    def _show_amounts(self) -> None:
        values = self.values()
        capital = values.get("capital")
        for name, label in self.amounts.items():
            pct = values.get(name)
            if (
                isinstance(capital, Decimal)
                and isinstance(pct, Decimal)
                and capital > 0
                and name not in self.problems
                and "capital" not in self.problems
            ):
                label.setText(f"= {fmt.rupees(capital * pct / 100, 0)}")
            else:
                label.setText("")

    def _summary(self) -> str:
        limits = RiskLimits(**self.values())
        changed = changes(self._limits, limits)
        what = "Unchanged." if not changed else f"{len(changed)} change(s): " + "; ".join(changed)
        return (
            f"Daily loss limit {fmt.rupees(limits.daily_loss_limit, 0)}, warning at "
            f"{fmt.rupees(limits.loss_warning, 0)}; risk per trade "
            f"{fmt.rupees(limits.risk_per_trade, 0)}. {what}"
        )

    def _message(self, text: str, level: str) -> None:
        self.message.setText(text)
        if self.message.property("level") != level:
            self.message.setProperty("level", level)
            theme.repolish(self.message)

    # ---- saving ------------------------------------------------------------------------

    def save(self) -> bool:
        """Save if every field is valid: on_save(limits), `saved`, close. False if not."""
        limits = self.limits()
        if limits is None:
            self._changed()  # mark what is wrong
            return False
        if self._on_save is not None:
            try:
                self._on_save(limits)
            except Exception as exc:  # noqa: BLE001 - shown; the dialog stays open
                log.exception("could not save the risk limits")
                self._message(f"Not saved: {exc}", "error")
                return False
        self._limits = limits
        self.saved.emit(limits)
        self.accept()
        return True


def _shown(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(getattr(value, "value", value))


def changes(old: RiskLimits, new: RiskLimits) -> list[str]:
    """Readable "label old → new" for each field that differs."""
    out = []
    labels = {spec.name: spec.label for spec in RISK_FIELDS}
    for name, before in limits_values(old).items():
        after = getattr(new, name)
        if before != after:
            label = labels.get(name, name).split(" (")[0].lower()
            out.append(f"{label} {_shown(name, before)} \u2192 {_shown(name, after)}")
    return out
