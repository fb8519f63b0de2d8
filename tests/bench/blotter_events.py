"""The order-event stream both blotters get (pure Python: the vn.py side imports it too).

n orders, 4 events each (new -> acknowledged/open -> partly filled -> filled), pipelined
as a busy session has them in flight: at step k, order k is new, k-1 opens, k-2 part-fills
and k-3 fills. 5,000 orders give 20,000 events.
"""

from __future__ import annotations

STEPS = ("new", "open", "partial", "filled")


def event_stream(n_orders: int):
    """Yield (order_index, step_index) in arrival order."""
    for k in range(n_orders + 3):
        for step, i in enumerate((k, k - 1, k - 2, k - 3)):
            if 0 <= i < n_orders:
                yield i, step


def order_fields(i: int, step: int) -> dict:
    quantity = 10 + (i % 90)
    filled = (0, 0, quantity // 2, quantity)[step]
    return {
        "symbol": ("RELIANCE", "TCS", "INFY", "HDFCBANK", "ICICIBANK", "SBIN", "ITC", "LT")[i % 8],
        "buy": i % 2 == 0,
        "quantity": quantity,
        "filled": filled,
        "price_paise": 100_000 + (i % 5000) * 5,
        "seconds": i * 0.05,
    }
