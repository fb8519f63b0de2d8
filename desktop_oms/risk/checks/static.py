"""Checks on the order itself against the market and the limits (no account state).

Each returns the reason a trader reads, or None when the order passes. Values exactly at
a limit pass ("exceeds" means strictly beyond).
"""

from __future__ import annotations

from decimal import Decimal

from desktop_oms.domain import OrderSide, OrderType, order_shape_problem
from desktop_oms.domain.margin import exposure_margin
from desktop_oms.oms.checks import instrument_problem, is_exchange_option, sl_m_refusal
from desktop_oms.risk.checks import fmt
from desktop_oms.risk.checks.context import OrderContext

HUNDRED = Decimal(100)


def check_instrument(ctx: OrderContext, instruments) -> str | None:
    """Known and tradable; quantity a multiple of the lot size; prices on the tick."""
    if instruments is None:
        return None
    return instrument_problem(instruments, ctx.request)


def check_order_shape(ctx: OrderContext) -> str | None:
    """LIMIT has a price, SL price and trigger, SL-M a trigger, MARKET neither; no SL-M on
    an option (the exchange refuses it); a stop's trigger is on the far side of the last
    price (else it would trigger at once)."""
    r = ctx.request
    problem = order_shape_problem(r)
    if problem:
        return problem
    if r.order_type is OrderType.SL_M:
        option = (
            not ctx.instrument.sl_m_allowed
            if ctx.instrument is not None
            else is_exchange_option(None, r.exchange, r.symbol)
        )
        if option:
            return sl_m_refusal(r)
    if r.order_type.needs_trigger and r.trigger_price is not None and ctx.last_price is not None:
        last = ctx.last_price
        if r.side is OrderSide.BUY and r.trigger_price <= last:
            return (
                f"A buy stop's trigger {fmt.price(r.trigger_price)} must be above the last price "
                f"{fmt.price(last)} (it would trigger at once)"
            )
        if r.side is OrderSide.SELL and r.trigger_price >= last:
            return (
                f"A sell stop's trigger {fmt.price(r.trigger_price)} must be below the last price "
                f"{fmt.price(last)} (it would trigger at once)"
            )
    return None


def check_price_band(ctx: OrderContext) -> str | None:
    """Limit and trigger prices within price_band_pct of the live last price."""
    r = ctx.request
    band = ctx.limits.price_band_pct
    prices = [("Price", r.price), ("Trigger price", r.trigger_price)]
    prices = [(label, value) for label, value in prices if value is not None]
    if not prices:
        return None
    last = ctx.last_price
    if last is None or last <= 0:
        return f"No last price for {ctx.label} yet: the price band cannot be checked"
    for label, value in prices:
        move = (value - last) / last * HUNDRED
        if abs(move) > band:
            direction = "above" if move > 0 else "below"
            return (
                f"{label} {fmt.price(value)} is {fmt.beyond(abs(move), band)}% {direction} last price "
                f"{fmt.price(last)}; band is {fmt.plain(band)}%"
            )
    return None


def check_max_quantity(ctx: OrderContext) -> str | None:
    limit = ctx.limits.max_quantity
    if ctx.request.quantity > limit:
        return (
            f"Quantity {fmt.count(ctx.request.quantity)} exceeds your limit of {fmt.count(limit)}"
        )
    return None


def order_value(ctx: OrderContext) -> Decimal | None:
    """Price x quantity x multiplier (an option's price is its premium), or None without a
    price. Selling options (opening a short) is valued at the larger of the premium and
    the margin it blocks (`short_option_margin`)."""
    price = ctx.reference_price
    if price is None:
        return None
    value = ctx.request.quantity * price * ctx.multiplier
    margin = short_option_margin(ctx)
    return value if margin is None else max(value, margin)


