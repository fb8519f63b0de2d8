"""Which order reports may set an order's status and terms (price, trigger, quantity).

Reports arrive late and out of order: a poll's snapshot taken before a modify, a backlog
of pushed updates, a postback Kite sends late. A report older than one already applied
(by the broker's timestamp - Kite's `exchange_update_timestamp` - or by arrival: a
snapshot fetched before an applied report arrived) is stale: it may not move a working
order's status back (a late TRIGGER PENDING after OPEN) nor put old terms back. A report
not yet showing our own accepted modify may not put the old terms back either. Kite's
timestamps are whole seconds, so within one second only the arrival order tells; pushed
updates of one stream arrive in the broker's order. A final status is never stale
(nothing at the broker comes after it); fills come from trades, not from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from desktop_oms.domain import Order, OrderReport

# After our own modify, reports still showing the old terms do not revert them; after
# this long without a confirming report the broker's terms win again.
MODIFY_CONFIRM_S = 10.0
TERMS = ("price", "trigger_price", "quantity")


class TermsGuard:
    def __init__(self) -> None:
        # Newest report applied per broker order id: (broker timestamp, arrival number).
        self._report_at: dict[str, tuple[datetime, int | None]] = {}
        # Terms of our own modifies not yet seen in a report: order id -> (terms, since).
        self._modify_pending: dict[int, tuple[dict, float]] = {}

    def clear(self) -> None:
        self._report_at.clear()
        self._modify_pending.clear()

    def forget(self, order: Order) -> None:
        self._modify_pending.pop(order.id, None)
        if order.broker_order_id:
            self._report_at.pop(order.broker_order_id, None)

    def modified(self, order_id: int, changes: dict) -> None:
        """Our modify of these terms was accepted by the broker."""
        terms = {k: v for k, v in changes.items() if k in TERMS}
        if terms:
            self._modify_pending[order_id] = (terms, time.monotonic())

    def judge(self, order: Order, report: OrderReport, seq: int | None = None) -> ReportVerdict:
        """Whether this report may set the order's working status (not if an applied
        report is newer: broker time, or arrival `seq` - when it arrived or its poll
        started) and its terms (not when stale, nor while it predates our own modify)."""
        bid = report.broker_order_id
        last = self._report_at.get(bid)
        if last is not None:
            last_at, last_seq = last
            if report.timestamp < last_at:
                return STALE
            if seq is not None and last_seq is not None and seq < last_seq:
                return STALE
            if seq is None:
                seq = last_seq
        self._report_at[bid] = (report.timestamp, seq)
        pending = self._modify_pending.get(order.id)
        if pending is None:
            return CURRENT
        terms, since = pending
        if all(getattr(report, name) == value for name, value in terms.items()):
            del self._modify_pending[order.id]  # the broker shows our modify
            return CURRENT
        if time.monotonic() - since >= MODIFY_CONFIRM_S:
            del self._modify_pending[order.id]
            return CURRENT
        return BEFORE_OUR_MODIFY


@dataclass(frozen=True, slots=True)
class ReportVerdict:
    take_status: bool  # may move a working order's status (a final status always may)
    take_terms: bool


STALE = ReportVerdict(take_status=False, take_terms=False)
CURRENT = ReportVerdict(take_status=True, take_terms=True)
BEFORE_OUR_MODIFY = ReportVerdict(take_status=True, take_terms=False)
