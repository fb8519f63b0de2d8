"""Zerodha's kiteconnect-mocks (see PROVENANCE.txt), copied so the tests run anywhere.

`KITE_MOCKS_DIR` may point at another copy (e.g. ../shared/fixtures/kiteconnect-mocks).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def mocks_dir() -> Path:
    override = os.environ.get("KITE_MOCKS_DIR")
    return Path(override) if override else _HERE


def mock_path(name: str) -> Path:
    return mocks_dir() / name


def load_mock(name: str) -> dict:
    """A JSON mock, whole envelope ({"status": "success", "data": ...})."""
    return json.loads(mock_path(name).read_text())


def mock_data(name: str):
    return load_mock(name)["data"]
