"""Loop watchdog: says where the event loop was when it stopped answering.

The GUI and the OMS share one asyncio loop; anything that holds it (a slow disk flush, a
long Python step, a full garbage-collector pass) freezes the window. A daemon thread
watches a heartbeat the loop posts every `beat_s`. When the heartbeat is older than
`threshold_s` it takes the loop thread's stack (once per stall, a few frames deep), and
when the loop answers again it logs one warning with the stall's length, the stack and
the garbage collector's share, and keeps the record in `stalls` (bounded).

The thread only reads a float and, during a stall, one stack: it costs nothing while the
loop is healthy. Start it with `start(loop)`; `stop()` joins it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

STACK_FRAMES = 12


@dataclass(frozen=True, slots=True)
class LoopStall:
    seconds: float
    gc_seconds: float
    stack: str

    def summary(self) -> str:
        """One line: how long, the garbage collector's share, the innermost frame."""
        gc_part = (
            f" ({self.gc_seconds * 1000:.0f} ms garbage collection)" if self.gc_seconds else ""
        )
        where = self.stack.strip().splitlines()[-2:] if self.stack else []
        at = " ".join(line.strip() for line in where)
        return f"event loop blocked for {self.seconds * 1000:.0f} ms{gc_part} at {at}"

    def describe(self) -> str:
        return f"{self.summary()}\n{self.stack}"


class LoopWatchdog:
    def __init__(self, threshold_s: float = 0.25, beat_s: float = 0.05, keep: int = 50) -> None:
        if threshold_s <= beat_s:
            raise ValueError("threshold_s must be longer than beat_s")
        self.threshold_s = threshold_s
        self.beat_s = beat_s
        self.stalls: deque[LoopStall] = deque(maxlen=keep)
        self._last_beat = time.perf_counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._gc_started: float | None = None
        self._gc_total = 0.0

    # ------------------------------------------------------------------ loop side
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self._thread is not None:
            return
        self._loop = loop or asyncio.get_event_loop()
        self._loop_thread_id = threading.get_ident()
        self._stop.clear()
        self._last_beat = time.perf_counter()
        self._handle = self._loop.call_later(self.beat_s, self._beat)
        gc.callbacks.append(self._on_gc)
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._thread = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _beat(self) -> None:
        self._last_beat = time.perf_counter()
        if not self._stop.is_set() and self._loop is not None and not self._loop.is_closed():
            self._handle = self._loop.call_later(self.beat_s, self._beat)

    def _on_gc(self, phase: str, info: dict) -> None:
        if threading.get_ident() != self._loop_thread_id:
            return
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
        elif self._gc_started is not None:
            took = now - self._gc_started
            self._gc_total += took
            self._gc_started = None
            if took > self.threshold_s:
                # The collector holds the GIL: the watcher cannot see this stall itself.
                where = "".join(traceback.format_stack(limit=STACK_FRAMES)).rstrip()
                stack = f"garbage collection, generation {info.get('generation')}, from:\n{where}"
                self._record(LoopStall(took, took, stack))

    # ------------------------------------------------------------------ watcher side
    def _watch(self) -> None:
        poll = self.beat_s / 2
        stall_beat: float | None = None
        stack = ""
        gc_before = 0.0
        while not self._stop.wait(poll):
            beat = self._last_beat
            late = time.perf_counter() - beat
            if stall_beat is None:
                if late > self.threshold_s:
                    stall_beat, stack, gc_before = beat, self._loop_stack(), self._gc_total
            elif beat != stall_beat:
                # The loop answered: the stall lasted from its last beat to this one,
                # less the beat interval it was waiting anyway.
                seconds = max(0.0, beat - stall_beat - self.beat_s)
                gc_seconds = self._gc_total - gc_before
                if gc_seconds < seconds * 0.8:  # else the collector recorded it
                    self._record(LoopStall(seconds, gc_seconds, stack))
                stall_beat = None

    def _loop_stack(self) -> str:
        frame = sys._current_frames().get(self._loop_thread_id)
        if frame is None:
            return "(loop thread not found)"
        return "".join(traceback.format_stack(frame, limit=STACK_FRAMES)).rstrip()

    def _record(self, stall: LoopStall) -> None:
        self.stalls.append(stall)
        log.warning("%s", stall.summary())
        log.info("stack of that stall:\n%s", stall.stack)
