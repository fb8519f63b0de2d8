"""The README's screenshots, made by the real app on a real X screen in a realistic
trading state: a position with live bracket legs, two more positions, open orders, alerts,
a P&L curve. Written to the test's directory; with OMS_E2E_SCREENSHOT_DIR=docs they
replace docs/screenshot-<W>x<H>.png (then look at them before committing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.scenes import a_trading_morning, move_prices
from tests.e2e.steps import ready

MIN_COLOURS = 40  # a real window, not a blank or a single-colour screen


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_screenshot_of_a_trading_morning(launch, tmp_path, size):
    oms = launch(size)
    ready(oms)
    a_trading_morning(oms)
    oms.wait("window.pnl_slot.is_built", 30)
    move_prices(
        oms,
        [
            ("3146", "972.5", "406.2"),
            ("3151.5", "974", "405.4"),
            ("3149", "973.2", "405.9"),
            ("3157", "976.4", "404.8"),
            ("3162.5", "978", "404.1"),
        ],
    )
    # the blotter shows the newest order selected, its audit trail one click away
    oms.click_cell("blotter", 0, "symbol")
    oms.wait("len(window.blotter_panel.selected_orders()) == 1")
    # the pointer rests on the title bar (the window manager's), so no tooltip shows
    oms.x.move(size[0] // 2, 5)
    oms.wait(
        "QApplication.widgetAt(*__import__('PySide6.QtGui').QtGui.QCursor.pos().toTuple()) is None"
    )
    folder = Path(os.environ.get("OMS_E2E_SCREENSHOT_DIR") or tmp_path)
    path = folder / f"screenshot-{size[0]}x{size[1]}.png"
    assert oms.screenshot(path) == list(size)
    colours = oms.eval(f"image_colours({str(path)!r})")
    assert colours > MIN_COLOURS, f"{path} looks blank ({colours} colours)"
    print(f"\n[e2e] {path}")
