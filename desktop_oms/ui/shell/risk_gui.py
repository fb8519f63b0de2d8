"""The window's risk features, wired in one place (MainWindow creates `RiskGui(self)`):

- the risk panel (ui/risk/panel.py) in the top strip, right of the kill switch, fed by
  RiskUpdated events;
- Risk > "Risk limits…" (ui/risk/limits_dialog.py): Save applies the limits through
  `app.risk.update_limits` (validator, monitor, kill switch, settings.toml) and the
  ticket's own copies (max quantity, max order value, capital);
- achievements (Alert events with source "achievements"): a transient note in the status
  bar (the alerts panel lists them already);
- the blotter's bracket tooltips (the bracket's state from `app.brackets.view`).

Event handlers only store or queue (they run on the loop thread, which is the GUI thread
under qasync); unsubscribed with the window's own subscriptions at shutdown.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QBoxLayout, QMenu, QWidget

from desktop_oms.domain import Order
from desktop_oms.domain.events import Alert
from desktop_oms.risk.events import BracketView, RiskUpdated
from desktop_oms.risk.limits import RiskLimits
from desktop_oms.ui.blotter import bracket_leg
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.risk import RiskPanel, RiskSettingsDialog, changes

log = logging.getLogger(__name__)

ACHIEVEMENT_NOTE_MS = 12_000


def describe_bracket(view: BracketView, orders) -> str:
    """A bracket's state for a tooltip; `orders.get(id)` gives the legs' current rows."""
    head = (
        f"Bracket on #{view.entry_order_id} ({view.side.value} {view.symbol} "
        f"{view.product.value}): {view.status}"
    )
    if view.message:
        head += f" \u2014 {view.message}"
    legs = []
    if view.stop_loss is not None:
        legs.append(
            f"stop-loss {fmt.price(view.stop_loss)}" + ("" if view.stop_enabled else " (off)")
        )
    if view.take_profit is not None:
        legs.append(
            f"target {fmt.price(view.take_profit)}" + ("" if view.target_enabled else " (off)")
        )
    lines = [head]
    if legs:
        lines.append(", ".join(legs))
    lines.append(
        f"entry filled {fmt.quantity(view.entry_filled)}, open {fmt.quantity(view.open_quantity)}"
    )
    for label, ids in (("stop", view.stop_order_ids), ("target", view.target_order_ids)):
        for order_id in ids:
            order = orders.get(order_id)
            if order is None:
                lines.append(f"  {label} #{order_id}")
                continue
            lines.append(
                f"  {label} #{order_id}: {order.side.value} {fmt.quantity(order.quantity)} "
                f"{fmt.enum_text(order.status)}"
                + (
                    f", filled {fmt.quantity(order.filled_quantity)}"
                    if order.filled_quantity
                    else ""
                )
            )
    return "\n".join(lines)


def _find_menu(window, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == title:
            return menu
    return None


class RiskGui(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.app = window.app
        self.dialog: RiskSettingsDialog | None = None
        self.panel = RiskPanel(window)
        self._place_panel()
        self._add_menu_entry()
        window.orders_model.set_bracket_tooltip(self._bracket_tip)
        bus = self.app.events
        window._unsubscribe.append(bus.subscribe(RiskUpdated, self._on_risk))
        window._unsubscribe.append(bus.subscribe(Alert, self._on_alert))
        monitor = getattr(self.app, "risk_monitor", None)
        snapshot = getattr(monitor, "snapshot", None)
        if snapshot is not None:
            self.panel.show_snapshot(snapshot)
            self.panel.flush()

    # ---- building --------------------------------------------------------------------

    def _place_panel(self) -> None:
        """In the top strip, right after the kill switch (the strip is always shown)."""
        strip = self.window.findChild(QWidget, "topStrip")
        layout = strip.layout() if strip is not None else None
        if isinstance(layout, QBoxLayout):
            index = layout.indexOf(self.window.kill_button)
            layout.insertWidget(index + 1 if index >= 0 else 1, self.panel)
            # The panel shows today's gross, net, realized, unrealized, charges and open
            # positions from one source (the risk monitor); the older one-line summary
            # beside it would repeat them from another (the grid's totals) and push the
            # strip past a 1366-px laptop screen. Still updated, just not shown.
            summary = getattr(self.window, "pnl_summary", None)
            if summary is not None:
                summary.hide()
        else:  # no strip (a stripped-down window): a toolbar of its own
            bar = self.window.addToolBar("Risk")
            bar.setObjectName("riskBar")
            bar.addWidget(self.panel)

    def _add_menu_entry(self) -> None:
        window = self.window
        menu = _find_menu(window, "Risk") or window.menuBar().addMenu("&Risk")
        self.limits_action = QAction("Risk &limits\u2026", window)
        self.limits_action.setObjectName("actionRiskLimits")
        self.limits_action.setStatusTip(
            "Capital, per-trade risk, daily loss limit, fat-finger limits, kill switch behaviour"
        )
        self.limits_action.triggered.connect(self.open_limits_dialog)
        actions = menu.actions()
        menu.insertAction(actions[0] if actions else None, self.limits_action)
        if actions:
            menu.insertSeparator(actions[0])

    # ---- events ----------------------------------------------------------------------

    def _on_risk(self, event: RiskUpdated) -> None:
        self.panel.show_snapshot(event.snapshot)

    def _on_alert(self, event: Alert) -> None:
        if event.source == "achievements":
            self.window.status.showMessage(f"\u2605 {event.message}", ACHIEVEMENT_NOTE_MS)

    def _bracket_tip(self, order: Order) -> str | None:
        brackets = getattr(self.app, "brackets", None)
        if brackets is None:
            return None
        entry_id = brackets.entry_of(order.id)
        if entry_id is None and bracket_leg(order) is not None:
            entry_id = order.parent_order_id
        if entry_id is None:
            entry_id = order.id
        view = brackets.view(entry_id)
        if view is None:
            return None
        return describe_bracket(view, self.window.orders_model)

    # ---- the limits dialog -------------------------------------------------------------

    def open_limits_dialog(self) -> RiskSettingsDialog:
        """Risk > Risk limits…: one non-modal dialog (raised if already open)."""
        if self.dialog is not None:
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = RiskSettingsDialog(self.app.settings.risk, self.apply_limits, self.window)
        dialog.finished.connect(lambda _r: self._forget(dialog))
        self.dialog = dialog
        dialog.show()
        return dialog

    def _forget(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def apply_limits(self, limits: RiskLimits) -> None:
        """New limits everywhere: the validator, monitor and kill switch (and
        settings.toml) through app.risk, and the ticket's copies."""
        before = self.app.settings.risk
        save_error = None
        try:
            self.app.risk.update_limits(limits)
        except OSError as exc:  # in effect, but not written: say so, keep them
            if self.app.settings.risk != limits:
                raise
            save_error = exc
        ticket = self.window.ticket
        ticket.set_limits(max_quantity=limits.max_quantity, max_order_value=limits.max_order_value)
        ticket.set_capital(limits.capital)
        changed = changes(before, limits)
        alerts = self.window.alerts
        alerts.add(
            "info",
            "Risk limits saved: " + ("; ".join(changed) if changed else "no change"),
            "risk",
        )
        if save_error is not None:
            alerts.add(
                "error",
                f"Risk limits are in effect but could not be written to settings.toml: {save_error}",
                "risk",
            )
