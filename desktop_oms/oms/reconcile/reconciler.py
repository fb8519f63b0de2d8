"""Reconciler: one position reconciliation cycle.

Read the broker's positions, its trades, and its positions again; apply the trades (a
fill not seen yet); compare; log every mismatch and trust the broker — except for
positions a fill changed while the broker was being read (its snapshot may predate the
fill), positions with an order in flight (placed, the broker's answer not applied yet:
its fill may be at the broker already) and positions the two reads disagree on (moving):
those wait for the next cycle.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop_oms.domain.events import ReconciliationCompleted, ReconciliationMismatchFound
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms.reconcile.diff import (
    ReconciliationResult,
    diff_positions,
    stable_mismatches,
)


class Reconciler:
    """`sync` lends its lock and its view of fills in flight (see OrderSync)."""

    def __init__(self, broker, sync, positions, position_log, events, alert: Callable) -> None:
        self._broker = broker
        self._sync = sync
        self._positions = positions
        self._position_log = position_log
        self._events = events
        self._alert = alert
        self.last: ReconciliationResult | None = None

    async def run(self) -> ReconciliationResult:
        sync = self._sync
        fills_before = sync.fill_counts()
        broker = self._broker
        try:
            first = await broker.positions()
            trades = await broker.trades()
            second = await broker.positions()
        except Exception as exc:
            self._events.publish(
                ReconciliationCompleted(at=utcnow(), mismatches=0, ok=False, error=str(exc))
            )
            raise
        positions = self._positions
        async with sync.lock:
            changed_meanwhile = {
                key for key, count in sync.fill_counts().items() if fills_before.get(key) != count
            }
            changed_meanwhile |= sync.keys_awaiting_fills()
            sync.apply_reports((), trades)
            # An order in flight (placed, its answer not applied yet) may be filled at the
            # broker already: its trade cannot be booked until the answer names the order,
            # and "fixing" the position now would count the fill twice once it is.
            changed_meanwhile |= sync.keys_in_flight()
            now = utcnow()
            found = diff_positions(positions.all_positions(), second)
            stable, moved = stable_mismatches(first, second, found)
            moved += [
                f"{m.exchange}:{m.symbol}:{m.product.value}"
                for m in stable
                if (m.exchange, m.symbol, m.product) in changed_meanwhile
            ]
            stable = [
                m for m in stable if (m.exchange, m.symbol, m.product) not in changed_meanwhile
            ]
            fixes = []
            for m in stable:
                report = m.broker
                fixes.append(
                    positions.fixed_position(
                        m.exchange,
                        m.symbol,
                        m.product,
                        m.broker_quantity,
                        report.average_price if report else None,
                        report.multiplier if report else None,
                        report.last_price if report else None,
                    )
                )
            self._adopt_multipliers(second, {(m.exchange, m.symbol, m.product) for m in found})
            if stable:
                self._position_log.log_reconciliation([m.record(now) for m in stable], fixes)
            for fixed in fixes:
                positions.commit(fixed)
            for m in stable:
                record = m.record(now)
                self._events.publish(
                    ReconciliationMismatchFound(
                        m.kind,
                        m.symbol,
                        m.exchange,
                        m.product.value,
                        m.local_quantity,
                        m.broker_quantity,
                        record.action,
                        now,
                    )
                )
                self._alert(
                    "warning",
                    f"Reconciliation: {m.kind.replace('_', ' ')} {m.exchange}:{m.symbol} {m.product.value}: {record.action}",
                    "reconciliation",
                )
        result = ReconciliationResult(at=now, mismatches=tuple(stable), skipped=tuple(moved))
        self.last = result
        self._events.publish(ReconciliationCompleted(at=now, mismatches=len(stable), ok=True))
        return result

    def _adopt_multipliers(self, reports, mismatched: set) -> None:
        """A position both sides agree on takes the broker's contract multiplier where it
        differs (Kite's positions show MCX/CDS multipliers; one journaled before the app
        knew them says 1). A broker's 1 never replaces a known multiplier."""
        for report in reports:
            key = (report.exchange, report.symbol, report.product)
            multiplier = report.multiplier
            if key in mismatched or multiplier is None or multiplier <= 0 or multiplier == 1:
                continue
            adopted = self._positions.adopt_multiplier(*key, multiplier)
            if adopted is not None:
                self._alert(
                    "info",
                    f"Position {report.exchange}:{report.symbol} {report.product.value} takes "
                    f"the broker's contract multiplier {multiplier}",
                    "reconciliation",
                )
