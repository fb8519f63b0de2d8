"""Installers: fast static checks (default run) and the frozen .deb end to end (`-m slow`).

Fast checks need no build: the PyInstaller spec runs against a stand-in PyInstaller API on
both the Linux and the Windows path; the Inno Setup script, build scripts, workflow,
.desktop entry, control template and icons are checked as text; the app's own code is
scanned for POSIX-only calls that are not guarded for Windows.

The slow test builds the .deb with packaging/linux/build.sh when dist/ lacks it (or when
DESKTOP_OMS_REBUILD=1), extracts it with `dpkg-deb -x` and runs the frozen binary:
    uv run pytest -m slow tests/packaging
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tomllib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "desktop_oms.spec"
ISS = PACKAGING / "windows" / "desktop-oms.iss"
BUILD_PS1 = PACKAGING / "windows" / "build.ps1"
BUILD_SH = PACKAGING / "linux" / "build.sh"
CONTROL = PACKAGING / "linux" / "control"
DESKTOP = PACKAGING / "linux" / "desktop-oms.desktop"
WORKFLOW = ROOT / ".github" / "workflows" / "windows.yml"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# ------------------------------------------------------------------------------------------
# The spec, executed against a stand-in PyInstaller API
# ------------------------------------------------------------------------------------------
class _Recorder:
    """Stands in for Analysis / PYZ / EXE / COLLECT and keeps what it was given."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.binaries, self.datas, self.pure, self.scripts = (
            [],
            list(kwargs.get("datas", [])),
            [],
            [],
        )


SAMPLE_WINDOWS_BINARIES = [  # (dest, source, typecode) as PyInstaller would collect them
    (r"PySide6\plugins\platforms\qwindows.dll", "x", "BINARY"),
    (r"PySide6\plugins\platforms\qoffscreen.dll", "x", "BINARY"),
    (r"PySide6\plugins\platforms\qdirect2d.dll", "x", "BINARY"),
    (r"PySide6\plugins\imageformats\qsvg.dll", "x", "BINARY"),
    (r"PySide6\plugins\imageformats\qpdf.dll", "x", "BINARY"),
    (r"PySide6\plugins\styles\qmodernwindowsstyle.dll", "x", "BINARY"),
    (r"PySide6\plugins\platforminputcontexts\qtvirtualkeyboardplugin.dll", "x", "BINARY"),
    (r"PySide6\opengl32sw.dll", "x", "BINARY"),
    (r"PySide6\Qt6Core.dll", "x", "BINARY"),
]
SAMPLE_WINDOWS_DATAS = [(r"PySide6\translations\qtbase_de.qm", "x", "DATA")]
WINDOWS_KEPT = {
    "qwindows.dll",
    "qoffscreen.dll",
    "qsvg.dll",
    "qmodernwindowsstyle.dll",
    "Qt6Core.dll",
}


