"""The window kept up to date (`LiveUpdates`): OMS events queued into the models, the day
loaded at start, and the 0.5 s refresh (a P&L point when P&L moved, the status bar, the
trading gate).

Rules it keeps: event handlers run on the loop thread (the GUI thread under qasync) and
only queue rows (`queue_upsert`; the models flush on their own timers) or store state;
the refresh is a timer slot that never raises into Qt.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from desktop_oms.domain.events import (
    Alert,
    BackgroundTaskFailed,
    FillApplied,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
    PricesMarked,
    ReconciliationCompleted,
    TradingHalted,
    TradingResumed,
)
from desktop_oms.infra.clock import day_start
from desktop_oms.ui.blotter import TradeRow
from desktop_oms.ui.common import Subscriptions, WindowServices

if TYPE_CHECKING:
    from desktop_oms.ui.alerts import AlertsPanel
    from desktop_oms.ui.blotter import AuditView, OrdersModel, TradesModel
    from desktop_oms.ui.pnl import PnlChartSlot
    from desktop_oms.ui.positions import PositionsModel
    from desktop_oms.ui.shell.broker_status import BrokerStatus
    from desktop_oms.ui.shell.order_actions import OrderActions
    from desktop_oms.ui.shell.status_bar import OmsStatusBar
    from desktop_oms.ui.shell.trading_gate import TradingGate

log = logging.getLogger(__name__)

__all__ = ["INITIAL_ORDERS", "KILL_SWITCH_HALT", "REFRESH_MS", "LiveUpdates", "day_start"]

INITIAL_ORDERS = 5000  # most recent orders loaded at start (active ones always)
REFRESH_MS = 500  # status bar, trading state and a PnL point (when PnL moved) twice a second

KILL_SWITCH_HALT = "Kill switch"  # OrderManager.halt_reason prefix set by the kill switch


def _pnl_point(snapshot: Any) -> tuple:
    net = getattr(snapshot, "net_pnl", None)  # total after charges
    return snapshot.at, snapshot.total_pnl, snapshot.realized_pnl, net


class LiveUpdates(QObject):
    """OMS events to the window's models, the day's initial load and the refresh timer."""

    def __init__(
        self,
        services: WindowServices,
        *,
        orders_model: OrdersModel,
        trades_model: TradesModel,
        positions_model: PositionsModel,
        audit: AuditView,
        alerts: AlertsPanel,
        pnl_slot: PnlChartSlot,
        status: OmsStatusBar,
        broker_status: BrokerStatus,
        order_actions: OrderActions,
        gate: TradingGate,
        subscriptions: Subscriptions,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.om = services.order_manager
        self.orders_model = orders_model
        self.trades_model = trades_model
        self.positions_model = positions_model
        self.audit = audit
        self.alerts = alerts
        self.pnl_slot = pnl_slot
        self.status = status
        self.broker_status = broker_status
        self.order_actions = order_actions
        self.gate = gate
        self.pnl_dirty = True  # a P&L point is due at the next refresh
        # the last reconciliation: (at, mismatches, ok, error)
        self.reconciliation: tuple[datetime | None, int | None, bool, str | None] = (
            None,
            None,
            True,
            None,
        )
        last = self.om.last_reconciliation  # the one before the window existed
        if last is not None:
            self.reconciliation = (last.at, len(last.mismatches), True, None)
        self._halt_reason: str | None = self.om.halt_reason
        self._stopped = False
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
        ):
            subscriptions.add(event_type, handler)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        """The refresh timer runs; one refresh now."""
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()

    # ================================================================== events

    def _on_order_event(self, event) -> None:
        order = event.order
        self.orders_model.queue_upsert(order)
        if self.audit.order_id == order.id:
            self.audit.refresh(order)
        self.order_actions.track(order)

    def _on_fill(self, event: FillApplied) -> None:
        self.trades_model.queue_upsert(TradeRow.from_fill(event.fill))
        self.orders_model.queue_upsert(event.order)
        self.order_actions.track(event.order)
        self.positions_model.queue_upsert(event.position)
        self.pnl_dirty = True
        if self.audit.order_id == event.order.id:
            self.audit.refresh(event.order)

    def _on_position(self, event: PositionChanged) -> None:
        self.positions_model.queue_upsert(event.position)
        self.pnl_dirty = True

    def _on_marked(self, event: PricesMarked) -> None:
        self.positions_model.queue_upsert_many(event.positions)
        self.pnl_dirty = True

    def _on_reconciled(self, event: ReconciliationCompleted) -> None:
        self.reconciliation = (event.at, event.mismatches, event.ok, event.error)
        self._refresh_reconciliation()
        self.gate.update()

    def _on_halted(self, event: TradingHalted) -> None:
        self._halt_reason = event.reason
        if not event.reason.startswith(KILL_SWITCH_HALT):  # the kill switch says so itself
            self.alerts.add("warning", f"Trading halted: {event.reason}", "oms", at=event.at)
        self.gate.update()

    def _on_resumed(self, event: TradingResumed) -> None:
        previous, self._halt_reason = self._halt_reason, None
        if not (previous or "").startswith(KILL_SWITCH_HALT):
            self.alerts.add("info", "Trading resumed", "oms", at=event.at)
        self.gate.update()

    def _on_task_failed(self, event: BackgroundTaskFailed) -> None:
        self.alerts.add("error", f"{event.task}: {event.error}", "background", at=event.at)

    def _on_alert(self, event: Alert) -> None:
        self.alerts.add(event.level, event.message, event.source, at=event.at)

    # ================================================================== loading

    def load_positions(self) -> None:
        """The positions the OMS holds now (in memory: at once)."""
        pm = self.services.position_manager
        if pm is not None:
            self.positions_model.load(pm.all_positions())

    async def load_day(self) -> None:
        """The day's orders (the most recent, and every active one), trades and P&L."""
        om = self.om
        since = day_start()
        orders = await om.list_orders(limit=INITIAL_ORDERS)
        active = await om.get_active_orders()
        self.orders_model.load([*orders, *active])
        trades = await om.list_trades(since=since)
        self.trades_model.load(TradeRow.from_fill(t) for t in trades)
        snapshots = self.services.pnl_history.pnl_snapshots(since)
        self.pnl_slot.load([_pnl_point(s) for s in snapshots])  # kept until the chart exists
        self.pnl_dirty = True
        self.add_pnl_point()

    # ================================================================== periodic

    def refresh(self) -> None:
        if self._stopped:
            return
        try:
            self.add_pnl_point()
            self._refresh_status()
            self.gate.update()
        except Exception:  # a timer slot must not raise into Qt
            log.exception("window refresh failed")

    def add_pnl_point(self) -> None:
        if not self.pnl_dirty or self.services.position_manager is None:
            return
        self.pnl_dirty = False
        snapshot = self.services.pnl_now()
        self.pnl_slot.add_point(*_pnl_point(snapshot))

    def _refresh_status(self) -> None:
        self.broker_status.refresh()
        quotes = self.services.quotes
        last = quotes.last_tick_at
        age = None if last is None else max((datetime.now(UTC) - last).total_seconds(), 0.0)
        self.status.set_market_data(age, quotes.tick_count)
        self._refresh_reconciliation()

    def _refresh_reconciliation(self) -> None:
        at, mismatches, ok, error = self.reconciliation
        self.status.set_reconciliation(at, mismatches, ok=ok, error=error)
