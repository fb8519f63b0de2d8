"""The main window: it builds every feature, docks and lays them out, and composes the
controllers that act for the trader.

Entry point: `MainWindow(services)` (main_window.py), built by the application with a
`WindowServices` (ui/common/services.py, re-exported here); `closing` is emitted when it
closes, `shutdown()` stops its work. The controllers it composes are listed in
main_window.py; each holds the parts it acts on.

Invariants: the window never blocks (OMS events only queue rows; refreshes run on
timers); it talks to OMS and risk services, never to a broker or the database; anything
asynchronous is a kept task whose failure is shown; one confirmation at a time.
"""

from desktop_oms.ui.common import WindowServices
from desktop_oms.ui.shell.main_window import MainWindow

__all__ = ["MainWindow", "WindowServices"]
