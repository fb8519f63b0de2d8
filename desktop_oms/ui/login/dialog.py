"""Kite login dialog: API key and secret, browser login caught on 127.0.0.1, or a pasted
redirect address. Non-modal (open() + a future), safe on the qasync loop."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.brokers.kite.factory import KiteLogin
from desktop_oms.brokers.kite.login import (
    LoginError,
    RedirectCatcher,
    generate_session,
    login_url,
    parse_redirect_url,
)

log = logging.getLogger(__name__)


class KiteLoginDialog(QDialog):
    """Emits `loginFinished(KiteLogin | None)` once; never blocks the loop."""

    loginFinished = Signal(object)

    def __init__(
        self,
        api_key: str | None,
        reason: str,
        *,
        credentials,
        root: str | None = None,
        redirect_port: int = 5010,
        open_browser=None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kiteLoginDialog")
        self.setWindowTitle("Log in to Kite")
        self.setModal(False)
        self._credentials = credentials
        self._root = root
        self._port = redirect_port
        self._open_browser = open_browser or (lambda url: QDesktopServices.openUrl(QUrl(url)))
        self._task: asyncio.Task | None = None
        self._catcher: RedirectCatcher | None = None
        self._done = False

        self.reason = QLabel(reason or "Log in to Kite to start trading.")
        self.reason.setWordWrap(True)
        self.api_key = QLineEdit(api_key or "")
        self.api_key.setObjectName("loginApiKey")
        self.api_secret = QLineEdit(credentials.get_api_secret(api_key) or "" if api_key else "")
        self.api_secret.setObjectName("loginApiSecret")
        self.api_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.pasted = QLineEdit()
        self.pasted.setObjectName("loginRedirectUrl")
        self.pasted.setPlaceholderText("…or paste the address Kite redirected to")
        self.status = QLabel("")
        self.status.setObjectName("loginStatus")
        self.status.setWordWrap(True)
        self.browser_button = QPushButton("Log in with browser")
        self.browser_button.setObjectName("loginBrowserButton")
        self.use_pasted = QPushButton("Use address")
        self.use_pasted.setObjectName("loginUsePasted")
        form = QFormLayout()
        form.addRow("API key", self.api_key)
        form.addRow("API secret", self.api_secret)
        paste_row = QHBoxLayout()
        paste_row.addWidget(self.pasted, 1)
        paste_row.addWidget(self.use_pasted)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason)
        layout.addLayout(form)
        layout.addWidget(self.browser_button)
        layout.addLayout(paste_row)
        note = QLabel(
            f"The app's redirect URL registered with Kite must be http://127.0.0.1:{redirect_port}/ . "
            + (
                "The secret and token are kept in the system keyring."
                if credentials.persistent
                else "No system keyring here: the secret and token are kept for this session only."
            )
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.browser_button.clicked.connect(self._login_with_browser)
        self.use_pasted.clicked.connect(self._login_with_pasted)
        buttons.rejected.connect(self.reject)
        self.rejected.connect(lambda: self._finish(None))

    # ------------------------------------------------------------------ actions
    def _fields(self) -> tuple[str, str] | None:
        key, secret = self.api_key.text().strip(), self.api_secret.text().strip()
        if not key or not secret:
            self._say("Enter the API key and API secret of your Kite Connect app.", error=True)
            return None
        return key, secret

    def _login_with_browser(self) -> None:
        fields = self._fields()
        if fields is None or self._busy():
            return
        self._task = asyncio.ensure_future(self._browser_flow(*fields))
        self._task.add_done_callback(self._task_done)

    def _login_with_pasted(self) -> None:
        fields = self._fields()
        if fields is None or self._busy():
            return
        try:
            request_token = parse_redirect_url(self.pasted.text())
        except LoginError as exc:
            self._say(str(exc), error=True)
            return
        self._task = asyncio.ensure_future(self._exchange(*fields, request_token))
        self._task.add_done_callback(self._task_done)

    def _busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _browser_flow(self, api_key: str, api_secret: str) -> None:
        self._catcher = RedirectCatcher(port=self._port)
        await self._catcher.start()
        self._open_browser(login_url(api_key))
        self._say("Waiting for the Kite login in your browser…")
        request_token = await self._catcher.wait(timeout=300)
        await self._exchange(api_key, api_secret, request_token)

    async def _exchange(self, api_key: str, api_secret: str, request_token: str) -> None:
        self._say("Creating the session…")
        session = await generate_session(api_key, api_secret, request_token, root=self._root)
        self._credentials.set_api_secret(api_key, api_secret)
        self._finish(KiteLogin(api_key, session.access_token, session.expires_at))
        self.accept()

    def _task_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.warning("Kite login failed: %s", exc)
            self._say(
                str(exc) if isinstance(exc, LoginError) else f"Login failed: {exc}", error=True
            )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.setStyleSheet("color: #e06c75;" if error else "")

    def _finish(self, result: KiteLogin | None) -> None:
        if self._done:
            return
        self._done = True
        if self._catcher is not None:
            asyncio.ensure_future(self._catcher.close())
        if self._task is not None and not self._task.done() and result is None:
            self._task.cancel()
        self.loginFinished.emit(result)


def make_login(settings, credentials, parent=None):
    """The Application's `login` callback: shows the dialog and waits for it (non-modal)."""

    async def login(api_key: str | None, reason: str) -> KiteLogin | None:
        loop = asyncio.get_running_loop()
        result: asyncio.Future = loop.create_future()
        owner = parent() if callable(parent) else parent
        dialog = KiteLoginDialog(
            api_key,
            reason,
            credentials=credentials,
            root=settings.kite_root,
            redirect_port=settings.kite_redirect_port,
            parent=owner,
        )
        dialog.loginFinished.connect(lambda r: result.done() or result.set_result(r))
        dialog.open()
        try:
            return await result
        finally:
            dialog.deleteLater()

    return login
