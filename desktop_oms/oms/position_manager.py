"""PositionManager: netting positions, average price, realized/unrealized PnL, reversals.

The accounting itself is the pure `desktop_oms.domain.positions` module; this class keeps
the current positions in memory (keyed by exchange, symbol, product), persists them, and
publishes PositionChanged / PricesMarked events. Marks from ticks change only memory and
are flushed to the database by `flush_marks()` (the OMS calls it periodically and on stop):
a tick storm never becomes a storm of commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain import OrderSide, Position, Product
from desktop_oms.domain.events import PositionChanged, PricesMarked
from desktop_oms.domain.money import ZERO
from desktop_oms.domain.positions import (
    FillOutcome,
    apply_fill,
    flat_position,
    force_quantity,
    mark_to_market,
)
from desktop_oms.infra.clock import IST, utcnow
from desktop_oms.oms.event_bus import EventBus
from desktop_oms.storage import Database

log = logging.getLogger(__name__)


def day_start(now: datetime) -> datetime:
    """Midnight IST of the trading day `now` falls in (aware)."""
    local = now.astimezone(IST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


PositionKey = tuple[str, str, Product]


class PositionManager:
    def __init__(
        self,
        db: Database,
        events: EventBus | None = None,
        multiplier_for: Callable[[str, str], Decimal] | None = None,
    ) -> None:
        self._db = db
        self.events = events or EventBus()
        self._multiplier_for = multiplier_for
        self._positions: dict[PositionKey, Position] | None = None
        self._now = utcnow  # injectable for tests
        self._dirty: set[PositionKey] = set()

    # ------------------------------------------------------------ cache
    def _cache(self) -> dict[PositionKey, Position]:
        if self._positions is None:
            self._positions = self._start_of_day(self._db.positions.all())
        return self._positions

    def _start_of_day(self, stored: list[Position]) -> dict[PositionKey, Position]:
        """Positions as the day starts: a position closed on an earlier day is not shown,
        and one carried overnight starts the day with no realized PnL or charges (the
        trades table keeps the history). Rows already touched today are as they are."""
        today = day_start(self._now())
        current: dict[PositionKey, Position] = {}
        rolled: list[Position] = []
        for position in stored:
            if position.updated_at is not None and position.updated_at >= today:
                current[position.key] = position
            elif position.is_open:
                fresh = replace(
                    position,
                    realized_pnl=ZERO,
                    charges=ZERO,
                    peak_unrealized_pnl=max(position.unrealized_pnl, ZERO),
                    max_drawdown=ZERO,
                    updated_at=self._now(),
                )
                current[position.key] = fresh
                rolled.append(fresh)
        if rolled:
            self._db.positions.upsert_many(rolled)
            log.info("carried %d open positions into the day", len(rolled))
        return current

    def reload(self) -> None:
        self._positions = None
        self._dirty.clear()

    def peek(self, exchange: str, symbol: str, product: Product) -> Position:
        """Current position for the key, or a flat one (not stored)."""
        key = (exchange, symbol, product)
        existing = self._cache().get(key)
        if existing is not None:
            return existing
        mult = self._multiplier_for(exchange, symbol) if self._multiplier_for else Decimal(1)
        return flat_position(symbol, exchange, product, mult)

    def commit(self, position: Position) -> None:
        """Record a position the OMS already persisted (in its fill transaction)."""
        self._cache()[position.key] = position
        self._dirty.discard(position.key)
        self.events.publish(PositionChanged(position))

    # ------------------------------------------------------------ updates (seed API)
    def compute_fill(
        self,
        exchange: str,
        symbol: str,
        product: Product,
        side: OrderSide,
        quantity: int,
        price: Decimal,
        at: datetime,
    ) -> FillOutcome:
        position = self.peek(exchange, symbol, product)
        return apply_fill(position, side, quantity, price, at)

    async def update_position_on_fill(self, order, quantity: int, price: Decimal) -> Position:
        """Apply one fill of `order` (anything with symbol, exchange, product, side) and persist."""
        outcome = self.compute_fill(
            order.exchange, order.symbol, order.product, order.side, quantity, price, utcnow()
        )
        self._db.positions.upsert(outcome.position)
        self.commit(outcome.position)
        return outcome.position

    async def force_update_quantity(
        self,
        symbol: str,
        quantity: int,
        *,
        exchange: str = "NSE",
        product: Product = Product.MIS,
        average_price: Decimal | None = None,
        multiplier: Decimal | None = None,
    ) -> Position:
        position = self.peek(exchange, symbol, product)
        if multiplier is not None:
            position = replace(position, multiplier=multiplier)
        fixed = force_quantity(position, quantity, average_price, utcnow())
        self._db.positions.upsert(fixed)
        self.commit(fixed)
        return fixed

    async def force_close_position(
        self, symbol: str, *, exchange: str = "NSE", product: Product = Product.MIS
    ) -> Position:
        return await self.force_update_quantity(symbol, 0, exchange=exchange, product=product)

    def fixed_position(
        self,
        exchange: str,
        symbol: str,
        product: Product,
        quantity: int,
        average_price: Decimal | None,
        multiplier: Decimal | None,
        last_price: Decimal | None,
    ) -> Position:
        """The position after trusting the broker's numbers (not stored; see commit)."""
        position = self.peek(exchange, symbol, product)
        if multiplier is not None and multiplier > 0:
            position = replace(position, multiplier=multiplier)
        if last_price is not None and last_price > 0:
            position = replace(position, last_price=last_price)
        return force_quantity(position, quantity, average_price, utcnow())

    def adopt_multiplier(
        self, exchange: str, symbol: str, product: Product, multiplier: Decimal
    ) -> Position | None:
        """The open position takes the broker's contract multiplier (Kite's positions
        show it for MCX/CDS; a position journaled before the app knew it says 1), valued
        again at its last mark and stored. None if there is no such open position."""
        position = self._cache().get((exchange, symbol, product))
        if position is None or not position.is_open or position.multiplier == multiplier:
            return None
        adopted = replace(position, multiplier=multiplier)
        if adopted.last_price is not None and adopted.last_price > ZERO:
            adopted = mark_to_market(adopted, adopted.last_price, utcnow())
        self._db.positions.upsert(adopted)
        self.commit(adopted)
        return adopted

    # ------------------------------------------------------------ marks
    async def update_unrealized_pnl(
        self, symbol: str, current_price: Decimal, exchange: str | None = None
    ) -> list[Position]:
        return self.mark_prices(
            {(exchange, symbol): Decimal(current_price)}
            if exchange
            else {symbol: Decimal(current_price)}
        )

    async def update_all_unrealized_pnl(self, prices: Mapping) -> list[Position]:
        return self.mark_prices(prices)

    def mark_prices(self, prices: Mapping) -> list[Position]:
        """Mark positions at new prices. Keys: (exchange, symbol) or bare symbol."""
        changed = []
        now = utcnow()
        cache = self._cache()
        dirty = self._dirty
        get = prices.get
        # Values of existing keys are replaced while iterating (the dict's size never
        # changes here); a price equal to the last mark is skipped (nothing to revalue).
        for key, position in cache.items():
            price = get((position.exchange, position.symbol))
            if price is None:
                price = get(position.symbol)
                if price is None:
                    continue
            if price <= ZERO or price == position.last_price:
                continue
            marked = mark_to_market(position, price, now)
            cache[key] = marked
            dirty.add(key)
            changed.append(marked)
        if changed:
            self.events.publish(PricesMarked(tuple(changed), now))
        return changed

    def flush_marks(self) -> int:
        """Persist marks (unrealized, extremes, drawdown) changed since the last flush."""
        if not self._dirty:
            return 0
        items = [self._cache()[k] for k in self._dirty if k in self._cache()]
        self._db.positions.upsert_many(items)
        self._dirty.clear()
        return len(items)

    # ------------------------------------------------------------ queries
    async def get_position(
        self, symbol: str, exchange: str = "NSE", product: Product | str | None = None
    ) -> Position | None:
        """The position in `symbol` (open one first; then the latest closed one), or None."""
        if product is not None:
            return self._cache().get((exchange, symbol, Product(product)))
        matches = [
            p for p in self._cache().values() if p.symbol == symbol and p.exchange == exchange
        ]
        if not matches:
            return None
        matches.sort(key=lambda p: (p.is_open, p.updated_at.timestamp() if p.updated_at else 0.0))
        return matches[-1]

    def all_positions(self) -> list[Position]:
        return list(self._cache().values())

    def open_positions(self) -> list[Position]:
        return [p for p in self._cache().values() if p.is_open]

    async def get_all_positions(self) -> list[Position]:
        return self.all_positions()

    async def get_all_open_positions(self) -> list[Position]:
        return self.open_positions()

    async def get_all_positions_dict(self) -> dict[str, Position]:
        return {p.symbol: p for p in self.open_positions()}

    async def get_open_position_count(self) -> int:
        return len(self.open_positions())

    async def get_total_unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl for p in self._cache().values()), ZERO)

    async def get_total_realized_pnl(self) -> Decimal:
        return sum((p.realized_pnl for p in self._cache().values()), ZERO)

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        """(realized, unrealized, charges) over all positions."""
        realized = unrealized = charges = ZERO
        for p in self._cache().values():
            realized += p.realized_pnl
            unrealized += p.unrealized_pnl
            charges += p.charges
        return realized, unrealized, charges

    async def get_position_risk(
        self, symbol: str, exchange: str = "NSE", stop_loss: Decimal | None = None
    ) -> dict:
        position = await self.get_position(symbol, exchange)
        if position is None or not position.is_open:
            return {"symbol": symbol, "quantity": 0, "exposure": ZERO, "risk_to_stop": None}
        risk = None
        if stop_loss is not None:
            risk = (
                abs(position.average_price - stop_loss)
                * abs(position.quantity)
                * position.multiplier
            )
        return {
            "symbol": symbol,
            "quantity": position.quantity,
            "exposure": position.value,
            "unrealized_pnl": position.unrealized_pnl,
            "max_drawdown": position.max_drawdown,
            "highest_price": position.highest_price,
            "lowest_price": position.lowest_price,
            "risk_to_stop": risk,
        }

    def keys(self) -> Iterable[PositionKey]:
        return self._cache().keys()
