"""Importing pyqtgraph (and numpy) without freezing the window, and without crashing it.

pyqtgraph takes ~0.5 s to import, so the charts import it on a worker thread after the
window is up. But its `Qt` package copies every attribute of PySide6's QtCore, QtGui and
QtWidgets (`_copy_attrs`), and PySide6 creates its types lazily on first access: done
on a worker thread while the GUI thread also touches Qt, that segfaulted the app in about
one start in four (faulthandler: pyqtgraph/Qt/__init__.py, _copy_attrs).

So the Qt side is prepared on the GUI thread first, in slices of a few milliseconds (one
per event-loop turn): the PySide6 modules pyqtgraph imports are imported, and every
attribute of them is touched, which creates the types. The worker thread then only reads
what exists, and imports pure Python (pyqtgraph's modules, numpy).

`BackgroundImport(module, done, name, owner).start(delay_ms)` imports `module` on a worker
thread once the Qt side is ready and calls `done()` on the GUI thread when it has
finished (or failed: `done` then imports again on the GUI thread and reports); when the
module is already loaded, `done()` is called at once. One preparation serves every
caller; nothing happens once `owner` is deleted.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator

import shiboken6
from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

# What pyqtgraph imports of PySide6 (measured: sys.modules before and after the import).
QT_MODULES = (
    "PySide6.QtCore",
    "PySide6.QtGui",
    "PySide6.QtWidgets",
    "PySide6.QtSvg",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtTest",
)
SLICE = 60  # attributes touched per event-loop turn (~100 ms for all, in ~15 slices)
POLL_MS = 20


class _Preparation(QObject):
    """Touches the Qt modules' attributes on the GUI thread, a slice per timer tick."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = False
        self._waiting: list[Callable[[], None]] = []
        self._steps = self._walk()
        self._timer: QTimer | None = None

    def _walk(self) -> Iterator[None]:
        for name in QT_MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:  # an optional module missing: pyqtgraph copes
                continue
            yield
            for i, attr in enumerate(dir(module)):
                try:
                    getattr(module, attr)
                except Exception:  # noqa: BLE001 - only creating what exists
                    pass
                if i % SLICE == SLICE - 1:
                    yield

    def then(self, callback: Callable[[], None]) -> None:
        if self.ready:
            callback()
            return
        self._waiting.append(callback)
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setInterval(0)
            self._timer.timeout.connect(self._step)
            self._timer.start()

    def _step(self) -> None:
        try:
            next(self._steps)
            return
        except StopIteration:
            pass
        except Exception:  # noqa: BLE001 - a timer slot must not raise into Qt
            log.exception("preparing Qt for a background import failed")
        if self._timer is not None:
            self._timer.stop()
        self.ready = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback()


_preparation: _Preparation | None = None


def prepare_qt(callback: Callable[[], None]) -> None:
    """Call `callback` (on the GUI thread) once PySide6's types pyqtgraph copies exist."""
    global _preparation
    if _preparation is None:
        _preparation = _Preparation()
    _preparation.then(callback)


class BackgroundImport:
    """`module` imported on a worker thread after `prepare_qt`, then `done()` on the GUI
    thread; nothing more happens once `owner` (the widget waiting for it) is deleted."""

    def __init__(self, module: str, done: Callable[[], None], name: str, owner=None) -> None:
        self._owner = owner
        self.module = module
        self._done = done
        self._name = name
        self.thread: threading.Thread | None = None
        self.finished = threading.Event()
        self._poll: QTimer | None = None

    def start(self, delay_ms: int = 0, *, even_if_loaded: bool = False) -> None:
        """Import (after `delay_ms`), or call `done()` now when the module is loaded."""
        if self.module in sys.modules and not even_if_loaded:
            self._done()
        elif delay_ms > 0:
            QTimer.singleShot(delay_ms, lambda: None if self._owner_gone() else self._prepare())
        else:
            self._prepare()

    def _prepare(self) -> None:
        prepare_qt(self._start_thread)

    def _owner_gone(self) -> bool:
        return self._owner is not None and not shiboken6.isValid(self._owner)

    def _start_thread(self) -> None:
        if self._owner_gone():
            return  # the window closed meanwhile: nothing to import for

        def work() -> None:
            try:
                importlib.import_module(self.module)
            except Exception:  # noqa: BLE001 - the GUI thread imports again and reports
                log.debug("background import %s failed", self._name, exc_info=True)
            finally:
                self.finished.set()

        # Not a daemon: an interpreter exiting meanwhile waits for the import to finish
        # rather than tearing down numpy half-loaded.
        self.thread = threading.Thread(target=work, name=self._name)
        self.thread.start()
        self._poll = QTimer(self._owner)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)
        self._poll.start()

    def _check(self) -> None:
        if not self.finished.is_set():
            return
        if self._poll is not None:
            self._poll.stop()
        if not self._owner_gone():
            self._done()


__all__ = ["QT_MODULES", "BackgroundImport", "prepare_qt"]
