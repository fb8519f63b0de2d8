"""KillSwitch: one action stops everything, and stays stopped (persisted) until re-armed.

    result = await kill_switch.engage(reason="manual")   # halt + cancel all + flatten + verify
    kill_switch.engaged                                   # True until rearm(); survives restart
    kill_switch.rearm()                                   # explicit; refused while breached

engage():
1. Synchronously, before its first await: the OrderManager is halted (every new order is
   refused, except reduce-only orders the kill switch itself sends), the ENGAGED state is
   persisted (a restart comes back engaged and halted), progress and audit are published.
2. Every open order is cancelled (bounded concurrency; the broker adapter's rate limiter
   paces the requests), repeatedly until none is open: orders still in flight are waited
   for, failed cancels are retried.
3. With flattening (default on; `RiskLimits.flatten_on_kill_switch`), every open position
   is closed with a reduce-only MARKET order (market protection is the broker adapter's
   job), retried until the OMS shows it flat.
   Without flattening, protective exits (bracket stops/targets, reduce-only orders) are kept:
   the account keeps its stops while nothing new can be opened.
4. The result is verified against the broker itself: no open orders (but the kept
   protective ones) and, when flattening, no open positions. Only then is it DONE;
   otherwise FAILED (still engaged) with the reason, and `engage()` may be called again.

Progress: KillSwitchProgress events ("cancelled 12/14, flattened 3/3, verified flat with
broker"), state ENGAGING while working, DONE or FAILED at the end, ARMED after rearm().
Audit: each cancel/flatten order gets a KILL_SWITCH order_event; engage, each phase, the
result, re-arm and refused re-arms are risk_events rows and Alerts.

Layout: this module holds `KillSwitch` itself (its persisted state, engage/halt, re-arm);
`kill_switch_sequence` is the cancel-and-flatten sequence (a mixin), `kill_switch_verify`
the check against the broker (a mixin) and `kill_switch_result` the result it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import date, datetime

from desktop_oms.domain.events import KillSwitchProgress
from desktop_oms.infra.clock import utcnow
from desktop_oms.risk.clock import Clock, ist_now, next_trading_day, trading_day
from desktop_oms.risk.kill_switch_result import KillSwitchResult, _Progress
from desktop_oms.risk.kill_switch_sequence import PROTECTIVE_SOURCES as PROTECTIVE_SOURCES
from desktop_oms.risk.kill_switch_sequence import KillSwitchSequenceMixin
from desktop_oms.risk.kill_switch_verify import KillSwitchVerifyMixin

log = logging.getLogger(__name__)

STATE_KEY = "kill_switch"
HALT_PREFIX = "Kill switch engaged"


class RearmRefused(RuntimeError):
    """rearm() was refused; the message says why."""


class KillSwitch(KillSwitchSequenceMixin, KillSwitchVerifyMixin):
    def __init__(
        self,
        order_manager,
        position_manager,
        *,
        flatten: bool = True,
        keep_protective_exits: bool = True,
        verify_attempts: int = 20,
        verify_interval: float = 0.25,
        rounds: int = 5,
        retry_delay: float = 0.25,
        concurrency: int = 5,
        cool_off: bool = False,
        loss_limit_breached: Callable[[], bool] | None = None,
        store=None,
        clock: Clock = ist_now,
    ) -> None:
        self.om = order_manager
        self.pm = position_manager
        self.db = order_manager.db
        self.events = order_manager.events
        self.flatten = flatten
        self.keep_protective_exits = keep_protective_exits
        self.verify_attempts = verify_attempts
        self.verify_interval = verify_interval
        self.rounds = rounds
        self.retry_delay = retry_delay
        self.concurrency = max(1, concurrency)
        self.cool_off = cool_off
        self.loss_limit_breached = loss_limit_breached
        self.store = store
        self.clock = clock
        self.task_group = None  # the app's TaskGroup: the work is cancelled on app.stop()
        self.state = "ARMED"
        self.reason: str | None = None
        self.engaged_at: datetime | None = None
        self.cool_off_until: date | None = None
        self.last_result: KillSwitchResult | None = None
        self.last_message: str = ""
        self._task: asyncio.Task | None = None
        self._restore()

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        raw = self.db.get_state(STATE_KEY)
        if not raw:
            return
        try:
            saved = json.loads(raw)
            if not isinstance(saved, dict):
                raise ValueError("not an object")
        except ValueError:
            saved = {"engaged": True, "reason": "kill switch state unreadable; staying engaged"}
        if saved.get("engaged"):
            self.state = "ENGAGED"
            self.reason = saved.get("reason") or "engaged before restart"
            try:
                self.engaged_at = datetime.fromisoformat(saved["at"]) if saved.get("at") else None
                until = saved.get("cool_off_until")
                self.cool_off_until = date.fromisoformat(until) if until else None
            except (TypeError, ValueError):
                self.engaged_at, self.cool_off_until = None, None
            self.last_message = saved.get("message") or "engaged before restart"
            self.om.halt(f"{HALT_PREFIX}: {self.reason}", source="kill_switch")

    @property
    def engaged(self) -> bool:
        return self.state != "ARMED"

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _persist(self, engaged: bool) -> None:
        self.db.set_state(
            STATE_KEY,
            json.dumps(
                {
                    "engaged": engaged,
                    "reason": self.reason,
                    "at": (self.engaged_at or utcnow()).isoformat(),
                    "cool_off_until": self.cool_off_until.isoformat()
                    if self.cool_off_until
                    else None,
                    "message": self.last_message,
                }
            ),
        )

    def _progress(
        self, state: str, message: str, p: _Progress | None = None, done_cancel=0, done_flat=0
    ) -> None:
        self.last_message = message
        self.events.publish(
            KillSwitchProgress(
                state,
                self.reason,
                len(p.cancel_ids) if p else 0,
                done_cancel,
                len(p.flatten_keys) if p else 0,
                done_flat,
                message,
                utcnow(),
            )
        )

    def _audit(self, kind: str, message: str, details: dict | None = None) -> None:
        if self.store is not None:
            self.store.audit(kind, message, details)

    # ------------------------------------------------------------------ engage
    def engage_now(
        self, reason: str = "manual", *, flatten: bool | None = None, cool_off: bool | None = None
    ) -> asyncio.Task:
        """Halt at once (synchronously) and run the rest as a task. For event handlers,
        which cannot await; returns the task (result: KillSwitchResult)."""
        self._begin(reason, cool_off)
        return self._start_work(flatten)

    async def engage(
        self, reason: str = "manual", *, flatten: bool | None = None, cool_off: bool | None = None
    ) -> KillSwitchResult:
        # Synchronous part: effective before the first await.
        self._begin(reason, cool_off)
        task = self._start_work(flatten)
        return await asyncio.shield(task)

    def _begin(self, reason: str, cool_off: bool | None) -> None:
        first = self.state == "ARMED"
        if first:  # engaging again keeps the first reason; the new one goes to the audit
            self.reason = reason
            self.engaged_at = utcnow()
        else:
            self._audit(
                "kill_switch_engaged_again",
                f"Kill switch engaged again: {reason}",
                {"reason": reason},
            )
        self.state = "ENGAGING"
        self.om.halt(f"{HALT_PREFIX}: {self.reason}", source="kill_switch")
        if cool_off if cool_off is not None else self.cool_off:
            self.cool_off_until = next_trading_day(trading_day(self.clock()))
        try:
            self._persist(True)
        except Exception:  # noqa: BLE001 - the halt stands even if the disk failed
            log.exception("could not persist kill switch state")
        self._progress("ENGAGING", "halted: new orders refused")
        if first:
            self._audit("kill_switch_engaged", f"Kill switch engaged: {reason}", {"reason": reason})
            self.om.alert(
                "warning", f"Kill switch engaged: {reason}. New orders are refused.", "kill_switch"
            )

    def _start_work(self, flatten: bool | None) -> asyncio.Task:
        if self.busy:
            return self._task
        coro = self._stop_everything(self.flatten if flatten is None else flatten)
        if self.task_group is not None:
            self._task = self.task_group.spawn("kill-switch", coro)
        else:
            self._task = asyncio.ensure_future(coro)
        return self._task

    # ------------------------------------------------------------------ rearm
    def rearm_problem(self) -> str | None:
        """Why rearm() would be refused now, or None."""
        if self.state == "ARMED":
            return None
        if self.busy or self.state == "ENGAGING":
            return "The kill switch is still working; re-arm when it is done"
        today = trading_day(self.clock())
        if self.cool_off_until is not None and today < self.cool_off_until:
            return f"Cool-off: the kill switch can be re-armed from {self.cool_off_until.isoformat()} (next trading day)"
        if self.loss_limit_breached is not None:
            try:
                breached = self.loss_limit_breached()
            except Exception:  # noqa: BLE001 - unknown: refuse
                log.exception("could not evaluate the daily loss limit")
                return "Today's PnL cannot be computed; the kill switch stays engaged"
            if breached:
                return "The daily loss limit is breached: trading stays halted for today"
        return None

    def can_rearm(self) -> tuple[bool, str | None]:
        problem = self.rearm_problem()
        return problem is None, problem

    def rearm(self) -> None:
        """Trading allowed again. Needs this explicit call; refused (RearmRefused) while
        working, during a cool-off, or while the daily loss limit is breached."""
        if self.state == "ARMED":
            return
        problem = self.rearm_problem()
        if problem:
            self._audit("kill_switch_rearm_refused", problem)
            raise RearmRefused(problem)
        previous = self.reason
        self.state = "ARMED"
        self.reason = None
        self.engaged_at = None
        self.cool_off_until = None
        self._persist(False)
        self.om.resume("kill_switch")  # other halts (an expired session) stay in force
        self._progress("ARMED", "re-armed: trading allowed")
        self._audit("kill_switch_rearmed", f"Kill switch re-armed (was: {previous})")
        self.om.alert("info", "Kill switch re-armed: trading allowed", "kill_switch")
