"""The price chart (issue 17) in the real window (paper broker, prices set by the test):
history and the live candle, the trading lines, moving them through the OMS (accepted
and refused), orders prepared at a price and sized from their stop, the keyboard."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.risk import RiskLimits
from desktop_oms.ui.chart.lines import LineKind

D = Decimal
PRICE = D("2450")


@pytest.fixture
def app(make_app, caplog):
    limits = RiskLimits(capital=D(1_000_000), risk_per_trade_pct=D(1), max_order_value=D(5_000_000))
    app = make_app(risk=limits)
    app.broker.set_last_price("NSE", "RELIANCE", PRICE)
    yield app
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def chart_of(app, qtbot, symbol="RELIANCE"):
    window = app.window
    window.show_instrument("NSE", symbol)
    chart = window.price_chart
    window.chart_dock.show()
    window.chart_dock.raise_()
    chart.build_now()
    qtbot.waitUntil(
        lambda: chart.series is not None and len(chart.series) > 0 and not chart.loading,
        timeout=20_000,
    )
    return chart


def place(arun, app, side=OrderSide.BUY, qty=10, price="2440", kind=OrderType.LIMIT, **kw):
    result = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE", exchange="NSE", side=side, quantity=qty, order_type=kind,
                price=None if price is None else D(price), product=Product.MIS, **kw,
            )
        )
    )  # fmt: skip
    return result.order_id


def line_at(chart, qtbot, key):
    """The line once it is there (an order's once the broker has it: movable)."""

    def ready() -> bool:
        line = chart.line(key)
        return line is not None and (line.movable or line.kind is LineKind.POSITION)

    qtbot.waitUntil(ready, timeout=5000)
    return chart.line(key)


async def broker_order(app, order_id):
    order = await app.order_manager.get_order(order_id)
    reports = await app.broker.orders()
    return next(r for r in reports if r.broker_order_id == order.broker_order_id)


def test_history_loads_and_the_forming_candle_follows_the_ticks(app, qtbot):
    chart = chart_of(app, qtbot)
    assert len(chart.series) > 100
    assert chart.symbol_label.text().startswith("RELIANCE")
    before = len(chart.series)
    app.broker.set_last_price("NSE", "RELIANCE", "2461.35")
    qtbot.waitUntil(lambda: chart.series.data.close[-1] == 2461.35, timeout=5000)
    assert len(chart.series) in (before, before + 1)
    assert chart.series.data.high[-1] >= 2461.35
    assert "C 2,461.35" in chart.readout_text
    # every interval shows the same market, ending at the last price
    for label in ("1m", "15m", "1h", "day"):
        chart.interval_box.setCurrentText(label)
        qtbot.waitUntil(lambda: not chart.loading and len(chart.series) > 0, timeout=20_000)
        assert chart.series.interval.label == label
        assert chart.series.data.close[-1] == 2461.35


def test_a_quiet_minute_later_every_interval_still_ends_at_the_last_price(app, qtbot):
    """No tick since the last one's minute ended (a quiet instrument, a weekend in paper
    mode): the chart loaded then still shows that minute (CI once saw 2,450 here)."""
    chart = chart_of(app, qtbot)
    app.broker.set_last_price("NSE", "RELIANCE", "2461.35")
    qtbot.waitUntil(lambda: chart.series.data.close[-1] == 2461.35, timeout=5000)
    later = datetime.now(UTC) + timedelta(minutes=1)
    app.candles.now = lambda: later
    for label in ("1m", "15m", "day"):
        chart.interval_box.setCurrentText(label)
        qtbot.waitUntil(lambda: not chart.loading and len(chart.series) > 0, timeout=20_000)
        assert chart.series.interval.label == label
        assert chart.series.data.close[-1] == 2461.35, label


def test_lines_for_working_orders_and_the_position_with_its_pnl(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    buy = place(arun, app, price="2440")
    line = line_at(chart, qtbot, f"order:{buy}")
    assert line.kind is LineKind.ORDER and line.price == D("2440") and line.movable
    assert line.label.startswith("BUY 10 LMT 2,440.00")
    assert chart.plot.lines[f"order:{buy}"].value() == 2440
    place(arun, app, qty=5, price=None, kind=OrderType.MARKET)  # fills at 2450
    position = line_at(chart, qtbot, "position:MIS")
    assert position.price == D("2450") and not position.movable
    app.broker.set_last_price("NSE", "RELIANCE", "2462")
    qtbot.waitUntil(lambda: chart.line("position:MIS").pnl == D("60"), timeout=5000)
    assert "P&L ₹60" in chart.line("position:MIS").label


def test_moving_an_order_line_modifies_the_order_at_the_broker(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    buy = place(arun, app, price="2440")
    line_at(chart, qtbot, f"order:{buy}")
    chart.move_line(f"order:{buy}", D("2442.35"))
    qtbot.waitUntil(lambda: arun(broker_order(app, buy)).price == D("2442.35"), timeout=5000)
    qtbot.waitUntil(lambda: chart.line(f"order:{buy}").price == D("2442.35"), timeout=5000)
    assert "moved to 2,442.35" in chart.notice.text()


def test_a_refused_move_snaps_back_and_says_why_on_the_chart(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    buy = place(arun, app, price="2440")
    line_at(chart, qtbot, f"order:{buy}")
    chart.plot.lines[f"order:{buy}"].setValue(1500.0)  # as a drag leaves it
    chart.move_line(f"order:{buy}", D("1500"))  # 39% below the market: outside the circuit
    qtbot.waitUntil(lambda: "not moved" in chart.notice.text(), timeout=5000)
    assert "circuit limits" in chart.notice.text().lower()
    assert chart.notice.level == "error"
    qtbot.waitUntil(lambda: chart.plot.lines[f"order:{buy}"].value() == 2440, timeout=5000)
    assert arun(broker_order(app, buy)).price == D("2440")
    window = app.window
    window.alerts.model.flush()
    assert any("not moved" in a.message for a in window.alerts.model.alerts())


def test_moving_the_bracket_stop_and_target_lines(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    entry = place(arun, app, price="2450", stop_loss=D("2430"), take_profit=D("2490"))
    stop = line_at(chart, qtbot, f"stop:{entry}")
    target = line_at(chart, qtbot, f"target:{entry}")
    assert stop.kind is LineKind.STOP and stop.price == D("2430")
    assert target.kind is LineKind.TARGET and target.price == D("2490")
    qtbot.waitUntil(lambda: "SL-M" in chart.line(f"stop:{entry}").label, timeout=5000)
    brackets = app.risk.brackets
    chart.move_line(f"stop:{entry}", D("2440"))
    qtbot.waitUntil(
        lambda: (
            app.order_manager.order_now(chart.line(f"stop:{entry}").order_id).trigger_price
            == D("2440")
        ),
        timeout=5000,
    )
    assert chart.line(f"stop:{entry}").price == D("2440")
    chart.move_line(f"target:{entry}", D("2475"))
    assert brackets.view(entry).take_profit == D("2475")
    qtbot.waitUntil(lambda: chart.line(f"target:{entry}").price == D("2475"), timeout=5000)
    # refused: a stop above the last price snaps back, with the bracket's reason
    chart.move_line(f"stop:{entry}", D("2455"))
    assert "must be below the last price" in chart.notice.text()
    assert chart.line(f"stop:{entry}").price == D("2440")


def test_an_order_at_a_price_is_sized_from_its_stop_and_sent_with_enter(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    menu = chart.open_order_menu(D("2440"))
    actions = {a.objectName(): a for a in menu.actions()}
    assert actions["chartBuyLimit"].isEnabled() and actions["chartSellStop"].isEnabled()
    assert not actions["chartSellLimit"].isEnabled()  # below the market: it would fill at once
    assert not actions["chartBuyStop"].isEnabled()
    actions["chartBuyLimit"].trigger()
    menu.close()
    draft = chart.draft
    assert draft.side is OrderSide.BUY and draft.entry == D("2440") and draft.stop < D("2440")
    assert chart.preview.isVisible()
    # the stop 20.00 below: risk ₹10,000 (1% of 10 lakh) buys 500
    chart.move_line("draft:stop", D("2420"))
    assert chart.sizing.quantity == 500 and chart.sizing.risk == D(10_000)
    assert "Buy 500 RELIANCE limit 2,440.00" in chart.preview_text.text()
    assert "₹10,000" in chart.preview_text.text()
    # Up moves the selected (stop) line a tick: the size follows before anything is sent
    chart.select_line("draft:stop")
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)  # ten ticks
    assert chart.draft.stop == D("2419.50") and chart.sizing.quantity == 487
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chart.draft is None, timeout=5000)
    orders = arun(app.order_manager.get_active_orders())
    [sent] = [o for o in orders if o.source == "manual"]
    assert (sent.side, sent.order_type, sent.price, sent.quantity) == (
        OrderSide.BUY, OrderType.LIMIT, D("2440"), 487,
    )  # fmt: skip
    assert sent.stop_loss == D("2419.50") and sent.take_profit == D("2481.00")
    assert "Sent: BUY 487" in chart.notice.text()


def test_a_refused_chart_order_keeps_the_preview_and_says_why(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    app.window.engage_kill_switch()
    qtbot.waitUntil(lambda: app.kill_switch.engaged, timeout=5000)
    chart.start_draft(OrderSide.BUY, "limit", D("2440"))
    chart.send_draft()
    qtbot.waitUntil(lambda: "Refused" in chart.preview_text.text(), timeout=5000)
    assert chart.draft is not None and chart.preview.isVisible()
    assert "Chart order refused" in chart.notice.text()


def test_the_keyboard_moves_a_selected_line_and_enter_sends_it(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    buy = place(arun, app, price="2440")
    line_at(chart, qtbot, f"order:{buy}")
    app.window.focus_panel("chart")
    qtbot.waitUntil(lambda: chart.hasFocus(), timeout=3000)
    qtbot.keyClick(chart, Qt.Key.Key_Tab)
    assert chart.selected == f"order:{buy}"
    qtbot.keyClick(chart, Qt.Key.Key_Up)
    qtbot.keyClick(chart, Qt.Key.Key_Up)
    assert chart.pending[f"order:{buy}"] == D("2440.10")
    qtbot.keyClick(chart, Qt.Key.Key_Escape)  # undo: nothing sent
    assert f"order:{buy}" not in chart.pending
    qtbot.keyClick(chart, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: arun(broker_order(app, buy)).price == D("2440.50"), timeout=5000)
    # Del cancels the selected order
    qtbot.keyClick(chart, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: app.order_manager.order_now(buy).status is OrderStatus.CANCELLED, timeout=5000
    )


def test_the_keyboard_cursor_opens_the_order_menu_and_changes_the_interval(app, qtbot):
    chart = chart_of(app, qtbot)
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Down)
    assert chart.cursor_price == D("2449.95")
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    menu = chart.order_menu
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    assert "Buy limit at 2,449.95" in [a.text() for a in menu.actions()]
    menu.close()
    qtbot.keyClick(chart, Qt.Key.Key_I)
    assert chart.interval.label == "15m"
    qtbot.keyClick(chart, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    assert chart.interval.label == "5m"


def test_ctrl_5_focuses_the_price_chart(app, qtbot):
    chart_of(app, qtbot)
    widget = app.window.focus_panel("chart")
    assert widget is app.window.price_chart and widget.objectName() == "priceChart"


def test_a_chart_opened_before_the_first_price_loads_its_history_when_it_comes(app, qtbot):
    """Paper mode makes history up to the last price: an instrument charted before its
    first tick shows nothing, then its history once the price is there."""
    # an instrument whose first tick is to come: no price in the app nor at the broker
    # (which would otherwise send it at once when the ladder asks for its depth)
    app.quotes._ticks.pop(("NSE", "TCS"), None)
    app.broker._exchange.state.prices.pop(("NSE", "TCS"), None)
    chart = app.window.price_chart
    chart.build_now()
    app.window.show_instrument("NSE", "TCS")
    qtbot.waitUntil(lambda: chart.series is not None and not chart.loading, timeout=20_000)
    assert len(chart.series) == 0
    app.broker.set_last_price("NSE", "TCS", "3500")
    qtbot.waitUntil(lambda: len(chart.series) > 100 and not chart.loading, timeout=20_000)
    assert chart.series.data.close[-1] == 3500


def test_the_last_price_tag_shows_the_last_price(app, qtbot):
    chart = chart_of(app, qtbot)
    tag = chart.plot.last_line.label
    qtbot.waitUntil(lambda: tag.textItem.toPlainText() == "2450.00", timeout=5000)
    app.broker.set_last_price("NSE", "RELIANCE", "2452.35")
    qtbot.waitUntil(lambda: tag.textItem.toPlainText() == "2452.35", timeout=5000)


def test_the_price_axis_keeps_the_traders_lines_near_the_price_in_view(app, qtbot, arun):
    chart = chart_of(app, qtbot)
    qtbot.waitUntil(lambda: chart.plot.price_range()[0] > 2352, timeout=5000)
    order_id = place(arun, app, price="2352")  # 4 % under the price, under every candle
    line_at(chart, qtbot, f"order:{order_id}")
    qtbot.waitUntil(lambda: chart.plot.price_range()[0] <= 2352, timeout=5000)


def test_a_tick_into_the_forming_candle_repaints_a_column_and_a_strip_not_the_chart(app, qtbot):
    """The GUI never blocks: a tick repaints the forming candle's column, its volume and
    the last-price strip (a whole-chart repaint per tick cost the window its frame rate)."""
    from PySide6.QtCore import QEvent, QObject

    chart = chart_of(app, qtbot)
    viewport = chart.plot.viewport()
    painted: list[float] = []

    class Areas(QObject):
        def eventFilter(self, _watched, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                area = sum(r.width() * r.height() for r in event.region())
                painted.append(area / (viewport.width() * viewport.height()))
            return False

    for value in ("2450.10", "2449.90"):  # the forming candle's range, in view
        app.broker.set_last_price("NSE", "RELIANCE", value)
        qtbot.waitUntil(lambda v=value: chart.series.data.close[-1] == float(v), timeout=5000)
    areas = Areas()
    viewport.installEventFilter(areas)
    shares = []
    for value in ("2450.00", "2449.95", "2450.05"):  # inside it: nothing rescales
        painted.clear()
        app.broker.set_last_price("NSE", "RELIANCE", value)
        qtbot.waitUntil(lambda v=value: chart.series.data.close[-1] == float(v), timeout=5000)
        qtbot.waitUntil(lambda: bool(painted), timeout=5000)
        shares.append(max(painted))
    viewport.removeEventFilter(areas)
    # (a new minute between two ticks redraws everything once: two of three suffice)
    assert sorted(shares)[1] < 0.35, shares


def test_candles_and_indicator_lines_draw_only_what_is_in_view(qtbot):
    """20,000 candles: at 200 in view about 200 are drawn; with all of them in view, at
    most one per pixel column (candles folded, lines thinned), every extreme still there."""
    from datetime import UTC, datetime

    import numpy as np

    from desktop_oms.domain.candles import Candle
    from desktop_oms.ui.chart.plot import PricePlot
    from desktop_oms.ui.chart.series import ChartSeries

    n = 20_000
    start = int(datetime(2026, 1, 5, 3, 45, tzinfo=UTC).timestamp())
    rng = np.random.default_rng(3)
    closes = 2450 + np.cumsum(rng.normal(0, 0.5, n)).round(1)
    candles = [
        Candle(start + (i // 375) * 86_400 + (i % 375) * 60, D(f"{c:.2f}"), D(f"{c + 1:.2f}"),
               D(f"{c - 1:.2f}"), D(f"{c:.2f}"), 100)
        for i, c in enumerate(closes)
    ]  # fmt: skip
    series = ChartSeries()
    series.load(candles, candles[-1].start + 60)
    plot = PricePlot()
    qtbot.addWidget(plot)
    plot.resize(1000, 600)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_series(series, D("0.05"))
    items = (plot.candles, plot.vwap_curve, *plot.average_curves)

    def frame(x0, x1):
        painted = plot.candles.paints
        plot.price_plot.getViewBox().setXRange(x0, x1, padding=0)
        qtbot.waitUntil(lambda: plot.candles.paints > painted, timeout=3000)

    frame(n - 200, n)
    assert all(150 <= item.drawn <= 210 for item in items), [item.drawn for item in items]
    frame(0, n)
    width = plot.price_plot.getViewBox().width()
    assert all(0 < item.drawn <= width + 2 for item in items), [item.drawn for item in items]
    # the price axis fits what is in view, every high and low included
    _, (y0, y1) = plot.price_plot.getViewBox().viewRange()
    assert y0 <= closes.min() - 1 and y1 >= closes.max() + 1


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "UTC"])
def test_the_time_axis_labels_are_ist_whatever_the_machines_zone(zone, qtbot):
    """Two sessions of one-minute candles (09:15-15:29 IST): hours in IST, the second
    day's start labelled with its date; the grid's question a pixel apart gets the
    axis's answer."""
    import numpy as np

    from desktop_oms.ui.chart.axes import IndexTimeAxis
    from tests.helpers import machine_zone

    with machine_zone(zone):
        axis = IndexTimeAxis("bottom")
        day1 = int(datetime(2026, 12, 7, 3, 45, tzinfo=UTC).timestamp())  # Mon 09:15 IST
        minutes = np.arange(375, dtype=np.int64) * 60
        axis.set_starts(np.concatenate((day1 + minutes, day1 + 86_400 + minutes)))
        values, labels = axis.marks(0, 749, 1200)
        texts = [labels[int(v)] for v in values]
        assert "10:00" in texts and "15:00" in texts, texts
        assert "04:30" not in texts and "20:30" not in texts  # UTC / Los Angeles hours
        assert "08 Dec" in texts  # where the second day starts
        assert labels[375] == "08 Dec"
        assert axis.marks(0.0, 749.3, 1201) == (values, labels)


def test_the_vwap_reaches_the_last_candle_of_each_day(qtbot):
    """The VWAP's last segments of a day are drawn when the next day's first candle is
    the forming one (the line breaks between the days, it loses no point)."""
    import numpy as np

    from desktop_oms.domain.candles import Candle
    from desktop_oms.ui.chart.plot import PricePlot
    from desktop_oms.ui.chart.series import ChartSeries

    day1 = int(datetime(2026, 12, 7, 3, 45, tzinfo=UTC).timestamp())
    starts = [day1 + i * 60 for i in range(30)] + [day1 + 86_400]
    candles = [Candle(t, D(2450), D(2451), D(2449), D(2450), 100) for t in starts]
    series = ChartSeries()
    series.load(candles, starts[-1] + 60)
    plot = PricePlot()
    qtbot.addWidget(plot)
    plot.set_series(series, D("0.05"))
    tail = plot.vwap_tail
    drawn = tail.x[np.isfinite(tail.y)]
    assert 28.0 in drawn and 29.0 in drawn  # the first day's last two candles
    assert np.isnan(tail.y[list(tail.x).index(29.5)])  # the break between the days


def test_a_narrow_chart_elides_its_readout_and_keeps_it_whole_in_the_tooltip(app, qtbot):
    chart = chart_of(app, qtbot)
    dock = app.window.chart_dock
    dock.setFloating(True)
    dock.resize(420, 400)
    label = chart.readout
    qtbot.waitUntil(lambda: label.width() < 200 and bool(chart.readout_text), timeout=5000)

    def fits() -> bool:
        return label.fontMetrics().horizontalAdvance(label.text()) <= label.width() + 1

    qtbot.waitUntil(fits, timeout=5000)
    assert label.text().endswith("\u2026")
    assert label.toolTip() == chart.readout_text and " C " in chart.readout_text
