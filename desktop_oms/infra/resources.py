"""Locate bundled resource files (source tree, installed wheel, or PyInstaller bundle)."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen:
        candidates.append(Path(frozen) / "resources")
    package = Path(__file__).resolve().parent.parent  # desktop_oms/
    # the source tree (resources/ beside the package), or a wheel (desktop_oms/_resources)
    candidates += [package.parent / "resources", package / "_resources"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "bundled resources folder not found (looked in: " + ", ".join(map(str, candidates)) + ")"
    )


def resource_path(name: str) -> Path:
    path = resources_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"bundled resource {name!r} is missing ({path})")
    return path
