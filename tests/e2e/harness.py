"""The test's side of an end-to-end run: start the real app in a child process on an Xvfb
display, talk to it over its control socket (tests/e2e/app_child.py), and press keys and
click through the X server.

    oms = OmsProcess(xserver, data_dir, workdir).start()
    oms.key("F1"); oms.type("TCS")                    # real X input (xdotool)
    oms.wait("window.ticket.symbol.text() == 'TCS'")   # a condition, inside the child
    oms.eval("await app.order_manager.get_active_orders()")
    oms.click_widget("buyButton"); oms.screenshot(path)
    oms.stop()                                         # SIGTERM: a clean stop, exit 0

Nothing waits by sleeping: every wait is a condition with a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.xserver import XServer

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0  # a child starts in ~1-2 s; generous for a loaded machine
STOP_TIMEOUT_S = 30.0
DEFAULT_WAIT_S = 15.0


class ChildError(AssertionError):
    """The child answered with an error (its traceback is in the message)."""


class OmsProcess:
    def __init__(
        self,
        x: XServer,
        data_dir: Path,
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        fill_screen: bool = True,
    ) -> None:
        self.x = x
        self.data_dir = Path(data_dir)
        self.workdir = Path(workdir)
        self.extra_env = dict(env or {})
        self.fill_screen = fill_screen
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._buffer = b""
        self.runs = 0
        self.log_path: Path | None = None
        self.exit_code: int | None = None

    # ---- life --------------------------------------------------------------------------

    def start(self) -> OmsProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.runs += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        sock_path = self.workdir / f"control-{self.runs}.sock"
        if sock_path.exists():
            sock_path.unlink()
        self.log_path = self.workdir / f"child-{self.runs}.log"
        env = dict(os.environ)
        env.pop("QT_QPA_PLATFORM", None)
        env.update(
            {
                "DISPLAY": self.x.display,
                "QT_QPA_PLATFORM": "xcb",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
                "XDG_RUNTIME_DIR": str(self._runtime_dir()),
                "NO_AT_BRIDGE": "1",
            }
        )
        env.update(self.extra_env)
        args = [
            sys.executable,
            "-m",
            "tests.e2e.app_child",
            "--data-dir",
            str(self.data_dir),
            "--socket",
            str(sock_path),
        ]
        if not self.fill_screen:
            args.append("--no-fill-screen")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.exit_code = None
        self._connect(sock_path)
        return self

    def _runtime_dir(self) -> Path:
        path = self.workdir / "xdg-runtime"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def _connect(self, path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        self._buffer = b""
        while True:
            if self.process.poll() is not None:
                raise ChildError(
                    f"the app exited with {self.process.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                except (ConnectionRefusedError, FileNotFoundError):
                    sock.close()
                else:
                    self.sock = sock
                    break
            if time.monotonic() > deadline:
                self.kill()
                raise ChildError(
                    f"the app was not ready within {START_TIMEOUT_S:g} s:\n" + self.log_tail()
                )
            # The child creates the socket once the window is shown; wait for the file.
            _wait_for_path(path, min(0.2, max(deadline - time.monotonic(), 0)))
        # Shown, and the window manager gave it the keyboard focus (as on a desktop).
        self.wait("window.isVisible() and window.isActiveWindow()", 30)
        if self.fill_screen:  # maximised by the window manager (first start) or restored
            self.wait("window.isMaximized() or window.layout_restored", 30)

    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (the window closes, the app stops cleanly); returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float = STOP_TIMEOUT_S) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ChildError(
                f"the app did not exit within {timeout:g} s:\n" + self.log_tail()
            ) from None
        finally:
            self._close_socket()
        self.exit_code = code
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._close_socket()

    def _close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # ---- the control socket ------------------------------------------------------------

    def call(self, op: str, answer_within: float = 60.0, **fields):
        if self.sock is None:
            raise ChildError("the app is not running")
        request = dict(fields, op=op)
        self.sock.settimeout(answer_within)
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while b"\n" not in self._buffer:
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                raise ChildError(f"no answer to {request!r} within {answer_within:g} s") from None
            if not chunk:
                raise ChildError(
                    f"the app closed the control socket (exit code {self.process.poll()}):\n"
                    + self.log_tail()
                )
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer = json.loads(line)
        if not answer["ok"]:
            raise ChildError(f"{answer['error']}\n--- in the app:\n{answer.get('traceback', '')}")
        return answer["value"]

    def eval(self, expr: str):
        """Evaluate an expression in the app (`app`, `window` and helpers in scope)."""
        return self.call("eval", expr=expr)

    def exec(self, code: str):
        return self.call("exec", code=code)

    def wait(self, expr: str, timeout: float = DEFAULT_WAIT_S):
        """Until `expr` is true in the app (re-evaluated every 20 ms); its value."""
        return self.call("wait", answer_within=timeout + 60, expr=expr, timeout=timeout)

    def screenshot(self, path: Path) -> list[int]:
        return self.call("screenshot", path=str(path))

    # ---- real input (through the X server) -----------------------------------------

    def key(self, *keys: str) -> None:
        self.x.key(*keys)

    def type(self, text: str) -> None:
        self.x.type(text)

    def click_at(self, x: int, y: int) -> None:
        self.x.click(x, y)

    def click_widget(self, name: str) -> None:
        """Click the middle of a widget (objectName, or an expression giving a widget);
        fails, saying so, if the trader cannot see it whole."""
        ref = repr(name) if _is_name(name) else name
        shown = self.eval(f"fully_shown({ref})")
        if not shown["ok"]:
            raise AssertionError(f"cannot click {name}: not fully shown: {shown}")
        x, y = self.eval(f"center({ref})")
        self.x.click(x, y)

    def click_cell(self, view: str, row, column, *, button: bool = False) -> None:
        """Click a table cell the trader can see (fails, saying so, if it is not shown);
        `button`: the cell holds a painted button, whose face must be shown."""
        check = "button_shown" if button else "cell_shown"
        shown = self.eval(f"{check}({view!r}, {row!r}, {column!r})")
        if not shown["ok"]:
            raise AssertionError(f"cannot click {view} {row} {column}: not fully shown: {shown}")
        x, y = self.eval(f"cell_center({view!r}, {row!r}, {column!r})")
        self.x.click(x, y)

    def double_click_cell(self, view: str, row, column) -> None:
        x, y = self.eval(f"cell_center({view!r}, {row!r}, {column!r})")
        self.x.xdotool("mousemove", "--sync", str(x), str(y), "click", "--repeat", "2", "1")


def _is_name(text: str) -> bool:
    return text.replace("_", "").isalnum()


def _wait_for_path(path: Path, timeout: float) -> None:
    """Block up to `timeout` for a file to appear (a bounded poll of the file system)."""
    end = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < end:
        time.sleep(0.02)
