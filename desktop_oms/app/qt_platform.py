"""Before Qt starts on Linux: can its X11 ("xcb") platform plugin load?

Without one of the shared libraries the plugin needs, Qt aborts the process (exit 134,
SIGABRT) with a misleading hint ("xcb-cursor0 or libxcb-cursor0 is needed ...") even
when other libraries are what is missing (issue 13: libxcb-icccm4 and libxcb-keysyms1).
`platform_problem()` finds that out first and says what to install, for Debian/Ubuntu
and Fedora; the runner prints it and exits 2 instead.

Cheap: nothing at all off Linux or on another platform (offscreen, wayland, ...); on
X11 one dlopen of the plugin, which loads the Qt libraries the window loads a moment
later anyway. Only when that fails, `ldd` lists every missing library at once (else the
loader's message names the first one).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# soname -> (Debian / Ubuntu package, Fedora package): what the Qt 6 xcb plugin, the
# libQt6XcbQpa it links and libQt6Gui need (`ldd libqxcb.so`, checked on Debian 12 with
# `dpkg -S`), the X11 ones first.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libpng16.so.16": ("libpng16-16", "libpng"),
    "libexpat.so.1": ("libexpat1", "expat"),
}

Loader = Callable[[str], object]  # ctypes.CDLL: raises OSError when a library is missing
Ldd = Callable[[Path], str | None]  # `ldd` output, None when ldd is not there


def _ldd(path: Path) -> str | None:
    exe = shutil.which("ldd")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, str(path)], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def plugin_dir() -> Path | None:
    """PySide6's platform plugins folder, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "Qt" / "plugins" / "platforms"
        if folder.is_dir():
            return folder
    return None


def _platform_spec(environ: Mapping[str, str], argv: Sequence[str]) -> str:
    """What Qt is told to use: `-platform NAME` on the command line, else
    QT_QPA_PLATFORM ("" when neither)."""
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-platform", "--platform"):
            return argv[i + 1]
    return environ.get("QT_QPA_PLATFORM", "")


def _plugin(folder: Path, stem: str) -> Path | None:
    found = sorted(folder.glob(f"lib{stem}*.so"))
    return found[0] if found else None


def _loads(path: Path | None, load: Loader) -> bool:
    if path is None:
        return False
    try:
        load(str(path))
    except OSError:
        return False
    return True


def xcb_in_use(
    environ: Mapping[str, str], argv: Sequence[str], wayland_loads: Callable[[], bool]
) -> bool:
    """Whether Qt will use its xcb plugin: asked for by name, or Qt's own choice - xcb in
    an X11 session (or with no display at all), Wayland in a Wayland session unless its
    plugin cannot load (then Qt falls back to xcb, through XWayland)."""
    spec = _platform_spec(environ, argv)
    names = [part.split(":")[0].strip() for part in spec.split(";") if part.strip()]
    if names:
        if names[0] == "xcb":
            return True
        if names[0] == "wayland" and "xcb" in names[1:]:
            return not wayland_loads()
        return False
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return not wayland_loads()
    return True


def missing_libraries(plugin: Path, *, load: Loader = ctypes.CDLL, ldd: Ldd = _ldd) -> list[str]:
    """The shared libraries `plugin` needs that the loader cannot find ([] if it loads)."""
    try:
        load(str(plugin))
        return []
    except OSError as exc:
        first = str(exc)
    listing = ldd(plugin)
    missing: list[str] = []
    for line in (listing or "").splitlines():
        name, sep, where = line.strip().partition("=>")
        if sep and where.strip().startswith("not found"):
            soname = name.strip()
            if soname not in missing:
                missing.append(soname)
    if missing:
        return missing
    # no ldd (or it found nothing): the loader names the first missing library
    soname = first.split(":")[0].strip()
    if not soname or soname == str(plugin):  # not a missing library: say what it is
        return [first]
    return [Path(soname).name]


def install_message(missing: Sequence[str]) -> str:
    """What to tell the trader: the missing libraries and the packages that have them."""
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for soname in missing:
        packages = PACKAGES.get(soname)
        if packages is None:
            unknown.append(soname)
            continue
        if packages[0] not in debian:
            debian.append(packages[0])
        if packages[1] not in fedora:
            fedora.append(packages[1])
    lines = [
        "desktop-oms: the Qt X11 (xcb) platform plugin cannot load; the window cannot open.",
        f"Missing system libraries: {', '.join(missing)}",
    ]
    if debian:
        lines += [
            "Install them, then start desktop-oms again:",
            f"  Debian / Ubuntu:  sudo apt-get install {' '.join(debian)}",
            f"  Fedora:           sudo dnf install {' '.join(fedora)}",
        ]
    for soname in unknown:
        lines.append(
            f"  {soname}: find its package with `apt-file search {soname}` or "
            f"`dnf provides '*/{soname}'`"
        )
    lines.append('(README, section "System packages", lists them all.)')
    return "\n".join(lines)


def platform_problem(
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    *,
    platform: str | None = None,
    plugins: Path | None = None,
    load: Loader = ctypes.CDLL,
    ldd: Ldd = _ldd,
) -> str | None:
    """None when Qt's platform plugin will load (or this is not Linux with xcb); else the
    message saying what to install."""
    if not (platform or sys.platform).startswith("linux"):
        return None
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    folder = plugins if plugins is not None else plugin_dir()
    if folder is None:
        return None  # not PySide6's wheel layout: Qt finds its own plugins
    if not xcb_in_use(environ, argv, lambda: _loads(_plugin(folder, "qwayland"), load)):
        return None
    xcb = _plugin(folder, "qxcb")
    if xcb is None:
        return None
    missing = missing_libraries(xcb, load=load, ldd=ldd)
    return install_message(missing) if missing else None
