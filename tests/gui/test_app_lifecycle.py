"""The window's life: layout persistence and reset, clean shutdown, one instance per data
dir, `--smoke` with the window, and the real GUI process stopping on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from desktop_oms.app import Application
from desktop_oms.config import Settings
from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.storage import DatabaseLocked

LEFT_AREA = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT_AREA = Qt.DockWidgetArea.RightDockWidgetArea


def test_layout_is_saved_on_stop_restored_on_start_and_can_be_reset(
    qtbot, arun, make_app, tmp_path
):
    app = make_app(size=(790, 720))  # fits the offscreen screen (restoreGeometry clamps)
    w = app.window
    assert not w.layout_restored  # first start: the default layout
    assert w.dockWidgetArea(w.positions_dock) == RIGHT_AREA
    default_symbol_width = w.blotter.horizontalHeader().sectionSize(3)
    # the trader rearranges: hides the alerts, moves positions left, widens a column,
    # filters the blotter, and leaves a symbol in the ticket
    w.alerts_dock.close()
    w.addDockWidget(LEFT_AREA, w.positions_dock)
    w.blotter.horizontalHeader().resizeSection(3, 222)
    w.blotter_panel.filter.setCurrentText("Open")
    w.ticket.symbol.setText("TCS")
    qtbot.wait(50)
    saved_size = (w.width(), w.height())
    arun(app.stop())
    assert app.settings.ui_state_path.exists()
    w.close()

    app2 = make_app()
    w2 = app2.window
    assert w2.layout_restored
    assert w2.alerts_dock.isHidden()
    assert w2.dockWidgetArea(w2.positions_dock) == LEFT_AREA
    assert w2.blotter.horizontalHeader().sectionSize(3) == 222
    assert w2.blotter_panel.filter.currentText() == "Open"
    assert w2.ticket.symbol.text() == "TCS"
    # the saved size once the first layout pass has the status bar's least width
    qtbot.waitUntil(lambda: (w2.width(), w2.height()) == saved_size, timeout=3000)
    assert w2.kill_bar.isVisible() and w2.kill_button.isVisible()

    # View > Reset layout
    assert w2.reset_layout_action in w2.view_menu.actions()
    w2.reset_layout_action.trigger()
    qtbot.wait(50)
    assert not w2.alerts_dock.isHidden() and w2.alerts_dock.isVisible()
    assert w2.dockWidgetArea(w2.positions_dock) == RIGHT_AREA
    assert w2.dockWidgetArea(w2.ticket_dock) == LEFT_AREA
    assert all(not d.isFloating() and d.isVisible() for d in w2.docks.values())
    assert w2.blotter.horizontalHeader().sectionSize(3) == default_symbol_width


def test_an_unreadable_layout_file_is_ignored(make_app, tmp_path):
    (tmp_path / "window.ini").write_bytes(b"\x00\xffnot an ini file [[[")
    app = make_app()
    assert not app.window.layout_restored
    assert app.window.ticket_dock.isVisible()


def test_clean_shutdown_leaves_no_task_no_error_and_closes_the_database(
    qtbot, arun, make_app, qloop, caplog
):
    caplog.set_level(logging.INFO)
    app = make_app()
    w = app.window
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=5,
                order_type=OrderType.LIMIT,
                price=Decimal("2400.00"),
                product=Product.MIS,
            )
        )
    )
    qtbot.waitUntil(lambda: len(w.orders_model) == 1, timeout=3000)
    # an order in flight from the ticket and a window task still running at shutdown
    gate = asyncio.Event()

    async def slow():
        await gate.wait()

    w.tasks.run(slow(), "a slow task")
    handlers_before = list(logging.getLogger().handlers)
    assert w._log_handler in handlers_before
    stop = asyncio.ensure_future(app.stop())
    qtbot.wait(100)
    gate.set()  # it finishes within the grace period
    qtbot.waitUntil(stop.done, timeout=15_000)
    stop.result()
    assert app.db.closed
    assert w._log_handler not in logging.getLogger().handlers
    assert w.tasks.pending == [] and w.ticket.pending_task is None
    leftover = [t for t in asyncio.all_tasks(qloop) if not t.done()]
    assert leftover == [], [t.get_name() for t in leftover]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert not [r for r in caplog.records if r.exc_info]
    # a closed window after stop does nothing harmful
    w.close()
    qtbot.wait(50)


def test_shutdown_interrupts_work_that_does_not_finish(qtbot, arun, make_app, qloop, monkeypatch):
    from desktop_oms.ui.shell import main_window

    monkeypatch.setattr(main_window, "SHUTDOWN_GRACE_S", 0.2)
    app = make_app(show=False)

    async def forever():
        await asyncio.Event().wait()

    task = app.window.tasks.run(forever(), "never ends")
    arun(app.stop(), timeout=10_000)
    assert task.cancelled()
    assert [t for t in asyncio.all_tasks(qloop) if not t.done()] == []


def test_closing_the_window_emits_closing_and_saves_the_layout(qtbot, make_app):
    app = make_app()
    w = app.window
    with qtbot.waitSignal(w.closing, timeout=1000):
        w.close()
    assert app.settings.ui_state_path.exists()


def test_a_second_instance_on_the_same_data_dir_is_refused(qtbot, arun, make_app, tmp_path):
    make_app()
    second = Application(Settings(data_dir=tmp_path, broker="paper", simulate_market=False))
    with pytest.raises(DatabaseLocked) as info:
        arun(second.start())
    assert "in use" in str(info.value).lower() or "another" in str(info.value).lower()
    assert second.window is None


def _env() -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def test_smoke_builds_the_window_and_exits_0(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "desktop_oms", "--smoke"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("smoke ok: BUY 1 RELIANCE")
    assert "window built" in done.stdout
    assert "Traceback" not in done.stderr
    assert elapsed < 15, elapsed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_gui_process_stops_cleanly_on_a_signal(tmp_path, sig):
    """The real entry point with the simulated market: it runs, then SIGTERM/SIGINT close
    the window and the process exits 0 with no traceback, its layout saved."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop_oms", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (tmp_path / "paper_broker.jsonl").exists():
            time.sleep(0.1)
        time.sleep(1.5)  # running: ticks flowing, OMS loops going
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "ERROR" not in err, err
    assert (tmp_path / "window.ini").exists()
    log_text = (tmp_path / "logs" / "desktop-oms.log").read_text()
    assert "Traceback" not in log_text


