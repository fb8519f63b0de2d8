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

The GTTs it made follow their position (`start()`; the ids are kept in the database's
state, so across restarts too): when the position's quantity changes, the GTT's orders
are resized to what is held; when it is closed (by hand, the kill switch, elsewhere) or
reversed, the GTT is deleted - it would otherwise sell what is no longer held, or open a
position the other way. At start-up every one is checked against the reconciled
positions. Each such change is audited and told to the trader; one that fails is an
error alert (the GTT is left as it was). GTTs made elsewhere (Kite web) are left alone.
What a fired GTT did reaches the OMS as the broker's order and position (reconciliation
adopts it; a GTT's order carries no tag).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from desktop_oms.brokers import BrokerError
from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.events import PositionChanged
from desktop_oms.domain.gtt import GTT_PRODUCTS, Gtt, GttLeg, GttRequest, GttType, gtt_problem
from desktop_oms.domain.money import round_to_tick
from desktop_oms.storage.risk_store import RiskStore

log = logging.getLogger(__name__)

PositionKey = tuple[str, str, Product]
STOP_LIMIT_PCT = Decimal("1")  # a GTT stop's LIMIT price, this far beyond its trigger
PROTECTION_STATE = "gtt_protection"  # app_state: the GTTs this app made for positions


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
        alert: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.positions = positions
        self.store = store
        self._last_price = last_price
        self.instruments = instruments
        self._alert = alert
        self.task_group = None
        # gtt id -> {"exchange", "symbol", "product", "side"} of the GTTs made here
        self._protection: dict[int, dict] = {}
        if store is not None:
            saved = store.get_json(PROTECTION_STATE) or {}
            for gtt_id, meta in saved.items():
                try:
                    self._key_of(meta)
                    OrderSide(meta["side"])
                except (KeyError, TypeError, ValueError):
                    log.error("GTT protection record %s is unreadable; not followed", gtt_id)
                    continue
                if str(gtt_id).isdigit():
                    self._protection[int(gtt_id)] = meta
        self._seen: dict[PositionKey, int] = {}
        self._dirty: set[PositionKey] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    # ------------------------------------------------------------------ following
    def start(self, events) -> None:
        """Follow the positions of the GTTs made here (check each now: start-up)."""
        if self._unsubscribe is not None:
            return
        self._unsubscribe = events.subscribe(PositionChanged, self._on_position)
        coro = self._run()
        if self.task_group is not None:
            self._task = self.task_group.spawn("gtt-follow", coro)
        else:
            self._task = asyncio.ensure_future(coro)
        for key in {self._key_of(meta) for meta in self._protection.values()}:
            self._mark(key)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @staticmethod
    def _key_of(meta: dict) -> PositionKey:
        return (str(meta["exchange"]), str(meta["symbol"]), Product(meta["product"]))

    def protected_keys(self) -> set[PositionKey]:
        return {self._key_of(meta) for meta in self._protection.values()}

    def _mark(self, key: PositionKey) -> None:
        self._dirty.add(key)
        self.idle.clear()
        self._wake.set()

    def _on_position(self, event: PositionChanged) -> None:
        position = event.position
        key = position.key
        if self._seen.get(key) == position.quantity:
            return  # a new price, not a new quantity
        self._seen[key] = position.quantity
        if key in self.protected_keys():
            self._mark(key)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                key = self._dirty.pop()
                try:
                    await self.follow(key)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - told, and tried again on the next change
                    message = getattr(exc, "message", None) or str(exc)
                    self._tell("error", f"GTT for {key[1]} {key[2].value} not adjusted: {message}")
            if not self._dirty:
                self.idle.set()

    def _tell(self, level: str, message: str) -> None:
        if self._alert is not None:
            self._alert(level, message, "gtt")
        else:
            log.warning("%s", message)

    def _remember(self, gtt_id: int, key: PositionKey, side: OrderSide) -> None:
        exchange, symbol, product = key
        self._protection[gtt_id] = {
            "exchange": exchange,
            "symbol": symbol,
            "product": product.value,
            "side": side.value,
        }
        self._save()

    def _forget(self, gtt_id: int) -> None:
        if self._protection.pop(gtt_id, None) is not None:
            self._save()

    def _save(self) -> None:
        if self.store is not None:
            self.store.set_json(PROTECTION_STATE, {str(k): v for k, v in self._protection.items()})

    async def follow(self, key: PositionKey) -> list[str]:
        """Bring the GTTs made here for the position `key` in line with what is held:
        resized to it, or deleted when nothing is held on their side. What was done."""
        mine = {
            gtt_id: meta for gtt_id, meta in self._protection.items() if self._key_of(meta) == key
        }
        if not mine:
            return []
        exchange, symbol, product = key
        position = await self.positions.get_position(symbol, exchange=exchange, product=product)
        quantity = position.quantity if position is not None else 0
        gtts = {g.gtt_id: g for g in await self.broker.gtts()}
        done = []
        for gtt_id, meta in mine.items():
            gtt = gtts.get(gtt_id)
            if gtt is None or not gtt.status.is_active:
                self._forget(gtt_id)  # fired, deleted or expired: nothing more to follow
                continue
            closing = OrderSide(meta["side"])
            held = max(quantity, 0) if closing is OrderSide.SELL else max(-quantity, 0)
            if held == 0:
                why = "reversed" if quantity else "closed"
                await self.delete_gtt(gtt_id, symbol, reason=f"the position was {why}")
                done.append(f"deleted GTT #{gtt_id}")
                self._tell(
                    "warning",
                    f"GTT #{gtt_id} deleted: the {symbol} {product.value} position was {why}",
                )
            elif held != gtt.legs[0].quantity:
                await self.modify_gtt(
                    gtt,
                    trigger_values=gtt.trigger_values,
                    prices=tuple(leg.price for leg in gtt.legs),
                    quantity=held,
                    reason=f"the position is now {quantity:+d}",
                )
                done.append(f"resized GTT #{gtt_id} to {held}")
                self._tell(
                    "info",
                    f"GTT #{gtt_id} now covers {held} {symbol} {product.value} "
                    f"(was {gtt.legs[0].quantity})",
                )
        return done

    async def withdraw(
        self, exchange: str, symbol: str, product: Product, reason: str = "the position is exited"
    ) -> list[str]:
        """Before an exit or the kill switch closes the position `key`: delete the active
        GTTs made here for it, so none fires after the position is gone (an NRML one would
        open the other side). Never raises: what could not be deleted is said (the exit
        still goes; the GTT is deleted again when the position is seen closed)."""
        key = (exchange, symbol, Product(product))
        mine = [g for g, meta in self._protection.items() if self._key_of(meta) == key]
        notes = []
        for gtt_id in mine:
            try:
                await self.delete_gtt(gtt_id, symbol, reason=reason)
            except Exception as exc:  # noqa: BLE001 - the exit must go on
                message = getattr(exc, "message", None) or str(exc)
                notes.append(f"GTT #{gtt_id} could not be deleted first: {message}")
                self._tell(
                    "error", f"GTT #{gtt_id} {symbol} not deleted before the exit: {message}"
                )
            else:
                notes.append(f"deleted GTT #{gtt_id} first")
        return notes

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
        self._remember(gtt_id, key, closing)
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
        reason: str | None = None,
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
            "reason": reason or "by the trader",
        }
        try:
            await self.broker.modify_gtt(gtt.gtt_id, request)
        except BrokerError as exc:
            self._audit("gtt_failed", f"GTT #{gtt.gtt_id} not modified: {exc.message}", details)
            raise
        self._audit("gtt_modified", f"GTT #{gtt.gtt_id} ({gtt.symbol}) modified", details)

    async def delete_gtt(self, gtt_id: int, symbol: str = "", *, reason: str | None = None) -> None:
        details = {"gtt_id": gtt_id, "symbol": symbol, "reason": reason or "by the trader"}
        try:
            await self.broker.delete_gtt(gtt_id)
        except BrokerError as exc:
            self._audit("gtt_failed", f"GTT #{gtt_id} not deleted: {exc.message}", details)
            raise
        self._forget(gtt_id)
        self._audit("gtt_deleted", f"GTT #{gtt_id} {symbol} deleted".replace("  ", " "), details)


__all__ = ["STOP_LIMIT_PCT", "GttManager", "GttRefused", "protective_oco"]