def run_spec(monkeypatch, platform: str, binaries=(), datas=()):
    """Execute packaging/desktop_oms.spec as PyInstaller would, on `platform`; return its namespace."""
    calls: dict[str, list] = {"collect_submodules": [], "copy_metadata": []}

    def collect_submodules(package, filter=None):  # noqa: A002 - PyInstaller's signature
        calls["collect_submodules"].append(package)
        names = [
            package,
            f"{package}.cli",
            f"{package}.__main__",
            f"{package}.storage.migrations",
            f"{package}.storage.migrations.env",
            f"{package}.ui.shell.main_window",
        ]
        return [n for n in names if filter is None or filter(n)]

    def copy_metadata(dist):
        calls["copy_metadata"].append(dist)
        return [(f"/site-packages/{dist}.dist-info", f"{dist}.dist-info")]

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules, hooks.copy_metadata = collect_submodules, copy_metadata
    versioninfo = types.ModuleType("PyInstaller.utils.win32.versioninfo")
    for name in (
        "FixedFileInfo",
        "StringFileInfo",
        "StringStruct",
        "StringTable",
        "VarFileInfo",
        "VarStruct",
        "VSVersionInfo",
    ):
        setattr(versioninfo, name, _Recorder)
    for name, module in {
        "PyInstaller": types.ModuleType("PyInstaller"),
        "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
        "PyInstaller.utils.hooks": hooks,
        "PyInstaller.utils.win32": types.ModuleType("PyInstaller.utils.win32"),
        "PyInstaller.utils.win32.versioninfo": versioninfo,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)

    def analysis(*args, **kwargs):
        rec = _Recorder(*args, **kwargs)
        # PyInstaller turns (source, dest folder) into (dest file, source, "DATA") entries
        collected = [(str(Path(d, Path(src).name)), src, "DATA") for src, d in kwargs["datas"]]
        rec.binaries, rec.datas = list(binaries), collected + list(datas)
        return rec

    namespace = {
        "__file__": str(SPEC),
        "__name__": "__main__",
        "SPECPATH": str(SPEC.parent),
        "Analysis": analysis,
        "PYZ": _Recorder,
        "EXE": _Recorder,
        "COLLECT": _Recorder,
    }
    real_platform = sys.platform
    sys.platform = platform  # the spec branches on it; restored at once
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        sys.platform = real_platform
    namespace["_calls"] = calls
    return namespace


@pytest.fixture(params=["linux", "win32"])
def spec(request, monkeypatch):
    extra = (
        (SAMPLE_WINDOWS_BINARIES, SAMPLE_WINDOWS_DATAS) if request.param == "win32" else ((), ())
    )
    return request.param, run_spec(monkeypatch, request.param, *extra)


def test_spec_reads_version_from_pyproject_and_references_existing_files(spec):
    platform, ns = spec
    assert ns["VERSION"] == VERSION
    assert ns["ENTRY"].is_file() and ns["ICON_ICO"].is_file()
    analysis = ns["a"]
    for source, _dest in analysis.kwargs["datas"]:
        if "dist-info" not in source:
            assert Path(source).is_file(), f"spec data file missing: {source}"
    dests = {(Path(s).name, Path(d).as_posix()) for s, d in analysis.kwargs["datas"]}
    # Alembic needs the scripts as files next to storage/database.py; resources/ at the top
    assert ("env.py", "desktop_oms/storage/migrations") in dests
    assert ("script.py.mako", "desktop_oms/storage/migrations") in dests
    for version_script in (ROOT / "desktop_oms/storage/migrations/versions").glob("*.py"):
        assert (version_script.name, "desktop_oms/storage/migrations/versions") in dests
    assert ("instruments_paper.csv", "resources") in dests
    assert ("desktop-oms-256.png", "resources/icons") in dests
    assert not any("__pycache__" in s or s.endswith(".pyc") for s, _ in analysis.kwargs["datas"])
    assert {"desktop-oms", "keyring"} <= set(ns["_calls"]["copy_metadata"])


def test_spec_imports_and_excludes(spec):
    platform, ns = spec
    hidden = set(ns["a"].kwargs["hiddenimports"])
    excludes = set(ns["a"].kwargs["excludes"])
    assert "desktop_oms.cli" in hidden and "desktop_oms.ui.shell.main_window" in hidden
    assert "desktop_oms.__main__" not in hidden, "importing __main__ would start the app"
    assert not any(h.startswith("desktop_oms.storage.migrations.") for h in hidden)
    assert {
        "alembic.op",
        "alembic.context",
        "kiteconnect",
        "keyring.backends.SecretService",
        "keyring.backends.Windows",
        "PySide6.QtOpenGL",
        "PySide6.QtOpenGLWidgets",
    } <= hidden
    assert {
        "PyQt5",
        "PyQt6",
        "PySide2",
        "tkinter",
        "matplotlib",
        "IPython",
        "PySide6.QtWebEngineCore",
        "PySide6.QtQml",
        "PySide6.QtQuick",
        "PySide6.Qt3DCore",
        "PySide6.QtMultimedia",
    } <= excludes
    assert not excludes & {
        "numpy",
        "PySide6.QtCore",
        "PySide6.QtGui",
        "PySide6.QtWidgets",
        "PySide6.QtOpenGL",
        "PySide6.QtSvg",
        "twisted.internet",
        "autobahn",
    }
    if platform == "win32":
        assert "win32ctypes.core" in hidden


