"""Alerts raised while the app starts, before its window exists (start-up recovery: an
order found live at the broker, a bracket's stop found filled while the app was away),
are shown in the window's alerts panel and saved with the others (issue 18: each repair
at start-up is shown)."""

from __future__ import annotations

from desktop_oms.oms import OrderManager


def test_an_alert_raised_before_the_window_exists_is_shown_in_it(qtbot, make_app, monkeypatch):
    start = OrderManager.start

    async def start_and_repair(self):
        await start(self)
        self.alert("error", "Order #7 INFY was marked REJECTED but the broker has it live")

    monkeypatch.setattr(OrderManager, "start", start_and_repair)
    app = make_app()
    model = app.window.alerts.model

    def shown() -> list[str]:
        return [model.alert_at(row).message for row in range(model.rowCount())]

    qtbot.waitUntil(
        lambda: "Order #7 INFY was marked REJECTED but the broker has it live" in shown(),
        timeout=3000,
    )
    assert shown().count("Order #7 INFY was marked REJECTED but the broker has it live") == 1
    [row] = [a for a in model.alerts() if a.message.startswith("Order #7")]
    assert (row.level, row.source) == ("error", "oms")
