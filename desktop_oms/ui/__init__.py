"""The trading window: PySide6 widgets on the OMS's asyncio loop (qasync).

One sub-package per feature; each package's `__init__` names its entry points and
re-exports its public names, and code outside a package imports only those:

- shell/      the main window: builds the features, docks and lays them out, menus and
              shortcuts, status bar, close guard; window controllers (order actions, kill
              switch, live updates, layout) are objects it composes. Entry: `MainWindow`.
- ticket/     the order ticket (type, check, confirm, send once).
- blotter/    orders, trades and the audit trail; bracket tooltips.
- positions/  the positions grid with per-row Exit, Exit all and totals.
- pnl/        the day's P&L chart (pyqtgraph, imported off the start-up path).
- watch/      the market watch (named watchlists, live quotes).
- review/     the trading journal: day review by setup, setups, per-trade notes.
- risk/       risk panel, risk-limits dialog, kill switch button.
- alerts/     the alerts and log panel (kept for the trading day).
- login/      the Kite login dialog.
- common/     what features share: the keyed table model and its columns, formats, the
              theme, money fields, dialogs, the notice bar, the task runner, and
              `WindowServices` (everything the window may use of the OMS).

Rules: features import each other only through common/ (the shell composes them); the
window never talks to a broker or the database directly: it gets a `WindowServices`
from the application and listens to OMS events; the GUI never blocks (broker calls and
the database are behind the OMS services; no QDialog.exec()).
"""
