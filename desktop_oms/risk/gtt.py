"""Protection that lives at the broker across days: a GTT OCO (stop + target) for a
carried (CNC/NRML) position.

A bracket's legs are day orders; a position carried overnight needs protection that
outlives the session and the app. Kite's two-leg GTT rests at Zerodha until one trigger
is hit: the stop's trigger below the last price (above, for a short) places a LIMIT exit
`stop_limit_pct` beyond it (so it fills through a fast market, yet inside the day's
circuit band), the target's trigger places a LIMIT exit at the target. One leg only ever
fires, so the position is never exited twice by it.

`GttManager.protect_with_gtt(key, stop, target)` builds that GTT for the whole position
(quantity = what is held), after checking the sides (a long's stop below the last price
and its target above; the reverse for a short) and that no active GTT already closes the
same position (two would sell it twice). Every request and its outcome is audited in the
risk audit trail (`risk_events`: gtt_placed, gtt_modified, gtt_deleted, gtt_failed).

A GTT does not follow the position: if the position is added to or reduced, modify the
GTT (the GTT tab) or delete it. What a fired GTT did reaches the OMS as the broker's
order and position (reconciliation adopts it; a GTT's order carries no tag).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from desktop_oms.brokers import BrokerError
from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.gtt import GTT_PRODUCTS, Gtt, GttLeg, GttRequest, GttType, gtt_problem
from desktop_oms.domain.money import round_to_tick
from desktop_oms.storage.risk_store import RiskStore

log = logging.getLogger(__name__)

PositionKey = tuple[str, str, Product]
STOP_LIMIT_PCT = Decimal("1")  # a GTT stop's LIMIT price, this far beyond its trigger


class GttRefused(ValueError):
    """The GTT was not sent: the message says why, in the trader's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _on_tick(value: Decimal, tick: Decimal) -> bool:
    return tick <= 0 or value % tick == 0


def protective_oco(
    key: PositionKey,
    quantity: int,
    last_price: Decimal,
    stop: Decimal,
    target: Decimal,
    *,
    tick: Decimal = Decimal("0.05"),
    stop_limit: Decimal | None = None,
    stop_limit_pct: Decimal = STOP_LIMIT_PCT,
) -> GttRequest:
    """The two-leg GTT that closes a position of signed `quantity`: at the stop (a LIMIT
    `stop_limit`, default `stop_limit_pct` beyond the trigger on the tick) or at the
    target. GttRefused for anything Kite or a trader would not want."""
    exchange, symbol, product = key
    if product not in GTT_PRODUCTS:
        raise GttRefused(
            f"A GTT protects a carried position (CNC/NRML); {symbol} is {product.value}: "
            "use a bracket for an intraday position"
        )
    if quantity == 0:
        raise GttRefused(f"There is no open {symbol} position to protect")
    stop, target = Decimal(stop), Decimal(target)
    if last_price is None or last_price <= 0:
        raise GttRefused(f"No last price for {exchange}:{symbol}: a GTT needs one")
    long = quantity > 0
    side = OrderSide.SELL if long else OrderSide.BUY
    if long and not stop < last_price < target:
        raise GttRefused(
            f"For a long position the stop must be below the last price ({last_price}) "
            f"and the target above it; got stop {stop}, target {target}"
        )
    if not long and not target < last_price < stop:
        raise GttRefused(
            f"For a short position the stop must be above the last price ({last_price}) "
            f"and the target below it; got stop {stop}, target {target}"
        )
    if not _on_tick(target, tick):
        raise GttRefused(f"The target {target} is not on the tick size {tick}")
    if stop_limit is None:
        buffer = max(stop * stop_limit_pct / Decimal(100), tick)
        stop_limit = (
            round_to_tick(max(stop - buffer, tick), tick, "down")
            if long
            else round_to_tick(stop + buffer, tick, "up")
        )
    stop_limit = Decimal(stop_limit)
    if not _on_tick(stop_limit, tick):
        raise GttRefused(f"The stop's limit price {stop_limit} is not on the tick size {tick}")
    if (long and stop_limit > stop) or (not long and stop_limit < stop):
        raise GttRefused(
            f"The stop's limit price {stop_limit} must be at or beyond its trigger {stop} "
            "(else the exit may not fill when the stop is hit)"
        )
    size = abs(quantity)
    stop_leg = GttLeg(side, size, stop_limit, product)
    target_leg = GttLeg(side, size, target, product)
    # Kite's OCO: the lower trigger and its leg first.
    triggers, legs = (
        ((stop, target), (stop_leg, target_leg))
        if long
        else (
            (target, stop),
            (target_leg, stop_leg),
        )
    )
    request = GttRequest(GttType.OCO, exchange, symbol, triggers, last_price, legs)
    problem = gtt_problem(request)
    if problem:
        raise GttRefused(problem)
    return request


