"""OrderTicket's keyboard: keys the focused child did not use (Enter sends — in the
symbol field it commits the symbol and moves to the quantity —, Esc closes the completer
or clears, F1 / F2 and B / S switch side).

A mixin of `OrderTicket` (ui/ticket/ticket.py); it sits before TicketForm in the class
order, so `super().keyPressEvent` reaches the same widget as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from desktop_oms.domain import OrderSide

if TYPE_CHECKING:  # type checkers see the ticket's API; at run time a plain mixin
    from desktop_oms.ui.ticket.form import TicketForm as _TicketBase
else:
    _TicketBase = object


class TicketKeysMixin(_TicketBase):
    """Keyboard handling of `OrderTicket`."""

    # ---- keyboard ----------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Keys the focused child did not use: Enter sends, Esc clears, F1/F2 (B/S) side."""
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            if self.focusWidget() is self.symbol:
                # A typed symbol is committed and the quantity comes next: Enter right after
                # a symbol never sends at a price the trader has not seen yet.
                self._commit_symbol()
                if self._instrument is None:  # unknown: stay to correct it (the ticket says why)
                    self.symbol.selectAll()
                else:
                    self.quantity.setFocus(Qt.FocusReason.TabFocusReason)
                    self.quantity.selectAll()
            else:
                self.send()
        elif key == Qt.Key.Key_Escape:
            if self.completer.model().rowCount() and self.completer.popup().isVisible():
                self.completer.popup().hide()
            else:
                self.clear()
        elif key == Qt.Key.Key_F1 or (key == Qt.Key.Key_B and plain):
            self.open_for(OrderSide.BUY)
        elif key == Qt.Key.Key_F2 or (key == Qt.Key.Key_S and plain):
            self.open_for(OrderSide.SELL)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
