"""The app shortens the GIL's switch interval while it runs (a worker thread running Python
must not hold up the event loop for 5 ms at each of its SQLite steps) and gives the
interpreter's own value back when it stops."""

from __future__ import annotations

import sys

from desktop_oms.app import Application
from desktop_oms.app.application import GIL_SWITCH_INTERVAL_S
from desktop_oms.config import Settings


async def test_the_switch_interval_is_short_while_the_app_runs_and_restored_after(tmp_path):
    before = sys.getswitchinterval()
    assert before != GIL_SWITCH_INTERVAL_S  # else the test proves nothing
    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    await app.start()
    try:
        assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL_S
    finally:
        await app.stop()
    assert sys.getswitchinterval() == before


async def test_a_start_that_fails_restores_it_too(tmp_path):
    before = sys.getswitchinterval()
    data = tmp_path / "file-not-folder"
    data.write_text("x")
    app = Application(
        Settings(data_dir=data, broker="paper", simulate_market=False), with_window=False
    )
    try:
        await app.start()
    except Exception:  # noqa: BLE001 - the data folder is a file: the start fails
        pass
    assert sys.getswitchinterval() == before


async def test_a_start_that_fails_after_the_journal_opened_restores_it(tmp_path, monkeypatch):
    before = sys.getswitchinterval()
    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    seen = []

    async def broken_core():
        seen.append(sys.getswitchinterval())
        raise RuntimeError("core failed")

    monkeypatch.setattr(app, "_start_core", broken_core)
    try:
        await app.start()
    except RuntimeError:
        pass
    assert seen == [GIL_SWITCH_INTERVAL_S] and sys.getswitchinterval() == before
