"""The numbers behind paper mode's generated history (numpy; loaded only when a chart
asks for history, off the loop): random walks, bridges between known prices, candles on
the tick, volumes higher at the open and the close. See synthetic_history.py.
"""

from __future__ import annotations

import math
import zlib
from decimal import Decimal

import numpy as np

from desktop_oms.domain.candles import Candle
from desktop_oms.domain.money import round_to_tick
from desktop_oms.marketdata.candles import DAY_S

__all__ = ["day_candles", "minute_candles"]

DAY_VOLATILITY = 0.015  # a day's standard deviation of returns
OVERNIGHT_VOLATILITY = 0.005


def minute_candles(
    seed: int,
    symbol: str,
    minutes: list[int],
    start: float | None,
    end: float | None,
    tick: Decimal,
) -> list[Candle]:
    rng = np.random.default_rng(_seed(seed, symbol, minutes[0]))
    n = len(minutes)
    sigma = np.full(n, DAY_VOLATILITY / math.sqrt(375))
    for i in range(1, n):  # a wider step across the night
        if minutes[i] - minutes[i - 1] > 3600:
            sigma[i] = OVERNIGHT_VOLATILITY
    path = _walk(rng, sigma, start, end)  # n + 1 log prices: open of each, close of last
    opens, closes = np.exp(path[:-1]), np.exp(path[1:])
    wick = np.abs(rng.normal(0, 1, (2, n))) * sigma * 0.6
    highs = np.maximum(opens, closes) * np.exp(wick[0])
    lows = np.minimum(opens, closes) * np.exp(-wick[1])
    base = max(2e7 / max(float(opens[0]), 1.0), 1.0)  # shares a minute: ~2 crore traded
    of_day = np.array([(m + 19_800) % DAY_S // 60 - 555 for m in minutes], dtype=float)
    shape = 1 + 1.5 * (np.exp(-of_day / 30) + np.exp(-(375 - of_day) / 30))
    volumes = base * shape * rng.lognormal(0, 0.5, n)
    return [
        _candle(minutes[i], opens[i], highs[i], lows[i], closes[i], volumes[i], tick)
        for i in range(n)
    ]


def day_candles(
    seed: int, symbol: str, starts: list[int], end: float, tick: Decimal
) -> list[Candle]:
    """Day candles starting at `starts` (ascending), walking back from `end` (the open
    of the day after the last)."""
    rng = np.random.default_rng(_seed(seed, symbol, starts[0]))
    n = len(starts)
    # each day: open -> close inside the day, then an overnight step to the next open
    steps = np.empty(2 * n)
    steps[0::2] = DAY_VOLATILITY
    steps[1::2] = OVERNIGHT_VOLATILITY
    path = _walk(rng, steps, None, end)  # 2n + 1 points: open0, close0, open1, ... end
    opens, closes = np.exp(path[0:-1:2]), np.exp(path[1::2])
    wick = np.abs(rng.normal(0, 1, (2, n))) * DAY_VOLATILITY * 0.5
    highs = np.maximum(opens, closes) * np.exp(wick[0])
    lows = np.minimum(opens, closes) * np.exp(-wick[1])
    base = max(2e7 / max(float(opens[0]), 1.0), 1.0) * 375 * 1.6
    volumes = base * rng.lognormal(0, 0.4, n)
    return [
        _candle(start, opens[i], highs[i], lows[i], closes[i], volumes[i], tick)
        for i, start in enumerate(starts)
    ]


def _seed(seed: int, symbol: str, start: int) -> int:
    return zlib.crc32(f"{seed}:{symbol}:{start}".encode())


def _walk(
    rng: np.random.Generator, sigma: np.ndarray, start: float | None, end: float | None
) -> np.ndarray:
    """len(sigma) + 1 log prices: a random walk from `start`, back from `end`, or a
    bridge between both."""
    steps = rng.normal(0, 1, len(sigma)) * sigma
    walk = np.concatenate(([0.0], np.cumsum(steps)))
    if start is not None and end is not None:
        total = math.log(end) - math.log(start)
        t = np.concatenate(([0.0], np.cumsum(sigma**2)))
        t = t / t[-1] if t[-1] > 0 else np.linspace(0, 1, len(walk))
        return math.log(start) + walk - t * (walk[-1] - total)
    if start is not None:
        return math.log(start) + walk
    anchor = end if end is not None else 100.0
    return math.log(anchor) + walk - walk[-1]


def _candle(start: int, o: float, h: float, lo: float, c: float, v: float, tick: Decimal) -> Candle:
    def price(value: float, direction: str) -> Decimal:
        result = round_to_tick(Decimal(f"{value:.6f}"), tick, direction)
        return result if result > 0 else tick

    op, cl = price(o, "nearest"), price(c, "nearest")
    hi = max(price(h, "up"), op, cl)
    low = min(price(lo, "down"), op, cl)
    return Candle(start, op, hi, low, cl, max(int(v), 1))