def short_option_margin(ctx: OrderContext) -> Decimal | None:
    """The margin (domain/margin.py's SPAN-like model on the index's live price) that the
    short part of an option sell blocks; None for anything else."""
    quantity = ctx.short_option_quantity
    price = ctx.reference_price
    if quantity <= 0 or price is None or ctx.instrument is None:
        return None
    return exposure_margin(
        ctx.instrument,
        ctx.request.product,
        OrderSide.SELL,
        quantity,
        price,
        ctx.underlying_price,
    )


def check_max_order_value(ctx: OrderContext) -> str | None:
    value = order_value(ctx)
    if value is None:
        return f"No last price for {ctx.label} yet: the order value cannot be checked"
    limit = ctx.limits.max_order_value
    if value > limit:
        margin = short_option_margin(ctx)
        if margin is not None and margin >= value:
            premium = ctx.request.quantity * (ctx.reference_price or 0) * ctx.multiplier
            return (
                f"Selling {fmt.count(ctx.short_option_quantity)} {ctx.label} blocks margin "
                f"{fmt.rupees(margin)} (a short option risks far more than its premium "
                f"{fmt.rupees(premium)}), beyond your order value limit of {fmt.rupees(limit)}"
            )
        return f"Order value {fmt.rupees(value)} exceeds your limit of {fmt.rupees(limit)}"
    return None


def trade_risk(ctx: OrderContext) -> Decimal | None:
    """|entry - stop_loss| x quantity x multiplier, or None without a stop or an entry."""
    entry = ctx.reference_price
    stop = ctx.request.stop_loss
    if entry is None or stop is None:
        return None
    return abs(entry - stop) * ctx.request.quantity * ctx.multiplier


def check_risk_per_trade(ctx: OrderContext) -> str | None:
    """Risk to the stop-loss within risk_per_trade_pct of capital; with require_stop_loss,
    an order that opens or adds to a position needs a stop-loss. Orders that only reduce
    a position carry no new risk and pass."""
    r = ctx.request
    limits = ctx.limits
    if ctx.reduces_only:
        return None
    if r.stop_loss is None:
        if limits.require_stop_loss:
            return "A stop-loss is required: your settings refuse orders without one"
        return None
    risk = trade_risk(ctx)
    if risk is None:
        return f"No last price for {ctx.label} yet: the risk to the stop-loss cannot be computed"
    allowed = limits.risk_per_trade
    if risk > allowed:
        pct = risk / limits.capital * HUNDRED
        return (
            f"Risk {fmt.rupees(risk)} ({fmt.beyond(pct, limits.risk_per_trade_pct, 2)}% of capital) "
            f"to the stop-loss exceeds your limit of {fmt.rupees(allowed)} "
            f"({fmt.plain(limits.risk_per_trade_pct)}% of capital)"
        )
    return None


def check_risk_reward(ctx: OrderContext) -> str | None:
    """With a stop-loss and a take-profit: reward / risk >= min_risk_reward."""
    r = ctx.request
    if r.stop_loss is None or r.take_profit is None or ctx.reduces_only:
        return None
    entry = ctx.reference_price
    if entry is None:
        return f"No last price for {ctx.label} yet: reward:risk cannot be computed"
    sign = 1 if r.side is OrderSide.BUY else -1
    risk = (entry - r.stop_loss) * sign
    reward = (r.take_profit - entry) * sign
    if risk <= 0 or reward <= 0:
        return (
            f"Stop-loss {fmt.price(r.stop_loss)} and take-profit {fmt.price(r.take_profit)} must be on "
            f"either side of the entry {fmt.price(entry)}"
        )
    ratio = reward / risk
    minimum = ctx.limits.min_risk_reward
    if ratio < minimum:
        return (
            f"Reward:risk {fmt.beyond(ratio, minimum, 2, more_than=False)} is below your minimum of "
            f"{fmt.plain(minimum)} (entry {fmt.price(entry)}, stop {fmt.price(r.stop_loss)}, "
            f"target {fmt.price(r.take_profit)})"
        )
    return None
