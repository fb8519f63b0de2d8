"""Checks that depend on the account's state: kill switch, today's loss, open positions,
recent orders (duplicates) and margin. The validator passes in the OMS's own state,
including orders journaled but not yet acknowledged by the broker."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from desktop_oms.domain import OrderRequest, OrderStatus, Product
from desktop_oms.domain.orders import HALT_EXEMPT_SOURCES
from desktop_oms.risk.checks import fmt
from desktop_oms.risk.limits import RiskLimits

HUNDRED = Decimal(100)
PositionKey = tuple[str, str, Product]


def check_kill_switch(
    request: OrderRequest, engaged: bool, reason: str | None, reduces_only: bool
) -> str | None:
    """Engaged: everything is refused except reduce-only orders that close a position (the
    kill switch's flattening, the trader's Exit): an exit must always exit."""
    if not engaged:
        return None
    if request.reduce_only and request.source in HALT_EXEMPT_SOURCES and reduces_only:
        return None
    why = f" ({reason})" if reason else ""
    return f"Kill switch is engaged{why}: new orders are refused until it is re-armed"


def check_daily_loss_limit(
    day_net: Decimal | None, limits: RiskLimits, reduces_only: bool
) -> str | None:
    """Today's net PnL (realized + unrealized - charges) worse than the limit: only
    orders that reduce a position pass. Exactly at the limit is not beyond it."""
    if day_net is None or reduces_only:
        return None
    loss = -day_net
    limit = limits.daily_loss_limit
    if loss > limit:
        return (
            f"Today's loss {fmt.rupees(loss)} (net of charges) is beyond your daily limit of "
            f"{fmt.rupees(limit)} ({fmt.plain(limits.daily_loss_limit_pct)}% of capital): only "
            f"orders that reduce a position are allowed"
        )
    return None


def check_max_open_positions(
    key: PositionKey,
    limits: RiskLimits,
    open_keys: set[PositionKey],
    pending_keys: set[PositionKey],
    reduces_only: bool,
) -> str | None:
    """An order that would open one more position than max_open_positions is refused.
    Positions count those held and those that orders not yet filled would open."""
    if reduces_only or key in open_keys or key in pending_keys:
        return None
    held = len(open_keys)
    coming = len(pending_keys - open_keys)
    limit = limits.max_open_positions
    if held + coming >= limit:
        more = f" and {coming} more from orders not filled yet" if coming else ""
        return (
            f"This order would open position number {held + coming + 1}; you hold {held} open "
            f"position{'s' if held != 1 else ''}{more}, and your limit is {limit}"
        )
    return None


def check_margin(
    required: Decimal | None, available: Decimal | None, in_flight: Decimal = Decimal(0)
) -> str | None:
    """The order must fit the broker's available margin, less what orders still in flight
    will block. Unknown margin (the broker cannot say) passes; the broker still checks."""
    if required is None or available is None or required <= 0:
        return None
    free = available - in_flight
    if required > free:
        held = (
            f" ({fmt.rupees(in_flight)} of it held for orders in flight)" if in_flight > 0 else ""
        )
        return (
            f"Insufficient margin: this order needs {fmt.rupees(required)}; available "
            f"{fmt.rupees(free)}{held}"
        )
    return None


Fingerprint = tuple[str, str, str, int, Decimal | None, Decimal | None]


def fingerprint(request: OrderRequest) -> Fingerprint:
    """Same instrument, side, quantity and price (a stop's trigger is its price too;
    both None for MARKET)."""
    return (
        request.exchange,
        request.symbol,
        request.side.value,
        request.quantity,
        request.price,
        request.trigger_price,
    )


@dataclass(frozen=True, slots=True)
class Sent:
    at: float  # monotonic seconds
    fingerprint: Fingerprint
    order_id: int


class DuplicateTracker:
    """Orders journaled recently, for the duplicate_order check (in flight included)."""

    def __init__(self, keep_s: float = 600.0) -> None:
        self.keep_s = keep_s
        self._sent: deque[Sent] = deque()

    def record(self, request_or_fp, order_id: int, now: float) -> None:
        fp = request_or_fp if isinstance(request_or_fp, tuple) else fingerprint(request_or_fp)
        self._sent.append(Sent(now, fp, order_id))
        while self._sent and self._sent[0].at <= now - self.keep_s:
            self._sent.popleft()

    def prime(self, items: Iterable[Sent]) -> None:
        self._sent = deque(sorted([*self._sent, *items], key=lambda s: s.at))

    def check(
        self,
        request: OrderRequest,
        now: float,
        window_s: float,
        status_of: Callable[[int], OrderStatus | None] | None = None,
    ) -> str | None:
        """The same order within `window_s` seconds (strictly less) is a likely duplicate.
        Orders that ended REJECTED do not count (nothing happened)."""
        if window_s <= 0:
            return None
        fp = fingerprint(request)
        for sent in reversed(self._sent):
            age = now - sent.at
            if age >= window_s:
                break
            if sent.fingerprint != fp:
                continue
            if status_of is not None and status_of(sent.order_id) is OrderStatus.REJECTED:
                continue
            if request.price is not None:
                at = f" @ {fmt.price(request.price)}"
            elif request.trigger_price is not None:
                at = f" trigger {fmt.price(request.trigger_price)}"
            else:
                at = " at market"
            return (
                f"Same order as #{sent.order_id} ({request.side.value} {fmt.count(request.quantity)} "
                f"{request.exchange}:{request.symbol}{at}) sent {age:.1f} s ago: refused as a likely "
                f"duplicate. Send it again after {fmt.plain(Decimal(str(window_s)))} s if you mean it"
            )
        return None
