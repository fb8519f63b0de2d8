"""The non-UI half of the Kite login: URL, redirect catcher, token exchange, expiry.

Flow (the Qt dialog drives it):

    catcher = RedirectCatcher(port=settings.kite_redirect_port)   # 127.0.0.1 only
    await catcher.start()            # its redirect_url must be the app's registered redirect URL
    webbrowser.open(login_url(api_key))
    request_token = await catcher.wait(timeout=300)   # or parse_redirect_url(pasted_text)
    session = await generate_session(api_key, api_secret, request_token)
    credentials.set_access_token(api_key, session.access_token, session.expires_at)

Kite access tokens expire at 06:00 IST the next day (and on logout); `token_expiry()`
computes that instant so the app can ask for a new login before the first 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from desktop_oms.brokers.kite.mapping import IST, parse_timestamp

log = logging.getLogger(__name__)

__all__ = [
    "KITE_LOGIN_URL",
    "KiteSession",
    "LoginError",
    "LoginTimeout",
    "RedirectCatcher",
    "generate_session",
    "is_token_expired",
    "login_url",
    "parse_redirect_url",
    "token_expiry",
]

KITE_LOGIN_URL = "https://kite.zerodha.com/connect/login"
_TOKEN = re.compile(r"^[A-Za-z0-9]{6,128}$")
_EXPIRY_HOUR = 6


class LoginError(Exception):
    """The login did not produce a usable session (message is shown to the trader)."""


class LoginTimeout(LoginError):
    """No redirect arrived in time."""


def login_url(api_key: str, *, redirect_params: Mapping[str, str] | None = None) -> str:
    """Kite's login page for this app (`redirect_params` come back on the redirect)."""
    if not api_key:
        raise ValueError("an API key is required")
    url = f"{KITE_LOGIN_URL}?{urlencode({'api_key': api_key, 'v': '3'})}"
    if redirect_params:
        url += "&redirect_params=" + quote(urlencode(dict(redirect_params)), safe="")
    return url


def parse_redirect_url(text: str) -> str:
    """The request_token from a pasted redirect URL (or a bare token). Raises LoginError."""
    value = (text or "").strip()
    if not value:
        raise LoginError("Paste the address Kite redirected to after the login.")
    if _TOKEN.match(value):
        return value
    query = value.split("?", 1)[1] if "?" in value else value
    params = parse_qs(query.split("#", 1)[0])
    status = (params.get("status") or [""])[0]
    if status and status.lower() != "success":
        raise LoginError(f"Kite reported the login as '{status}'; please log in again.")
    token = (params.get("request_token") or [""])[0].strip()
    if not token:
        raise LoginError(
            "That address holds no request_token: copy the full address Kite redirected to."
        )
    if not _TOKEN.match(token):
        raise LoginError("The request_token in that address is not valid.")
    return token


def token_expiry(login_time: datetime | None = None, *, now: datetime | None = None) -> datetime:
    """06:00 IST after `login_time` (or now): when Kite invalidates the access token."""
    moment = login_time or now or datetime.now(IST)
    moment = moment.replace(tzinfo=IST) if moment.tzinfo is None else moment.astimezone(IST)
    expiry = moment.replace(hour=_EXPIRY_HOUR, minute=0, second=0, microsecond=0)
    if expiry <= moment:
        expiry += timedelta(days=1)
    return expiry


def is_token_expired(expires_at: datetime | None, *, now: datetime | None = None) -> bool:
    if expires_at is None:
        return False
    current = now or datetime.now(IST)
    return current >= expires_at


@dataclass(frozen=True, slots=True)
class KiteSession:
    api_key: str
    access_token: str = field(repr=False)
    user_id: str | None
    user_name: str | None
    login_time: datetime | None
    expires_at: datetime
    public_token: str | None = field(default=None, repr=False)


