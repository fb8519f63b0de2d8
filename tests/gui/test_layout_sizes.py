"""The default layout per screen size (issue 13, defect 5): on 1366x768, 1920x1080,
2560x1440 and 1920x1080 at 150 % (QT_SCALE_FACTOR=1.5: a 1280x720 logical screen) the
controls a trader acts on - the ticket's Buy / Sell, the positions' Exit buttons and Exit
all, the kill switch - are on screen without scrolling, and the data panels show a useful
number of rows.

The offscreen platform takes its screen from a JSON file (`-platform
offscreen:configfile=...`), once per process: each screen runs the `*_on_this_screen`
tests below in a child pytest with that screen (they skip in the parent run). Each
screen is checked twice: as the window opens (maximized to the screen), and as a real
desktop leaves it (the screen less a 27 px panel and a 37 px title bar), where the
default layout follows the window's size.

Renders go to $OMS_SCREENSHOT_DIR/oms_layout_<screen>.png (default /tmp); with
OMS_UPDATE_SCREENSHOT=1 the 1366x768 and 1920x1080 ones also go to docs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, Qt
from PySide6.QtGui import QRegion
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.risk import RiskLimits
from desktop_oms.ui.shell.layout import COMPACT, ROOMY, layout_profile

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("OMS_SCREENSHOT_DIR", "/tmp"))
SCREEN = os.environ.get("OMS_LAYOUT_SCREEN")  # set in the child run: "1366x768", ...
DESKTOP_CHROME = 27 + 37  # a desktop's top panel and a maximized window's title bar
LEFT_AREA = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT_AREA = Qt.DockWidgetArea.RightDockWidgetArea

# name -> (physical width, height, scale factor, desktop font size in points or None for
# the offscreen default of 9 pt)
SCREENS = {
    "1366x768": (1366, 768, 1.0, None),
    "1920x1080": (1920, 1080, 1.0, None),
    "2560x1440": (2560, 1440, 1.0, None),
    "1920x1080@150%": (1920, 1080, 1.5, None),
    # a desktop theme's larger font (Ubuntu's 11 pt): still every control on screen
    "1366x768-11pt": (1366, 768, 1.0, 11),
}
# the least rows each panel shows (as the window opens, and on a desktop's maximized
# window): blotter, positions, market watch, alerts
ROWS = {
    "1366x768": {"blotter": 6, "positions": 4, "watch": 6, "alerts": 4},
    "1920x1080": {"blotter": 12, "positions": 12, "watch": 7, "alerts": 6},
    "2560x1440": {"blotter": 16, "positions": 16, "watch": 10, "alerts": 10},
    # 1280x720 logical, 1280x656 on a desktop: every control, fewer rows
    "1920x1080@150%": {"blotter": 6, "positions": 4, "watch": 5, "alerts": 3},
    "1366x768-11pt": {"blotter": 5, "positions": 4, "watch": 5, "alerts": 2},
}
DOCS_SHOTS = {"1366x768": "layout-1366x768.png", "1920x1080": "layout-1920x1080.png"}

PRICES = {
    "RELIANCE": "1520.00",
    "TCS": "3150.00",
    "HDFCBANK": "1000.20",
    "INFY": "1540.05",
    "SBIN": "972.40",
    "ICICIBANK": "1386.20",
    "ITC": "406.85",
    "LT": "4031.60",
}

on_a_screen = pytest.mark.skipif(
    SCREEN is None, reason="runs in a child process per screen (test_layout_on_screen)"
)


# ---------------------------------------------------------------- the parent run


def test_layout_profiles_by_window_size():
    assert layout_profile(1366, 704) == COMPACT
    assert layout_profile(1280, 656) == COMPACT
    assert layout_profile(1600, 836) == COMPACT  # 1600x900 less a panel and a title bar
    assert layout_profile(1920, 1016) == ROOMY
    assert layout_profile(2560, 1376) == ROOMY
    assert layout_profile(1280, 1024) == COMPACT  # too narrow for the roomy columns


@pytest.mark.skipif(SCREEN is not None, reason="the parent run starts the children")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_layout_on_screen(screen, tmp_path):
    width, height, scale, font_pt = SCREENS[screen]
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "S",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        )
    )
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["OMS_LAYOUT_SCREEN"] = screen
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    if scale != 1.0:
        env["QT_SCALE_FACTOR"] = str(scale)
    else:
        env.pop("QT_SCALE_FACTOR", None)
    if font_pt:
        env["OMS_LAYOUT_FONT_PT"] = str(font_pt)
    else:
        env.pop("OMS_LAYOUT_FONT_PT", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-x", "-k", "on_this_screen"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


# ---------------------------------------------------------------- the child runs


def _request(symbol, side, qty, kind=OrderType.MARKET, price=None):
    return OrderRequest(
        symbol=symbol,
        exchange="NSE",
        side=side,
        quantity=qty,
        order_type=kind,
        price=None if price is None else Decimal(price),
        product=Product.MIS,
    )


def _busy_morning(qtbot, arun, app) -> None:
    """Five open positions, three working orders, a few alerts."""
    w, broker, om = app.window, app.broker, app.order_manager
    for symbol, price in PRICES.items():
        broker.set_last_price("NSE", symbol, Decimal(price))
    for symbol in ("RELIANCE", "TCS", "HDFCBANK", "INFY", "SBIN"):
        arun(om.place_order(_request(symbol, OrderSide.BUY, 10)))
    for symbol in ("ICICIBANK", "ITC", "LT"):
        below = (Decimal(PRICES[symbol]) * Decimal("0.97")).quantize(Decimal("1"))
        arun(om.place_order(_request(symbol, OrderSide.BUY, 5, OrderType.LIMIT, str(below))))
    for i in range(8):
        w.alerts.add("info", f"Sent order {i}", "ticket")
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 5, timeout=5000)
    for model in (w.orders_model, w.trades_model, w.positions_model, w.alerts.model):
        model.flush()


def _screen_rect() -> QRect:
    return QApplication.primaryScreen().availableGeometry()


def _global_rect(widget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def _wholly_shown(widget) -> bool:
    """Shown, not clipped or covered inside the window, and inside the window and the screen."""
    if not widget.isVisible() or widget.visibleRegion() != QRegion(widget.rect()):
        return False
    window = widget.window()
    inside = QRect(window.mapToGlobal(window.rect().topLeft()), window.size())
    rect = _global_rect(widget)
    return inside.contains(rect) and _screen_rect().contains(rect)


def _cell_shown(view, row: int, column: int) -> bool:
    """The cell is inside the view's viewport, and the viewport wholly shown."""
    rect = view.visualRect(view.model().index(row, column))
    return (
        not rect.isEmpty()
        and view.viewport().rect().contains(rect)
        and _wholly_shown(view.viewport())
    )