def test_spec_executables_per_platform(spec):
    platform, ns = spec
    exes = ns["executables"]
    by_name = {e.kwargs["name"]: e for e in exes}
    if platform == "win32":
        assert set(by_name) == {"desktop-oms", "desktop-oms-cli"}
        assert by_name["desktop-oms"].kwargs["console"] is False
        assert by_name["desktop-oms-cli"].kwargs["console"] is True
        for exe in exes:
            assert Path(exe.kwargs["icon"]).is_file()
            assert exe.kwargs["version"] is not None
            assert ("X utf8_mode=1", None, "OPTION") in exe.args[2]
    else:
        assert set(by_name) == {"desktop-oms"} and by_name["desktop-oms"].kwargs["console"] is True
    for exe in exes:
        assert exe.kwargs["exclude_binaries"] is True, "one-folder build expected"
        assert exe.kwargs["upx"] is False
    assert ns["coll"].kwargs["name"] == "desktop-oms"


def test_spec_trims_qt_with_windows_paths(monkeypatch):
    ns = run_spec(monkeypatch, "win32", SAMPLE_WINDOWS_BINARIES, SAMPLE_WINDOWS_DATAS)
    kept = {
        Path(d.replace("\\", "/")).name
        for d, _s, _k in ns["a"].binaries + ns["a"].datas
        if d.startswith("PySide6")
    }
    assert kept == WINDOWS_KEPT


def test_spec_version_info_numbers(monkeypatch):
    ns = run_spec(monkeypatch, "win32")
    info = ns["windows_version_info"]()
    numbers = info.kwargs["ffi"].kwargs["filevers"]
    assert len(numbers) == 4 and all(isinstance(n, int) for n in numbers)
    assert ".".join(map(str, numbers)).startswith(".".join(re.findall(r"\d+", VERSION)[:3]))


# ------------------------------------------------------------------------------------------
# Windows: Inno Setup script, build script, workflow
# ------------------------------------------------------------------------------------------
def _iss_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        match = re.fullmatch(r"\[(\w+)\]", line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return sections


def _iss_setup(sections) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in sections["Setup"])}


def test_inno_setup_script_is_per_user_with_upgrade_in_place():
    text = ISS.read_text(encoding="utf-8")
    sections = _iss_sections(text)
    setup = _iss_setup(sections)
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"]), (
        "fixed AppId GUID"
    )
    assert setup["PrivilegesRequired"] == "lowest"
    assert "PrivilegesRequiredOverridesAllowed" not in setup, "per-user only: no elevation dialog"
    assert setup["DefaultDirName"].startswith("{autopf}\\"), "per user: %LOCALAPPDATA%\\Programs"
    assert setup["UsePreviousAppDir"] == "yes"
    assert setup["AppVersion"] == "{#AppVersion}", "version comes from build.ps1 (pyproject)"
    assert VERSION not in text, "no hard-coded version in the .iss"
    assert setup["UninstallDisplayIcon"] == "{app}\\{#AppExe}"
    icons = " ".join(sections["Icons"])
    assert "{autoprograms}\\{#AppName}" in icons and "{app}\\{#AppExe}" in icons
    # Upgrades wipe only the program folder's runtime; the data dir is never named.
    assert sections["InstallDelete"] == ['Type: filesandordirs; Name: "{app}\\_internal"']
    assert "UninstallDelete" not in sections
    for forbidden in (
        "{localappdata}",
        "{userappdata}",
        "{userdocs}",
        "desktop-oms\\",
        "{commonappdata}",
    ):
        assert all(
            forbidden not in line
            for name in ("Files", "InstallDelete", "Dirs")
            for line in sections.get(name, [])
        )


