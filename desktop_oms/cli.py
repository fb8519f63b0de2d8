"""Command line: `desktop-oms` (GUI), `--broker kite`, `--data-dir DIR`, `--smoke`, `--version`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from desktop_oms import version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="desktop-oms", description="Desktop order management for Zerodha Kite Connect"
    )
    parser.add_argument("--version", action="version", version=f"desktop-oms {version()}")
    parser.add_argument(
        "--broker",
        choices=("paper", "kite"),
        default=None,
        help="broker to trade with (default: paper)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder for the database, settings and logs"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="start headless, place and fill one paper order, exit"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    parser.add_argument(
        "--no-simulation", action="store_true", help="paper mode without the simulated market"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    export = commands.add_parser("export", help="export trades or the review for a date range")
    export.add_argument("what", choices=("trades", "review"))
    export.add_argument(
        "--from",
        dest="start",
        type=_date,
        required=True,
        metavar="DATE",
        help="first day (YYYY-MM-DD, IST)",
    )
    export.add_argument(
        "--to",
        dest="end",
        type=_date,
        required=True,
        metavar="DATE",
        help="last day (YYYY-MM-DD, IST)",
    )
    export.add_argument("--format", choices=("csv", "html"), default="csv")
    export.add_argument(
        "--output", type=Path, default=None, help="file to write (default: in the current folder)"
    )
    export.add_argument(
        "--data-dir", dest="export_data_dir", type=Path, default=None, help=argparse.SUPPRESS
    )
    return parser


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-24") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export":
        if args.what == "trades" and args.format != "csv":
            parser.error("trades export only as csv (the review has an html report)")
        if args.end < args.start:
            parser.error(f"--to {args.end} is before --from {args.start}")
        return run_export(args)
    if args.smoke:
        return run_smoke(args.data_dir)
    # Loading the program makes ~100,000 objects that live as long as the process
    # (modules, classes, SQLAlchemy's and Qt's tables); the cyclic GC would walk them over
    # and over (~40 ms). It is off while they load (run_gui freezes them and turns it back
    # on before the application starts).
    gc.disable()
    try:
        return _run_gui(args)
    finally:
        gc.enable()


def _run_gui(args) -> int:
    from desktop_oms.config import Settings
    from desktop_oms.infra.logs import setup_logging

    overrides = {}
    if args.broker:
        overrides["broker"] = args.broker
    if args.no_simulation:
        overrides["simulate_market"] = False
    settings, warning = Settings.load(args.data_dir, **overrides)
    try:
        settings.ensure_dirs()  # owner-only folders, before the log file creates them
    except OSError:
        pass  # the app start reports an unusable data folder clearly
    setup_logging(settings.log_dir if settings.log_dir.is_dir() else None, args.log_level)
    from desktop_oms.app.gui_runner import run_gui

    return run_gui(settings, warning)


def run_smoke(data_dir: Path | None = None) -> int:
    """Fresh data dir, paper broker, one marketable LIMIT order that fills, one line out."""
    from desktop_oms.app import Application, wait_for
    from desktop_oms.config import Settings
    from desktop_oms.domain import (
        OrderRequest,
        OrderSide,
        OrderStatus,
        OrderType,
        Product,
        Validity,
    )

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

        qapp = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive for the run

    async def scenario() -> str:
        settings = Settings(data_dir=data_dir, broker="paper", simulate_market=False)
        app = Application(settings, with_window=with_window)
        await app.start()
        try:
            app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
            result = await app.order_manager.place_order(
                OrderRequest(
                    symbol="RELIANCE",
                    exchange="NSE",
                    side=OrderSide.BUY,
                    quantity=1,
                    order_type=OrderType.LIMIT,
                    price=Decimal("2450.00"),
                    product=Product.MIS,
                    validity=Validity.DAY,
                )
            )
            om = app.order_manager
            filled = await wait_for(lambda: om.live_order(result.order_id) is None, 5.0)
            order = await om.get_order(result.order_id)
            if not filled or order.status is not OrderStatus.FILLED:
                raise RuntimeError(
                    f"order did not fill: {order.status.value} {order.status_message or ''}"
                )
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


def run_export(args) -> int:
    """Read the journal read-only (works while the app runs) and write the export."""
    from desktop_oms.config import default_data_dir
    from desktop_oms.domain.review import round_trips, setup_statistics
    from desktop_oms.exports import day_range, write_review_csv, write_review_html, write_trades_csv
    from desktop_oms.storage import Database, DatabaseError

    data_dir = args.export_data_dir or args.data_dir or default_data_dir()
    db_path = Path(data_dir) / "oms.db"
    try:
        db = Database.open_read_only(db_path)
    except DatabaseError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    try:
        since, until = day_range(args.start, args.end)
        period = f"{args.start} to {args.end}"
        output = args.output or Path(f"{args.what}_{args.start}_{args.end}.{args.format}")
        if args.what == "trades":
            rows = db.reporting.trades_between(since, until)
            if not rows:
                print(f"No trades from {period} in {db_path}; nothing written.")
                return 0
            count = write_trades_csv(output, rows)
        else:
            trips = round_trips(db.reporting.review_fills(since, until))
            if not trips:
                print(f"No trades from {period} in {db_path}; nothing written.")
                return 0
            stats = setup_statistics(trips)
            if args.format == "csv":
                count = write_review_csv(output, stats, trips)
            else:
                points = [p for p in db.positions.pnl_snapshots(since) if p.at < until]
                count = write_review_html(
                    output, f"Desktop OMS review, {period}", stats, trips, points
                )
    except OSError as exc:
        print(
            f"export: could not write {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    finally:
        db.close_sync()
    print(
        f"Wrote {count} {'trades' if args.what == 'trades' else 'round trips'} from {period} to {output}"
    )
    return 0


def _qt_available() -> bool:
    try:
        import PySide6.QtWidgets  # noqa: F401

        from desktop_oms.ui.shell import main_window  # noqa: F401
    except ImportError:
        return False
    return True
