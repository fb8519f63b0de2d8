"""End-to-end fixtures: a real X server per screen size (Xvfb + openbox), the real app in a
child process on it, driven by real X input (xdotool).

Without Xvfb / xdotool / openbox / Qt's xcb libraries these tests skip, saying what to
install; under CI (CI=true) that is a failure instead: CI must prove the trader's path.

On a failure the test's screen is saved as `failure.png` next to the child's log in the
test's temporary directory, and both paths are printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.harness import OmsProcess
from tests.e2e.xserver import XServer, what_is_missing

IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")

DESKTOP = (1920, 1080)  # the trader's Linux desktop
LAPTOP = (1366, 768)  # the most common laptop screen


@pytest.fixture(scope="session")
def _e2e_possible() -> None:
    problem = what_is_missing()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true: the end-to-end tests must run, but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def xservers(_e2e_possible, tmp_path_factory):
    """xservers(width, height) -> a running XServer of that size (one per size, shared)."""
    servers: dict[tuple[int, int], XServer] = {}
    logs = tmp_path_factory.mktemp("xservers")

    def get(width: int, height: int) -> XServer:
        server = servers.get((width, height))
        if server is None or not server.alive():
            if server is not None:
                server.stop()
            server = XServer(width, height, log_path=logs / f"x-{width}x{height}.log").start()
            servers[(width, height)] = server
        return server

    yield get
    for server in servers.values():
        server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def launch(xservers, tmp_path, request):
    """launch(size=DESKTOP, env=None, data_dir=None) -> the app started on an X screen of
    that size (maximised, focused). Every app still running at the end is stopped (and
    must exit cleanly)."""
    started: list[OmsProcess] = []

    def start(
        size: tuple[int, int] = DESKTOP,
        *,
        env: dict[str, str] | None = None,
        data_dir: Path | None = None,
        fill_screen: bool = True,
    ) -> OmsProcess:
        oms = OmsProcess(
            xservers(*size),
            data_dir or tmp_path / "data",
            tmp_path / "work",
            env=env,
            fill_screen=fill_screen,
        )
        started.append(oms)
        return oms.start()

    yield start
    failed = getattr(request.node, "e2e_failed", False)
    problems = []
    for oms in started:
        if not oms.running:
            continue
        if failed:
            try:
                shot = tmp_path / f"failure-{started.index(oms)}.png"
                oms.screenshot(shot)
                print(f"\n[e2e] screen at the failure: {shot}")
            except Exception as exc:  # noqa: BLE001 - a diagnostic only
                print(f"\n[e2e] no screenshot: {exc}")
            print(f"[e2e] the app's log: {oms.log_path}\n{oms.log_tail(40)}")
        try:
            code = oms.stop()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"the app did not stop: {exc}")
            continue
        if code != 0:
            problems.append(f"the app exited with {code}:\n{oms.log_tail()}")
    if problems and not failed:
        pytest.fail("\n".join(problems), pytrace=False)
