"""KillSwitch: one action stops everything, and stays stopped (persisted) until re-armed.

engage(): new orders are refused and the state is persisted before the first await; then
every open order is cancelled and (when configured) every open position is flattened
with reduce-only market orders, then the result is verified against the broker.
"""

from __future__ import annotations

import asyncio
import json
import logging

from ..domain import OrderRequest, OrderSide, OrderStatus, OrderType
from ..domain.events import KillSwitchProgress
from ..storage.types import utcnow

log = logging.getLogger(__name__)

STATE_KEY = "kill_switch"


class KillSwitch:
    def __init__(self, order_manager, position_manager, *, flatten: bool = True, verify_attempts: int = 20, verify_interval: float = 0.25) -> None:
        self.om = order_manager
        self.pm = position_manager
        self.db = order_manager.db
        self.events = order_manager.events
        self.flatten = flatten
        self.verify_attempts = verify_attempts
        self.verify_interval = verify_interval
        self.state = "ARMED"
        self.reason: str | None = None
        self._task: asyncio.Task | None = None
        self._restore()

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        raw = self.db.get_state(STATE_KEY)
        if not raw:
            return
        try:
            saved = json.loads(raw)
        except ValueError:
            saved = {"engaged": True, "reason": "kill switch state unreadable; staying engaged"}
        if saved.get("engaged"):
            self.state = "ENGAGED"
            self.reason = saved.get("reason") or "engaged before restart"
            self.om.halt(f"Kill switch engaged: {self.reason}")

    @property
    def engaged(self) -> bool:
        return self.state != "ARMED"

    def _persist(self, engaged: bool) -> None:
        self.db.set_state(STATE_KEY, json.dumps({"engaged": engaged, "reason": self.reason, "at": utcnow().isoformat()}))

    def _progress(self, message: str, to_cancel=0, cancelled=0, to_flatten=0, flattened=0) -> None:
        self.events.publish(
            KillSwitchProgress(self.state, self.reason, to_cancel, cancelled, to_flatten, flattened, message, utcnow())
        )

    # ------------------------------------------------------------------ engage
    async def engage(self, reason: str = "manual") -> dict:
        # Synchronous part: effective before the first await.
        self.reason = reason
        self.state = "ENGAGING"
        self.om.halt(f"Kill switch engaged: {reason}")
        try:
            self._persist(True)
        except Exception:  # noqa: BLE001 - the halt stands even if the disk failed
            log.exception("could not persist kill switch state")
        self._progress("halted: new orders refused")
        return await self._stop_everything()

    async def _stop_everything(self) -> dict:
        active = [o for o in await self.om.get_active_orders() if o.broker_order_id is not None]
        to_cancel = len(active)
        cancelled = 0
        errors: list[str] = []
        for order in active:
            try:
                await self.om.cancel_order(order.id)
            except Exception as exc:  # noqa: BLE001 - go on; verification below retries
                errors.append(f"cancel #{order.id}: {exc}")
            current = await self.om.get_order(order.id)
            if current.status.is_terminal:
                cancelled += 1
            self._progress(f"cancelled {cancelled}/{to_cancel}", to_cancel, cancelled)
        flattened = to_flatten = 0
        if self.flatten:
            positions = [p for p in self.pm.open_positions()]
            to_flatten = len(positions)
            for position in positions:
                try:
                    await self._flatten(position)
                    flattened += 1
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"flatten {position.symbol}: {exc}")
                self._progress(f"cancelled {cancelled}/{to_cancel}, flattened {flattened}/{to_flatten}", to_cancel, cancelled, to_flatten, flattened)
        verified = await self._verify()
        self.state = "ENGAGED"
        message = f"cancelled {cancelled}/{to_cancel}, flattened {flattened}/{to_flatten}, " + (
            "verified with broker" if verified else "NOT verified: check the broker"
        )
        self._progress(message, to_cancel, cancelled, to_flatten, flattened)
        if errors or not verified:
            self.om.alert("error", "Kill switch: " + message + ("; " + "; ".join(errors[:5]) if errors else ""), "kill_switch")
        else:
            self.om.alert("warning", "Kill switch: " + message, "kill_switch")
        return {"cancelled": cancelled, "to_cancel": to_cancel, "flattened": flattened, "to_flatten": to_flatten, "verified": verified, "errors": errors}

    async def _flatten(self, position) -> None:
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
        await self.om.place_order(request)

    async def _verify(self) -> bool:
        broker = self.om.broker
        for _ in range(self.verify_attempts):
            try:
                orders = await broker.orders()
                positions = await broker.positions()
            except Exception:  # noqa: BLE001
                log.exception("kill switch verification could not read the broker")
                await asyncio.sleep(self.verify_interval)
                continue
            open_orders = [o for o in orders if o.status not in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)]
            open_positions = [p for p in positions if p.quantity != 0]
            if not open_orders and (not self.flatten or not open_positions):
                return True
            await asyncio.sleep(self.verify_interval)
        return False

    # ------------------------------------------------------------------ rearm
    def rearm(self) -> None:
        if self.state == "ENGAGING":
            raise RuntimeError("The kill switch is still working; re-arm when it is done")
        self.state = "ARMED"
        self.reason = None
        self._persist(False)
        self.om.resume()
        self._progress("re-armed: trading allowed")
