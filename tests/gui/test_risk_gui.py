"""The window's risk features on a real Application (paper broker, no simulated market):
the risk limits dialog, the risk panel, net PnL in the grid and the chart, brackets
grouped in the blotter, kill-switch progress and its keyboard guard, achievements."""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPushButton, QSpinBox, QTimeEdit

from desktop_oms.config import Settings
from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.oms.errors import OrderRejected
from desktop_oms.risk import RiskLimits
from desktop_oms.risk.limits import RISK_FIELDS
from desktop_oms.ui.blotter.orders_model import bracket_leg
from desktop_oms.ui.common import SORT_ROLE
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.risk.kill_switch_button import KillSwitchState

OUT = Path(os.environ.get("OMS_SCREENSHOT_DIR", "/tmp"))
PRICE = Decimal("2450")
TIP = Qt.ItemDataRole.ToolTipRole


@pytest.fixture
def quiet(caplog):
    """Fail the test if anything logged an error it did not expect."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def ready(qtbot, app):
    app.broker.set_last_price("NSE", "RELIANCE", PRICE)
    qtbot.waitUntil(
        lambda: app.order_manager.ready and app.window.ticket.buy_button.isEnabled(), timeout=3000
    )


def request(side=OrderSide.BUY, qty=10, price="2450.00", kind=OrderType.LIMIT, **kw):
    return OrderRequest(
        symbol=kw.pop("symbol", "RELIANCE"),
        exchange="NSE",
        side=side,
        quantity=qty,
        order_type=kind,
        price=None if kind is OrderType.MARKET else Decimal(price),
        product=Product.MIS,
        **kw,
    )


def place(arun, app, *args, **kw):
    return arun(app.order_manager.place_order(request(*args, **kw)))


def alert_texts(window):
    window.alerts.model.flush()
    return [a.message for a in window.alerts.model.alerts()]


# ------------------------------------------------------------------ risk limits dialog

WIDGET_FOR_KIND = {
    "money": QLineEdit,
    "percent": QLineEdit,
    "ratio": QLineEdit,
    "seconds": QLineEdit,
    "int": QSpinBox,
    "bool": QCheckBox,
    "choice": QComboBox,
    "time": QTimeEdit,
}


def reason_for(**values) -> str:
    with pytest.raises(ValueError) as info:
        RiskLimits(**values)
    return str(info.value)


def test_risk_limits_dialog_refuses_a_bad_value_with_the_reason_and_saves_a_good_one(
    qtbot, arun, make_app, tmp_path, quiet
):
    app = make_app()
    w = app.window
    ready(qtbot, app)
    action = w.findChild(QAction, "actionRiskLimits")
    assert action is not None
    risk_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Risk")
    assert action in risk_menu.actions()
    action.trigger()
    dialog = w.risk_gui.dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.isModal()  # the window (and its kill switch) stays usable
    assert w.kill_button.isEnabled()
    # every RiskLimits field, with the widget its kind asks for, showing the limits in force
    assert set(dialog.widgets) == {spec.name for spec in RISK_FIELDS}
    for spec in RISK_FIELDS:
        widget = w.findChild(WIDGET_FOR_KIND[spec.kind], f"risk_{spec.name}")
        assert widget is dialog.widgets[spec.name], spec.name
    assert dialog.widgets["capital"].text() == "10,00,000"
    assert dialog.widgets["max_quantity"].value() == 5000
    assert dialog.widgets["loss_limit_action"].currentData() == "halt_and_flatten"
    assert dialog.widgets["square_off_time"].time().toString("HH:mm") == "15:15"
    assert dialog.amounts["daily_loss_limit_pct"].text() == "= \u20b960,000"
    save = dialog.findChild(QPushButton, "riskSave")
    assert save.isEnabled()
    written_before = app.settings.settings_path.exists()

    # bad values: marked with RiskLimits' own reason, Save disabled, nothing applied
    dialog.set_text("daily_loss_limit_pct", "150")
    error = dialog.errors["daily_loss_limit_pct"]
    assert error.isVisible()
    reason = reason_for(daily_loss_limit_pct=Decimal("150"))
    assert reason == "daily loss limit pct is a percentage and cannot exceed 100"
    assert error.text() == "D" + reason[1:]  # RiskLimits' words, as a sentence
    assert dialog.widgets["daily_loss_limit_pct"].toolTip() == error.text()
    assert dialog.widgets["daily_loss_limit_pct"].property("invalid") is True
    assert not save.isEnabled()
    assert dialog.message.text() == "1 field to fix before saving."
    dialog.set_text("max_quantity", "0")
    assert dialog.errors["max_quantity"].text().lower() == reason_for(max_quantity=0).lower()
    assert dialog.message.text() == "2 fields to fix before saving."
    dialog.set_text("capital", "ten lakh")
    assert "is not a number" in dialog.errors["capital"].text()
    assert dialog.amounts["daily_loss_limit_pct"].text() == ""
    dialog.widgets["square_off_time"].setTime(
        dialog.widgets["square_off_time"].time().fromString("16:00", "HH:mm")
    )
    assert "market hours" in dialog.errors["square_off_time"].text()
    assert dialog.save() is False
    assert dialog.isVisible()
    assert app.settings.risk == RiskLimits()
    assert app.validator.limits == RiskLimits()
    assert app.settings.settings_path.exists() == written_before

    # fixed: saved, applied everywhere, written to settings.toml
    dialog.set_text("daily_loss_limit_pct", "3")
    dialog.set_text("max_quantity", "800")
    dialog.set_text("capital", "20,00,000")
    dialog.widgets["square_off_time"].setTime(
        dialog.widgets["square_off_time"].time().fromString("15:10", "HH:mm")
    )
    dialog.set_text("max_order_value", "1,00,000")
    dialog.widgets["require_stop_loss"].setChecked(False)
    dialog.widgets["loss_limit_action"].setCurrentIndex(
        dialog.widgets["loss_limit_action"].findData("halt")
    )
    assert not any(e.isVisible() for e in dialog.errors.values())
    assert dialog.amounts["daily_loss_limit_pct"].text() == "= \u20b960,000"  # 3% of 20 lakh
    assert save.isEnabled()
    with qtbot.waitSignal(dialog.saved, timeout=2000) as saved:
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    limits = saved.args[0]
    expected = RiskLimits(
        capital=Decimal("2000000"),
        daily_loss_limit_pct=Decimal("3"),
        max_quantity=800,
        max_order_value=Decimal("100000"),
        square_off_time="15:10",
        loss_limit_action="halt",
    )
    assert limits == expected
    qtbot.waitUntil(lambda: w.risk_gui.dialog is None, timeout=2000)
    assert app.settings.risk == expected
    assert app.validator.limits == expected and app.risk.monitor.limits == expected
    assert app.kill_switch.flatten is True
    reloaded, warning = Settings.load(tmp_path)
    assert warning is None and reloaded.risk == expected
    assert any("Risk limits saved:" in m and "1,00,000" in m for m in alert_texts(w))

    # the ticket refuses what is now too big, before anything is sent ...
    t = w.ticket
    t.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    t.order_type.setCurrentText("LIMIT")
    t.price.setText("2450.00")
    t.quantity.set_quantity(50)  # 1,22,500 > 1,00,000
    assert t.send(OrderSide.BUY) is False
    assert "exceeds your limit of \u20b91,00,000" in t.message.text()
    # ... and so does the validator for an order sent by anyone else
    with pytest.raises(OrderRejected) as refused:
        place(arun, app, qty=50)
    assert refused.value.failed_check == "max_order_value"
    assert place(arun, app, qty=40).status is OrderStatus.FILLED  # 98,000 passes
    # the dialog opens again with the saved values; Restore defaults fills, saves nothing
    action.trigger()
    again = w.risk_gui.dialog
    assert again.widgets["max_order_value"].text() == "1,00,000"
    again.findChild(QPushButton, "riskDefaults").click()
    assert again.widgets["max_order_value"].text() == "5,00,000"
    assert app.settings.risk == expected
    again.findChild(QPushButton, "riskCancel").click()
    assert Settings.load(tmp_path)[0].risk == expected


# ------------------------------------------------------------------ the risk panel


def test_risk_panel_shows_loss_used_after_a_losing_move(qtbot, arun, make_app, quiet, caplog):
    limits = RiskLimits(capital=Decimal("100000"), loss_limit_action="alert")
    app = make_app(risk=limits)  # loss limit 6,000; warning at 5,000
    w = app.window
    ready(qtbot, app)
    panel = w.risk_gui.panel
    assert w.findChild(type(panel), "riskPanel") is panel
    assert panel.parentWidget().objectName() == "topStrip"
    panel.flush()
    assert panel.level == "ok" and panel.loss_text() == "loss 0% of \u20b96,000"

    place(arun, app, qty=100, price="2450.00")  # 2,45,000
    qtbot.waitUntil(lambda: bool(app.position_manager.open_positions()), timeout=3000)
    # a losing move: -30 x 100 = -3,000 gross, 50% of the limit: still plain
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2420"))
    qtbot.waitUntil(
        lambda: (
            (panel.flush(), panel.snapshot)[1] is not None
            and panel.snapshot.gross == Decimal("-3000")
        ),
        timeout=3000,
    )
    snap = panel.snapshot
    assert snap.charges > 0 and snap.net == Decimal("-3000") - snap.charges
    assert panel.level == "ok"
    pct = -snap.net / Decimal("6000") * 100
    assert panel.loss_text() == f"loss {pct:.0f}% of \u20b96,000"
    assert panel.loss_bar.value() == int(pct * 10)
    assert "-3,000.00" in panel.gross_label.text()
    assert fmt.signed_money(snap.net) in panel.net_label.text()
    assert fmt.money(snap.charges) in panel.charges_label.text()
    assert fmt.money(snap.drawdown) in panel.drawdown_label.text()
    assert snap.drawdown == -snap.net  # from a peak of 0
    assert "RELIANCE MIS +100" in panel.toolTip()

    # further: past the warning level (5%): amber, and the monitor's warning is in the alerts
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2398"))
    qtbot.waitUntil(lambda: (panel.flush(), panel.level)[1] == "warn", timeout=3000)
    assert panel.loss_bar.property("level") == "warn"
    assert int(panel.loss_text().split()[1].rstrip("%")) >= 83
    qtbot.waitUntil(
        lambda: any("has reached 5% of capital" in m for m in alert_texts(w)), timeout=3000
    )

    # at the limit: red (alert only, as configured: nothing is flattened)
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2385"))
    qtbot.waitUntil(lambda: (panel.flush(), panel.level)[1] == "error", timeout=3000)
    assert panel.loss_bar.value() == 1000
    assert "only reducing orders pass" in panel.toolTip()
    assert any("Daily loss limit breached" in m for m in alert_texts(w))
    caplog.clear()  # the breach is logged as an error, as it should be
    # and a recovery brings it back down
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2460"))
    qtbot.waitUntil(lambda: (panel.flush(), panel.level)[1] == "ok", timeout=3000)
    assert panel.snapshot.peak > 0 and "Drawdown" in panel.drawdown_label.text()


def test_achievements_show_as_a_transient_status_note(qtbot, arun, make_app, quiet):
    app = make_app()
    w = app.window
    ready(qtbot, app)
    place(arun, app, qty=1)  # the first trade is an achievement
    qtbot.waitUntil(lambda: w.status.currentMessage().startswith("\u2605 "), timeout=3000)
    note = w.status.currentMessage()[2:]
    w.alerts.model.flush()
    listed = [a for a in w.alerts.model.alerts() if a.source == "achievements"]
    assert [a.message for a in listed] == [note]


# ------------------------------------------------------------------ net PnL


def test_net_pnl_column_is_total_minus_charges_for_a_filled_round_trip(
    qtbot, arun, make_app, quiet
):
    app = make_app()
    w = app.window
    ready(qtbot, app)
    place(arun, app, qty=10, price="2450.00")
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2460"))
    place(arun, app, side=OrderSide.SELL, qty=10, price="2460.00")
    model = w.positions_model
    qtbot.waitUntil(
        lambda: (
            bool((model.flush(), model.items())[1])
            and model.items()[0].quantity == 0
            and model.items()[0].realized_pnl == Decimal("100")
        ),
        timeout=3000,
    )
    (pos,) = model.items()
    assert pos.charges > 0
    net = Decimal("100") - pos.charges
    row = model.row_for_key(pos.key)

    def cell(key, role=Qt.ItemDataRole.DisplayRole):
        return model.index(row, model.column_index(key)).data(role)

    assert cell("total") == "+100.00"
    assert cell("charges") == fmt.money(pos.charges)
    assert cell("net") == fmt.signed_money(net)
    assert "charges" in cell("net", TIP)
    # the totals row includes charges and net
    footer = w.positions_panel.totals_model
    assert footer.index(0, model.column_index("charges")).data() == fmt.money(pos.charges)
    assert footer.index(0, model.column_index("net")).data() == fmt.signed_money(net)
    # Net is shown; Charges is one right-click on the header away (both in the footer too)
    header = w.positions_grid.horizontalHeader()
    net_col, charges_col = model.column_index("net"), model.column_index("charges")
    assert not header.isSectionHidden(net_col)
    menu = w.positions_panel.column_menu()
    charges_action = menu.findChild(QAction, "showColumn_charges")
    assert charges_action is not None and not charges_action.isChecked()
    charges_action.setChecked(True)
    assert not header.isSectionHidden(charges_col)
    assert not w.positions_panel.footer.horizontalHeader().isSectionHidden(charges_col)
    menu.findChild(QAction, "showColumn_net").setChecked(False)
    assert header.isSectionHidden(net_col)
    assert w.positions_panel.footer.horizontalHeader().isSectionHidden(net_col)
    w.positions_panel.set_column_shown("net", True)
    assert menu.findChild(QAction, "showColumn_symbol") is None  # never hidden
    # the PnL chart: total, realized and net (after charges)
    chart = w.pnl_chart
    qtbot.waitUntil(
        lambda: chart.last_values is not None and chart.last_values[2] == net, timeout=3000
    )
    assert chart.last_values[:2] == (Decimal("100"), Decimal("100"))
    assert chart.net_curve.isVisible()
    chart.flush()
    labels = [label.text for _sample, label in chart.legend.items]
    assert any(text.startswith("Net \u20b9") for text in labels)


# ------------------------------------------------------------------ brackets


def symbol_texts(window):
    model = window.orders_model
    model.flush()
    col = model.column_index("symbol")
    return [model.index(r, col).data() for r in range(model.rowCount())]


def ids_shown(window):
    model = window.orders_model
    return [model.item_at(r).id for r in range(model.rowCount())]


def test_a_bracket_entrys_exits_appear_grouped_under_it(qtbot, arun, make_app, quiet):
    app = make_app()
    w = app.window
    ready(qtbot, app)
    before = place(arun, app, qty=5, price="2400.00").order_id  # stays open
    entry = place(
        arun, app, qty=10, price="2450.00", stop_loss=Decimal("2440"), take_profit=Decimal("2470")
    ).order_id
    qtbot.waitUntil(lambda: len(app.risk.brackets.view(entry).exit_order_ids) == 1, timeout=5000)
    view = app.risk.brackets.view(entry)
    ((stop_id,), ()) = view.stop_order_ids, view.target_order_ids  # the target is watched
    after = place(arun, app, qty=3, price="2401.00").order_id
    model = w.orders_model
    qtbot.waitUntil(lambda: (model.flush(), len(model))[1] == 4, timeout=3000)
    stop = model.get(stop_id)
    assert bracket_leg(stop) == "SL"
    assert stop.parent_order_id == entry and stop.source == "bracket"

    # the blotter's default order (newest first) keeps the exits under their entry
    assert model.sort_column == model.column_index("time")
    assert ids_shown(w) == [after, entry, stop_id, before]
    assert symbol_texts(w) == ["RELIANCE", "RELIANCE", "\u21b3 SL  RELIANCE", "RELIANCE"]
    # oldest first too, and the sort key is the group, then the order
    w.blotter.sortByColumn(model.column_index("time"), Qt.SortOrder.AscendingOrder)
    assert ids_shown(w) == [before, entry, stop_id, after]
    row = model.row_for_key(stop_id)
    assert model.index(row, 0).data(SORT_ROLE) == (entry, 1, stop_id)
    w.blotter.sortByColumn(model.column_index("time"), Qt.SortOrder.DescendingOrder)

    # the symbol cell's tooltip tells the bracket's state
    col = model.column_index("symbol")
    tip = model.index(model.row_for_key(stop_id), col).data(TIP)
    assert f"Bracket stop-loss exit of #{entry}" in tip
    assert f"Bracket on #{entry} (BUY RELIANCE MIS): active" in tip
    assert "stop-loss 2,440.00, target 2,470.00 (watched by the app)" in tip
    assert "entry filled 10, open 10" in tip
    assert f"stop #{stop_id}: SELL 10 TRIGGER PENDING" in tip
    entry_tip = model.index(model.row_for_key(entry), col).data(TIP)
    assert f"Bracket on #{entry}" in entry_tip
    assert "Bracket" not in model.index(model.row_for_key(after), col).data(TIP)

    # the target is reached: the stop goes, one exit at market, grouped under the entry
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2471"))
    qtbot.waitUntil(lambda: app.risk.brackets.view(entry).status == "closed", timeout=5000)
    model.flush()
    assert model.get(stop_id).status is OrderStatus.CANCELLED
    exits = [o for o in model.items() if o.parent_order_id == entry and o.id != stop_id]
    assert [(bracket_leg(o), o.status) for o in exits] == [("EXIT", OrderStatus.FILLED)]
    assert ids_shown(w)[:2] == [after, entry] and set(ids_shown(w)[2:4]) == {stop_id, exits[0].id}
    tip = model.index(model.row_for_key(stop_id), col).data(TIP)
    assert f"Bracket on #{entry} (BUY RELIANCE MIS): closed" in tip


# ------------------------------------------------------------------ kill switch


def test_kill_switch_shortcut_needs_two_presses_and_the_button_shows_progress(
    qtbot, arun, make_app, quiet
):
    app = make_app()
    w = app.window
    ready(qtbot, app)
    place(arun, app, qty=5, price="2400.00")  # open
    place(arun, app, qty=5, price="2401.00")  # open
    place(arun, app, qty=10, price="2450.00")  # a position
    qtbot.waitUntil(lambda: len(app.order_manager.sync.active_orders()) == 2, timeout=3000)
    texts: list[str] = []
    button = w.kill_button
    real_set_text = button.setText
    button.setText = lambda text: (texts.append(text), real_set_text(text))[1]
    action = w.findChild(QAction, "actionEngageKillSwitch")
    assert action.shortcut().toString() == "Ctrl+Shift+K"
    action.trigger()  # one press: armed for a second press only
    qtbot.wait(100)
    assert not app.kill_switch.engaged
    assert "AGAIN" in button.text()
    action.trigger()
    qtbot.waitUntil(lambda: app.kill_switch.state == "ENGAGED", timeout=6000)
    qtbot.waitUntil(lambda: "verified flat with broker" in button.text(), timeout=3000)
    assert button.state is KillSwitchState.ENGAGED
    assert "cancelled 2/2, flattened 1/1, verified flat with broker" in button.text()
    progress = [t for t in texts if "ENGAGING" in t]
    assert any("cancelled" in t and "/2" in t for t in progress), texts
    assert any("flattened" in t for t in progress), texts
    assert w.status.trading.text() == "HALTED"


# ------------------------------------------------------------------ a look at it all


def test_render_risk_features(qtbot, arun, make_app):
    """Offscreen picture: the risk panel (amber), the net column, a bracket grouped in the
    blotter, the PnL chart with its net line; and the limits dialog with a refusal."""
    # a small account, so that the losing move below is past the warning level (5%)
    limits = RiskLimits(capital=Decimal("25000"), risk_per_trade_pct=Decimal("10"))
    app = make_app(size=(1600, 950), risk=limits)
    w = app.window
    ready(qtbot, app)
    app.broker.set_last_price("NSE", "TCS", Decimal("3900"))
    place(arun, app, qty=20, price="3900.00", symbol="TCS")
    place(arun, app, side=OrderSide.SELL, qty=20, kind=OrderType.MARKET, symbol="TCS")
    entry = place(
        arun, app, qty=30, price="2450.00", stop_loss=Decimal("2400"), take_profit=Decimal("2560")
    ).order_id
    place(arun, app, qty=10, price="2380.00")
    qtbot.waitUntil(lambda: len(app.risk.brackets.view(entry).exit_order_ids) == 1, timeout=5000)
    app.broker.set_last_price("NSE", "TCS", Decimal("3880"))
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2404"))
    panel = w.risk_gui.panel
    qtbot.waitUntil(lambda: (panel.flush(), panel.level)[1] == "warn", timeout=3000)
    for model in (w.orders_model, w.positions_model):
        model.flush()
    w.live.refresh()
    qtbot.wait(300)
    w.pnl_chart.flush()
    image = w.grab().toImage()
    assert (image.width(), image.height()) == (1600, 950)
    OUT.mkdir(parents=True, exist_ok=True)
    assert image.save(str(OUT / "oms_risk_gui.png"))

    # the kill switch's final word fits in the strip without widening the window
    arun(app.kill_switch.engage(reason="manual (render)"))
    qtbot.waitUntil(lambda: "verified" in w.kill_button.text(), timeout=5000)
    qtbot.wait(200)
    image = w.grab().toImage()
    assert (image.width(), image.height()) == (1600, 950)
    assert image.save(str(OUT / "oms_risk_gui_engaged.png"))

    w.risk_gui.limits_action.trigger()
    dialog = w.risk_gui.dialog
    dialog.set_text("price_band_pct", "120")
    qtbot.wait(50)
    assert dialog.grab().save(str(OUT / "oms_risk_limits_dialog.png"))