def _rows_shown(view) -> float:
    return view.viewport().height() / view.verticalHeader().defaultSectionSize()


def _fitted(w) -> bool:
    return not w.layout_manager.fit_pending


def _maximized(w) -> bool:
    """Maximized to the screen's available area, and the default layout fitted to it."""
    available = _screen_rect()
    return (
        w.isMaximized()
        and w.width() >= available.width() - 8
        and w.height() >= available.height() - 8
        and _fitted(w)
    )


def _check_controls(w) -> list[str]:
    """What a trader could not reach without scrolling (independent of the window's own
    hidden_controls)."""
    problems = []
    for name, widget in (
        ("kill switch", w.kill_button),
        ("Buy", w.ticket.buy_button),
        ("Sell", w.ticket.sell_button),
    ):
        if not _wholly_shown(widget):
            problems.append(name)
    grid, footer = w.positions_grid, w.positions_panel.footer
    exit_col = w.positions_model.column_index("exit")
    for row in range(w.positions_model.rowCount()):
        if w.positions_model.item_at(row).quantity and not _cell_shown(grid, row, exit_col):
            problems.append(f"Exit on row {row}")
    if not _cell_shown(footer, 0, exit_col):
        problems.append("Exit all")
    net_col = w.positions_model.column_index("net")
    if not _cell_shown(grid, 0, net_col):
        problems.append("Net P&L")
    if grid.horizontalScrollBar().value() != 0:
        problems.append("positions scrolled")
    return problems


def _check_rows(w, least: dict[str, int]) -> list[str]:
    shown = {
        "blotter": _rows_shown(w.blotter),
        "positions": _rows_shown(w.positions_grid),
        "watch": _rows_shown(w.market_watch.current()[2]),
        "alerts": _rows_shown(w.alerts.view),
    }
    return [
        f"{name} shows {shown[name]:.1f} rows < {rows}"
        for name, rows in least.items()
        if shown[name] < rows
    ]


