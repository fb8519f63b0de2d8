"""The kill switch: one action that stops everything, and stays stopped until re-armed.

Entry point: `KillSwitch(order_manager, position_manager, ...)`; `engage(reason)` halts
new orders before its first await, cancels every open order, flattens every position
(unless configured not to), and verifies with the broker itself; `rearm()` is explicit.

Invariants: the engaged state is persisted (a restart comes back engaged and halted);
only reduce-only exits go while it is engaged; it never reports DONE before the broker's
own order and position lists agree.
"""

from desktop_oms.risk.kill_switch.result import KillSwitchResult
from desktop_oms.risk.kill_switch.switch import HALT_PREFIX, KillSwitch, RearmRefused

__all__ = ["HALT_PREFIX", "KillSwitch", "KillSwitchResult", "RearmRefused"]
