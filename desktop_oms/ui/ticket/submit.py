"""Runs the ticket's submit coroutine as a kept asyncio task and reports its outcome.

One submission at a time; the outcome (result, OrderRejected reason, any other error) is
always reported through `finished`, never lost in a task nobody awaits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_oms.domain import OrderRequest, OrderStatus
from desktop_oms.oms.errors import OrderRejected, OrderSubmissionFailed
from desktop_oms.ui.common import format as fmt

log = logging.getLogger(__name__)

OK, REJECTED, ERROR, INTERRUPTED = "ok", "rejected", "error", "interrupted"


def describe_request(request: OrderRequest) -> str:
    """BUY 10 RELIANCE LIMIT @ 2,450.50"""
    text = f"{request.side.value} {fmt.quantity(request.quantity)} {request.symbol} {request.order_type.value}"
    if request.price is not None:
        text += f" @ {fmt.price(request.price)}"
    if request.trigger_price is not None:
        text += f" trg {fmt.price(request.trigger_price)}"
    return text


def describe_result(request: OrderRequest, result: object) -> str:
    """Sent BUY 10 RELIANCE LIMIT @ 2,450.50 — #17 OPEN (message)"""
    order_id = getattr(result, "order_id", None)
    status = getattr(result, "status", None)
    tail = " ".join(
        p for p in (f"#{order_id}" if order_id is not None else "", fmt.enum_text(status)) if p
    )
    text = f"Sent {describe_request(request)}"
    if tail:
        text += f" \u2014 {tail}"
    message = getattr(result, "message", None)
    if message:
        text += f" ({message})"
    return text


class SubmitRunner(QObject):
    """finished(request, outcome, text, result): outcome is ok | rejected | error | interrupted."""

    started = Signal(object)
    finished = Signal(object, str, str, object)

    def __init__(
        self, submit: Callable[[OrderRequest], Awaitable[object]], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._submit = submit
        self._task: asyncio.Task[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[Any] | None:
        return self._task

    def run(self, request: OrderRequest) -> str | None:
        """Start submitting; returns None, or why it could not start."""
        if self.busy:
            return "The previous order is still being sent\u2026"
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error(
                "order ticket: no running asyncio loop; %s not sent", describe_request(request)
            )
            return "Cannot send: the event loop is not running"
        task = loop.create_task(
            self._run(request), name=f"ticket-submit {describe_request(request)}"
        )
        self._task = task
        self._tasks.add(task)
        task.add_done_callback(self._done)
        self.started.emit(request)
        return None

    async def _run(self, request: OrderRequest) -> None:
        try:
            result = await self._submit(request)
        except OrderRejected as exc:
            check = f" ({exc.failed_check})" if exc.failed_check else ""
            self._report(request, REJECTED, f"Rejected{check}: {exc.reason}", exc)
        except asyncio.CancelledError:
            self._report(
                request,
                INTERRUPTED,
                "Sending was interrupted \u2014 check the blotter before retrying",
                None,
            )
            raise
        except OrderSubmissionFailed as exc:
            log.warning("order submission failed: %s", exc)
            self._report(
                request,
                ERROR,
                f"Not confirmed: {exc} \u2014 check the blotter before retrying",
                exc,
            )
        except Exception as exc:
            log.exception("submitting %s failed", describe_request(request))
            self._report(request, ERROR, f"Error: {type(exc).__name__}: {exc}", exc)
        else:
            text = describe_result(request, result)
            if getattr(result, "status", None) is OrderStatus.REJECTED:
                self._report(request, REJECTED, "Rejected: " + text.removeprefix("Sent "), result)
            else:
                self._report(request, OK, text, result)

    def _report(self, request: OrderRequest, outcome: str, text: str, result: object) -> None:
        try:
            self.finished.emit(request, outcome, text, result)
        except RuntimeError:  # receiver already deleted (window closing)
            log.info("order outcome after the ticket closed: %s", text)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a failure in the handlers themselves: never lose it
            log.error("order ticket task failed", exc_info=exc)
