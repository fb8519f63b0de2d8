"""Brackets: stop-loss and take-profit exits of a filled entry, one-cancels-other.

Entry point: `BracketManager(order_manager, store, last_price=...)`, started by the app;
`views()` / `view(entry_id)` / `entry_of(order_id)` for the window and the risk monitor.

Invariant (kept by one worker, one action at a time, recomputed from the journal so a
restart re-attaches): for each managed leg, the exits working on it cover exactly the
bracket's open quantity — never more (no doubling), never left uncovered while a leg is
managed (a leg the broker keeps refusing is given up loudly: the position is unprotected).
"""

from desktop_oms.risk.brackets.manager import (
    MAX_MODIFICATIONS,
    STOP,
    TARGET,
    BracketManager,
    is_entry,
    leg_of,
)

__all__ = ["MAX_MODIFICATIONS", "STOP", "TARGET", "BracketManager", "is_entry", "leg_of"]
