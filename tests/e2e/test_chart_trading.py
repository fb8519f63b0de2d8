"""Issue 17 with real input: drag a working order's line on the price chart with the mouse
and the broker's order follows; drag a bracket's stop past the price and the refusal is
on the chart with the line back; click the depth ladder to place a limit and click the
order to cancel it."""

from __future__ import annotations

from tests.e2e.conftest import DESKTOP
from tests.e2e.steps import price, ready

RELIANCE = "window.show_instrument('NSE', 'RELIANCE')"


def chart_ready(oms) -> None:
    """The chart shows RELIANCE with its history (the window selects it as a trader's
    click in the market watch would)."""
    oms.eval(RELIANCE)
    oms.wait("window.price_chart.is_built", 30)
    oms.wait(
        "window.price_chart.series is not None and len(window.price_chart.series) > 50"
        " and not window.price_chart.loading",
        30,
    )


def line_point(oms, key: str) -> list[int]:
    oms.wait(
        f"window.price_chart.line({key!r}) is not None and window.price_chart.line({key!r}).movable",
        15,
    )
    oms.wait(f"window.price_chart.line_global_point({key!r}) is not None")
    return oms.eval(
        f"[window.price_chart.line_global_point({key!r}).x(), window.price_chart.line_global_point({key!r}).y()]"
    )


def price_y(oms, value: str) -> int:
    return oms.eval(f"window.price_chart.price_global_point(Decimal({value!r})).y()")


