"""Run coroutines from Qt slots as kept asyncio tasks whose failures are always shown.

A slot cannot await. `TaskRunner.run(coro, "cancel #12")` schedules the coroutine on the
running (qasync) loop, keeps a strong reference until it finishes (the loop only keeps
weak ones), and routes the outcome: `on_result(value)`, or `on_error(exc)`, or, when no
`on_error` is given, the runner's `report(what, text)` (the alerts panel). A failure
inside a callback is reported too. Nothing is lost silently.

`shutdown(grace)` lets running tasks finish for up to `grace` seconds, then cancels and
awaits the rest: the window's half of a clean stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_oms.oms.errors import OMSError, StorageError

log = logging.getLogger(__name__)

# Log records carrying this attribute were already shown in the alerts panel; the
# window's logging bridge skips them so nothing shows twice.
SHOWN = {"oms_shown": True}

Report = Callable[[str, str], None]


def describe_error(exc: BaseException) -> str:
    """The OMS's own errors say what happened in their message; others need their type."""
    text = str(exc)
    if isinstance(exc, OMSError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TaskRunner(QObject):
    """Kept, exception-surfacing tasks for the GUI. `failed(what, text)` after a failure."""

    failed = Signal(str, str)

    def __init__(self, report: Report | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._report = report
        self._tasks: dict[asyncio.Task[Any], str] = {}
        self._closed = False
        self.failures = 0

    @property
    def pending(self) -> list[asyncio.Task[Any]]:
        return [t for t in self._tasks if not t.done()]

    def names(self) -> list[str]:
        return [what for t, what in self._tasks.items() if not t.done()]

    def run(
        self,
        coro: Coroutine[Any, Any, Any] | Awaitable[Any],
        what: str,
        *,
        on_result: Callable[[Any], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
    ) -> asyncio.Task[Any] | None:
        """Schedule `coro`; None (and a report) if it cannot run (no loop, shutting down)."""
        if self._closed:
            _close(coro)
            self._fail(what, "not started: the window is closing")
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _close(coro)
            self._fail(what, "not started: the event loop is not running")
            return None
        task = loop.create_task(_as_coroutine(coro), name=f"ui: {what}")
        self._tasks[task] = what
        task.add_done_callback(lambda t: self._done(t, on_result, on_error))
        return task

    def _done(
        self,
        task: asyncio.Task[Any],
        on_result: Callable[[Any], object] | None,
        on_error: Callable[[BaseException], object] | None,
    ) -> None:
        what = self._tasks.pop(task, "task")
        if task.cancelled():
            log.info("%s: cancelled", what)
            return
        exc = task.exception()
        try:
            if exc is None:
                if on_result is not None:
                    on_result(task.result())
            elif on_error is not None:
                log.info("%s failed: %s", what, describe_error(exc))
                on_error(exc)
            else:
                self._fail(what, describe_error(exc), exc)
        except Exception as callback_exc:  # a broken handler must not vanish either
            self._fail(f"{what} (result handler)", describe_error(callback_exc), callback_exc)

    def _fail(self, what: str, text: str, exc: BaseException | None = None) -> None:
        self.failures += 1
        shown = False
        if self._report is not None:
            try:
                self._report(what, text)
                shown = True
            except RuntimeError:  # the panel is already gone (shutdown)
                pass
            except Exception:
                log.exception("could not show the failure of %s", what)
        log.error(
            "%s failed: %s",
            what,
            text,
            exc_info=exc if exc is not None and not _expected(exc) else None,
            extra=SHOWN if shown else None,
        )
        try:
            self.failed.emit(what, text)
        except RuntimeError:
            pass

    async def shutdown(self, grace: float = 3.0) -> None:
        """Refuse new tasks; let running ones finish for `grace` s, then cancel and await."""
        self._closed = True
        pending = self.pending
        if not pending:
            return
        done, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            log.warning("cancelling %s at shutdown", self._tasks.get(task, task.get_name()))
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)


def _expected(exc: BaseException) -> bool:
    """OMS refusals are normal outcomes: no traceback in the log for them."""
    return isinstance(exc, OMSError) and not isinstance(exc, StorageError)


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _close(coro: object) -> None:
    close = getattr(coro, "close", None)
    if close is not None:
        close()
