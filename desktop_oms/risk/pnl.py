"""Today's account PnL, net of charges, valued at live prices.

Mark-to-market day PnL is the change in total PnL since the start of the day:

    day gross = sum over positions of (realized + unrealized now) - (realized + unrealized at day start)
    day charges = sum over positions of charges now - charges at day start
    day net = day gross - day charges

so a position carried overnight counts only today's move (from the mark it had at day
start), and a position closed today counts its realized PnL. The day-start baseline is
taken once per IST day, before the OMS catches up on fills (so today's fills are never
in it), and kept in app_state, so a restart during the day keeps it. Unrealized PnL uses
the live last price (the quote cache, updated on every tick) where there is one, else
the position's last mark: a new price counts at once, not at the next mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_oms.domain.money import ZERO
from desktop_oms.domain.positions import unrealized_pnl
from desktop_oms.infra.clock import Clock, now_ist, trading_day

log = logging.getLogger(__name__)

STATE_KEY = "risk_day_baseline"
_NO_BASELINE = (ZERO, ZERO, ZERO)
LastPrice = Callable[[str, str], Decimal | None]


def _key(position) -> str:
    return f"{position.exchange}|{position.symbol}|{position.product.value}"


@dataclass(frozen=True, slots=True)
class DayPnl:
    day: date
    realized: Decimal  # realized today
    unrealized: Decimal  # unrealized now minus unrealized at day start
    charges: Decimal  # charges of today's fills

    @property
    def gross(self) -> Decimal:
        return self.realized + self.unrealized

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges


class DayPnlLedger:
    def __init__(
        self,
        positions,
        store=None,
        *,
        last_price: LastPrice | None = None,
        clock: Clock = now_ist,
    ) -> None:
        self.positions = positions
        self.store = store
        self.last_price = last_price
        self.clock = clock
        self.day: date | None = None
        self._baseline_by_text: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        # the same baseline looked up by a position's key tuple (filled as positions are
        # seen): today() runs on every mark over every position
        self._by_key: dict[tuple, tuple[Decimal, Decimal, Decimal]] = {}
        self.extra: dict = {}  # small per-day values other components keep here (peak)

    @property
    def _baseline(self) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        return self._baseline_by_text

    @_baseline.setter
    def _baseline(self, value: dict[str, tuple[Decimal, Decimal, Decimal]]) -> None:
        self._baseline_by_text = value
        self._by_key = {}

    def _baseline_of(self, position) -> tuple[Decimal, Decimal, Decimal]:
        key = (position.exchange, position.symbol, position.product)
        base = self._by_key.get(key)
        if base is None:
            base = self._by_key[key] = self._baseline_by_text.get(_key(position), _NO_BASELINE)
        return base

    # ------------------------------------------------------------------ baseline
    def load_or_capture(self) -> None:
        """Use today's saved baseline, or take one now (call before the OMS starts)."""
        today = trading_day(self.clock())
        saved = self.store.get_json(STATE_KEY) if self.store is not None else None
        if saved and saved.get("day") == today.isoformat():
            try:
                self._baseline = {
                    k: (Decimal(v[0]), Decimal(v[1]), Decimal(v[2]))
                    for k, v in saved.get("positions", {}).items()
                }
                self.extra = dict(saved.get("extra") or {})
                self.day = today
                return
            except (ValueError, TypeError, IndexError, ArithmeticError):
                log.error("saved day-PnL baseline is unreadable; taking a new one")
        self.capture(today)

    def capture(self, day: date) -> None:
        self._baseline = {
            _key(p): (p.realized_pnl, p.unrealized_pnl if p.is_open else ZERO, p.charges)
            for p in self.positions.all_positions()
        }
        self.day = day
        self.extra = {}
        self._save()

    def _save(self) -> None:
        if self.store is None or self.day is None:
            return
        try:
            self.store.set_json(
                STATE_KEY,
                {
                    "day": self.day.isoformat(),
                    "positions": {
                        k: [str(a), str(b), str(c)] for k, (a, b, c) in self._baseline.items()
                    },
                    "extra": self.extra,
                },
            )
        except Exception:  # noqa: BLE001 - in memory it still works
            log.exception("could not save the day-PnL baseline")

    def set_extra(self, **values) -> None:
        self.extra.update({k: str(v) for k, v in values.items()})
        self._save()

    def roll_if_new_day(self) -> bool:
        """Take a new baseline when the IST day has changed. True if it did."""
        today = trading_day(self.clock())
        if self.day == today:
            return False
        self.capture(today)
        return True

    # ------------------------------------------------------------------ valuation
    def live_unrealized(self, position) -> Decimal:
        if not position.is_open:
            return ZERO
        price = None
        if self.last_price is not None:
            try:
                price = self.last_price(position.exchange, position.symbol)
            except Exception:  # noqa: BLE001 - fall back to the mark
                price = None
        if price is None or price <= 0:
            return position.unrealized_pnl
        return unrealized_pnl(position.quantity, position.average_price, price, position.multiplier)

    def today(self) -> DayPnl:
        if self.day is None:
            self.load_or_capture()
        else:
            self.roll_if_new_day()
        realized = unrealized = charges = ZERO
        baseline_of = self._baseline_of
        live_unrealized = self.live_unrealized
        for p in self.positions.all_positions():
            r0, u0, c0 = baseline_of(p)
            realized += p.realized_pnl - r0
            unrealized += live_unrealized(p) - u0
            charges += p.charges - c0
        return DayPnl(self.day, realized, unrealized, charges)

    def net(self) -> Decimal:
        return self.today().net
