"""Issue 13, defect 9: on a Linux desktop missing some of the libraries Qt's xcb plugin
needs, desktop-oms says which packages to install (exit 2) instead of Qt aborting with
"xcb-cursor0 is needed" (exit 134)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from desktop_oms.app import gui_runner
from desktop_oms.app.qt_platform import (
    PACKAGES,
    install_message,
    missing_libraries,
    platform_problem,
    plugin_dir,
    xcb_in_use,
)
from desktop_oms.config import Settings

# `ldd libqxcb.so` on the fresh desktop of the issue (abridged)
LDD_FRESH_DESKTOP = """\
\tlinux-vdso.so.1 (0x00007ffd0b1f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x7f)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def _missing_loader(first: str):
    def load(path: str):
        raise OSError(f"{first}: cannot open shared object file: No such file or directory")

    return load


def _ok_loader(path: str):
    return object()


def _plugins(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "platforms"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


X11 = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}
WAYLAND = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}


@pytest.mark.parametrize(
    ("environ", "argv", "wayland_ok", "expected"),
    [
        (X11, [], True, True),  # an X11 session: Qt's default is xcb
        ({}, [], True, True),  # no display at all: still xcb (Qt then says so itself)
        (WAYLAND, [], True, False),  # a Wayland session: Wayland
        (WAYLAND, [], False, True),  # ... whose plugin cannot load: Qt falls back to xcb
        ({**X11, "QT_QPA_PLATFORM": "offscreen"}, [], True, False),
        ({**X11, "QT_QPA_PLATFORM": "xcb"}, [], True, True),
        ({**WAYLAND, "QT_QPA_PLATFORM": "xcb"}, [], True, True),
        ({**X11, "QT_QPA_PLATFORM": "wayland"}, [], False, False),  # no fallback asked for
        ({**WAYLAND, "QT_QPA_PLATFORM": "wayland;xcb"}, [], False, True),
        ({**X11, "QT_QPA_PLATFORM": "vnc:size=1366x768"}, [], True, False),
        (X11, ["desktop-oms", "-platform", "offscreen"], True, False),
        ({**X11, "QT_QPA_PLATFORM": "offscreen"}, ["x", "-platform", "xcb"], True, True),
    ],
)
def test_whether_qt_will_use_its_xcb_plugin(environ, argv, wayland_ok, expected):
    assert xcb_in_use(environ, argv, lambda: wayland_ok) is expected


def test_ldd_lists_every_missing_library_once():
    missing = missing_libraries(
        Path("/venv/libqxcb.so"),
        load=_missing_loader("libxcb-icccm.so.4"),
        ldd=lambda _path: LDD_FRESH_DESKTOP,
    )
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_without_ldd_the_loader_names_the_first_missing_library():
    missing = missing_libraries(
        Path("/venv/libqxcb.so"), load=_missing_loader("libxcb-icccm.so.4"), ldd=lambda _p: None
    )
    assert missing == ["libxcb-icccm.so.4"]


def test_a_plugin_that_loads_has_nothing_missing_and_ldd_is_not_run():
    def ldd(_path):
        raise AssertionError("ldd is only for a plugin that does not load")

    assert missing_libraries(Path("/venv/libqxcb.so"), load=_ok_loader, ldd=ldd) == []


def test_the_message_names_the_packages_for_debian_ubuntu_and_fedora():
    text = install_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-shm.so.0"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-shm0" in text
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms libxcb" in text
    assert "xcb-cursor0" not in text  # not Qt's misleading hint


def test_an_unknown_library_gets_a_way_to_find_its_package():
    text = install_message(["libfoo.so.3"])
    assert "apt-file search libfoo.so.3" in text and "dnf provides '*/libfoo.so.3'" in text


def test_the_check_on_a_fresh_desktop(tmp_path):
    plugins = _plugins(tmp_path, "libqxcb.so", "libqwayland.so")
    problem = platform_problem(
        X11,
        ["desktop-oms"],
        platform="linux",
        plugins=plugins,
        load=_missing_loader("libxcb-icccm.so.4"),
        ldd=lambda _path: LDD_FRESH_DESKTOP,
    )
    assert problem is not None
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in problem


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux"),  # the tests, --smoke
        (X11, "darwin"),
        (X11, "win32"),
    ],
)
def test_nothing_is_checked_where_xcb_is_not_used(tmp_path, environ, platform):
    def load(path):
        raise AssertionError(f"loaded {path}")

    plugins = _plugins(tmp_path, "libqxcb.so")
    assert platform_problem(environ, [], platform=platform, plugins=plugins, load=load) is None


