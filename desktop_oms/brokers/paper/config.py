"""How a paper broker behaves: its market model, Kite's rules, its account and how it
keeps its book.

`PaperConfig()`: no slippage, no latency, unlimited liquidity at the last price, 10,00,000
of opening cash, and the rules a live order meets at Kite (issue 14): market protection
(MARKET and triggered SL-M orders become protected LIMITs), Kite's order request rates
(answered like a 429), the exchange's price band, Zerodha's MIS entry cut-off. Tests pass
their own (or the same fields as keywords to `PaperBroker`), including a clock to stand
in for the wall clock. Each rule has a knob that turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from desktop_oms.brokers.rate_limit import KITE_ORDER_LIMITS, RateLimit
from desktop_oms.domain.cutoffs import default_mis_cutoffs
from desktop_oms.domain.money import to_decimal
from desktop_oms.infra.clock import utcnow


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """Settings of one paper broker (checked when made; amounts become Decimal)."""

    # -- the market model ---------------------------------------------------------------
    slippage_bps: Decimal = Decimal(0)
    """Market orders fill this much worse than the last price (rounded to the tick)."""
    max_fill_quantity: int | None = None
    """At most this many (whole lots, at least one) per order per matching pass; the rest
    fills on later price updates or `match()`. None: all at once."""
    latency_s: float = 0.0
    """Each request awaits this long (order requests: half before the exchange acts, half
    after, so a caller that gives up in the second half leaves an order that exists)."""
    requests_per_second: float | None = None
    """Order requests wait for a token-bucket limiter at this rate (None or 0: none)."""
    depth_levels: int = 5
    """Levels each side of the order book kept around the last price (depth.py); ticks
    carry them and the best bid / ask (0: no book, ticks carry the last price only)."""
    book_fills: bool = False
    """Marketable orders take the book's levels (walking it, one trade per level) instead
    of filling in full at the last price; the app turns it on with the simulated market."""

    # -- Kite's rules -------------------------------------------------------------------
    market_protection_pct: Decimal | None = Decimal(2)
    """A MARKET order (and an SL-M when it triggers) becomes a LIMIT this many percent
    beyond the last price, on the tick, as Kite's automatic market protection does (its
    report says LIMIT, protected). None: market orders stay market orders."""
    order_rate_limits: tuple[RateLimit, ...] = KITE_ORDER_LIMITS
    """Kite's order request limits (10/s, 400/min, 5,000/day), over place, modify and
    cancel. () : none."""
    order_wait_limit_s: float | None = None
    """None: a place or modify over the limits is refused at once, as Kite answers 429. A
    number: it waits up to that long for a slot, as the app's Kite adapter does, then is
    refused. A cancel always waits its turn (it never goes stale)."""
    price_band_pct: Decimal | None = Decimal(20)
    """Prices (limit and trigger) further than this from the last price are refused, as
    outside the exchange's circuit limits / price band. Options are not checked (their
    bands are wide and move with the underlying). None: no band."""
    mis_cutoffs: Mapping = field(default_factory=default_mis_cutoffs)
    """Exchange -> (cut-off, session close) IST, or a function of the day giving them
    (MCX's close follows US summer time), Mon-Fri: a MIS order that would open or add to
    a position is refused in between (domain/cutoffs.py: Zerodha's table). Empty: none."""

    # -- the account ----------------------------------------------------------------------
    funds: Decimal = Decimal("1000000")
    """Opening cash of a new account (a persisted account keeps its own)."""
    seed: int | None = None
    """Deterministic order and trade ids for a new account (tests)."""

    # -- the book on disk -----------------------------------------------------------------
    compact_after_lines: int = 5_000
    """A journal longer than this is rewritten as one snapshot when loaded."""
    compact_after_bytes: int = 8 * 1024 * 1024
    """... and so is one larger than this (when it holds more than one record)."""
    price_save_interval_s: float = 10.0
    """Prices alone are written (without fsync) at most this often; they also ride along
    with every order event and are saved on close()."""

    clock: Callable[[], datetime] = utcnow
    """The exchange's now, an aware datetime (trading days are IST days of it)."""

    def __post_init__(self) -> None:
        slippage = to_decimal(self.slippage_bps, "slippage_bps")
        if slippage < 0:
            raise ValueError("slippage_bps must not be negative")
        object.__setattr__(self, "slippage_bps", slippage)
        if self.latency_s < 0:
            raise ValueError("latency_s must not be negative")
        object.__setattr__(self, "latency_s", float(self.latency_s))
        if self.max_fill_quantity is not None and (
            isinstance(self.max_fill_quantity, bool) or self.max_fill_quantity < 1
        ):
            raise ValueError("max_fill_quantity must be a positive whole number or None")
        if isinstance(self.depth_levels, bool) or not 0 <= int(self.depth_levels) <= 20:
            raise ValueError("depth_levels must be a whole number from 0 to 20")
        if self.book_fills and not self.depth_levels:
            raise ValueError("book_fills needs a book: depth_levels must be at least 1")
        object.__setattr__(self, "funds", to_decimal(self.funds, "funds"))
        for name in ("market_protection_pct", "price_band_pct"):
            value = getattr(self, name)
            if value is not None:
                value = to_decimal(value, name)
                if not Decimal(0) < value < Decimal(100):
                    raise ValueError(f"{name} must be between 0 and 100 percent, or None")
                object.__setattr__(self, name, value)
        object.__setattr__(self, "order_rate_limits", tuple(self.order_rate_limits))
        if self.order_wait_limit_s is not None and not self.order_wait_limit_s >= 0:
            raise ValueError("order_wait_limit_s must not be negative")
        object.__setattr__(self, "mis_cutoffs", MappingProxyType(dict(self.mis_cutoffs or {})))
        for name in ("compact_after_lines", "compact_after_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number")
        if not self.price_save_interval_s >= 0:
            raise ValueError("price_save_interval_s must not be negative")
