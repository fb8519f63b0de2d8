"""Run the GUI on one qasync loop shared by Qt and the OMS tasks."""

from __future__ import annotations

import asyncio
import logging
import sys

from .config import Settings

log = logging.getLogger(__name__)


def install_exception_handler(loop: asyncio.AbstractEventLoop, report) -> None:
    """Task errors are logged and shown, never silently lost."""

    def handler(loop, context):
        exc = context.get("exception")
        message = context.get("message", "unhandled error in a background task")
        log.error("event loop: %s", message, exc_info=exc)
        try:
            report(f"{message}: {exc!r}" if exc else message)
        except Exception:  # noqa: BLE001
            log.exception("could not report a loop error")

    loop.set_exception_handler(handler)


def run_gui(settings: Settings, settings_warning: str | None = None) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication, QMessageBox

    from .app import Application
    from .storage import DatabaseError
    from .ui.theme import apply_dark_theme

    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Desktop OMS")
    qapp.setOrganizationName("desktop-oms")
    apply_dark_theme(qapp)
    exit_code = 0

    async def main() -> None:
        nonlocal exit_code
        loop = asyncio.get_running_loop()
        app = Application(settings)

        def report(text: str) -> None:
            if app.order_manager is not None:
                app.order_manager.alert("error", text, "event-loop")

        install_exception_handler(loop, report)
        try:
            await app.start()
        except DatabaseError as exc:
            exit_code = 2
            await _show_error("Desktop OMS cannot start", str(exc))
            return
        window = app.window
        closed = asyncio.Event()
        window.closing.connect(closed.set)
        if settings_warning:
            app.order_manager.alert("warning", settings_warning, "settings")
        window.show()
        try:
            await closed.wait()
        finally:
            await app.stop()

    async def _show_error(title: str, text: str) -> None:
        print(f"{title}: {text}", file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, title, text)
        done = asyncio.Event()
        box.finished.connect(lambda _r: done.set())
        box.open()
        await done.wait()

    qasync.run(main())
    return exit_code
