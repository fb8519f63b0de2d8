"""Exiting a position: one audited action that always exits.

`PositionExit.exit(key)` is what the positions grid's Exit / Exit all (and the keyboard)
call. The invariant it keeps: **an exit never leaves the position doubled and is never
blocked by the position's own protection**. In order:

1. every order working on the position's closing side — its bracket stop-loss / target,
   and the trader's own resting exits (a SELL limit above a long) — is cancelled first,
   each audited "cancelled to exit the position": after the exit it could only open a
   new position the other way. An order still in flight is waited for, then cancelled;
2. it waits (bounded) until those legs are finished at the broker. A leg that filled
   meanwhile reduced the position: the exit sends only what is left (nothing if flat);
3. one reduce-only MARKET order (source "exit") closes what is held now, audited with
   the legs it cancelled (above the freeze quantity the OMS sends it as slices, each
   audited; `ExitOutcome.order_ids` names them all).

Orders on the other side (adding to the position) are left working, never block the
exit, and are named in the outcome. Another exit already working (a kill switch's
flattening, a square-off, an earlier Exit) is neither cancelled nor doubled: the new one
is refused as it would not only reduce. If the position grew or reversed since the trader
confirmed, nothing is sent: they confirmed another quantity.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from desktop_oms.domain import Order, OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.oms.errors import OMSError, OrderNotCancellable

log = logging.getLogger(__name__)

# Exits already under way (not cancelled by another exit; they count against it instead).
EXITS_UNDER_WAY = frozenset({"exit", "kill_switch", "square_off"})


@dataclass(frozen=True, slots=True)
class ExitOutcome:
    """What an exit did, for the trader: `level` (info / warning / error) and `message`."""

    exchange: str
    symbol: str
    product: Product
    quantity_before: int
    sent_quantity: int = 0
    order_id: int | None = None
    status: OrderStatus | None = None
    cancelled: tuple[int, ...] = ()
    left_working: tuple[int, ...] = ()
    order_ids: tuple[int, ...] = ()  # every order the exit sent (its slices, above the freeze)
    level: str = "info"
    message: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"{self.exchange}:{self.symbol} {self.product.value}"


def _describe(order: Order) -> str:
    price = f" {order.price}" if order.price is not None else ""
    trigger = f" trigger {order.trigger_price}" if order.trigger_price is not None else ""
    return f"#{order.id} {order.side.value} {order.quantity - order.filled_quantity} {order.order_type.value}{price}{trigger}"


class PositionExit:
    """Exits positions through the OrderManager (see the module docstring)."""

    def __init__(self, om, *, settle_timeout: float = 10.0, poll_interval: float = 0.05) -> None:
        self.om = om
        self.settle_timeout = settle_timeout
        self.poll_interval = poll_interval

    # ------------------------------------------------------------------ queries
    def working_on(self, exchange: str, symbol: str, product: Product) -> list[Order]:
        key = (exchange, symbol, Product(product))
        return [o for o in self.om.live_orders() if (o.exchange, o.symbol, o.product) == key]

    def plan(self, exchange: str, symbol: str, product: Product) -> tuple[list[Order], list[Order]]:
        """(orders cancelled first: the closing side's legs and resting exits; orders left
        working: the other side) for a position."""
        held = self.om.positions.peek(exchange, symbol, Product(product)).quantity
        if held == 0:
            return [], []
        closing = OrderSide.SELL if held > 0 else OrderSide.BUY
        cancel, others = [], []
        for order in self.working_on(exchange, symbol, product):
            if order.side is closing:
                if order.source not in EXITS_UNDER_WAY:
                    cancel.append(order)
            else:
                others.append(order)
        return cancel, others

    # ------------------------------------------------------------------ the exit
    async def exit(
        self,
        exchange: str,
        symbol: str,
        product: Product,
        *,
        confirmed_quantity: int | None = None,
        reason: str = "exit requested by the trader",
    ) -> ExitOutcome:
        product = Product(product)
        pm = self.om.positions
        before = pm.peek(exchange, symbol, product).quantity
        base = {
            "exchange": exchange,
            "symbol": symbol,
            "product": product,
            "quantity_before": before,
        }
        label = f"{exchange}:{symbol} {product.value}"
        if confirmed_quantity is not None and not _within(before, confirmed_quantity):
            return ExitOutcome(
                **base,
                level="warning",
                message=f"Exit {label}: not sent, the position changed from {confirmed_quantity} "
                f"to {before} since you confirmed",
            )
        if before == 0:
            return ExitOutcome(**base, message=f"Exit {label}: already flat")
        guard_notes = await self.om.run_exit_guards(exchange, symbol, product, reason)
        legs, others = self.plan(exchange, symbol, product)
        cancelled = await self._cancel_legs(legs, label, reason)
        problem = await self._settle(cancelled)
        if problem:
            return ExitOutcome(
                **base, cancelled=tuple(o.id for o in cancelled), level="error",
                message=f"Exit {label}: not sent, {problem}",
            )  # fmt: skip
        await self.om.drain()
        now = pm.peek(exchange, symbol, product).quantity
        notes = list(guard_notes)
        if now != before:
            notes.append(f"the position is {now} now (was {before}): an exit leg filled meanwhile")
        if now == 0:
            return ExitOutcome(
                **base, cancelled=tuple(o.id for o in cancelled), notes=tuple(notes),
                message=f"Exit {label}: flat ({'; '.join(notes) or 'nothing to send'})",
            )  # fmt: skip
        if not _within(now, before):
            return ExitOutcome(
                **base, cancelled=tuple(o.id for o in cancelled), level="warning",
                message=f"Exit {label}: not sent, the position changed from {before} to {now} meanwhile",
            )  # fmt: skip
        request = OrderRequest(
            symbol=symbol,
            exchange=exchange,
            side=OrderSide.SELL if now > 0 else OrderSide.BUY,
            quantity=abs(now),
            order_type=OrderType.MARKET,
            product=product,
            reduce_only=True,
            source="exit",
        )
        left = [o for o in others if self.om.live_order(o.id) is not None]
        for order in left:
            notes.append(f"left working {_describe(order)}")
        try:
            result = await self.om.place_order(request)
        except OMSError as exc:
            return ExitOutcome(
                **base, cancelled=tuple(o.id for o in cancelled),
                left_working=tuple(o.id for o in left), level="error", notes=tuple(notes),
                message=f"Exit {label}: {exc}",
            )  # fmt: skip
        parts = result.slices or (result,)
        for part in parts:
            self._audit(part.order_id, part.status, reason, now, cancelled)
        refused = [p for p in parts if p.status is OrderStatus.REJECTED]
        level = "error" if refused else "info"
        tail = f" ({result.message})" if result.message else ""
        legs_text = (
            f"; cancelled first: {', '.join(f'#{o.id}' for o in cancelled)}" if cancelled else ""
        )
        notes_text = f"; {'; '.join(notes)}" if notes else ""
        return ExitOutcome(
            **base,
            sent_quantity=abs(now),
            order_id=result.order_id,
            status=result.status,
            cancelled=tuple(o.id for o in cancelled),
            left_working=tuple(o.id for o in left),
            order_ids=result.order_ids,
            level=level,
            notes=tuple(notes),
            message=(
                f"Exit {label}: {request.side.value} {abs(now)} at market \u2014 "
                f"{_sent_text(result)}{tail}"
                f"{legs_text}{notes_text}"
            ),
        )

    # ------------------------------------------------------------------ steps
    async def _cancel_legs(self, legs: list[Order], label: str, reason: str) -> list[Order]:
        """Cancel the exit legs (after their acknowledgement, for one in flight)."""
        journal = self.om.db.journal
        done: list[Order] = []
        for leg in legs:
            current = await self._acknowledged(leg)
            if current is None or not current.status.is_active:
                continue
            try:
                journal.add_event(
                    current.id,
                    "EXIT_CANCEL",
                    f"cancelled to exit the position {label} ({reason})",
                    current.status,
                )
            except Exception:  # noqa: BLE001 - the cancel below matters more than its note
                log.exception("could not write the exit audit event of order %s", current.id)
            try:
                await self.om.cancel_order(current.id)
            except OrderNotCancellable:
                pass  # finished meanwhile (filled, or cancelled): _settle looks at it
            done.append(current)
        return done

    async def _acknowledged(self, order: Order) -> Order | None:
        """The order once the broker knows it (an order still in flight cannot be cancelled)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.settle_timeout
        current = self.om.order_now(order.id)
        while current is not None and current.status.is_active and current.broker_order_id is None:
            if loop.time() > end:
                return current
            self.om.poll_now()
            await asyncio.sleep(self.poll_interval)
            current = self.om.order_now(order.id)
        return current

    async def _settle(self, orders: list[Order]) -> str | None:
        """Wait until the cancelled legs are finished at the broker; the reason if not."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.settle_timeout
        while True:
            await self.om.drain()
            working = [
                c
                for o in orders
                if (c := self.om.order_now(o.id)) is not None and c.status.is_active
            ]
            if not working:
                return None
            if loop.time() > end:
                names = ", ".join(_describe(o) for o in working)
                return (
                    f"{names} still working at the broker after {self.settle_timeout:g} s "
                    "(cancel not confirmed); sending the exit could double it. Try again."
                )
            self.om.poll_now()
            await asyncio.sleep(self.poll_interval)

    def _audit(
        self, order_id: int, status: OrderStatus, reason: str, quantity: int, cancelled
    ) -> None:
        try:
            self.om.db.journal.add_event(
                order_id,
                "EXIT",
                f"exit of the position ({reason})"
                + (
                    f"; cancelled first: {', '.join(f'#{o.id}' for o in cancelled)}"
                    if cancelled
                    else ""
                ),
                status,
                {"position_quantity": quantity, "cancelled": [o.id for o in cancelled]},
            )
        except Exception:  # noqa: BLE001 - the order went; its note is secondary
            log.exception("could not write the exit audit event of order %s", order_id)


def _sent_text(result) -> str:
    """'#12 filled', or for an exit sent as slices '#12, #13 filled' / '#12 filled, #13
    rejected'."""
    parts = result.slices or (result,)
    by_status: dict[str, list[str]] = {}
    for part in parts:
        by_status.setdefault(part.status.value.replace("_", " ").lower(), []).append(
            f"#{part.order_id}"
        )
    return ", ".join(f"{', '.join(ids)} {status}" for status, ids in by_status.items())


def _within(now: int, confirmed: int) -> bool:
    """`now` is the same position as `confirmed` or a part of it (same side, not larger)."""
    return now == 0 or (now * confirmed > 0 and abs(now) <= abs(confirmed))
