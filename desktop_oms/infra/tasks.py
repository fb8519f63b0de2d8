"""Background tasks that log and surface their errors instead of dying silently.

A `TaskGroup` owns named long-running tasks (spawned or periodic); an error in one is
logged and handed to `on_failure(name, exc)` (the OMS publishes it as an event), and the
periodic ones go on. `stop()` cancels and awaits them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class TaskGroup:
    """Owns named long-running tasks; `stop()` cancels and awaits them all."""

    def __init__(self, on_failure: Callable[[str, BaseException], None] | None = None) -> None:
        self._on_failure = on_failure
        self._tasks: dict[str, asyncio.Task] = {}

    def spawn(self, name: str, coro: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks[name] = task
        task.add_done_callback(self._done)
        return task

    def periodic(
        self,
        name: str,
        interval: float | Callable[[], float],
        body: Callable[[], Awaitable],
        wake: asyncio.Event | None = None,
    ) -> asyncio.Task:
        """Run `body` every `interval` seconds (or as soon as `wake` is set); errors are reported, the loop goes on."""

        async def loop() -> None:
            while True:
                delay = interval() if callable(interval) else interval
                if wake is None:
                    await asyncio.sleep(delay)
                else:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation
                    # that arrives as the event is set, and stop() would then wait forever.
                    try:
                        async with asyncio.timeout(delay):
                            await wake.wait()
                    except TimeoutError:
                        pass
                    wake.clear()
                try:
                    await body()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - report and keep going
                    self.report(name, exc)

        return self.spawn(name, loop())

    def report(self, name: str, exc: BaseException) -> None:
        log.error("background task %s failed: %s", name, exc, exc_info=exc)
        if self._on_failure is not None:
            self._on_failure(name, exc)

    def _done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.report(task.get_name(), exc)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
