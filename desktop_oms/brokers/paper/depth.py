"""The paper exchange's order book: five levels each side around the last price.

Every price update moves each instrument's book with it:

- the last trade was at the ask after an uptick (best ask = last, best bid one tick
  below) and at the bid after a downtick (best bid = last, best ask one tick above); an
  unchanged price keeps the side it was at. So the spread is one tick, and the last
  price is always the best bid or the best ask;
- levels are one tick apart; a level that stays at its price keeps its size, drifting
  (sizes move at every update, in whole lots, towards a size that grows with depth and
  is worth a few lakh rupees); a new level gets a fresh size;
- each update also trades a little: a random quantity added to the day's volume (the
  ticks' cumulative `volume`, as Kite's).

Like Kite, five levels stream only for the instruments asked for with their depth
(`stream_depth`: the depth ladder's); every other tick carries the best bid and ask
with their sizes. For those, only the best level of each side moves with the price; the
levels behind it are made when the book is read (`depth`, `liquidity`), from the best
sizes held. A tick then costs a fifth of the full book's work (3,000 instruments
streaming in paper mode spent a quarter of a core here).

A marketable order takes liquidity (`liquidity` lists the levels it would hit, best
first, deeper than five when it needs more; `take` removes what filled), and what it
took is gone from the book until the next update refills it. The book is not journaled:
it is the market's, rebuilt from the last price; fills are journaled with their prices.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from desktop_oms.domain import OrderSide
from desktop_oms.domain.market import DepthLevel, MarketDepth

__all__ = ["DEPTH_LEVELS", "DepthBook"]

Key = tuple[str, str]
DEPTH_LEVELS = 5
LEVEL_VALUE = Decimal("300000")  # rupees resting at the best level, about
DEPTH_GROWTH = 0.35  # each level deeper holds this much more, about
SIZE_DRIFT = 0.2  # standard deviation of a level's size change per update (log)
AVERAGE_ORDER_VALUE = 40_000.0  # rupees per resting order, about


@dataclass(slots=True)
class _Book:
    last: Decimal
    tick: Decimal
    lot: int
    base: int  # shares at the best level, about (whole lots)
    at_ask: bool = True
    bids: list[list] = field(default_factory=list)  # [price, quantity] best first
    asks: list[list] = field(default_factory=list)
    volume: int = 0
    day: date | None = None
    partial: bool = False  # only the best level of each side is current


class DepthBook:
    """Books of every instrument priced (see the module docstring)."""

    def __init__(self, levels: int = DEPTH_LEVELS, seed: int | None = None) -> None:
        self.levels = levels
        self._random = random.Random(seed)
        self._books: dict[Key, _Book] = {}
        self._streamed: set[Key] = set()  # ticks carry all the levels of these

    def stream_depth(self, keys) -> list[Key]:  # noqa: ANN001
        """Ticks of these instruments carry the five levels from now on. Returns the new ones."""
        new = [key for key in keys if key not in self._streamed]
        self._streamed.update(new)
        return new

    def streams_depth(self, key: Key) -> bool:
        return key in self._streamed

    # ---- prices --------------------------------------------------------------------------

    def on_price(
        self, key: Key, price: Decimal, tick: Decimal, lot: int, day: date
    ) -> tuple[MarketDepth | None, int, tuple]:
        """Move the book to a trade at `price`. Returns its depth (None unless streamed),
        the day's volume so far, and the best (bid, bid size, ask, ask size)."""
        tick = tick if tick > 0 else Decimal("0.05")
        lot = max(int(lot), 1)
        book = self._books.get(key)
        if book is None:
            base = max(int(LEVEL_VALUE / price / lot), 1) * lot
            book = _Book(last=price, tick=tick, lot=lot, base=base)
            self._books[key] = book
        elif price > book.last:
            book.at_ask = True
        elif price < book.last:
            book.at_ask = False
        book.last = price
        depth = None
        if key in self._streamed:
            self._make_levels(book, self.levels)
            depth = self._depth(book)
        else:
            self._make_levels(book, 1)
        if book.day != day:
            book.day, book.volume = day, 0
        traded = self._size(book.base / 3, 0.8, book.lot)
        book.volume += traded
        bid = book.bids[0] if book.bids else (None, None)
        ask = book.asks[0] if book.asks else (None, None)
        return depth, book.volume, (bid[0], bid[1], ask[0], ask[1])

    def _make_levels(self, book: _Book, levels: int, drift: bool = True) -> None:
        """The first `levels` levels of each side at the last price (sizes held where a
        level stays at its price, drifting unless `drift` is False: a read, no update);
        fewer than all leaves the book partial."""
        tick = book.tick
        best_ask = book.last if book.at_ask else book.last + tick
        best_bid = best_ask - tick
        if best_bid <= 0:  # a price of one tick: nothing can rest below it
            best_bid, best_ask = Decimal(0), max(best_ask, tick)
        asks = [best_ask + i * tick for i in range(levels)]
        book.asks = self._side(book, book.asks, asks, drift)
        bids = [best_bid - i * tick for i in range(levels)]
        book.bids = self._side(book, book.bids, [p for p in bids if p > 0], drift)
        book.partial = levels < self.levels

    def _full(self, book: _Book) -> _Book:
        """The book with all its levels (made from the best sizes if it was partial)."""
        if book.partial:
            self._make_levels(book, self.levels, drift=False)
        return book

    def _side(
        self, book: _Book, old: list[list], prices: list[Decimal], drift: bool = True
    ) -> list[list]:
        held = {level[0]: level[1] for level in old}
        out = []
        for depth, level_price in enumerate(prices):
            mean = book.base * (1 + DEPTH_GROWTH * depth)
            quantity = held.get(level_price)
            if quantity is None or quantity <= 0:
                quantity = self._size(mean, 0.5, book.lot)
            elif not drift:
                pass
            else:  # drift, pulled back towards the level's usual size
                pull = 0.1 * math.log(mean / quantity)
                quantity = self._size(quantity * math.exp(pull), SIZE_DRIFT, book.lot)
            out.append([level_price, quantity])
        return out

    def _size(self, mean: float, sigma: float, lot: int) -> int:
        value = mean * math.exp(self._random.gauss(0.0, sigma) - sigma * sigma / 2)
        return max(int(value // lot), 1) * lot

    # ---- reading ---------------------------------------------------------------------------

    def depth(self, key: Key) -> MarketDepth | None:
        snapshot = self.snapshot(key)
        return None if snapshot is None else snapshot[0]

    def snapshot(self, key: Key) -> tuple[MarketDepth, int] | None:
        """The depth and the day's volume as they are (no trade): None if never priced."""
        book = self._books.get(key)
        return None if book is None else (self._depth(self._full(book)), book.volume)

    @staticmethod
    def _depth(book: _Book) -> MarketDepth:
        def levels(rows: list[list]) -> tuple[DepthLevel, ...]:
            return tuple(
                DepthLevel(
                    price, quantity, max(round(float(price) * quantity / AVERAGE_ORDER_VALUE), 1)
                )
                for price, quantity in rows
                if quantity > 0
            )

        return MarketDepth(levels(book.bids), levels(book.asks))

    # ---- taking liquidity --------------------------------------------------------------

    def liquidity(
        self, key: Key, side: OrderSide, quantity: int
    ) -> list[tuple[Decimal, int]] | None:
        """The levels a `side` order of `quantity` would take, best first: the asks for a
        buy, the bids for a sell, continued a tick at a time beyond the fifth level
        until they hold `quantity` (a sell stops at one tick). None: no book yet."""
        book = self._books.get(key)
        if book is None:
            return None
        self._full(book)
        rows = book.asks if side is OrderSide.BUY else book.bids
        out = [(price, qty) for price, qty in rows if qty > 0]
        total = sum(qty for _, qty in out)
        step = book.tick if side is OrderSide.BUY else -book.tick
        edge = rows[-1][0] if rows else (book.last if side is OrderSide.BUY else book.last)
        depth = len(rows)
        while total < quantity:
            edge += step
            if edge <= 0:
                break
            qty = max(int(book.base * (1 + DEPTH_GROWTH * depth)) // book.lot, 1) * book.lot
            out.append((edge, qty))
            total += qty
            depth += 1
        return out

    def take(self, key: Key, side: OrderSide, fills: list[tuple[Decimal, int]]) -> None:
        """Remove what a `side` order filled from the levels it took."""
        book = self._books.get(key)
        if book is None:
            return
        self._full(book)
        rows = book.asks if side is OrderSide.BUY else book.bids
        by_price = {row[0]: row for row in rows}
        for price, quantity in fills:
            row = by_price.get(price)
            if row is not None:
                row[1] = max(row[1] - quantity, 0)