async def generate_session(
    api_key: str,
    api_secret: str,
    request_token: str,
    *,
    root: str | None = None,
    timeout: float = 7,
    executor: Executor | None = None,
    now: datetime | None = None,
) -> KiteSession:
    """Exchange the request_token for an access token (KiteConnect.generate_session, off-loop)."""
    from kiteconnect import KiteConnect
    from kiteconnect import exceptions as kex

    from desktop_oms.infra.redaction import register_secret

    register_secret(api_secret)
    register_secret(request_token)
    if not api_secret:
        raise LoginError("The Kite API secret is missing.")

    def exchange() -> dict:
        kite = KiteConnect(api_key, root=root, timeout=timeout)
        try:
            return kite.generate_session(request_token, api_secret=api_secret)
        finally:
            kite.reqsession.close()

    loop = asyncio.get_running_loop()
    # Never the loop's default executor: under qasync that is a QThreadExecutor whose
    # threads abort the process if still alive at exit.
    own = executor is None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kite-login") if own else executor
    try:
        data = await loop.run_in_executor(pool, exchange)
    except kex.KiteException as exc:
        if isinstance(exc, kex.TokenException | kex.InputException):
            raise LoginError(
                f"Kite refused the login ({exc}). A request token works once and only for a "
                "few minutes, and the API secret must belong to this API key: log in again."
            ) from exc
        raise LoginError(f"Kite could not complete the login: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - requests errors, malformed answers
        raise LoginError(
            f"Kite could not be reached to complete the login ({type(exc).__name__})."
        ) from exc
    finally:
        if own:
            pool.shutdown(wait=False)
    if not isinstance(data, Mapping) or not data.get("access_token"):
        raise LoginError("Kite's login answer held no access token.")
    access_token = str(data["access_token"])
    register_secret(access_token)
    if data.get("public_token"):
        register_secret(str(data["public_token"]))
    login_time = parse_timestamp(data.get("login_time"))
    return KiteSession(
        api_key=api_key,
        access_token=access_token,
        user_id=data.get("user_id"),
        user_name=data.get("user_name"),
        login_time=login_time,
        expires_at=token_expiry(login_time, now=now),
        public_token=data.get("public_token") or None,
    )


_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Desktop OMS</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p></body></html>"
)


class RedirectCatcher:
    """A one-shot HTTP listener on the loopback interface that receives Kite's redirect.

    It binds 127.0.0.1 (or another loopback address) only, accepts the first request that
    carries a `request_token` (or a failed `status`), answers it with a short page and
    closes itself; requests without them (favicon...) get 404 and do not consume it.
    `wait()` raises LoginTimeout after `timeout` seconds and closes it too.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/",
        expected_state: str | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the redirect catcher only listens on a loopback address")
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self.expected_state = expected_state
        self._server: asyncio.base_events.Server | None = None
        self._result: asyncio.Future[str] | None = None
        self.closed = False

    @property
    def redirect_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    async def start(self) -> str:
        """Start listening; returns the redirect URL (with the real port when port=0)."""
        if self._server is not None:
            return self.redirect_url
        if self.closed:
            raise LoginError("this login listener has already been used")
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            self.closed = True
            raise LoginError(
                f"Could not listen on {self.host}:{self.port} for the Kite redirect ({exc.strerror}); "
                "paste the redirect address instead, or change the redirect port."
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]
        return self.redirect_url

    async def wait(self, timeout: float | None = 300) -> str:
        """The request_token of the first redirect; closes the listener in every case."""
        await self.start()
        assert self._result is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            raise LoginTimeout("No login redirect arrived in time; please try again.") from None
        finally:
            await self.close()

    async def close(self) -> None:
        self.closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        if self._result is not None:
            if not self._result.done():
                self._result.cancel()
            elif not self._result.cancelled():
                self._result.exception()  # retrieved: no "never retrieved" warning

    def _stop_listening(self) -> None:
        """Single use: stop accepting connections as soon as the redirect was handled."""
        self.closed = True
        if self._server is not None:
            self._server.close()

    async def __aenter__(self) -> RedirectCatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split(" ")
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                await self._respond(
                    writer, 405, "Not allowed", "Only the Kite redirect is served here."
                )
                return
            target = urlsplit(parts[1])
            params = parse_qs(target.query)
            if self._result is None or self._result.done():
                await self._respond(
                    writer, 410, "Already used", "This login listener has finished."
                )
                return
            if "request_token" not in params and "status" not in params:
                await self._respond(
                    writer, 404, "Not found", "Waiting for the Kite login redirect."
                )
                return
            if (
                self.expected_state is not None
                and (params.get("state") or [""])[0] != self.expected_state
            ):
                await self._respond(
                    writer, 400, "Unexpected redirect", "This redirect is not for this login."
                )
                return
            try:
                token = parse_redirect_url("?" + target.query)
            except LoginError as exc:
                self._result.set_exception(exc)
                await self._respond(writer, 400, "Login failed", str(exc))
                self._stop_listening()
                return
            self._result.set_result(token)
            await self._respond(
                writer,
                200,
                "Logged in to Kite",
                "Desktop OMS received the login. You can close this tab and return to the app.",
            )
            self._stop_listening()
        except Exception:  # noqa: BLE001 - a bad request must not break the listener
            log.debug("redirect catcher: bad request", exc_info=True)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
        import html

        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            404: "Not Found",
            405: "Method Not Allowed",
            410: "Gone",
        }[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
        ).encode()
        writer.write(head + body)
        with contextlib.suppress(Exception):
            await writer.drain()
