"""Ask before the trader closes the window while orders or positions are live.

Closing the app does not cancel anything at the broker: open orders keep working and
positions stay open, bracket stop-losses keep resting at the broker, but no target is
watched, and neither the daily loss limit nor the kill switch acts any more. So a close *the trader asked for* (the window's
close button / Alt+F4, which Qt delivers as a spontaneous close event, or File > Quit
through `request_close()`) first asks, without blocking:

    "3 open orders and 2 positions stay at the broker. Close anyway?"

With nothing open it closes at once. A programmatic `window.close()` (gui_runner's
SIGINT/SIGTERM path, an application stop) never asks: no one is there to answer.

The window calls `defer(event)` first thing in its closeEvent (unless it is already shut
down); True means the event was ignored and the question is open.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget

from desktop_oms.ui.shell.confirmations import Confirmations

if TYPE_CHECKING:
    from desktop_oms.oms import OrderManager, PositionManager
    from desktop_oms.ui.blotter import OrdersModel

log = logging.getLogger(__name__)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def close_question(open_orders: int, positions: int) -> str:
    """ "3 open orders and 2 positions stay at the broker. Close anyway?" """
    parts = []
    if open_orders:
        parts.append(_plural(open_orders, "open order", "open orders"))
    if positions:
        parts.append(_plural(positions, "position", "positions"))
    verb = "stays" if open_orders + positions == 1 else "stay"
    return f"{' and '.join(parts)} {verb} at the broker. Close anyway?"


class CloseGuard(QObject):
    def __init__(
        self,
        window: QWidget,
        *,
        order_manager: OrderManager,
        position_manager: PositionManager | None,
        orders_model: OrdersModel,
        confirmations: Confirmations,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.om = order_manager
        self.pm = position_manager
        self.orders_model = orders_model
        self.confirmations = confirmations
        self._requested = False  # request_close(): the trader asked (File > Quit)
        self._allowed = False  # the trader answered "close anyway"
        self.box = None  # the open question, if any

    # ================================================================== what is still live

    def counts(self) -> tuple[int, int]:
        """(open orders, open positions) as the OMS knows them now."""
        orders = positions = 0
        try:
            if self.om is not None:
                orders = len(self.om.live_orders())
            else:
                orders = len(self.orders_model.open_orders())
        except Exception:  # noqa: BLE001 - never keep the trader from closing over this
            log.exception("could not count open orders")
        pm = self.pm
        try:
            if pm is not None:
                positions = len(pm.open_positions())
        except Exception:  # noqa: BLE001
            log.exception("could not count open positions")
        return orders, positions

    # ================================================================== closing

    def request_close(self) -> bool:
        """File > Quit: close like the window's close button (asks if anything is live).
        Returns True when the window closed."""
        self._requested = True
        try:
            return self.window.close()
        finally:
            self._requested = False

    def close_now(self) -> bool:
        """Close without asking (the answer was yes, or nobody is there to ask)."""
        self._allowed = True
        return self.window.close()

    def defer(self, event: QCloseEvent) -> bool:
        """Called first in closeEvent. True: the close is held (event ignored) and the
        question is showing; False: go on closing."""
        if self._allowed:
            return False
        asked_by_trader = self._requested or event.spontaneous()
        if not asked_by_trader:
            return False  # signal handler / application stop: nobody to ask
        orders, positions = self.counts()
        if not orders and not positions:
            return False
        event.ignore()
        if self.box is not None:
            try:
                self.box.raise_()
                self.box.activateWindow()
                return True
            except RuntimeError:  # deleted meanwhile
                self.box = None
        self.box = self.confirmations.ask(
            "Close Desktop OMS",
            close_question(orders, positions),
            self.close_now,
            yes_text="&Close anyway",
            no_text="&Keep open",
            informative=(
                "Nothing is cancelled or squared off by closing. Bracket stop-losses keep "
                "resting at the broker and protect the positions; while the app is closed "
                "nothing watches the targets, the daily loss limit or the kill switch."
            ),
        )
        self.box.setProperty("question", "close")
        self.box.finished.connect(self._forget)
        return True

    def _forget(self, *_args) -> None:
        self.box = None
