"""Run the GUI on one qasync loop shared by Qt and the OMS tasks.

Closing the window (or SIGINT / SIGTERM, which close it) stops the Application cleanly:
the window saves its layout and lets in-flight work finish, the OMS tasks are cancelled
and awaited, the database is closed. A second SIGINT/SIGTERM during that stop exits at
once (the journal is write-ahead: nothing is lost by it).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys

from desktop_oms.config import Settings

log = logging.getLogger(__name__)

_SHOWN = {"oms_shown": True}  # the window's log bridge skips records already shown


def install_exception_handler(loop: asyncio.AbstractEventLoop, report) -> None:
    """Task errors are logged and shown, never silently lost."""

    def handler(loop, context):
        exc = context.get("exception")
        message = context.get("message", "unhandled error in a background task")
        shown = False
        try:
            shown = bool(report(f"{message}: {exc!r}" if exc else message))
        except Exception:  # noqa: BLE001
            log.exception("could not report a loop error")
        log.error("event loop: %s", message, exc_info=exc, extra=_SHOWN if shown else None)

    loop.set_exception_handler(handler)


def install_signal_handlers(on_signal) -> dict:
    """SIGINT/SIGTERM call `on_signal(signum)` on the loop thread (once); a second one
    exits immediately. Returns the previous handlers (for `restore_signal_handlers`)."""
    loop = asyncio.get_running_loop()
    previous: dict = {}
    received: list[int] = []

    def handler(signum, _frame) -> None:
        if received:
            os.write(2, b"desktop-oms: second signal, exiting now\n")
            os._exit(128 + signum)
        received.append(signum)
        loop.call_soon_threadsafe(on_signal, signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
    return previous


def restore_signal_handlers(previous: dict) -> None:
    for sig, old in previous.items():
        try:
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        except (ValueError, OSError, TypeError):
            pass


def run_gui(settings: Settings, settings_warning: str | None = None) -> int:
    # On Linux, a Qt platform plugin that cannot load aborts the process with a
    # misleading hint: say which system packages are missing instead (exit 2).
    from desktop_oms.app.qt_platform import platform_problem

    problem = platform_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        log.error("cannot start the window: %s", problem.splitlines()[1])
        return 2

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_oms.app.application import Application
    from desktop_oms.infra.watchdog import LoopWatchdog
    from desktop_oms.storage import DatabaseError
    from desktop_oms.ui.common import apply_dark_theme

    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Desktop OMS")
    qapp.setOrganizationName("desktop-oms")
    # The loop ends when main() returns, after a clean stop, not when the last window
    # closes (Qt would quit mid-shutdown otherwise).
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    _set_app_icon(qapp)
    exit_code = 0

    async def main() -> None:
        nonlocal exit_code
        loop = asyncio.get_running_loop()
        from desktop_oms.brokers.errors import BrokerError

        holder: dict = {}
        if settings.broker == "kite":
            # Kite only: the client, the keyring and the login dialog (~0.1 s of imports
            # and keyring probing the paper broker never needs).
            from desktop_oms.brokers.kite.credentials import CredentialStore
            from desktop_oms.brokers.kite.factory import KiteLoginRequired
            from desktop_oms.ui.login import make_login

            credentials = CredentialStore()
            login = make_login(
                settings, credentials, parent=lambda: getattr(holder.get("app"), "window", None)
            )
            if credentials.warning:
                log.warning(credentials.warning)
        else:
            KiteLoginRequired = BrokerError  # noqa: N806 - no Kite login without Kite
            credentials = login = None
        app = Application(settings, credentials=credentials, login=login)
        holder["app"] = app
        closed = asyncio.Event()
        state = {"window": None, "signalled": None}

        def report(text: str) -> bool:
            if app.order_manager is not None:
                app.order_manager.alert("error", text, "event-loop")
                return app.window is not None
            return False

        def on_signal(signum: int) -> None:
            name = signal.Signals(signum).name
            log.warning("%s received: closing the window and stopping cleanly", name)
            state["signalled"] = signum
            window = state["window"]
            if window is not None:
                window.close()  # emits closing -> closed
            closed.set()

        install_exception_handler(loop, report)
        previous = install_signal_handlers(on_signal)
        # Python runs signal handlers only between bytecodes: make sure some Python runs
        # regularly even when the window is idle.
        wakeup = QTimer()
        wakeup.timeout.connect(lambda: None)
        wakeup.start(200)
        try:
            # The GC is off while the program loads (cli.main): what loaded stays for the
            # session, so it is frozen out of the collector's way; app.start() pauses it
            # for its own work.
            gc.freeze()
            gc.enable()
            try:
                await app.start()
            except (DatabaseError, KiteLoginRequired, BrokerError) as exc:
                exit_code = 2
                if state["signalled"] is None:
                    await _show_error("Desktop OMS cannot start", str(exc))
                return
            window = app.window
            state["window"] = window
            # A freeze of the window is logged with what held the loop (and how long).
            watchdog = LoopWatchdog(threshold_s=0.25)
            watchdog.start(loop)
            window.closing.connect(closed.set)
            if settings_warning:
                app.order_manager.alert("warning", settings_warning, "settings")
            if state["signalled"] is None:
                window.show_on_screen()  # maximized at first; as saved after
            try:
                await closed.wait()
            finally:
                watchdog.stop()
                await app.stop()
                window.hide()
                window.deleteLater()
        finally:
            wakeup.stop()
            restore_signal_handlers(previous)

    async def _show_error(title: str, text: str) -> None:
        print(f"{title}: {text}", file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, title, text)
        done = asyncio.Event()
        box.finished.connect(lambda _r: done.set())
        box.open()
        await done.wait()

    qasync.run(main())
    return exit_code


def _set_app_icon(qapp) -> None:
    from PySide6.QtGui import QIcon

    from desktop_oms.infra.resources import resource_path

    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        try:
            icon.addFile(str(resource_path(f"icons/desktop-oms-{size}.png")))
        except FileNotFoundError:
            log.warning("application icon %d px is missing", size)
    qapp.setWindowIcon(icon)
    qapp.setDesktopFileName("desktop-oms")  # matches the .desktop entry (Wayland app id, taskbar)
