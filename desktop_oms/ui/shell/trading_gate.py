"""Whether the trader may send new orders now, and why not (`TradingGate`).

Not while the kill switch is engaged, while trading is halted (session expired, loss
limit, ...) or before the first reconciliation with the broker. The ticket's Buy / Sell
and the status bar show it; the kill switch's engage / re-arm actions follow on every
check. Checked on every change the window hears of and on its refresh timer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_oms.oms import OrderManager
    from desktop_oms.risk import KillSwitch
    from desktop_oms.ui.shell.kill_switch import KillSwitchController
    from desktop_oms.ui.shell.status_bar import OmsStatusBar
    from desktop_oms.ui.ticket import OrderTicket


class TradingGate:
    def __init__(
        self,
        *,
        order_manager: OrderManager,
        kill_switch: KillSwitch | None,
        ticket: OrderTicket,
        status: OmsStatusBar,
        kill_switch_controller: KillSwitchController,
    ) -> None:
        self.om = order_manager
        self.ks = kill_switch
        self.ticket = ticket
        self.status = status
        self.kill_switch_controller = kill_switch_controller
        self.state: tuple[bool, str] | None = None  # (new orders allowed, why not) shown

    def update(self) -> None:
        self.kill_switch_controller.sync_actions()
        om, ks = self.om, self.ks
        if ks is not None and ks.engaged:
            enabled, reason = (
                False,
                f"Kill switch engaged ({ks.reason or 'manual'}): new orders are refused",
            )
        elif om.halted:
            reason = om.halt_reason or "Trading is halted"
            enabled = False
            if not reason.lower().startswith(("trading", "kill")):
                reason = f"Trading halted: {reason}"
        elif not om.ready:
            enabled, reason = False, "Orders held: waiting for reconciliation with the broker"
        else:
            enabled, reason = True, ""
        if (enabled, reason) == self.state:
            return
        self.state = (enabled, reason)
        self.ticket.set_trading_enabled(enabled, reason)
        self.status.set_trading(enabled, reason)