def test_inno_setup_paths_are_windows_style_and_exist():
    text = ISS.read_text(encoding="utf-8")
    setup = _iss_setup(_iss_sections(text))
    for key in ("SetupIconFile",):
        value = setup[key]
        assert "/" not in value
        assert (ISS.parent / value.replace("\\", "/")).resolve().is_file(), (
            f"{key}={value} does not exist"
        )
    for define in re.findall(r'#define (?:SourceDir|OutputDir) "([^"]+)"', text):
        assert "/" not in define
    # the default SourceDir matches where build.ps1 puts PyInstaller's output
    assert r"build\windows\pyinstaller\dist\desktop-oms" in text
    assert r'Source: "{#SourceDir}\*"' in text
    out = setup["OutputBaseFilename"].replace("{#AppVersion}", VERSION)
    assert f"desktop-oms-{VERSION}-windows-x64-setup" == out
    assert "desktop-oms-$Version-windows-x64-setup.exe" in BUILD_PS1.read_text(encoding="utf-8")


def test_build_ps1_reads_version_and_uses_windows_paths():
    text = BUILD_PS1.read_text(encoding="utf-8")
    assert "tomllib" in text and "pyproject.toml" in text
    assert VERSION not in text
    assert "--no-default-groups" in text and '--group", "build' in text
    assert "packaging\\desktop_oms.spec" in text and "packaging\\windows\\desktop-oms.iss" in text
    assert "desktop-oms-cli.exe" in text and "--smoke" in text and "offscreen" in text
    # every Windows path literal uses backslashes (forward slashes only in URLs/switches)
    for literal in re.findall(r'"([^"$]*[\\/][^"]*)"', text):
        if literal.startswith(("http", "/")) or "://" in literal:
            continue
        assert "/" not in literal, f"forward slash in a Windows path: {literal}"


def test_windows_workflow_builds_smokes_and_uploads():
    text = WORKFLOW.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:  # the dev venv need not have PyYAML: fall back to text checks
        yaml = None
    if yaml is not None:
        job = next(iter(yaml.safe_load(text)["jobs"].values()))
        assert str(job["runs-on"]).startswith("windows")
        runs = "\n".join(step.get("run", "") for step in job["steps"])
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("actions/setup-python") for u in uses)
        assert any(u.startswith("astral-sh/setup-uv") for u in uses)
        assert any(u.startswith("actions/upload-artifact") for u in uses)
    else:
        runs = text
        assert "runs-on: windows" in text and "actions/upload-artifact" in text
    assert 'python-version: "3.11"' in text
    assert "./packaging/windows/build.ps1" in runs
    assert "innosetup" in runs
    assert "QT_QPA_PLATFORM: offscreen" in text
    assert 'desktop-oms.exe" -ArgumentList "--smoke"' in runs
    assert "dist/desktop-oms-*-windows-x64-setup.exe" in text


# ------------------------------------------------------------------------------------------
# Linux: build script, control template, desktop entry
# ------------------------------------------------------------------------------------------
def test_build_sh_syntax_and_single_version_source():
    text = BUILD_SH.read_text(encoding="utf-8")
    assert VERSION not in text
    assert "pyproject.toml" in text and "tomllib" in text
    assert "uv sync --no-default-groups --group build" in text
    assert "dpkg-deb --root-owner-group" in text
    if os.name == "posix":
        assert os.access(BUILD_SH, os.X_OK), "packaging/linux/build.sh must be executable"
    bash = shutil.which("bash")
    if bash:
        subprocess.run([bash, "-n", str(BUILD_SH)], check=True)


def test_control_template_declares_qt_system_libraries():
    fields = dict(
        line.split(": ", 1)
        for line in CONTROL.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(" ")
    )
    assert fields["Package"] == "desktop-oms"
    assert fields["Version"] == "@VERSION@" and fields["Installed-Size"] == "@INSTALLED_SIZE@"
    depends = {
        alt.strip().split(" ")[0] for dep in fields["Depends"].split(",") for alt in dep.split("|")
    }
    assert {
        "libxkbcommon-x11-0",
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxcb-shape0",
        "libxcb-render-util0",
        "libxcb-image0",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libdbus-1-3",
        "libglib2.0-0",
        "libstdc++6",
    } <= depends


