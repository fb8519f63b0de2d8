"""The window's risk features, wired in one place (`RiskGui`):

- the risk panel (ui/risk/panel.py) in the top strip, right of the kill switch, fed by
  RiskUpdated events (the monitor's snapshot at start);
- Risk > "Risk limits…" (`limits_action`; ui/risk/limits_dialog.py): Save applies the
  limits through the risk services' `update_limits` (validator, monitor, kill switch,
  settings.toml) and the ticket's own copies (max quantity, max order value, capital);
- achievements (Alert events with source "achievements"): a transient note in the status
  bar (the alerts panel lists them already);
- the blotter's bracket tooltips (the bracket's state from the bracket manager).

Event handlers only store or queue (they run on the loop thread, which is the GUI thread
under qasync); unsubscribed with the window's own subscriptions at shutdown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from desktop_oms.domain.events import Alert
from desktop_oms.risk import RiskLimits, RiskUpdated
from desktop_oms.ui.blotter import bracket_tooltip
from desktop_oms.ui.common import RiskServices, Subscriptions
from desktop_oms.ui.risk import RiskPanel, RiskSettingsDialog, changes

if TYPE_CHECKING:
    from desktop_oms.ui.alerts import AlertsPanel
    from desktop_oms.ui.blotter import OrdersModel
    from desktop_oms.ui.shell.status_bar import OmsStatusBar
    from desktop_oms.ui.shell.top_strip import TopStrip
    from desktop_oms.ui.ticket import OrderTicket

log = logging.getLogger(__name__)

ACHIEVEMENT_NOTE_MS = 12_000


class RiskGui(QObject):
    def __init__(
        self,
        risk: RiskServices,
        *,
        top_strip: TopStrip,
        orders_model: OrdersModel,
        ticket: OrderTicket,
        alerts: AlertsPanel,
        status: OmsStatusBar,
        subscriptions: Subscriptions,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._parent = parent  # of the limits dialog
        self.risk = risk
        self.ticket = ticket
        self.alerts = alerts
        self.status = status
        self.dialog: RiskSettingsDialog | None = None
        self.panel = RiskPanel(parent)
        top_strip.add_beside_kill_switch(self.panel)
        # The panel shows today's gross, net, realized, unrealized, charges and open
        # positions from one source (the risk monitor); the older one-line summary beside
        # it would repeat them from another (the grid's totals) and push the strip past a
        # 1366-px laptop screen. Still updated, just not shown.
        top_strip.pnl_summary.hide()
        self.limits_action = QAction("Risk &limits\u2026", parent)
        self.limits_action.setObjectName("actionRiskLimits")
        self.limits_action.setStatusTip(
            "Capital, per-trade risk, daily loss limit, fat-finger limits, kill switch behaviour"
        )
        self.limits_action.triggered.connect(self.open_limits_dialog)
        if risk.brackets is not None:
            orders_model.set_bracket_tooltip(bracket_tooltip(risk.brackets, orders_model))
        subscriptions.add(RiskUpdated, self._on_risk)
        subscriptions.add(Alert, self._on_alert)
        monitor = risk.monitor
        snapshot = monitor.snapshot if monitor is not None else None
        if snapshot is not None:
            self.panel.show_snapshot(snapshot)
            self.panel.flush()

    # ================================================================== events

    def _on_risk(self, event: RiskUpdated) -> None:
        self.panel.show_snapshot(event.snapshot)

    def _on_alert(self, event: Alert) -> None:
        if event.source == "achievements":
            self.status.showMessage(f"\u2605 {event.message}", ACHIEVEMENT_NOTE_MS)

    # ================================================================== the limits dialog

    def open_limits_dialog(self) -> RiskSettingsDialog:
        """Risk > Risk limits…: one non-modal dialog (raised if already open)."""
        if self.dialog is not None:
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = RiskSettingsDialog(self.risk.limits, self.apply_limits, self._parent)
        dialog.finished.connect(lambda _r: self._forget(dialog))
        self.dialog = dialog
        dialog.show()
        return dialog

    def _forget(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def apply_limits(self, limits: RiskLimits) -> None:
        """New limits everywhere: the validator, monitor and kill switch (and
        settings.toml) through the risk services, and the ticket's copies."""
        before = self.risk.limits
        save_error = None
        try:
            self.risk.update_limits(limits)
        except OSError as exc:  # in effect, but not written: say so, keep them
            if self.risk.limits != limits:
                raise
            save_error = exc
        ticket = self.ticket
        ticket.set_limits(max_quantity=limits.max_quantity, max_order_value=limits.max_order_value)
        ticket.set_capital(limits.capital)
        changed = changes(before, limits)
        self.alerts.add(
            "info",
            "Risk limits saved: " + ("; ".join(changed) if changed else "no change"),
            "risk",
        )
        if save_error is not None:
            self.alerts.add(
                "error",
                f"Risk limits are in effect but could not be written to settings.toml: {save_error}",
                "risk",
            )
