"""Declarative table columns: `Column` (value, text, sort key, colour, tooltip of one
column), the num/pnl/text/time column factories, and the item-data roles and alignments
the keyed models (ui/common/table_model.py) answer with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from desktop_oms.ui.common import format as fmt

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
SORT_ROLE = int(Qt.ItemDataRole.UserRole)
ITEM_ROLE = SORT_ROLE + 1
KEY_ROLE = SORT_ROLE + 2

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


@dataclass(frozen=True, slots=True)
class Column:
    """One column: `value(row)` is the raw value; the rest derive from it.

    display(value) -> str   default: str(value), "" for None
    sort(value) -> float|str  default: fmt.text_key (use fmt.num_key / fmt.time_key)
    colour(row) -> QColor | None
    tooltip(row) -> str | None
    """

    key: str
    header: str
    value: Callable[[Any], object]
    display: Callable[[Any], str] | None = None
    sort: Callable[[Any], object] | None = None
    align: Qt.AlignmentFlag = LEFT
    colour: Callable[[Any], QColor | None] | None = None
    tooltip: Callable[[Any], str | None] | None = None
    header_tip: str | None = None

    def text(self, row: Any) -> str:
        value = self.value(row)
        if self.display is not None:
            return self.display(value)
        return "" if value is None else str(value)

    def sort_value(self, row: Any) -> object:
        value = self.value(row)
        if self.sort is not None:
            return self.sort(value)
        return fmt.text_key(value)

    def stored_sort_value(self, row: Any) -> object:
        """The key the model keeps per row to order it: sort_value, or anything that
        orders the same and is smaller (a subclass may pack a tuple into one int)."""
        return self.sort_value(row)

    def changed(self, old: Any, new: Any) -> bool:
        """Whether the cell must be repainted when row `old` becomes `new`. The model
        repaints only the cells whose value changed, so text, colour and sort key must
        follow from the value (a column drawn from more of the row overrides this)."""
        a = self.value(old)
        b = self.value(new)
        if a is b:
            return False
        if a != b or type(a) is not type(b):
            return True
        # equal but not the same object (Decimal("1.5") == Decimal("1.50")): the text
        return self.text(old) != self.text(new)


def num_column(key: str, header: str, value, display=None, colour=None, **kw) -> Column:
    """Right-aligned, sorted as a number (Decimal -> float, None first)."""
    return Column(
        key, header, value, display=display, sort=fmt.num_key, align=RIGHT, colour=colour, **kw
    )


def pnl_column(key: str, header: str, value, **kw) -> Column:
    """A signed money column coloured by its own value (profit green, loss red)."""
    from desktop_oms.ui.common.theme import pnl_colour

    return num_column(
        key,
        header,
        value,
        display=fmt.signed_money,
        colour=lambda row: pnl_colour(value(row)),
        **kw,
    )


def text_column(key: str, header: str, value, display=None, colour=None, **kw) -> Column:
    return Column(
        key, header, value, display=display, sort=fmt.text_key, align=LEFT, colour=colour, **kw
    )


def enum_column(key: str, header: str, value, colour=None, **kw) -> Column:
    """An enum shown as its text (BUY, LIMIT, OPEN, MIS), centred, sorted as text."""
    return Column(
        key, header, value, display=fmt.enum_text, sort=fmt.text_key, align=CENTER,
        colour=colour, **kw,
    )  # fmt: skip


def side_column(value, key: str = "side", header: str = "Side") -> Column:
    """BUY / SELL in the side colours."""
    from desktop_oms.ui.common.theme import side_colour

    return enum_column(key, header, value, colour=lambda item: side_colour(value(item)))


def time_column(key: str, header: str, value, display=fmt.ist_time, **kw) -> Column:
    return Column(key, header, value, display=display, sort=fmt.time_key, align=LEFT, **kw)