def test_a_wayland_session_whose_plugin_loads_is_left_alone(tmp_path):
    plugins = _plugins(tmp_path, "libqxcb.so", "libqwayland.so")
    loaded = []

    def load(path):
        loaded.append(Path(path).name)
        if path.endswith("libqxcb.so"):
            raise OSError("libxcb-icccm.so.4: cannot open shared object file")

    assert platform_problem(WAYLAND, [], platform="linux", plugins=plugins, load=load) is None
    assert loaded == ["libqwayland.so"]


def test_the_check_passes_here_with_the_real_plugin_and_loader():
    """This machine runs the GUI tests: PySide6's real xcb plugin loads (or, without a
    PySide6 wheel layout, there is nothing to check)."""
    assert platform_problem(X11, [], platform="linux") is None


@pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("ldd") is None, reason="needs cc and ldd"
)
def test_a_real_plugin_missing_two_libraries(tmp_path, monkeypatch):
    """A real shared object linked to two libraries that are then removed: the real loader
    fails, the real ldd lists both, the message names their packages. (Names of their
    own: this machine has the real xcb libraries.)"""
    icccm, keysyms = "libomstest-icccm.so.4", "libomstest-keysyms.so.1"
    monkeypatch.setitem(PACKAGES, icccm, ("libxcb-icccm4", "xcb-util-wm"))
    monkeypatch.setitem(PACKAGES, keysyms, ("libxcb-keysyms1", "xcb-util-keysyms"))
    libs = tmp_path / "libs"
    libs.mkdir()
    (tmp_path / "a.c").write_text("int icccm(void) { return 1; }\n")
    (tmp_path / "b.c").write_text("int keysyms(void) { return 2; }\n")
    (tmp_path / "p.c").write_text(
        "int icccm(void); int keysyms(void); int plugin(void) { return icccm() + keysyms(); }\n"
    )
    for source, soname in (("a.c", icccm), ("b.c", keysyms)):
        subprocess.run(
            ["cc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", libs / soname, source],
            cwd=tmp_path,
            check=True,
        )
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-o",
            plugins / "libqxcb.so",
            "p.c",
            libs / icccm,
            libs / keysyms,
        ],
        cwd=tmp_path,
        check=True,
    )
    shutil.rmtree(libs)
    problem = platform_problem({"DISPLAY": ":0"}, [], platform="linux", plugins=plugins)
    assert problem is not None, "the plugin loaded without its libraries"
    assert f"{icccm}, {keysyms}" in problem
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in problem
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms" in problem


def test_the_gui_runner_exits_2_with_the_message_before_qt_starts(tmp_path, monkeypatch, capsys):
    import desktop_oms.app.qt_platform as qt_platform

    monkeypatch.setattr(
        qt_platform, "platform_problem", lambda: install_message(["libxcb-icccm.so.4"])
    )
    import qasync

    def no_qt(*_args, **_kwargs):
        raise AssertionError("Qt started despite the missing libraries")

    monkeypatch.setattr(qasync, "run", no_qt)
    settings = Settings(data_dir=tmp_path, broker="paper")
    assert gui_runner.run_gui(settings) == 2
    assert "sudo apt-get install libxcb-icccm4" in capsys.readouterr().err


def test_every_library_of_the_real_plugin_has_its_packages():
    """`ldd` of PySide6's xcb plugin here: every X11 / GL / font library it resolves is in
    the table (so a desktop missing it gets a package name, not a search hint)."""
    folder = plugin_dir()
    if folder is None or shutil.which("ldd") is None:
        pytest.skip("needs PySide6's wheel layout and ldd")
    listing = subprocess.run(
        ["ldd", str(folder / "libqxcb.so")], capture_output=True, text=True, check=True
    ).stdout
    libs = {line.split("=>")[0].strip() for line in listing.splitlines() if "=>" in line}
    graphic = {
        lib
        for lib in libs
        if lib.startswith(("libxcb", "libX", "libxkb", "libGL", "libEGL", "libOpenGL"))
        or lib.startswith(("libfontconfig", "libfreetype", "libdbus", "libglib", "libgthread"))
    }
    assert graphic, listing
    assert sorted(graphic - set(PACKAGES)) == []
