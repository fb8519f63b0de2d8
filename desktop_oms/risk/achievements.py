"""Discipline achievements, recorded quietly and announced with an info Alert.

A subscriber on fills (and closes, which are fills that reduce a position) plus a daily
check from the risk monitor's clock. Achievements (code, period):
- first_trade ("ever"): the first order of yours that filled;
- stop_loss_streak (day-count): every `streak` (5) entries in a row placed with a stop-loss
  ("5 trades in a row with a stop-loss"); an entry without one restarts the count;
- day_within_loss_limit (day): a day with trades that ended without breaching the daily
  loss limit (decided at the close, 15:30 IST, or on the first look at a later day);
- no_revenge_week (ISO week): seven days, with at least one losing trade, without a
  revenge trade (a new entry within `revenge_window_s` (10 min) of a losing close).
Counters live in app_state, so streaks survive restarts. Each achievement is stored once
per period (achievements table) and announced as Alert(level="info", source="achievements").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from desktop_oms.domain import PositionAction
from desktop_oms.domain.events import Alert, FillApplied
from desktop_oms.infra.clock import Clock, is_weekday, now_ist, to_ist, trading_day, utcnow
from desktop_oms.risk.checks.context import SYSTEM_SOURCES
from desktop_oms.risk.limits import SESSION_CLOSE

log = logging.getLogger(__name__)

STATE_KEY = "achievements_state"


class Achievements:
    def __init__(
        self,
        store,
        events,
        *,
        streak: int = 5,
        revenge_window_s: float = 600.0,
        clock: Clock = now_ist,
    ) -> None:
        self.store = store
        self.events = events
        self.streak = streak
        self.revenge_window = timedelta(seconds=revenge_window_s)
        self.clock = clock
        self.state: dict = {}
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.state = self.store.get_json(STATE_KEY) or {}
        self.state.setdefault("since", self.clock().isoformat())
        self._unsubscribe = self.events.subscribe(FillApplied, self._on_fill)
        self.on_clock(self.clock())

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _save(self) -> None:
        try:
            self.store.set_json(STATE_KEY, self.state)
        except Exception:  # noqa: BLE001 - an achievement is never worth an error
            log.exception("could not save achievement counters")

    # ------------------------------------------------------------------ recording
    def award(
        self, code: str, period: str, title: str, message: str, details: dict | None = None
    ) -> bool:
        try:
            new = self.store.add_achievement(code, period, title, message, details)
        except Exception:  # noqa: BLE001
            log.exception("could not record achievement %s", code)
            return False
        if new:
            log.info("achievement: %s", message)
            self.events.publish(
                Alert(
                    level="info",
                    message=message,
                    at=utcnow(),
                    source="achievements",
                    details={"code": code},
                )
            )
        return new

    def records(self, limit: int = 200):
        return self.store.achievements(limit)

    # ------------------------------------------------------------------ day bookkeeping
    def _roll(self, day: date) -> bool:
        """Start a new day (finishing the previous one). True if the day changed."""
        current = self.state.get("day")
        if current == day.isoformat():
            return False
        if current is not None:
            self._finish_day(date.fromisoformat(current))
        self.state["day"] = day.isoformat()
        self.state["trades_today"] = 0
        self.state["breached_today"] = False
        self.state["day_finished"] = False
        return True

    def _finish_day(self, day: date) -> None:
        if self.state.get("day_finished") or self.state.get("day") != day.isoformat():
            return
        self.state["day_finished"] = True
        if self.state.get("trades_today", 0) > 0 and not self.state.get("breached_today"):
            self.award(
                "day_within_loss_limit",
                day.isoformat(),
                "A day within your loss limit",
                f"{day.strftime('%d %b %Y')}: a trading day that ended within your daily loss limit",
            )
        self._check_week(day)
        self._save()

    def mark_breach(self, day: date | None) -> None:
        """The risk monitor says today's loss limit was breached."""
        day = day or trading_day(self.clock())
        self._roll(day)
        self.state["breached_today"] = True
        self._save()

    def on_clock(self, now: datetime) -> None:
        """Called every second by the risk monitor: saves only when something changed."""
        ist = to_ist(now)
        changed = self._roll(ist.date())
        if (
            is_weekday(ist.date())
            and ist.time() >= SESSION_CLOSE
            and not self.state.get("day_finished")
        ):
            self._finish_day(ist.date())
            changed = True
        if changed:
            self._save()

    # ------------------------------------------------------------------ fills
    def _on_fill(self, event: FillApplied) -> None:
        order, fill = event.order, event.fill
        at = self.clock()  # one time source for the whole risk layer (tests move it)
        today = trading_day(at)
        self._roll(today)
        self.state["trades_today"] = self.state.get("trades_today", 0) + 1
        mine = order.source not in SYSTEM_SOURCES
        first_fill_of_entry = (
            mine
            and order.filled_quantity == fill.quantity
            and event.action in (PositionAction.NEW, PositionAction.ADD, PositionAction.REVERSE)
        )
        if mine and not self.state.get("first_trade_done"):
            self.state["first_trade_done"] = True
            self.award("first_trade", "ever", "First trade", "First trade: welcome aboard")
        if first_fill_of_entry:
            last_loss = self.state.get("last_losing_close_at")
            if last_loss and at - datetime.fromisoformat(last_loss) < self.revenge_window:
                self.state["last_revenge_at"] = at.isoformat()
            if order.stop_loss is not None:
                count = self.state.get("stop_streak", 0) + 1
                self.state["stop_streak"] = count
                if count % self.streak == 0:
                    self.award(
                        "stop_loss_streak",
                        f"{today.isoformat()}#{count}",
                        f"{count} trades in a row with a stop-loss",
                        f"{count} trades in a row with a stop-loss",
                        {"streak": count},
                    )
            else:
                self.state["stop_streak"] = 0
        if (
            event.action in (PositionAction.CLOSE, PositionAction.REDUCE, PositionAction.REVERSE)
            and event.realized_pnl < 0
        ):
            self.state["last_losing_close_at"] = at.isoformat()
            self.state.setdefault("first_loss_at", at.isoformat())
        self._save()

    def _check_week(self, day: date) -> None:
        """A week without a revenge trade, with at least one losing close in it."""
        end = datetime.combine(day, SESSION_CLOSE, tzinfo=to_ist(self.clock()).tzinfo)
        start = end - timedelta(days=7)
        since = datetime.fromisoformat(self.state.get("since", end.isoformat()))
        last_loss = self.state.get("last_losing_close_at")
        last_revenge = self.state.get("last_revenge_at")
        if since > start or not last_loss or datetime.fromisoformat(last_loss) < start:
            return
        if last_revenge and datetime.fromisoformat(last_revenge) >= start:
            return
        year, week, _ = day.isocalendar()
        self.award(
            "no_revenge_week",
            f"{year}-W{week:02d}",
            "A week without revenge trades",
            "A week without revenge trades after a loss",
        )
