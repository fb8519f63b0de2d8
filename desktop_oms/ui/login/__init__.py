"""The Kite login dialog: the browser login, the redirect caught on localhost (or pasted),
the token exchanged off the GUI thread.

Entry point: `make_login(settings, credentials, parent)` -> an async `login(api_key,
reason)` for the application (gui_runner); `KiteLoginDialog` (dialog.py).
"""

from desktop_oms.ui.login.dialog import KiteLoginDialog, make_login

__all__ = ["KiteLoginDialog", "make_login"]