class GttManager:
    """GTTs for the window and headless use: protect a position, list, modify, delete.
    Broker calls are awaited (they run off the loop in the adapters)."""

    def __init__(
        self,
        broker,
        positions,
        store: RiskStore | None,
        *,
        last_price: Callable[[str, str], Decimal | None],
        instruments=None,
    ) -> None:
        self.broker = broker
        self.positions = positions
        self.store = store
        self._last_price = last_price
        self.instruments = instruments

    def _audit(self, kind: str, message: str, details: dict) -> None:
        log.info("%s: %s", kind, message)
        if self.store is not None:
            self.store.audit(kind, message, details)

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        price = self._last_price(exchange, symbol)
        if price is None:
            price = self.broker.last_prices().get((exchange, symbol))
        return price

    def tick_size(self, exchange: str, symbol: str) -> Decimal:
        store = self.instruments or self.broker.instrument_store
        instrument = store.get(exchange, symbol) if store is not None else None
        return instrument.tick_size if instrument is not None else Decimal("0.05")

    async def gtts(self) -> list[Gtt]:
        return await self.broker.gtts()

    async def protect_with_gtt(
        self,
        key: PositionKey,
        stop: Decimal,
        target: Decimal,
        *,
        stop_limit: Decimal | None = None,
    ) -> int:
        """Place a GTT OCO that closes the position `key` at `stop` or `target`; its id.

        GttRefused (nothing sent) for a wrong side, no position, an intraday product or a
        position an active GTT already closes; BrokerError as the broker answered."""
        exchange, symbol, product = key
        product = Product(product)
        key = (exchange, symbol, product)
        position = await self.positions.get_position(symbol, exchange=exchange, product=product)
        quantity = position.quantity if position is not None else 0
        last = self.last_price(exchange, symbol)
        if last is None and position is not None:
            last = position.last_price
        request = protective_oco(
            key,
            quantity,
            last,
            stop,
            target,
            tick=self.tick_size(exchange, symbol),
            stop_limit=stop_limit,
        )
        closing = request.legs[0].side
        for gtt in await self.broker.gtts():
            if (
                gtt.status.is_active
                and gtt.key == (exchange, symbol)
                and any(leg.side is closing and leg.product is product for leg in gtt.legs)
            ):
                raise GttRefused(
                    f"{symbol} {product.value} is already protected by GTT #{gtt.gtt_id}: "
                    "modify or delete it first (two would exit the position twice)"
                )
        details = {
            "exchange": exchange,
            "symbol": symbol,
            "product": product.value,
            "quantity": quantity,
            "last_price": str(last),
            "triggers": [str(v) for v in request.trigger_values],
            "prices": [str(leg.price) for leg in request.legs],
        }
        try:
            gtt_id = await self.broker.place_gtt(request)
        except BrokerError as exc:
            self._audit("gtt_failed", f"GTT for {symbol} not placed: {exc.message}", details)
            raise
        self._audit(
            "gtt_placed",
            f"GTT #{gtt_id} protects {quantity} {symbol} {product.value}: "
            f"stop {stop}, target {target}",
            {**details, "gtt_id": gtt_id},
        )
        return gtt_id

    async def modify_gtt(
        self,
        gtt: Gtt,
        *,
        trigger_values: tuple[Decimal, ...],
        prices: tuple[Decimal, ...],
        quantity: int | None = None,
    ) -> None:
        """New triggers and leg prices (and quantity) for an active GTT, checked against
        the last price now (Kite's rule: lower trigger below it, upper above)."""
        last = self.last_price(gtt.exchange, gtt.symbol) or gtt.last_price
        legs = tuple(
            GttLeg(leg.side, quantity or leg.quantity, Decimal(price), leg.product)
            for leg, price in zip(gtt.legs, prices, strict=True)
        )
        request = GttRequest(
            gtt.gtt_type,
            gtt.exchange,
            gtt.symbol,
            tuple(Decimal(v) for v in trigger_values),
            last,
            legs,
        )
        problem = gtt_problem(request)
        if problem:
            raise GttRefused(problem)
        details = {
            "gtt_id": gtt.gtt_id,
            "symbol": gtt.symbol,
            "from": [str(v) for v in gtt.trigger_values],
            "triggers": [str(v) for v in request.trigger_values],
            "prices": [str(leg.price) for leg in legs],
            "quantity": legs[0].quantity,
        }
        try:
            await self.broker.modify_gtt(gtt.gtt_id, request)
        except BrokerError as exc:
            self._audit("gtt_failed", f"GTT #{gtt.gtt_id} not modified: {exc.message}", details)
            raise
        self._audit("gtt_modified", f"GTT #{gtt.gtt_id} ({gtt.symbol}) modified", details)

    async def delete_gtt(self, gtt_id: int, symbol: str = "") -> None:
        details = {"gtt_id": gtt_id, "symbol": symbol}
        try:
            await self.broker.delete_gtt(gtt_id)
        except BrokerError as exc:
            self._audit("gtt_failed", f"GTT #{gtt_id} not deleted: {exc.message}", details)
            raise
        self._audit("gtt_deleted", f"GTT #{gtt_id} {symbol} deleted".replace("  ", " "), details)


__all__ = ["STOP_LIMIT_PCT", "GttManager", "GttRefused", "protective_oco"]
