"""PreTradeValidator: every order passes it, whoever sends it.

    validator = PreTradeValidator(RiskLimits(), instruments=store, last_price=quotes.last_price,
                                  positions=position_manager, orders=order_manager,
                                  funds=broker.funds, margin=estimator, kill_switch=ks,
                                  day_pnl=ledger)
    await validator.validate(request)      # raises OrderRejected(reason, failed_check)
    await validator.problems(request)      # [(check, reason), ...] without raising (ticket preview)
    validator.limits = replace(validator.limits, max_quantity=1000)   # limits are swappable

The OrderManager calls `validate` and then, in the same critical section (its submit
lock), journals the order and calls `order_journaled(order)`: the order is counted for
`order_rate` and `duplicate_order` from that moment, in flight included, so a burst of
concurrent clicks cannot slip past. Refused attempts are never counted.

Checks run in CHECK_NAMES order; the first failure is raised. Reduce-only orders sent by
the system (kill switch, brackets, square-off) are protective: they are checked for the
kill switch rule, instrument and shape only, and wait for room in the order rate instead
of being refused. Prices come from the live quote source at validation time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain import Order, OrderRequest, OrderStatus
from desktop_oms.domain.cutoffs import circuit_problem, default_mis_cutoffs, mis_cutoff_problem
from desktop_oms.infra.clock import IST, utcnow
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.risk.checks import CHECK_NAMES, DuplicateTracker, OrderContext, OrderRateWindow
from desktop_oms.risk.checks.context import SYSTEM_SOURCES
from desktop_oms.risk.checks.margin import MarginEstimator
from desktop_oms.risk.checks.rate import KITE_ORDER_RATE, RateLimit
from desktop_oms.risk.checks.state import (
    Sent,
    check_daily_loss_limit,
    check_kill_switch,
    check_margin,
    check_max_open_positions,
    fingerprint,
)
from desktop_oms.risk.checks.static import (
    check_instrument,
    check_max_order_value,
    check_max_quantity,
    check_order_shape,
    check_price_band,
    check_risk_per_trade,
    check_risk_reward,
)
from desktop_oms.risk.limits import RiskLimits

log = logging.getLogger(__name__)

LastPrice = Callable[[str, str], Decimal | None]


class PreTradeValidator:
    CHECKS = CHECK_NAMES

    def __init__(
        self,
        limits: RiskLimits | None = None,
        *,
        instruments=None,
        last_price: LastPrice | None = None,
        quotes=None,
        positions=None,
        orders=None,
        funds: Callable[..., Awaitable] | None = None,
        funds_by_exchange: bool = False,
        margin: MarginEstimator | None = None,
        kill_switch=None,
        day_pnl=None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable] = asyncio.sleep,
        rate_limits: tuple[RateLimit, ...] = KITE_ORDER_RATE,
        funds_timeout_s: float = 2.0,
        max_rate_wait_s: float = 30.0,
        circuit_limits: Callable[[str, str], tuple[Decimal, Decimal] | None] | None = None,
        mis_cutoffs: Mapping | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._limits = limits or RiskLimits()
        self.instruments = instruments
        if last_price is None and quotes is not None:
            last_price = quotes.last_price
        self.last_price_source = last_price
        self.positions = positions
        self.orders = orders  # OrderManager (or anything with sync/active_orders, halted)
        self.funds = funds
        # True: `funds(exchange)` gives the segment an order draws on (Kite: MCX margin
        # is in its commodity segment); False: `funds()` for every order.
        self.funds_by_exchange = funds_by_exchange
        self.margin = margin
        self.kill_switch = kill_switch
        self.day_pnl = day_pnl  # DayPnlLedger (.net()) or a callable returning Decimal
        self.clock = clock
        self.sleep = sleep
        self.rate = OrderRateWindow(rate_limits)
        self.recent = DuplicateTracker()
        self.funds_timeout_s = funds_timeout_s
        self.max_rate_wait_s = max_rate_wait_s
        # The exchange's refusals with a knowable reason, predicted before sending: the
        # circuit limits from the quote (lower, upper; None: not known) are checked with
        # `price_band`, Zerodha's MIS entry cut-off (domain/cutoffs.py) with `order_shape`.
        self.circuit_limits = circuit_limits
        self.mis_cutoffs = default_mis_cutoffs() if mis_cutoffs is None else mis_cutoffs
        self.wall_clock = wall_clock

    # ------------------------------------------------------------------ limits
    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, value: RiskLimits) -> None:
        if not isinstance(value, RiskLimits):
            raise TypeError("limits must be RiskLimits")
        self._limits = value

    # ------------------------------------------------------------------ state access
    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        if self.last_price_source is None:
            return None
        price = self.last_price_source(exchange, symbol)
        return price if price is not None and price > 0 else None

    def active_orders(self) -> list[Order]:
        """The OMS's working orders (its public `live_orders`)."""
        return [] if self.orders is None else list(self.orders.live_orders())

    def status_of(self, order_id: int) -> OrderStatus | None:
        order = None if self.orders is None else self.orders.order_now(order_id)
        return None if order is None else order.status

    def halted(self) -> tuple[bool, str | None]:
        ks = self.kill_switch
        if ks is not None and ks.engaged:
            return True, ks.reason
        if self.orders is not None and self.orders.halted:
            return True, self.orders.halt_reason
        return False, None

    def day_net(self) -> Decimal | None:
        source = self.day_pnl
        if source is None:
            return None
        return source.net() if hasattr(source, "net") else source()

    def context(self, request: OrderRequest) -> OrderContext:
        instrument = (
            self.instruments.get(request.exchange, request.symbol)
            if self.instruments is not None
            else None
        )
        position_quantity = 0
        if self.positions is not None:
            position_quantity = self.positions.peek(
                request.exchange, request.symbol, request.product
            ).quantity
        pending = (
            0
            if self.orders is None
            else self.orders.open_quantity(
                request.exchange, request.symbol, request.product, request.side
            )
        )
        underlying = instrument.underlying if instrument is not None else None
        return OrderContext(
            request=request,
            limits=self._limits,
            instrument=instrument,
            last_price=self.last_price(request.exchange, request.symbol),
            position_quantity=position_quantity,
            pending_same_side=pending,
            underlying_price=None if underlying is None else self.last_price(*underlying),
        )

    # ------------------------------------------------------------------ the checks
    def run_check(
        self, name: str, request: OrderRequest, ctx: OrderContext | None = None
    ) -> str | None:
        """Run one synchronous check by name; the reason it refuses, or None.
        (`margin` is asynchronous: use `check_margin`.)"""
        ctx = ctx or self.context(request)
        limits = ctx.limits
        if name == "kill_switch":
            engaged, reason = self.halted()
            return check_kill_switch(request, engaged, reason, ctx.reduces_only)
        if name == "instrument":
            return check_instrument(ctx, self.instruments)
        if name == "order_shape":
            return check_order_shape(ctx) or self._mis_cutoff(ctx)
        if name == "price_band":
            return self._circuit(ctx) or check_price_band(ctx)
        if name == "max_quantity":
            return check_max_quantity(ctx)
        if name == "max_order_value":
            return check_max_order_value(ctx)
        if name == "risk_per_trade":
            return check_risk_per_trade(ctx)
        if name == "risk_reward":
            return check_risk_reward(ctx)
        if name == "daily_loss_limit":
            if ctx.reduces_only:
                return None
            try:
                net = self.day_net()
            except Exception as exc:  # noqa: BLE001 - fail closed, with the reason
                log.exception("today's PnL could not be computed")
                return f"Today's PnL cannot be computed ({exc}); orders are held"
            return check_daily_loss_limit(net, limits, ctx.reduces_only)
        if name == "max_open_positions":
            open_keys = (
                {p.key for p in self.positions.open_positions()} if self.positions else set()
            )
            pending_keys = (
                set()
                if self.orders is None
                else {
                    key
                    for key in self.orders.live_keys()
                    if any(o.source not in SYSTEM_SOURCES for o in self.orders.live_orders_on(*key))
                }
            )
            key = (request.exchange, request.symbol, request.product)
            return check_max_open_positions(key, limits, open_keys, pending_keys, ctx.reduces_only)
        if name == "duplicate_order":
            return self.recent.check(
                request, self.clock(), limits.duplicate_window_s, self.status_of
            )
        if name == "order_rate":
            return self.rate.check(self.clock(), ctx.slices)
        if name == "margin":
            raise ValueError("margin is asynchronous: await check_margin(request)")
        raise ValueError(f"unknown check {name!r}; checks are {', '.join(CHECK_NAMES)}")

    def _circuit(self, ctx: OrderContext) -> str | None:
        """The exchange's circuit limits (Kite refuses a price or trigger outside them)."""
        r = ctx.request
        if self.circuit_limits is None or (r.price is None and r.trigger_price is None):
            return None
        try:
            limits = self.circuit_limits(r.exchange, r.symbol)
        except Exception:  # noqa: BLE001 - a prediction: the exchange checks it anyway
            log.exception("circuit limits unavailable for %s", ctx.label)
            return None
        if limits is None:
            return None
        return circuit_problem(ctx.label, r.price, r.trigger_price, limits)

    def _mis_cutoff(self, ctx: OrderContext) -> str | None:
        """Zerodha's MIS entry cut-off near the close (exits still go)."""
        r = ctx.request
        return mis_cutoff_problem(
            product=r.product,
            exchange=r.exchange,
            side=r.side,
            quantity=r.quantity,
            position_quantity=ctx.position_quantity,
            now_ist=self.wall_clock().astimezone(IST),
            cutoffs=self.mis_cutoffs,
        )

    async def check_margin(
        self, request: OrderRequest, ctx: OrderContext | None = None
    ) -> str | None:
        ctx = ctx or self.context(request)
        if self.funds is None or self.margin is None or ctx.reduces_only or ctx.system_exit:
            return None
        price = ctx.reference_price
        if price is None:
            return None
        required = self.margin(
            request.exchange,
            request.symbol,
            request.product,
            request.side,
            request.quantity,
            price,
            ctx.position_quantity,
        )
        if inspect.isawaitable(required):  # the broker's own estimate (Kite order margins)
            try:
                async with asyncio.timeout(self.funds_timeout_s):
                    required = await required
            except Exception as exc:  # noqa: BLE001 - the broker checks margin itself
                log.warning("margin check skipped: order margin unavailable (%s)", exc)
                return None
        try:
            async with asyncio.timeout(self.funds_timeout_s):
                funds = await (
                    self.funds(request.exchange) if self.funds_by_exchange else self.funds()
                )
        except Exception as exc:  # noqa: BLE001 - the broker checks margin itself
            log.warning("margin check skipped: funds unavailable (%s)", exc)
            return None
        if funds is None:
            return None
        available = getattr(funds, "available", funds)
        return check_margin(required, available, self._in_flight_margin())

    def _in_flight_margin(self) -> Decimal:
        """Margin the broker does not block yet: orders journaled, not yet acknowledged."""
        total = Decimal(0)
        if self.margin is None:
            return total
        for o in self.orders.inflight_orders() if self.orders is not None else ():
            if o.source in SYSTEM_SOURCES:
                continue
            price = o.price or o.trigger_price or self.last_price(o.exchange, o.symbol)
            if price is None:
                continue
            held = (
                self.positions.peek(o.exchange, o.symbol, o.product).quantity
                if self.positions
                else 0
            )
            amount = self.margin(o.exchange, o.symbol, o.product, o.side, o.quantity, price, held)
            total += amount or 0
        return total

    async def problems(self, request: OrderRequest) -> list[tuple[str, str]]:
        """Every check the order fails, in order, without raising or recording anything."""
        ctx = self.context(request)
        found = []
        for name in self._names_for(ctx):
            reason = (
                await self.check_margin(request, ctx)
                if name == "margin"
                else self.run_check(name, request, ctx)
            )
            if reason:
                found.append((name, reason))
        return found

    def _names_for(self, ctx: OrderContext) -> tuple[str, ...]:
        if ctx.system_exit:
            return ("kill_switch", "instrument", "order_shape", "order_rate")
        return CHECK_NAMES

    # ------------------------------------------------------------------ validate
    async def validate(self, request: OrderRequest) -> None:
        ctx = self.context(request)
        for name in self._names_for(ctx):
            if name == "margin":
                reason = await self.check_margin(request, ctx)
            elif name == "order_rate" and ctx.system_exit:
                await self._wait_for_rate(ctx.slices)
                continue
            else:
                reason = self.run_check(name, request, ctx)
            if reason:
                raise OrderRejected(reason, name)

    async def _wait_for_rate(self, count: int = 1) -> None:
        waited = 0.0
        while True:
            wait, _ = self.rate.delay(self.clock(), count)
            if wait <= 0:
                return
            if waited + wait > self.max_rate_wait_s:
                raise OrderRejected(
                    self.rate.check(self.clock(), count) or "Order rate limit reached",
                    "order_rate",
                )
            await self.sleep(wait)
            waited += wait

    # ------------------------------------------------------------------ OMS hooks
    def order_journaled(self, order: Order) -> None:
        """Called by the OrderManager right after the order is journaled for sending."""
        now = self.clock()
        self.rate.record(now)
        self.recent.record(fingerprint(order), order.id, now)

    def slices_journaled(self, request: OrderRequest, orders: list[Order]) -> None:
        """Called by the OrderManager right after the slices of one order are journaled:
        each counts for `order_rate`; the order as asked counts once for
        `duplicate_order` (under its first slice), so the same click again is caught."""
        now = self.clock()
        for _ in orders:
            self.rate.record(now)
        if orders:
            self.recent.record(fingerprint(request), orders[0].id, now)

    def prime(self, orders: list[Order], now: datetime | None = None) -> None:
        """Count orders journaled before this validator existed (after a restart)."""
        wall = now or utcnow()
        mono = self.clock()
        day = self.rate.limits[-1].period
        times, sent = [], []
        for o in orders:
            age = (wall - o.created_at).total_seconds()
            if 0 <= age < day:
                times.append(mono - age)
                sent.append(Sent(mono - age, fingerprint(o), o.id))
        self.rate.prime(times)
        self.recent.prime(sent)