def test_desktop_entry():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "desktop-oms" and entry["Icon"] == "desktop-oms"
    assert entry["Terminal"] == "false" and entry["Categories"].endswith(";")
    validate = shutil.which("desktop-file-validate")
    if validate:
        subprocess.run([validate, str(DESKTOP)], check=True)


# ------------------------------------------------------------------------------------------
# Icons
# ------------------------------------------------------------------------------------------
def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_icons_svg_png_and_ico():
    svg = (ICONS / "desktop-oms.svg").read_text(encoding="utf-8")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.get("viewBox")
    for size in ICON_SIZES:
        assert _png_size(ICONS / f"desktop-oms-{size}.png") == (size, size)
    ico = (ICONS / "desktop-oms.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for i in range(count):
        width, height, _c, _r, _planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i]
        )
        assert bits == 32 and offset + length <= len(ico)
        sizes.add(width or 256)
    assert {16, 24, 32, 48, 256} <= sizes


# ------------------------------------------------------------------------------------------
# The app's own code on Windows
# ------------------------------------------------------------------------------------------
POSIX_ONLY_CALLS = {
    "os.chmod",
    "os.fchmod",
    "os.lchmod",
    "os.chown",
    "os.fchown",
    "os.lchown",
    "os.geteuid",
    "os.getuid",
    "os.getgid",
    "os.getegid",
    "os.getgroups",
    "os.setuid",
    "os.setgid",
    "os.getpgid",
    "os.setpgid",
    "os.setsid",
    "os.killpg",
    "os.fork",
    "os.forkpty",
    "os.mkfifo",
    "os.mknod",
    "os.statvfs",
    "os.sync",
    "os.getloadavg",
    "os.uname",
    "os.pipe2",
    "os.posix_fadvise",
    "os.fdatasync",
    "os.symlink",
    "signal.alarm",
    "signal.setitimer",
    "signal.pause",
    "signal.sigwait",
    "signal.pthread_kill",
    "signal.pthread_sigmask",
    "signal.siginterrupt",
}
POSIX_ONLY_NAMES = {
    "signal.SIGKILL",
    "signal.SIGHUP",
    "signal.SIGQUIT",
    "signal.SIGUSR1",
    "signal.SIGUSR2",
    "signal.SIGALRM",
    "signal.SIGCHLD",
    "signal.SIGPIPE",
    "signal.SIGSTOP",
    "signal.SIGCONT",
    "os.O_NOFOLLOW",
    "os.O_DIRECTORY",
    "os.O_CLOEXEC",
    "os.O_SYNC",
    "os.O_DSYNC",
    "os.O_NONBLOCK",
    "socket.AF_UNIX",
}
# asyncio loop methods that raise NotImplementedError on Windows' proactor (and qasync's) loops
POSIX_ONLY_METHODS = {"add_signal_handler", "remove_signal_handler", "add_reader", "add_writer"}
POSIX_ONLY_MODULES = {
    "fcntl",
    "pwd",
    "grp",
    "termios",
    "tty",
    "pty",
    "resource",
    "posix",
    "syslog",
    "crypt",
    "curses",
}
POSIX_PATH_LITERAL = re.compile(r"^(/tmp|/var|/etc|/dev|/proc|/run|/home|/usr|/opt)(/|$)|^~/\.")
PLATFORM_TEST = re.compile(
    r"sys\.platform|os\.name|platform\.system|hasattr\((os|signal|socket)|IS_WIN|is_windows|WINDOWS|POSIX",
    re.I,
)
GUARD_EXCEPTIONS = {
    "ImportError",
    "ModuleNotFoundError",
    "AttributeError",
    "NotImplementedError",
    "OSError",
    "Exception",
}


def _dotted(node) -> str | None:
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Name):
        return node.id
    return None


def _is_platform_test(node) -> bool:
    return bool(PLATFORM_TEST.search(ast.unparse(node)))