def drag(oms, start: list[int], end_y: int) -> None:
    """Press on the line, move in steps (past the drag threshold), let go."""
    x, y = start
    oms.x.mouse_down(x, y)
    steps = 8
    for i in range(1, steps + 1):
        oms.x.move(x, y + (end_y - y) * i // steps)
    oms.x.mouse_up()


def test_drag_a_working_orders_line_and_the_broker_order_follows(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "2450")
    order_id = oms.eval("await place('RELIANCE', 'BUY', 10, 'LIMIT', price='2447')")["order_id"]
    oms.wait(f"(await status({order_id})) == 'OPEN'")
    chart_ready(oms)
    start = line_point(oms, f"order:{order_id}")
    target = price_y(oms, "2448.5")
    drag(oms, start, target)
    oms.wait(f"str((await order({order_id})).price) != '2447'", 15)
    moved = oms.eval(f"str((await order({order_id})).price)")
    at_broker = oms.eval(
        "[str(r.price) for r in await app.broker.orders()"
        f" if r.client_order_id == (await order({order_id})).client_order_id][0]"
    )
    assert at_broker == moved
    assert abs(float(moved) - 2448.5) <= 0.3, moved  # where the mouse let go, on the tick
    oms.wait(f"window.price_chart.line('order:{order_id}').price == Decimal({moved!r})")
    assert "moved to" in oms.eval("window.price_chart.notice.text()")


def test_a_refused_drag_puts_the_line_back_and_says_why_on_the_chart(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "2450")
    entry = oms.eval(
        "await place('RELIANCE', 'BUY', 10, 'LIMIT', price='2450', stop_loss='2446', take_profit='2460')"
    )["order_id"]
    oms.wait(
        f"app.risk.brackets.view({entry}) is not None and app.risk.brackets.view({entry}).stop_order_ids"
    )
    chart_ready(oms)
    start = line_point(oms, f"stop:{entry}")
    drag(oms, start, price_y(oms, "2452"))  # above the last price: no stop there
    oms.wait("'not moved' in window.price_chart.notice.text()", 15)
    assert "below the last price" in oms.eval("window.price_chart.notice.text()")
    oms.wait(f"abs(window.price_chart.plot.lines['stop:{entry}'].value() - 2446) < 1e-6")
    assert oms.eval(f"str(app.risk.brackets.view({entry}).stop_loss)") == "2446"
    assert oms.eval("window.price_chart.notice.isVisible()")


def _show_ladder(oms) -> None:
    """Click the ladder's tab (behind the market watch in the default layout)."""
    point = oms.eval(
        "[(lambda bar, i: [bar.mapToGlobal(bar.tabRect(i).center()).x(), bar.mapToGlobal(bar.tabRect(i).center()).y()])(bar, i)"
        " for bar in window.findChildren(__import__('PySide6.QtWidgets', fromlist=['QTabBar']).QTabBar)"
        " for i in range(bar.count()) if bar.tabText(i) == 'Depth' and bar.isVisible()][0]"
    )
    oms.click_at(*point)
    oms.wait("window.depth_ladder.view.isVisible()")


def test_click_the_ladder_to_place_and_to_cancel(launch):
    oms = launch(DESKTOP)
    ready(oms)
    price(oms, "RELIANCE", "2450")
    oms.eval(RELIANCE)
    _show_ladder(oms)
    oms.wait("window.depth_ladder.model.rowCount() > 0 and window.depth_ladder.model.bids")
    row = oms.eval("window.depth_ladder.row_of_price(Decimal('2449.85'))")
    oms.click_cell("ladderView", row, 1)  # the Bid cell
    oms.wait("[o for o in app.order_manager.live_orders() if o.status.value == 'OPEN']", 15)
    placed = oms.eval(
        "[(o.id, o.side.value, o.order_type.value, str(o.price), o.quantity)"
        " for o in app.order_manager.live_orders()]"
    )
    assert len(placed) == 1
    order_id, side, kind, at, quantity = placed[0]
    assert (side, kind, at, quantity) == ("BUY", "LIMIT", "2449.85", 1)
    oms.wait(f"cell_text('ladderView', {row}, 0) == '1'")
    oms.click_cell("ladderView", row, 0)  # my bid: cancel it
    oms.wait(f"(await status({order_id})) == 'CANCELLED'", 15)
    oms.wait(f"cell_text('ladderView', {row}, 0) == ''")


def test_screenshot_of_the_chart_with_a_bracketed_position(launch, tmp_path):
    """docs/chart.png (with OMS_E2E_SCREENSHOT_DIR=docs): the TCS chart with the long
    position's average and P&L, its bracket's stop and target, and a resting buy."""
    import os
    from pathlib import Path

    from tests.e2e.scenes import a_trading_morning, move_prices

    oms = launch(DESKTOP)
    ready(oms)
    orders = a_trading_morning(oms)
    resting = oms.eval("await place('TCS', 'BUY', 5, 'LIMIT', price='3128')")["order_id"]
    oms.wait(f"(await status({resting})) == 'OPEN'")
    oms.eval("window.show_instrument('NSE', 'TCS')")
    # the chart dock on its own, large enough to read
    oms.eval("window.chart_dock.setFloating(True)")
    oms.eval("window.chart_dock.setGeometry(120, 80, 1400, 820)")
    oms.wait("window.price_chart.is_built", 30)
    oms.wait("window.price_chart.series is not None and len(window.price_chart.series) > 50", 30)
    move_prices(oms, [("3146", "972.5", "406.2"), ("3151.5", "974", "405.4")])
    entry = orders["entry"]
    for key in ("position:MIS", f"stop:{entry}", f"target:{entry}", f"order:{resting}"):
        oms.wait(f"window.price_chart.line({key!r}) is not None", 15)
    # the crosshair where a trader would look (the readout shows that candle)
    x, y = oms.eval(
        "[window.price_chart.price_global_point(Decimal('3160')).x() + 300,"
        " window.price_chart.price_global_point(Decimal('3160')).y()]"
    )
    oms.x.move(x, y)
    oms.wait("'\u00b7' in window.price_chart.readout_text")
    folder = Path(os.environ.get("OMS_E2E_SCREENSHOT_DIR") or tmp_path).resolve()
    whole = tmp_path / "screen.png"
    oms.screenshot(whole)
    path = folder / "chart.png"
    rect = oms.eval(
        "[window.chart_dock.frameGeometry().x(), window.chart_dock.frameGeometry().y(),"
        " window.chart_dock.frameGeometry().width(), window.chart_dock.frameGeometry().height()]"
    )
    saved = oms.eval(
        f"__import__('PySide6.QtGui', fromlist=['QPixmap']).QPixmap({str(whole)!r})"
        f".copy(*{rect!r}).save({str(path)!r}, 'PNG')"
    )
    assert saved
    colours = oms.eval(f"image_colours({str(path)!r})")
    assert colours > 40, f"{path} looks blank ({colours} colours)"
    print(f"\n[e2e] {path}")