def test_the_pnl_chart_and_blotter_come_back_after_a_restart(qtbot, arun, make_app):
    app = make_app()
    w = app.window
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol="RELIANCE",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=10,
                order_type=OrderType.LIMIT,
                price=Decimal("2450.00"),
                product=Product.MIS,
            )
        )
    )
    qtbot.waitUntil(lambda: len(w.trades_model) == 1, timeout=3000)
    for price in ("2455", "2460", "2470"):
        app.broker.set_last_price("NSE", "RELIANCE", Decimal(price))
        qtbot.wait(300)  # marked
        arun(app._snapshot())  # the 5 s snapshot loop, sooner
    arun(app.stop())
    w.close()
    app2 = make_app()
    w2 = app2.window
    qtbot.waitUntil(lambda: w2.load_task.done(), timeout=3000)
    w2.load_task.result()
    assert w2.pnl_chart.point_count() >= 4  # three snapshots, the closing one, now
    assert w2.pnl_chart.last_values[0] == Decimal("200")
    assert [o.symbol for o in w2.orders_model.items()] == ["RELIANCE"]
    assert len(w2.trades_model) == 1
    assert [p.quantity for p in w2.positions_model.open_positions()] == [10]


def test_a_burst_of_oms_events_costs_little_and_is_applied_in_few_batches(qtbot, make_app):
    """The window never blocks: event handlers only queue; the models flush on a timer."""
    from dataclasses import replace

    from desktop_oms.domain import OrderStatus
    from desktop_oms.domain.events import OrderStatusChanged, PricesMarked
    from desktop_oms.domain.positions import flat_position
    from desktop_oms.infra.clock import utcnow

    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: w.load_task.done(), timeout=3000)
    now = utcnow()
    from desktop_oms.domain import Order, OrderType, Validity, Variety

    base = Order(
        id=1,
        client_order_id="X1",
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=10,
        price=Decimal("2400"),
        trigger_price=None,
        status=OrderStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    position = replace(
        flat_position("RELIANCE", "NSE", Product.MIS, Decimal(1)),
        quantity=10,
        average_price=Decimal("2400"),
    )
    flushes = w.orders_model.flush_count
    started = time.perf_counter()
    for i in range(2000):
        order = replace(base, id=1000 + i % 500, client_order_id=f"X{i % 500}")
        app.events.publish(OrderStatusChanged(order, None, OrderStatus.OPEN, None, now))
        app.events.publish(PricesMarked((replace(position, last_price=Decimal(2400 + i)),), now))
    spent = time.perf_counter() - started
    assert spent < 0.5, spent  # 4,000 events: queueing only
    qtbot.waitUntil(lambda: len(w.orders_model) == 500, timeout=3000)
    assert w.orders_model.flush_count - flushes <= 3
    qtbot.waitUntil(
        lambda: (
            bool(w.positions_model.items())
            and w.positions_model.items()[0].last_price == Decimal(4399)
        ),
        timeout=3000,
    )