def _guarded(node, parents) -> bool:
    child = node
    while child in parents:
        parent = parents[child]
        if isinstance(parent, (ast.If, ast.IfExp, ast.While)) and _is_platform_test(parent.test):
            return True
        if isinstance(parent, ast.BoolOp) and any(
            _is_platform_test(v) for v in parent.values if v is not child
        ):
            return True
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                caught = (
                    {
                        (_dotted(t) or "")
                        for t in (
                            handler.type.elts
                            if isinstance(handler.type, ast.Tuple)
                            else [handler.type]
                        )
                    }
                    if handler.type
                    else {"Exception"}
                )
                if {c.rsplit(".", 1)[-1] for c in caught} & GUARD_EXCEPTIONS:
                    return True
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # an early `if <not this platform>: return` before the statement guards the rest
            for stmt in parent.body:
                if stmt is child:
                    break
                if (
                    isinstance(stmt, ast.If)
                    and _is_platform_test(stmt.test)
                    and any(isinstance(s, (ast.Return, ast.Raise)) for s in stmt.body)
                ):
                    return True
        child = parent
    return False


def scan_posix_only(package: Path) -> list[str]:
    violations = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        rel = path.relative_to(package.parent).as_posix()
        for node in ast.walk(tree):
            found = None
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in POSIX_ONLY_CALLS:
                    found = f"{name}()"
                elif isinstance(node.func, ast.Attribute) and node.func.attr in POSIX_ONLY_METHODS:
                    found = f".{node.func.attr}()"
            elif isinstance(node, ast.Attribute) and _dotted(node) in POSIX_ONLY_NAMES:
                found = _dotted(node)
            elif isinstance(node, ast.Import):
                hits = [a.name for a in node.names if a.name.split(".")[0] in POSIX_ONLY_MODULES]
                found = f"import {', '.join(hits)}" if hits else None
            elif (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in POSIX_ONLY_MODULES
            ):
                found = f"from {node.module} import"
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and POSIX_PATH_LITERAL.search(node.value)
            ):
                parent = parents.get(node)
                is_docstring = isinstance(parent, ast.Expr)
                found = None if is_docstring else f"hard-coded POSIX path {node.value!r}"
            if found and not _guarded(node, parents):
                violations.append((rel, node.lineno, node.col_offset, found))
    return [f"{rel}:{line}: {what}" for rel, line, _col, what in sorted(violations)]


def test_scanner_catches_unguarded_and_accepts_guarded(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "bad.py").write_text(
        "import os, signal\nimport fcntl\n"
        "def f(p):\n    os.chmod(p, 0o600)\n    os.kill(1, signal.SIGKILL)\n    return '/tmp/x'\n",
        encoding="utf-8",
    )
    (pkg / "good.py").write_text(
        "import os, sys, signal\n"
        "try:\n    import fcntl\nexcept ImportError:\n    fcntl = None\n"
        "def f(p):\n    if sys.platform != 'win32':\n        os.chmod(p, 0o600)\n"
        "def g(fd):\n    if os.name != 'posix':\n        return\n    os.fsync(fd)\n    os.chown(fd, 0, 0)\n"
        "sig = signal.SIGKILL if hasattr(signal, 'SIGKILL') else signal.SIGTERM\n",
        encoding="utf-8",
    )
    found = scan_posix_only(pkg)
    assert [v.split(": ", 1)[1] for v in found] == [
        "import fcntl",
        "os.chmod()",
        "signal.SIGKILL",
        "hard-coded POSIX path '/tmp/x'",
    ], found


def test_app_code_has_no_unguarded_posix_only_calls():
    violations = scan_posix_only(ROOT / "desktop_oms")
    assert not violations, (
        "POSIX-only calls on code paths that Windows runs (guard them with "
        '`if sys.platform != "win32"` or handle per platform):\n  ' + "\n  ".join(violations)
    )


