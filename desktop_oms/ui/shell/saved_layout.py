"""Remembering the window between runs: geometry, docks, table columns, a few choices.

Stored with QSettings in IniFormat at `Settings.ui_state_path` (window.ini in the data
dir), so each data directory has its own layout and nothing goes to the registry. A
file from another layout version, or an unreadable one, is ignored (defaults are used),
never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QHeaderView, QMainWindow

log = logging.getLogger(__name__)

LAYOUT_VERSION = 4  # bump when docks are added/renamed: old states are then ignored


def _settings(path: Path | str) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def _bytes(value: object) -> QByteArray | None:
    if isinstance(value, QByteArray):
        return value if not value.isEmpty() else None
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None


def save_layout(
    window: QMainWindow,
    path: Path | str,
    headers: Mapping[str, QHeaderView],
    values: Mapping[str, object] | None = None,
) -> None:
    """Write geometry, dock state, header states and `values` (simple strings/ints)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    s = _settings(path)
    s.setValue("layout/version", LAYOUT_VERSION)
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState(LAYOUT_VERSION))
    for name, header in headers.items():
        s.setValue(f"headers/{name}", header.saveState())
    for key, value in (values or {}).items():
        s.setValue(f"values/{key}", value)
    s.sync()
    if s.status() != QSettings.Status.NoError:
        raise OSError(f"could not write the window layout to {path} ({s.status().name})")


def restore_layout(
    window: QMainWindow,
    path: Path | str,
    headers: Mapping[str, QHeaderView],
    *,
    docks_first: bool = False,
) -> bool:
    """Restore what `save_layout` wrote; False (and nothing changed) if there is nothing
    usable.

    The geometry goes first by default: a maximized window's dock sizes then fit the
    maximized size (Qt re-applies them once the window has it). `docks_first` restores
    the docks before the geometry: sizes are then scaled to the final size, and the
    docks can be re-arranged at once after the window is shown."""
    if not Path(path).exists():
        return False
    s = _settings(path)
    if s.status() != QSettings.Status.NoError:
        log.warning("window layout %s is unreadable; using the default layout", path)
        return False
    try:
        version = int(s.value("layout/version", 0))
    except (TypeError, ValueError):
        version = 0
    if version != LAYOUT_VERSION:
        log.info("window layout %s is from another version; using the default layout", path)
        return False
    restored = False
    geometry = _bytes(s.value("window/geometry"))
    state = _bytes(s.value("window/state"))
    if state is not None and docks_first:
        restored |= bool(window.restoreState(state, LAYOUT_VERSION))
    if geometry is not None:
        restored |= bool(window.restoreGeometry(geometry))
    if state is not None and not docks_first:
        restored |= bool(window.restoreState(state, LAYOUT_VERSION))
    for name, header in headers.items():
        saved = _bytes(s.value(f"headers/{name}"))
        if saved is not None:
            restored |= bool(header.restoreState(saved))
    return restored


def saved_values(path: Path | str) -> dict[str, str]:
    """The `values` saved with the layout (as strings)."""
    if not Path(path).exists():
        return {}
    s = _settings(path)
    s.beginGroup("values")
    try:
        return {key: str(s.value(key)) for key in s.childKeys()}
    finally:
        s.endGroup()
