"""The Kite login dialog against the local Kite server (real token exchange)."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
from PySide6.QtCore import Qt

from desktop_oms.brokers.kite.credentials import CredentialStore
from desktop_oms.ui.login.dialog import KiteLoginDialog
from tests.helpers import MemoryKeyring
from tests.kite_server import KiteTestServer


@pytest.fixture
def server():
    with KiteTestServer() as s:
        yield s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dialog(qtbot, server, **kw):
    store = CredentialStore(backend=MemoryKeyring())
    dialog = KiteLoginDialog(
        server.api_key, "Your Kite session expired", credentials=store, root=server.root, **kw
    )
    qtbot.addWidget(dialog)
    results = []
    dialog.loginFinished.connect(results.append)
    return dialog, store, results


def test_pasted_redirect_creates_a_session(server, qtbot, qloop):
    dialog, store, results = _dialog(qtbot, server)
    dialog.api_secret.setText(server.api_secret)
    dialog.pasted.setText(
        f"http://127.0.0.1:5010/?action=login&status=success&request_token={server.new_request_token()}"
    )
    qtbot.mouseClick(dialog.use_pasted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    login = results[0]
    assert login.api_key == server.api_key and login.access_token in server.access_tokens
    assert store.get_api_secret(server.api_key) == server.api_secret
    assert "***" in repr(login) and login.access_token not in repr(login)


def test_browser_login_is_caught_on_loopback(server, qtbot, qloop):
    port = _free_port()
    request_token = server.new_request_token()

    def browser(url):
        assert "api_key=" + server.api_key in url
        redirect = f"http://127.0.0.1:{port}/?status=success&request_token={request_token}"
        threading.Thread(
            target=lambda: urllib.request.urlopen(redirect, timeout=5).read(), daemon=True
        ).start()

    dialog, _store, results = _dialog(qtbot, server, redirect_port=port, open_browser=browser)
    dialog.api_secret.setText(server.api_secret)
    qtbot.mouseClick(dialog.browser_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results[0].access_token in server.access_tokens


def test_missing_secret_and_bad_address_are_explained(server, qtbot, qloop):
    dialog, _store, results = _dialog(qtbot, server)
    qtbot.mouseClick(dialog.use_pasted, Qt.MouseButton.LeftButton)
    assert "API secret" in dialog.status.text()
    dialog.api_secret.setText(server.api_secret)
    dialog.pasted.setText("http://127.0.0.1:5010/?status=cancelled")
    qtbot.mouseClick(dialog.use_pasted, Qt.MouseButton.LeftButton)
    assert "log in again" in dialog.status.text().lower()
    assert results == []


def test_wrong_secret_shows_the_reason_and_keeps_the_dialog(server, qtbot, qloop):
    dialog, store, results = _dialog(qtbot, server)
    dialog.api_secret.setText("not-the-secret")
    dialog.pasted.setText(server.new_request_token())
    qtbot.mouseClick(dialog.use_pasted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.status.property("error") and "Creating" not in dialog.status.text(),
        timeout=5000,
    )
    assert results == [] and store.get_api_secret(server.api_key) is None


def test_cancel_reports_no_login(server, qtbot, qloop):
    dialog, _store, results = _dialog(qtbot, server)
    dialog.open()
    dialog.reject()
    assert results == [None]
