"""In-process publish/subscribe for domain events.

Handlers are called synchronously, in subscription order, on the publishing (loop)
thread; they must be quick (the GUI's handlers only queue work for a coalescing timer).
A failing handler is logged and reported to `on_handler_error`; it never breaks the
publisher or other handlers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from desktop_oms.domain.events import BackgroundTaskFailed, Event
from desktop_oms.infra.clock import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self.on_handler_error: Callable[[Handler, Event, BaseException], None] | None = None
        self._held: list[Event] | None = None
        # Per concrete event type: the handler lists of it and its bases that exist (the
        # live lists: a handler removed while an event is delivered is not called after).
        self._resolved: dict[type, tuple[list[Handler], ...]] = {}

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold events published inside the block; publish them, in order, when it ends
        normally and drop them if it raises (the OMS's group commit: subscribers hear of
        changes only once they are durable). Nested blocks join the outer one."""
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        except BaseException:
            self._held = None
            raise
        events, self._held = self._held, None
        for event in events:
            self.publish(event)

    def subscribe(self, event_type: type[Event], handler: Handler) -> Callable[[], None]:
        """Call `handler` for events of `event_type` (and its subclasses). Returns an unsubscribe."""
        self._handlers[event_type].append(handler)
        self._resolved.clear()

        def unsubscribe() -> None:
            try:
                self._handlers[event_type].remove(handler)
            except ValueError:
                pass

        return unsubscribe

    def publish(self, event: Event) -> None:
        if self._held is not None:
            self._held.append(event)
            return
        kind = type(event)
        lists = self._resolved.get(kind)
        if lists is None:
            lists = self._resolved[kind] = tuple(
                self._handlers[t] for t in kind.__mro__ if t in self._handlers
            )
        for handlers in lists:
            for handler in tuple(handlers):
                try:
                    handler(event)
                except Exception as exc:  # noqa: BLE001 - isolate subscribers
                    log.exception("event handler %r failed on %s", handler, type(event).__name__)
                    if self.on_handler_error is not None:
                        try:
                            self.on_handler_error(handler, event, exc)
                        except Exception:  # noqa: BLE001
                            log.exception("on_handler_error failed")

    def task_failed(self, task: str, exc: BaseException) -> None:
        """A background task failed (a `TaskGroup`'s `on_failure`): publish it to be shown."""
        self.publish(
            BackgroundTaskFailed(task=task, error=f"{type(exc).__name__}: {exc}", at=utcnow())
        )
