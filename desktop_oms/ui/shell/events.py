"""MainWindow's OMS event wiring: event-bus subscriptions that only queue rows in the
models, the initial load of the day, the 0.5 s refresh (PnL points, status bar) and the
trading gate (ticket enabled or not, and why), plus the P&L summary in the toolbar.

A mixin of `MainWindow` (ui/shell/main_window.py), not a helper object: the handlers are
subscribed as bound methods of the window and the tests call `window._refresh()`; the
state they keep (`_pnl_dirty`, `_trading`, `_recon`, `_halt_reason`, `_unsubscribe`) is
set up in `MainWindow.__init__` and shared with the other mixins and modules.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMainWindow

from desktop_oms.domain.events import (
    Alert,
    BackgroundTaskFailed,
    FillApplied,
    KillSwitchProgress,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
    PricesMarked,
    ReconciliationCompleted,
    TradingHalted,
    TradingResumed,
)
from desktop_oms.infra.clock import IST
from desktop_oms.ui.blotter import TradeRow
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import theme
from desktop_oms.ui.positions import PositionTotals
from desktop_oms.ui.risk import KillSwitchState
from desktop_oms.ui.shell.broker_status import BrokerStatus

if TYPE_CHECKING:  # type checkers see the window's API; at run time a plain mixin
    _WindowBase = QMainWindow
else:
    _WindowBase = object

# The same logger as before the split, so log configuration and filters see no change.
log = logging.getLogger("desktop_oms.ui.shell.main_window")

INITIAL_ORDERS = 5000  # most recent orders loaded at start (active ones always)
REFRESH_MS = 500  # status bar, trading state and a PnL point (when PnL moved) twice a second

KILL_SWITCH_HALT = "Kill switch"  # OrderManager.halt_reason prefix set by the kill switch


def day_start(now: datetime | None = None) -> datetime:
    """Midnight IST of the trading day, as an aware datetime."""
    now = (now or datetime.now(UTC)).astimezone(IST)
    return datetime.combine(now.date(), time(0, 0), IST)


def _pnl_point(snapshot: Any) -> tuple:
    net = getattr(snapshot, "net_pnl", None)  # total after charges
    return snapshot.at, snapshot.total_pnl, snapshot.realized_pnl, net


class WindowEventsMixin(_WindowBase):
    """OMS events to the models, the periodic refresh and the trading gate."""

    def _subscribe(self) -> None:
        bus = self.app.events
        for event_type, handler in (
            (OrderStatusChanged, self._on_order_event),
            (OrderModified, self._on_order_event),
            (FillApplied, self._on_fill),
            (PositionChanged, self._on_position),
            (PricesMarked, self._on_marked),
            (ReconciliationCompleted, self._on_reconciled),
            (TradingHalted, self._on_halted),
            (TradingResumed, self._on_resumed),
            (BackgroundTaskFailed, self._on_task_failed),
            (Alert, self._on_alert),
            (KillSwitchProgress, self._on_kill_progress),
        ):
            self._unsubscribe.append(bus.subscribe(event_type, handler))

    def _on_order_event(self, event) -> None:
        order = event.order
        self.orders_model.queue_upsert(order)
        if self.audit.order_id == order.id:
            self.audit.refresh(order)
        self._track_in_dialog(order)

    def _track_in_dialog(self, order) -> None:
        """An open Modify dialog follows its order live (fills, terms, the end)."""
        dialog = self.modify_dialog
        if dialog is not None and dialog.order.id == order.id:
            dialog.track(order)

    def _on_fill(self, event: FillApplied) -> None:
        self.trades_model.queue_upsert(TradeRow.from_fill(event.fill))
        self.orders_model.queue_upsert(event.order)
        self._track_in_dialog(event.order)
        self.positions_model.queue_upsert(event.position)
        self._pnl_dirty = True
        if self.audit.order_id == event.order.id:
            self.audit.refresh(event.order)

    def _on_position(self, event: PositionChanged) -> None:
        self.positions_model.queue_upsert(event.position)
        self._pnl_dirty = True

    def _on_marked(self, event: PricesMarked) -> None:
        self.positions_model.queue_upsert_many(event.positions)
        self._pnl_dirty = True

    def _on_reconciled(self, event: ReconciliationCompleted) -> None:
        self._recon = (event.at, event.mismatches, event.ok, event.error)
        self._refresh_reconciliation()
        self._update_trading_state()

    def _on_halted(self, event: TradingHalted) -> None:
        self._halt_reason = event.reason
        if not event.reason.startswith(KILL_SWITCH_HALT):  # the kill switch says so itself
            self.alerts.add("warning", f"Trading halted: {event.reason}", "oms", at=event.at)
        self._update_trading_state()

    def _on_resumed(self, event: TradingResumed) -> None:
        previous, self._halt_reason = self._halt_reason, None
        if not (previous or "").startswith(KILL_SWITCH_HALT):
            self.alerts.add("info", "Trading resumed", "oms", at=event.at)
        self._update_trading_state()

    def _on_task_failed(self, event: BackgroundTaskFailed) -> None:
        self.alerts.add("error", f"{event.task}: {event.error}", "background", at=event.at)

    def _on_alert(self, event: Alert) -> None:
        self.alerts.add(event.level, event.message, event.source, at=event.at)

    def _on_kill_progress(self, event: KillSwitchProgress) -> None:
        state = event.state
        ks = self.app.kill_switch
        if state != "ARMED" and ks is not None and not ks.engaged:
            self._update_trading_state()  # a late note of an engage already re-armed
            return
        if state == "ARMED":
            self.kill_button.set_state(KillSwitchState.ARMED)
        elif state in ("ENGAGED", "DONE"):
            self.kill_button.set_state(KillSwitchState.ENGAGED, event.message)
        elif state == "FAILED":
            self.kill_button.set_state(KillSwitchState.ENGAGED, f"FAILED: {event.message}")
        elif self.kill_button.state is KillSwitchState.ENGAGING:
            self.kill_button.set_progress_text(event.message)
        else:  # engaged by the risk monitor, not the button
            self.kill_button.set_state(KillSwitchState.ENGAGING, event.message)
        self._update_trading_state()

    # ================================================================== loading

    def _initial_positions(self) -> None:
        pm = self.app.position_manager
        if pm is not None:
            self.positions_model.load(pm.all_positions())

    async def _initial_load(self) -> None:
        om = self.app.order_manager
        since = day_start()
        orders = await om.list_orders(limit=INITIAL_ORDERS)
        active = await om.get_active_orders()
        self.orders_model.load([*orders, *active])
        trades = await om.list_trades(since=since)
        self.trades_model.load(TradeRow.from_fill(t) for t in trades)
        db = self.app.db
        snapshots = db.positions.pnl_snapshots(since) if db is not None else []
        self.pnl_slot.load([_pnl_point(s) for s in snapshots])  # kept until the chart exists
        self._pnl_dirty = True
        self._add_pnl_point()

    # ================================================================== periodic

    def _refresh(self) -> None:
        if self._shut_down:
            return
        try:
            self._add_pnl_point()
            self._refresh_status()
            self._update_trading_state()
        except Exception:  # a timer slot must not raise into Qt
            log.exception("window refresh failed")

    def _add_pnl_point(self) -> None:
        if not self._pnl_dirty or self.app.position_manager is None:
            return
        self._pnl_dirty = False
        snapshot = self.app.pnl_now()
        self.pnl_slot.add_point(*_pnl_point(snapshot))

    def _refresh_status(self) -> None:
        self.broker_status.refresh()
        quotes = self.app.quotes
        last = quotes.last_tick_at
        age = None if last is None else max((datetime.now(UTC) - last).total_seconds(), 0.0)
        self.status.set_market_data(age, quotes.tick_count)
        self._refresh_reconciliation()

    def _refresh_reconciliation(self) -> None:
        at, mismatches, ok, error = self._recon
        self.status.set_reconciliation(at, mismatches, ok=ok, error=error)

    def _watch_broker(self) -> None:
        """Connection state for the status bar (ui/shell/broker_status.py: Kite's stream state,
        session expiry; the paper broker is always connected)."""
        broker = self.app.broker
        name = getattr(broker, "name", self.app.settings.broker)
        self.broker_status = BrokerStatus(broker, self.status, name)

    def _update_trading_state(self) -> None:
        self._refresh_kill_switch_actions()
        om = self.app.order_manager
        ks = self.app.kill_switch
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
        if (enabled, reason) == self._trading:
            return
        self._trading = (enabled, reason)
        self.ticket.set_trading_enabled(enabled, reason)
        self.status.set_trading(enabled, reason)

    def _show_totals(self, totals: PositionTotals) -> None:
        def money(label: str, value: Decimal, big: bool = False) -> str:
            colour = theme.PROFIT if value > 0 else theme.LOSS if value < 0 else theme.TEXT
            weight = "font-weight: bold;" if big else ""
            return (
                f"<span style='color:{theme.TEXT_DIM}'>{label}</span> "
                f"<span style='color:{colour}; {weight}'>{fmt.signed_money(value)}</span>"
            )

        parts = [
            money("Day P&amp;L", totals.total, True),
            money("Realized", totals.realized),
            money("Unrealized", totals.unrealized),
            f"<span style='color:{theme.TEXT_DIM}'>Open</span> {totals.open_positions}",
        ]
        if totals.charges:
            parts.insert(1, money("Net", totals.net))
        self.pnl_summary.setText(" &nbsp;&nbsp; ".join(parts))
