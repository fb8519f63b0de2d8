"""Kill switch: the cancel-and-flatten sequence run after the halt - cancel every open
order (bounded concurrency; the broker adapter's rate limiter paces the requests), close
every open position with a reduce-only MARKET order, verify, retry once after a
reconcile, and report the outcome.

A mixin of `KillSwitch` (risk/kill_switch.py); its state lives there.
"""

from __future__ import annotations

import asyncio
import logging

from desktop_oms.domain import CANCELLABLE_STATUSES, OrderRequest, OrderSide, OrderType
from desktop_oms.oms.errors import OrderNotCancellable, OrderRejected
from desktop_oms.risk.kill_switch_result import KillSwitchResult, _Progress

log = logging.getLogger("desktop_oms.risk.kill_switch")  # the logger of the original module

PROTECTIVE_SOURCES = frozenset({"bracket", "kill_switch", "square_off"})


class KillSwitchSequenceMixin:
    """Cancel everything, flatten everything (rounds, retries), report."""

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
        done = self._count_cancelled(p)
        self._audit(
            "kill_switch_cancelled",
            f"cancelled {done}/{len(p.cancel_ids)}",
            {"orders": sorted(p.cancel_ids)},
        )
        return done, len(kept)

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
                    try:
                        self.db.journal.add_event(
                            result.order_id,
                            "KILL_SWITCH",
                            f"flatten order placed by the kill switch: {self.reason}",
                            result.status,
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
