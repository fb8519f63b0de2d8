"""The composition root: the only place that builds and wires the product.

Entry points: `Application(settings)` (application.py) opens Settings -> Database ->
Broker -> OMS -> risk -> window, used alike by the GUI, `--smoke` and tests;
`run_gui(settings)` (gui_runner.py) runs it on one qasync loop shared by Qt and the OMS;
`check_qt_platform()` (qt_platform.py) says what system package is missing before Qt
aborts; risk_wiring.py builds the risk layer around the OMS.

Invariants: nothing else constructs the broker, the database or the OMS; the window gets
an explicit services object, never the Application.
"""

from desktop_oms.app.application import Application, wait_for

__all__ = ["Application", "wait_for"]
