"""Kill switch: verifying the outcome against the broker itself (its own order and
position lists, not the OMS's): no open orders but the kept protective exits and, when
flattening, no open positions - retried a bounded number of times.

A mixin of `KillSwitch` (risk/kill_switch.py); its state lives there.
"""

from __future__ import annotations

import asyncio
import logging

from desktop_oms.domain import OrderStatus
from desktop_oms.risk.kill_switch_result import _Progress

log = logging.getLogger("desktop_oms.risk.kill_switch")  # the logger of the original module


class KillSwitchVerifyMixin:
    """The check with the broker that makes a kill switch DONE."""

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
