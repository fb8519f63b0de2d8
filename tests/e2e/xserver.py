"""A real X server (Xvfb) with a window manager (openbox) for the end-to-end tests, and
real input into it (xdotool).

Xvfb picks a free display itself (`-displayfd`: it writes the number once it accepts
connections), so parallel runs never collide. Key auto-repeat is pushed out of reach
(`-ardelay`): on a loaded machine xdotool can be descheduled between a key's press and
release, and the server must not turn that into repeated keys. The screen saver is off.

A window manager runs on it as on a trader's desktop: without one, nothing gives the
keyboard focus back to the main window when a dialog closes, and nothing maximises a
window. Openbox, with tests/e2e/openbox-rc.xml: no key bindings of its own, new windows
focused, click to focus.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 30.0
OPENBOX_RC = Path(__file__).with_name("openbox-rc.xml")
XDOTOOL_TIMEOUT_S = 30.0

# What the e2e tests need from the system, per distribution (also in the README).
DEBIAN_PACKAGES = (
    "xvfb xdotool openbox fonts-dejavu-core libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 "
    "libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xfixes0 "
    "libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1 libegl1 libfontconfig1 libdbus-1-3"
)
FEDORA_PACKAGES = (
    "xorg-x11-server-Xvfb xdotool openbox dejavu-sans-fonts xcb-util-cursor xcb-util-wm "
    "xcb-util-keysyms xcb-util-image xcb-util-renderutil libxkbcommon-x11 mesa-libEGL "
    "fontconfig dbus-libs"
)
INSTALL_HINT = (
    "install them with `sudo apt-get install -y "
    + DEBIAN_PACKAGES
    + "` (Debian/Ubuntu) or `sudo dnf install -y "
    + FEDORA_PACKAGES
    + "` (Fedora); `bash .ci/run` does it by itself"
)


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin in this environment."""
    import PySide6

    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def missing_libraries() -> list[str]:
    """Shared libraries Qt's xcb plugin needs that the system does not have (ldd)."""
    plugin = xcb_plugin()
    if plugin is None:
        return ["Qt's xcb platform plugin (libqxcb.so) is not in this PySide6"]
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, check=False).stdout
    missing = sorted({line.split()[0] for line in out.splitlines() if "not found" in line})
    # Qt >= 6.5 loads libxcb-cursor at run time (dlopen): ldd does not list it.
    if not _loadable("libxcb-cursor.so.0"):
        missing.append("libxcb-cursor.so.0")
    return missing


def _loadable(soname: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def what_is_missing() -> str | None:
    """None when the e2e tests can run here; else what is missing and how to install it."""
    if not sys.platform.startswith("linux"):
        return "the end-to-end tests run on Linux (Xvfb and xdotool)"
    missing = [tool for tool in ("Xvfb", "xdotool", "openbox") if shutil.which(tool) is None]
    missing += missing_libraries()
    if not missing:
        return None
    return f"end-to-end tests need {', '.join(missing)}: {INSTALL_HINT}"


class XServer:
    """One Xvfb screen of `width` x `height`; `.display` is ":N" once started."""

    def __init__(
        self, width: int, height: int, log_path: Path | None = None, *, wm: bool = True
    ) -> None:
        self.with_wm = wm
        self.width = width
        self.height = height
        self.display: str | None = None
        self.process: subprocess.Popen | None = None
        self.wm: subprocess.Popen | None = None
        self._log_path = log_path

    def start(self) -> XServer:
        read_fd, write_fd = os.pipe()
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x24",
                    "-dpi",
                    "96",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                    "-s",
                    "0",
                    "-ardelay",
                    "30000",
                    "-arinterval",
                    "30000",
                ],
                pass_fds=(write_fd,),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
            if log is not subprocess.DEVNULL:
                log.close()
        try:
            number = self._read_display(read_fd)
        finally:
            os.close(read_fd)
        self.display = f":{number}"
        try:
            if self.with_wm:
                self._start_wm()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_display(self, fd: int) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"Xvfb did not start within {START_TIMEOUT_S:g} s"
                    f" (exit code {self.process.returncode})"
                )
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 64)
                if not chunk:
                    continue
                data += chunk
        return int(data.strip())

    def _start_wm(self) -> None:
        """openbox, ready once its --startup command has run (it runs when openbox manages
        the screen; openbox closes inherited descriptors, so it leaves a file)."""
        marker_dir = Path(tempfile.mkdtemp(prefix="e2e-wm-"))
        marker = marker_dir / "ready"
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.wm = subprocess.Popen(
                [
                    "openbox",
                    "--sm-disable",
                    "--config-file",
                    str(OPENBOX_RC),
                    "--startup",
                    f"touch {shlex.quote(str(marker))}",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not marker.exists():
                if time.monotonic() > deadline or self.wm.poll() is not None:
                    raise RuntimeError(
                        f"openbox did not start within {START_TIMEOUT_S:g} s"
                        f" (exit code {self.wm.poll()})"
                    )
                time.sleep(0.02)  # a bounded poll for the marker file
        finally:
            shutil.rmtree(marker_dir, ignore_errors=True)

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display or ""}

    def alive(self) -> bool:
        wanted = (self.process, self.wm) if self.with_wm else (self.process,)
        return all(p is not None and p.poll() is None for p in wanted)

    def stop(self) -> None:
        for process in (self.wm, self.process):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    # ---- real input ------------------------------------------------------------------

    def xdotool(self, *args: str) -> str:
        """Run xdotool against this display (XTEST: the server makes real input events)."""
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        done = subprocess.run(
            ["xdotool", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=XDOTOOL_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def key(self, *keys: str) -> None:
        """Press and release each key (xdotool names: ctrl+shift+k, F1, Return, Delete)."""
        self.xdotool("key", "--delay", "20", *keys)

    def type(self, text: str) -> None:
        self.xdotool("type", "--delay", "20", text)

    def move(self, x: int, y: int) -> None:
        self.xdotool("mousemove", "--sync", str(x), str(y))

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.xdotool("mousemove", "--sync", str(x), str(y), "click", str(button))

    def mouse_down(self, x: int, y: int, button: int = 1) -> None:
        self.xdotool("mousemove", "--sync", str(x), str(y), "mousedown", str(button))

    def mouse_up(self, button: int = 1) -> None:
        self.xdotool("mouseup", str(button))