@on_a_screen
def test_default_layout_on_this_screen(qtbot, arun, make_app, tmp_path):
    if os.environ.get("OMS_LAYOUT_FONT_PT"):
        font = QApplication.font()
        font.setPointSizeF(float(os.environ["OMS_LAYOUT_FONT_PT"]))
        QApplication.setFont(font)
    app = make_app(show=False, risk=RiskLimits(max_open_positions=10))
    w = app.window
    _busy_morning(qtbot, arun, app)
    w.show_on_screen()  # what gui_runner does on a first start
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: _maximized(w), timeout=5000)
    available = _screen_rect()
    assert available.contains(w.frameGeometry()), (w.frameGeometry(), available)
    qtbot.waitUntil(lambda: not _check_controls(w), timeout=3000)  # a layout pass or two
    assert _check_rows(w, ROWS[SCREEN]) == []
    assert w.hidden_controls() == []
    # the picture once the window's own timers have shown the morning
    qtbot.waitUntil(lambda: "3 open" in w.blotter_panel.count_label.text(), timeout=3000)
    qtbot.waitUntil(lambda: w.pnl_slot.is_built, timeout=10_000)
    image = w.grab().toImage()
    OUT.mkdir(parents=True, exist_ok=True)
    assert image.save(str(OUT / f"oms_layout_{SCREEN.replace('%', 'pct')}.png"))
    if os.environ.get("OMS_UPDATE_SCREENSHOT") and SCREEN in DOCS_SHOTS:
        assert image.save(str(ROOT / "docs" / DOCS_SHOTS[SCREEN]))

    # as a desktop leaves it: less a top panel and the title bar; the default layout
    # follows the window's size
    client = available.adjusted(0, DESKTOP_CHROME, 0, 0)
    w.showNormal()
    w.setGeometry(client)
    qtbot.waitUntil(lambda: w.height() == client.height() and _fitted(w), timeout=5000)
    qtbot.waitUntil(lambda: not _check_controls(w), timeout=3000)
    assert _check_rows(w, ROWS[SCREEN]) == []
    assert w.hidden_controls() == []


def _save_elsewhere(qtbot, arun, app, screen_text: str) -> None:
    """Save the window's layout as if on `screen_text`: the Exit column moved last (as
    layouts before issue 13 had it) and the positions dock narrow."""
    w = app.window
    header = w.positions_grid.horizontalHeader()
    exit_col = w.positions_model.column_index("exit")
    header.moveSection(header.visualIndex(exit_col), header.count() - 1)
    w.resizeDocks([w.positions_dock, w.market_watch], [420, 900], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: "Exit buttons" in w.hidden_controls(), timeout=3000)
    arun(app.stop())
    w.close()
    settings = QSettings(str(app.settings.ui_state_path), QSettings.Format.IniFormat)
    settings.setValue("values/screen", screen_text)
    settings.sync()


@on_a_screen
@pytest.mark.skipif(SCREEN != "1366x768", reason="one screen is enough")
def test_a_layout_from_another_screen_that_hides_exit_is_replaced_on_this_screen(
    qtbot, arun, make_app, tmp_path
):
    first = make_app(show=False)
    first.window.show_on_screen()
    qtbot.waitUntil(lambda: _maximized(first.window), timeout=5000)
    _save_elsewhere(qtbot, arun, first, "1920x1080")

    app = make_app(show=False, risk=RiskLimits(max_open_positions=10))
    w = app.window
    assert w.layout_restored
    _busy_morning(qtbot, arun, app)
    w.show_on_screen()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: not _check_controls(w), timeout=5000)
    assert w.hidden_controls() == []
    assert w.layout_profile == COMPACT and w.dockWidgetArea(w.market_watch) == RIGHT_AREA
    texts = [a.message for a in w.alerts.model.alerts()]
    assert any("1920x1080 screen would hide Exit buttons" in t for t in texts), texts


