"""Baskets: several legs (a straddle, a spread, a hedge) sent as one action.

`OrderManager.place_basket(legs)`: buy legs first, then sell legs (each side in the order
given: a hedge's long leg is in place before the short leg needs its margin), every leg
through `place_order` with all its checks (and its slicing above the freeze quantity).
The first leg that is refused, not sent, or rejected by the broker stops the rest: they
are not sent, and the outcome says which leg failed and which were not sent. Legs already
sent stay (cancel or exit them by hand: the basket never undoes an order by itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_oms.domain import OrderRequest, OrderResult, OrderSide, OrderStatus
from desktop_oms.oms.errors import OMSError


@dataclass(frozen=True, slots=True)
class BasketLeg:
    """One leg's outcome: its result if sent, the reason it failed or was not sent."""

    request: OrderRequest
    result: OrderResult | None = None
    error: str | None = None
    failed_check: str | None = None
    sent: bool = False

    @property
    def label(self) -> str:
        r = self.request
        return f"{r.side.value} {r.quantity:,} {r.exchange}:{r.symbol}"


@dataclass(frozen=True, slots=True)
class BasketOutcome:
    legs: tuple[BasketLeg, ...]  # in the order they were (or would have been) sent
    message: str
    failed: BasketLeg | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return self.failed is None

    @property
    def level(self) -> str:
        return "info" if self.failed is None else "error"


def send_order(legs: list[OrderRequest]) -> list[OrderRequest]:
    """Buy legs before sell legs, each side in the order given."""
    return [leg for leg in legs if leg.side is OrderSide.BUY] + [
        leg for leg in legs if leg.side is OrderSide.SELL
    ]


async def place_basket(om, legs: list[OrderRequest]) -> BasketOutcome:
    if not legs:
        raise ValueError("a basket needs at least one leg")
    if not all(isinstance(leg, OrderRequest) for leg in legs):
        raise TypeError("basket legs are OrderRequests")
    ordered = send_order(legs)
    done: list[BasketLeg] = []
    failed: BasketLeg | None = None
    for request in ordered:
        if failed is not None:
            done.append(BasketLeg(request, error=f"not sent: {failed.label} failed"))
            continue
        try:
            result = await om.place_order(request)
        except OMSError as exc:
            failed = BasketLeg(
                request, error=str(exc), failed_check=getattr(exc, "failed_check", None)
            )
            done.append(failed)
            continue
        parts = result.slices or (result,)
        rejected = [p for p in parts if p.status is OrderStatus.REJECTED]
        leg = BasketLeg(
            request,
            result=result,
            sent=any(p.broker_order_id is not None for p in parts),
            error=(rejected[0].message or "rejected") if rejected else None,
        )
        done.append(leg)
        if rejected:
            failed = leg
    sent = sum(1 for leg in done if leg.sent)
    if failed is None:
        message = f"Basket of {len(done)} legs sent (buy legs first)"
    else:
        unsent = [leg.label for leg in done if leg.result is None and leg is not failed]
        message = (
            f"Basket stopped at {failed.label}: {failed.error}. {sent} of {len(done)} legs "
            "sent" + (f"; not sent: {', '.join(unsent)}" if unsent else "")
        )
    return BasketOutcome(tuple(done), message, failed)
