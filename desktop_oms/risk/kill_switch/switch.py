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

`KillSwitch` is one class in banner sections: its persisted state, engage / halt and
re-arm; the cancel-and-flatten sequence; the check with the broker. `result.py` holds
what engage() returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import date, datetime

from desktop_oms.domain import CANCELLABLE_STATUSES, OrderRequest, OrderSide, OrderStatus, OrderType
from desktop_oms.domain.events import KillSwitchProgress
from desktop_oms.domain.orders import EXIT_SOURCES
from desktop_oms.infra.clock import Clock, next_trading_day, now_ist, trading_day, utcnow
from desktop_oms.oms.errors import OrderNotCancellable, OrderRejected
from desktop_oms.risk.kill_switch.result import KillSwitchResult, _Progress

log = logging.getLogger(__name__)

STATE_KEY = "kill_switch"
HALT_PREFIX = "Kill switch engaged"


class RearmRefused(RuntimeError):
    """rearm() was refused; the message says why."""


# Exits that reduce a position (bracket legs, square-off, the trader's Exit, its own):
# kept working when the kill switch does not flatten.
PROTECTIVE_SOURCES = EXIT_SOURCES


class KillSwitch:
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
        clock: Clock = now_ist,
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

    # ==================================================================
    # Cancel everything, flatten everything (rounds, retries), report.
    # ==================================================================

    # ------------------------------------------------------------------ the sequence
    @staticmethod
    def _protective(order) -> bool:
        """Exits the system placed to reduce a position (bracket stop/target, square-off)."""
        return order.source in PROTECTIVE_SOURCES

    async def _stop_everything(self, flatten: bool) -> KillSwitchResult:
        p = _Progress()
        try:
            cancelled, kept = await self._cancel_all(p, flatten)
            flattened = 0
            if flatten:
                flattened = await self._flatten_all(p, cancelled)
            verified, detail = await self._verify(flatten, p)
            if not verified and flatten:
                # The broker still shows something: trust it, and try once more.
                try:
                    await self.om.reconcile_positions()
                except Exception as exc:  # noqa: BLE001
                    p.errors.append(f"reconcile: {exc}")
                cancelled, kept = await self._cancel_all(p, flatten)
                flattened = await self._flatten_all(p, cancelled)
                verified, detail = await self._verify(flatten, p)
        except asyncio.CancelledError:
            self.state = "ENGAGED"
            self._progress("FAILED", "kill switch interrupted (application stopping)", p)
            raise
        except Exception as exc:  # noqa: BLE001 - stay engaged, say what happened
            log.exception("kill switch failed")
            p.errors.append(f"{type(exc).__name__}: {exc}")
            cancelled, flattened, kept, verified, detail = (
                self._count_cancelled(p),
                0,
                0,
                False,
                str(exc),
            )
        self.state = "ENGAGED"
        parts = [f"cancelled {cancelled}/{len(p.cancel_ids)}"]
        if flatten:
            parts.append(f"flattened {flattened}/{len(p.flatten_keys)}")
        elif kept:
            parts.append(f"kept {kept} protective exit{'s' if kept != 1 else ''}")
        parts.append(
            ("verified flat with broker" if flatten else "verified with broker")
            if verified
            else f"NOT verified: {detail}"
        )
        message = ", ".join(parts)
        result = KillSwitchResult(
            len(p.cancel_ids),
            cancelled,
            len(p.flatten_keys),
            flattened,
            kept,
            verified,
            tuple(p.errors),
            message,
        )
        self.last_result = result
        self._progress("DONE" if verified else "FAILED", message, p, cancelled, flattened)
        try:
            self._persist(True)
        except Exception:  # noqa: BLE001
            log.exception("could not persist kill switch state")
        self._audit(
            "kill_switch_done" if verified else "kill_switch_failed", message, result.as_dict()
        )
        extra = (" (retried: " + "; ".join(p.errors[:5]) + ")") if p.errors else ""
        # Verified is what matters: errors that retries overcame are reported, not alarming.
        self.om.alert(
            "warning" if verified else "error", f"Kill switch: {message}{extra}", "kill_switch"
        )
        return result

    # ------------------------------------------------------------------ cancelling
    def _count_cancelled(self, p: _Progress) -> int:
        done = 0
        for oid in p.cancel_ids:
            current = self.om.live_order(oid)
            if current is None or current.status.is_terminal:
                done += 1
        return done

    async def _cancel_all(self, p: _Progress, flatten: bool) -> tuple[int, int]:
        sem = asyncio.Semaphore(self.concurrency)
        kept: set[int] = set()

        async def cancel(order) -> None:
            async with sem:
                try:
                    self.db.journal.add_event(
                        order.id,
                        "KILL_SWITCH",
                        f"cancel requested by the kill switch: {self.reason}",
                        order.status,
                    )
                except Exception:  # noqa: BLE001 - the cancel matters more than its note
                    log.exception("could not write the kill switch audit event")
                try:
                    await self.om.cancel_order(order.id)
                except OrderNotCancellable:
                    pass  # filled or cancelled meanwhile: no longer open
                except Exception as exc:  # noqa: BLE001 - retried next round
                    p.errors.append(f"cancel #{order.id} {order.symbol}: {exc}")
                self._progress(
                    "ENGAGING",
                    f"cancelled {self._count_cancelled(p)}/{len(p.cancel_ids)}",
                    p,
                    self._count_cancelled(p),
                )

        try:  # an order of ours that turned up late at the broker is in the journal now
            await self.om.refresh_from_broker()
        except Exception as exc:  # noqa: BLE001 - the journal's own orders are cancelled anyway
            p.errors.append(f"reading the broker's orders: {exc}")
        for attempt in range(self.rounds):
            await self.om.drain()
            active = self.om.live_orders()
            if not flatten and self.keep_protective_exits:
                kept = {o.id for o in active if self._protective(o)}
                active = [o for o in active if o.id not in kept]
            if not active:
                break
            ready = [
                o
                for o in active
                if o.broker_order_id is not None and o.status in CANCELLABLE_STATUSES
            ]
            p.cancel_ids.update(o.id for o in active)
            self._progress(
                "ENGAGING",
                f"cancelled {self._count_cancelled(p)}/{len(p.cancel_ids)}",
                p,
                self._count_cancelled(p),
            )
            if ready:
                await asyncio.gather(*(cancel(o) for o in ready))
            else:
                self.om.poll_now()  # in flight: let the monitor resolve them
            if attempt + 1 < self.rounds and any(
                (c := self.om.live_order(o.id)) is not None and c.status.is_active for o in active
            ):
                await asyncio.sleep(self.retry_delay * (attempt + 1))
        await self._cancel_strays(p, kept)
        done = self._count_cancelled(p)
        self._audit(
            "kill_switch_cancelled",
            f"cancelled {done}/{len(p.cancel_ids)}",
            {"orders": sorted(p.cancel_ids)},
        )
        return done, len(kept)

    async def _cancel_strays(self, p: _Progress, kept: set[int]) -> None:
        """Every order live at the broker that carries this install's tag prefix is
        cancelled, even one the journal does not have as working."""
        try:
            reports = await self.om.broker.orders()
        except Exception as exc:  # noqa: BLE001 - verification reads the broker again
            p.errors.append(f"reading the broker's orders: {exc}")
            return
        prefix = self.om.client_id_prefix
        working = {o.broker_order_id for o in self.om.live_orders()}
        kept_ids = {o.broker_order_id for oid in kept if (o := self.om.live_order(oid)) is not None}
        for report in reports:
            tag = report.client_order_id or ""
            if (
                report.status.is_active
                and tag.startswith(prefix)
                and report.broker_order_id not in working
                and report.broker_order_id not in kept_ids
            ):
                await self.om.cancel_at_broker(
                    report, f"the kill switch cancels every live order of ours: {self.reason}"
                )

    # ------------------------------------------------------------------ flattening
    def _flat_count(self, p: _Progress) -> int:
        done = 0
        for key in p.flatten_keys:
            if self.pm.peek(*key).quantity == 0:
                done += 1
        return done

    async def _flatten_all(self, p: _Progress, cancelled: int) -> int:
        sem = asyncio.Semaphore(self.concurrency)

        async def flatten(position) -> None:
            async with sem:
                try:
                    result = await self._flatten(position)
                    for part in result.slices or (result,):  # sliced above the freeze qty
                        try:
                            self.db.journal.add_event(
                                part.order_id,
                                "KILL_SWITCH",
                                f"flatten order placed by the kill switch: {self.reason}",
                                part.status,
                                {"position_quantity": position.quantity},
                            )
                        except Exception:  # noqa: BLE001
                            log.exception("could not write the kill switch audit event")
                except OrderRejected as exc:
                    p.errors.append(f"flatten {position.symbol}: {exc.reason}")
                    if "would not only reduce" in exc.reason:
                        await self._cancel_all(p, True)  # something reappeared: cancel it too
                except Exception as exc:  # noqa: BLE001 - retried next round
                    p.errors.append(f"flatten {position.symbol}: {exc}")
                self._progress(
                    "ENGAGING",
                    f"cancelled {cancelled}/{len(p.cancel_ids)}, flattened {self._flat_count(p)}/{len(p.flatten_keys)}",
                    p,
                    cancelled,
                    self._flat_count(p),
                )

        for attempt in range(self.rounds):
            await self.om.drain()
            busy = {
                (o.exchange, o.symbol, o.product)
                for o in self.om.live_orders()
                if o.source == "kill_switch"
            }
            positions = [pos for pos in self.pm.open_positions() if pos.key not in busy]
            p.flatten_keys.update(pos.key for pos in self.pm.open_positions())
            if not positions and not busy:
                break
            if positions:
                self._progress(
                    "ENGAGING",
                    f"cancelled {cancelled}/{len(p.cancel_ids)}, flattened {self._flat_count(p)}/{len(p.flatten_keys)}",
                    p,
                    cancelled,
                    self._flat_count(p),
                )
                await asyncio.gather(*(flatten(pos) for pos in positions))
            await self.om.drain()
            if self.pm.open_positions() and attempt + 1 < self.rounds:
                await asyncio.sleep(self.retry_delay * (attempt + 1))
        done = self._flat_count(p)
        self._audit(
            "kill_switch_flattened",
            f"flattened {done}/{len(p.flatten_keys)}",
            {"positions": [":".join(map(str, k)) for k in sorted(p.flatten_keys)]},
        )
        return done

    async def _flatten(self, position):
        for note in await self.om.run_exit_guards(
            position.exchange, position.symbol, position.product, f"kill switch: {self.reason}"
        ):
            log.info("kill switch, %s: %s", position.symbol, note)
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        request = OrderRequest(
            symbol=position.symbol,
            exchange=position.exchange,
            side=side,
            quantity=abs(position.quantity),
            order_type=OrderType.MARKET,
            product=position.product,
            reduce_only=True,
            source="kill_switch",
        )
        return await self.om.place_order(request)

    # ==================================================================
    # The check with the broker that makes a kill switch DONE.
    # ==================================================================

    # ------------------------------------------------------------------ verification
    async def _verify(self, flatten: bool, p: _Progress) -> tuple[bool, str]:
        broker = self.om.broker
        detail = "broker not reachable"
        for attempt in range(self.verify_attempts):
            try:
                orders = await broker.orders()
                positions = await broker.positions()
            except Exception as exc:  # noqa: BLE001
                log.warning("kill switch verification could not read the broker: %s", exc)
                detail = f"broker not reachable ({exc})"
            else:
                kept_ids = set()
                if not flatten and self.keep_protective_exits:
                    kept_ids = {
                        o.broker_order_id
                        for o in self.om.live_orders()
                        if self._protective(o) and o.broker_order_id
                    }
                open_orders = [
                    o
                    for o in orders
                    if o.status
                    not in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
                    and o.broker_order_id not in kept_ids
                ]
                open_positions = [pos for pos in positions if pos.quantity != 0]
                if not open_orders and (not flatten or not open_positions):
                    return True, ""
                bits = []
                if open_orders:
                    bits.append(f"{len(open_orders)} order(s) still open at the broker")
                if flatten and open_positions:
                    bits.append(
                        "positions still open at the broker: "
                        + ", ".join(
                            f"{x.exchange}:{x.symbol} {x.product.value} {x.quantity}"
                            for x in open_positions[:5]
                        )
                    )
                detail = "; ".join(bits)
            if attempt + 1 < self.verify_attempts:
                await asyncio.sleep(self.verify_interval)
        return False, detail
