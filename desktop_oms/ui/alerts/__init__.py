"""The alerts and log panel: rejections, reconciliation mismatches, background failures.

Entry points: `AlertsPanel` (panel.py; `add(level, text, source)` at any rate;
`persist_to(alert_log)` keeps the IST trading day's alerts across a restart) and
`attach_logging(panel)` (warnings and errors from `logging`, from any thread).

Invariant: an alert is shown whatever happens to saving it; times are IST.
"""

from desktop_oms.ui.alerts.panel import AlertsModel, AlertsPanel, QtLogHandler, attach_logging

__all__ = ["AlertsModel", "AlertsPanel", "QtLogHandler", "attach_logging"]