# ------------------------------------------------------------------------------------------
# The frozen entry point, run from source (its packaging check is what the builds run)
# ------------------------------------------------------------------------------------------
def test_entry_point_packaging_check_runs_from_source(tmp_path):
    env = dict(os.environ, DESKTOP_OMS_PACKAGING_CHECK="1", QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, str(PACKAGING / "entry.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "packaging check ok"


# ------------------------------------------------------------------------------------------
# Slow: build (if needed) and run the .deb's frozen binary
# ------------------------------------------------------------------------------------------
def _deb_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def built_deb() -> Path:
    if sys.platform != "linux":
        pytest.skip("the .deb is built and tested on Linux")
    if not shutil.which("dpkg-deb") or not shutil.which("dpkg"):
        pytest.skip("dpkg-deb not found: the .deb can only be built and unpacked on Debian/Ubuntu")
    deb = ROOT / "dist" / f"desktop-oms_{VERSION}_{_deb_arch()}.deb"
    if not deb.exists() or os.environ.get("DESKTOP_OMS_REBUILD") == "1":
        if not shutil.which("uv") or not shutil.which("objdump"):
            pytest.skip("building the .deb needs uv and objdump (binutils)")
        proc = subprocess.run(
            ["bash", str(BUILD_SH)], cwd=ROOT, capture_output=True, text=True, timeout=3600
        )
        assert proc.returncode == 0, (
            f"build.sh failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
        )
    assert deb.exists()
    return deb


def _run_frozen(
    binary: Path, *args: str, home: Path, extra_env=None
) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "LD_"))
    }
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        **(extra_env or {}),
    )
    return subprocess.run(
        [str(binary), *args], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_deb_contents_and_frozen_binary(built_deb, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built_deb), str(root)], check=True)
    fields = {
        f: subprocess.run(
            ["dpkg-deb", "-f", str(built_deb), f], capture_output=True, text=True, check=True
        ).stdout.strip()
        for f in ("Package", "Version", "Depends", "Installed-Size")
    }
    assert fields["Package"] == "desktop-oms" and fields["Version"] == VERSION
    assert "libxcb-cursor0" in fields["Depends"] and "libxkbcommon-x11-0" in fields["Depends"]
    assert int(fields["Installed-Size"]) < 200 * 1024, (
        f"installed size {fields['Installed-Size']} KiB"
    )

    binary = root / "opt" / "desktop-oms" / "desktop-oms"
    assert os.access(binary, os.X_OK)
    launcher = (root / "usr" / "bin" / "desktop-oms").read_text(encoding="utf-8")
    assert "exec /opt/desktop-oms/desktop-oms" in launcher
    assert (root / "usr/share/applications/desktop-oms.desktop").is_file()
    for size in ICON_SIZES:
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/desktop-oms.png").is_file()
    assert (root / "usr/share/icons/hicolor/scalable/apps/desktop-oms.svg").is_file()
    assert not list((root / "opt/desktop-oms").rglob("translations/*.qm")), (
        "Qt translations were meant to be trimmed"
    )

    home = tmp_path / "home"
    home.mkdir()
    version = _run_frozen(binary, "--version", home=home)
    assert version.returncode == 0 and version.stdout.strip() == f"desktop-oms {VERSION}", version

    check = _run_frozen(binary, home=home, extra_env={"DESKTOP_OMS_PACKAGING_CHECK": "1"})
    assert check.returncode == 0, check.stdout + check.stderr

    smoke = _run_frozen(binary, "--smoke", home=home)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert smoke.stdout.startswith("smoke ok"), smoke.stdout
    assert not (home / "data").exists(), "--smoke must not write into the user's data directory"


@pytest.mark.slow
def test_tarball_is_the_same_app(built_deb, tmp_path):
    machine = os.uname().machine
    tarball = ROOT / "dist" / f"desktop-oms-{VERSION}-linux-{machine}.tar.gz"
    assert tarball.exists(), "build.sh makes the tarball next to the .deb"
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path, filter="tar")
    top = tmp_path / f"desktop-oms-{VERSION}-linux-{machine}"
    assert (top / "share/applications/desktop-oms.desktop").is_file()
    result = _run_frozen(top / "desktop-oms", "--version", home=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"desktop-oms {VERSION}"
