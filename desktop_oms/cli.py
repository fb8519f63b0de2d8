"""Command line: `desktop-oms` (GUI), `--broker kite`, `--data-dir DIR`, `--smoke`, `--version`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from . import version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-oms", description="Desktop order management for Zerodha Kite Connect")
    parser.add_argument("--version", action="version", version=f"desktop-oms {version()}")
    parser.add_argument("--broker", choices=("paper", "kite"), default=None, help="broker to trade with (default: paper)")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder for the database, settings and logs")
    parser.add_argument("--smoke", action="store_true", help="start headless, place and fill one paper order, exit")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--no-simulation", action="store_true", help="paper mode without the simulated market")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.smoke:
        return run_smoke(args.data_dir)
    from .config import Settings
    from .logging_setup import setup_logging

    overrides = {}
    if args.broker:
        overrides["broker"] = args.broker
    if args.no_simulation:
        overrides["simulate_market"] = False
    settings, warning = Settings.load(args.data_dir, **overrides)
    setup_logging(settings.log_dir, args.log_level)
    from .gui_runner import run_gui

    return run_gui(settings, warning)


def run_smoke(data_dir: Path | None = None) -> int:
    """Fresh data dir, paper broker, one marketable LIMIT order that fills, one line out."""
    from .app import Application, wait_for
    from .config import Settings
    from .domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product, Validity

    started = time.perf_counter()
    tmp = None
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="desktop-oms-smoke-")
        data_dir = Path(tmp.name)
    with_window = _qt_available()
    qapp = None
    if with_window:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        qapp = QApplication.instance() or QApplication([])

    async def scenario() -> str:
        settings = Settings(data_dir=data_dir, broker="paper", simulate_market=False)
        app = Application(settings, with_window=with_window)
        await app.start()
        try:
            app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
            result = await app.order_manager.place_order(
                OrderRequest(symbol="RELIANCE", exchange="NSE", side=OrderSide.BUY, quantity=1,
                             order_type=OrderType.LIMIT, price=Decimal("2450.00"), product=Product.MIS,
                             validity=Validity.DAY)
            )
            om = app.order_manager
            filled = await wait_for(lambda: (om.sync.current(result.order_id) is None), 5.0)
            order = await om.get_order(result.order_id)
            if not filled or order.status is not OrderStatus.FILLED:
                raise RuntimeError(f"order did not fill: {order.status.value} {order.status_message or ''}")
            position = await app.position_manager.get_position("RELIANCE", "NSE")
            window = "window built" if app.window is not None else "no window (Qt unavailable)"
            return (
                f"smoke ok: BUY {order.filled_quantity} RELIANCE @ {order.average_price} {order.status.value} "
                f"(order {order.id}, broker {order.broker_order_id}); position {position.quantity}; {window}; "
                f"{time.perf_counter() - started:.2f}s"
            )
        finally:
            await app.stop()

    try:
        if with_window:
            import qasync

            line = qasync.run(scenario())
        else:
            line = asyncio.run(scenario())
    except Exception as exc:  # noqa: BLE001 - the smoke test reports any failure as one line
        print(f"smoke FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(line)
    return 0


def _qt_available() -> bool:
    try:
        import PySide6.QtWidgets  # noqa: F401

        from .ui import main_window  # noqa: F401
    except ImportError:
        return False
    return True
