"""What a basket (a multi-leg order built from the option chain) would need, before it is
sent: each leg's price, premium, margin, charges, slices and the checks it would fail, and
the basket's totals against the funds available.

    preview = await risk.basket.preview([leg1, leg2])   # OrderRequests
    preview.margin, preview.charges, preview.net_premium, preview.fits, preview.legs[0].problems

Legs are shown in the order `OrderManager.place_basket` sends them (buys first). Margin is
the validator's estimator leg by leg — the paper broker's model (domain/margin.py) in paper
mode, Kite's order-margins API with Kite — summed: no hedge benefit is counted (the paper
broker margins each order on its own; Kite's basket margin may credit a hedge, so the
real figure can be lower, never higher). Charges are the schedule's for each leg filled
at its price (entry only). The checks are each leg's own against the account as it is
now (a later leg is not checked as if the earlier ones had filled).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from desktop_oms.domain import OrderRequest, OrderSide
from desktop_oms.infra.clock import trading_day, utcnow
from desktop_oms.oms.baskets import send_order
from desktop_oms.risk.charges import ChargesCalculator
from desktop_oms.risk.validator import PreTradeValidator

log = logging.getLogger(__name__)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LegPreview:
    request: OrderRequest
    price: Decimal | None  # the price it is valued at: its limit, trigger, or the last price
    premium: Decimal | None  # price x quantity x multiplier (what a buy pays, a sell receives)
    margin: Decimal | None  # what this leg alone would block (None: cannot say)
    charges: Decimal | None  # the schedule's charges if it fills at `price`
    slices: int  # orders it goes as (above the freeze quantity)
    problems: tuple[tuple[str, str], ...]  # (check, reason) it would fail now


@dataclass(frozen=True, slots=True)
class BasketPreview:
    legs: tuple[LegPreview, ...]  # in the order they would be sent (buy legs first)
    margin: Decimal | None  # the legs' margins summed (None if a leg's cannot be said)
    charges: Decimal
    premium_paid: Decimal
    premium_received: Decimal
    available: Decimal | None  # the broker's available funds (None: cannot say)
    source: str  # where the margins come from
    notes: tuple[str, ...] = field(default=())

    @property
    def net_premium(self) -> Decimal:
        """Received minus paid (positive: a credit)."""
        return self.premium_received - self.premium_paid

    @property
    def fits(self) -> bool | None:
        """True if the margin fits the available funds; None if either is unknown."""
        if self.margin is None or self.available is None:
            return None
        return self.margin <= self.available

    @property
    def problems(self) -> list[tuple[OrderRequest, str, str]]:
        return [(leg.request, check, reason) for leg in self.legs for check, reason in leg.problems]


class BasketPreviewer:
    def __init__(
        self,
        validator: PreTradeValidator,
        charges: ChargesCalculator | None,
        *,
        funds: Callable[[], Awaitable] | None = None,
        source: str = "paper margin model",
        timeout_s: float = 2.0,
    ) -> None:
        self.validator = validator
        self.charges = charges
        self.funds = funds
        self.source = source
        self.timeout_s = timeout_s

    async def preview(self, legs: list[OrderRequest]) -> BasketPreview:
        if not legs:
            raise ValueError("a basket needs at least one leg")
        day = trading_day(utcnow())
        out: list[LegPreview] = []
        notes: list[str] = []
        for request in send_order(list(legs)):
            ctx = self.validator.context(request)
            price = ctx.reference_price
            premium = None if price is None else request.quantity * price * ctx.multiplier
            margin = await self._margin(request, price, ctx.position_quantity)
            out.append(
                LegPreview(
                    request=request,
                    price=price,
                    premium=premium,
                    margin=margin,
                    charges=self._charges(request, price, ctx.multiplier, day),
                    slices=ctx.slices,
                    problems=tuple(await self.validator.problems(request)),
                )
            )
        margins = [leg.margin for leg in out]
        total = None if any(m is None for m in margins) else sum(margins, ZERO)
        if total is None:
            notes.append(
                "the margin of a leg cannot be said (no price yet, or the broker did not answer)"
            )
        if len(out) > 1:
            notes.append("no hedge benefit counted: each leg is margined on its own")
        paid = sum(
            (leg.premium for leg in out if leg.premium and leg.request.side is OrderSide.BUY), ZERO
        )
        received = sum(
            (leg.premium for leg in out if leg.premium and leg.request.side is OrderSide.SELL),
            ZERO,
        )
        return BasketPreview(
            legs=tuple(out),
            margin=total,
            charges=sum((leg.charges or ZERO for leg in out), ZERO),
            premium_paid=paid,
            premium_received=received,
            available=await self._available(),
            source=self.source,
            notes=tuple(notes),
        )

    async def _margin(self, request: OrderRequest, price, position_quantity: int):
        estimate = self.validator.margin
        if estimate is None or price is None:
            return None
        try:
            value = estimate(
                request.exchange,
                request.symbol,
                request.product,
                request.side,
                request.quantity,
                price,
                position_quantity,
            )
            if inspect.isawaitable(value):
                async with asyncio.timeout(self.timeout_s):
                    value = await value
        except Exception as exc:  # noqa: BLE001 - shown as unknown
            log.warning("basket preview: no margin for %s (%s)", request.symbol, exc)
            return None
        return None if value is None else Decimal(value)

    def _charges(self, request, price, multiplier, day) -> Decimal | None:
        if self.charges is None or price is None:
            return None
        try:
            return self.charges.trade(
                exchange=request.exchange,
                symbol=request.symbol,
                product=request.product,
                side=request.side,
                quantity=request.quantity,
                price=price,
                day=day,
                multiplier=multiplier,
            ).total
        except Exception as exc:  # noqa: BLE001 - shown as unknown
            log.warning("basket preview: no charges for %s (%s)", request.symbol, exc)
            return None

    async def _available(self) -> Decimal | None:
        if self.funds is None:
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                funds = await self.funds()
        except Exception as exc:  # noqa: BLE001
            log.warning("basket preview: funds unavailable (%s)", exc)
            return None
        if funds is None:
            return None
        return getattr(funds, "available", funds)
