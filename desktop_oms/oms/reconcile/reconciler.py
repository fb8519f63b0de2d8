"""Position reconciliation, one cycle: read the broker, compare, log every mismatch and
trust the broker, except for positions a fill changed while the broker was being read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop_oms.domain.events import ReconciliationCompleted, ReconciliationMismatchFound
from desktop_oms.infra.clock import utcnow
from desktop_oms.oms.reconcile.diff import ReconciliationResult, diff_positions, stable_mismatches

if TYPE_CHECKING:
    from desktop_oms.oms.sync.order_sync import OrderSync


class ReconcilingMixin:
    """OrderSync's reconciliation cycle (a mixin: it works on OrderSync's state)."""

    async def reconcile(self: OrderSync) -> ReconciliationResult:
        om = self.om
        fills_before = dict(self._fills_by_key)
        try:
            first = await om.broker.positions()
            trades = await om.broker.trades()
            second = await om.broker.positions()
        except Exception as exc:
            om.events.publish(
                ReconciliationCompleted(at=utcnow(), mismatches=0, ok=False, error=str(exc))
            )
            raise
        async with self._lock:
            changed_meanwhile = {
                key for key, count in self._fills_by_key.items() if fills_before.get(key) != count
            }
            changed_meanwhile |= {
                (o.exchange, o.symbol, o.product)
                for oid in self._fill_gaps
                if (o := self._active.get(oid)) is not None
            }
            self._apply((), trades)
            now = utcnow()
            found = diff_positions(om.positions.all_positions(), second)
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
                    om.positions.fixed_position(
                        m.exchange,
                        m.symbol,
                        m.product,
                        m.broker_quantity,
                        report.average_price if report else None,
                        report.multiplier if report else None,
                        report.last_price if report else None,
                    )
                )
            if stable:
                om.db.positions.log_reconciliation([m.record(now) for m in stable], fixes)
            for fixed in fixes:
                om.positions.commit(fixed)
            for m in stable:
                record = m.record(now)
                om.events.publish(
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
                om.alert(
                    "warning",
                    f"Reconciliation: {m.kind.replace('_', ' ')} {m.exchange}:{m.symbol} {m.product.value}: {record.action}",
                    "reconciliation",
                )
        result = ReconciliationResult(at=now, mismatches=tuple(stable), skipped=tuple(moved))
        self.last_reconciliation = result
        om.events.publish(ReconciliationCompleted(at=now, mismatches=len(stable), ok=True))
        return result