@on_a_screen
@pytest.mark.skipif(SCREEN != "1366x768", reason="one screen is enough")
def test_a_layout_saved_on_this_screen_is_kept_as_the_trader_left_it(
    qtbot, arun, make_app, tmp_path
):
    first = make_app(show=False)
    first.window.show_on_screen()
    qtbot.waitUntil(lambda: _maximized(first.window), timeout=5000)
    _save_elsewhere(qtbot, arun, first, "1366x768")  # "elsewhere" is this very screen

    app = make_app(show=False)
    w = app.window
    assert w.layout_restored
    w.show_on_screen()
    qtbot.waitExposed(w)
    header = w.positions_grid.horizontalHeader()
    exit_col = w.positions_model.column_index("exit")
    qtbot.wait(50)  # give a wrong fallback the chance to happen
    assert header.visualIndex(exit_col) == header.count() - 1  # their choice, kept
    assert not any("would hide" in a.message for a in w.alerts.model.alerts())


# ---------------------------------------------------------------- any screen


def test_the_default_layout_follows_the_window_until_the_trader_rearranges_it(qtbot, make_app):
    app = make_app(size=(1600, 950))
    w = app.window
    qtbot.waitUntil(lambda: _fitted(w) and w.layout_profile == ROOMY, timeout=3000)
    assert w.dockWidgetArea(w.market_watch) == LEFT_AREA
    w.resize(1300, 760)  # un-maximized on a laptop: the compact arrangement
    qtbot.waitUntil(lambda: _fitted(w) and w.layout_profile == COMPACT, timeout=3000)
    assert w.dockWidgetArea(w.market_watch) == RIGHT_AREA
    assert w.market_watch in w.tabifiedDockWidgets(w.pnl_dock)
    w.resize(1600, 950)
    qtbot.waitUntil(lambda: _fitted(w) and w.layout_profile == ROOMY, timeout=3000)
    # the trader moves a dock: the layout is theirs from now on
    w.addDockWidget(LEFT_AREA, w.positions_dock)
    w.resize(1300, 760)
    qtbot.wait(50)
    assert w.layout_profile == ROOMY
    assert w.dockWidgetArea(w.positions_dock) == LEFT_AREA
    assert w.dockWidgetArea(w.market_watch) == LEFT_AREA
    # View > Reset layout: the default for this size again
    w.reset_layout_action.trigger()
    qtbot.waitUntil(lambda: _fitted(w) and w.layout_profile == COMPACT, timeout=3000)
    assert w.dockWidgetArea(w.positions_dock) == RIGHT_AREA
    # the trader drags the separator between the ticket and the blotter: theirs again
    ticket = w.ticket_dock.geometry()
    separator = QPoint(ticket.right() + 2, ticket.center().y())
    assert w.childAt(separator) is None  # the window's own separator, no widget there
    QTest.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, separator)
    QTest.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, separator)
    w.resize(1600, 950)
    qtbot.wait(50)
    assert w.layout_profile == COMPACT


def test_a_data_panel_is_never_squeezed_below_a_few_rows(qtbot, make_app):
    app = make_app(size=(1300, 760))
    w = app.window
    qtbot.waitUntil(lambda: _fitted(w), timeout=3000)
    row = w.blotter.verticalHeader().defaultSectionSize()
    # the trader drags the blotter's bottom edge all the way down
    w.resizeDocks([w.blotter_dock, w.positions_dock], [2000, 1], Qt.Orientation.Vertical)
    w.resizeDocks([w.ticket_dock, w.alerts_dock], [2000, 1], Qt.Orientation.Vertical)
    qtbot.wait(20)
    assert w.positions_grid.viewport().height() >= 2 * row
    assert w.market_watch.current()[2].viewport().height() >= 3 * 22 - 2
    assert w.alerts.view.viewport().height() >= 2 * row
    assert w.ticket.buy_button.visibleRegion() == QRegion(w.ticket.buy_button.rect())


def test_the_positions_show_net_pnl_and_exit_before_the_breakdown(make_app):
    w = make_app(show=False).window
    header = w.positions_grid.horizontalHeader()
    order = [w.positions_model.columns[header.logicalIndex(v)].key for v in range(header.count())]
    assert order[:7] == ["symbol", "product", "quantity", "avg_price", "ltp", "net", "exit"]
    footer = w.positions_panel.footer.horizontalHeader()
    assert [footer.logicalIndex(v) for v in range(footer.count())] == [
        header.logicalIndex(v) for v in range(header.count())
    ]
