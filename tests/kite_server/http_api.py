"""Kite's REST API over a stdlib ThreadingHTTPServer, with fault injection.

Routes are those `kiteconnect.KiteConnect._routes` uses for trading; answers use Kite's
envelopes (`{"status": "success", "data": ...}`) and error bodies
(`{"status": "error", "message": ..., "error_type": ..., "data": null}` with the HTTP
status), JSON as `application/json`, the instruments dump as `text/csv`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tests.kite_server.book import BookError
from tests.kite_server.mocks import load_mock

if TYPE_CHECKING:
    from tests.kite_server.server import KiteTestServer


@dataclass
class Fault:
    """What to do to the next `times` requests matching method + path (a regex).

    process: apply the request's effect (e.g. really place the order) first.
    status/body/content_type: answer with these instead of the normal answer.
    stall: seconds to wait before answering (longer than the client timeout = lost answer).
    drop: close the connection without any answer.
    """

    method: str | None
    path: str
    times: int = 1
    process: bool = False
    status: int | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    stall: float = 0.0
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.fullmatch(
            self.path, path
        ) is not None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json_body: object
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


def error_body(message: str, error_type: str) -> bytes:
    return json.dumps(
        {"status": "error", "message": message, "data": None, "error_type": error_type}
    ).encode()


def static_ip_message(ip: str) -> str:
    return (
        f"Order request from IP {ip} is not allowed: orders are accepted only from the "
        "static IPs whitelisted for this account."
    )


def success_body(data) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        api: KiteHttpApi = self.server.api
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        form: dict[str, list[str]] = {}
        json_body = None
        if raw and "json" in content_type:
            try:
                json_body = json.loads(raw)
            except ValueError:
                json_body = None
        elif raw:
            form = parse_qs(raw.decode(), keep_blank_values=True)
        request = Request(
            method=method,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            form=form,
            json_body=json_body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        api.record(request)
        fault = api.take_fault(method, url.path)
        if fault is not None and fault.process:
            status, ctype, body = api.handle(request)
        if fault is not None:
            if fault.stall:
                api.stop_event.wait(fault.stall)
            if fault.drop:
                self._drop()
                return
            if fault.status is not None or fault.body is not None:
                status = fault.status or 200
                ctype = fault.content_type
                body = fault.body if fault.body is not None else b""
            elif not fault.process:
                status, ctype, body = api.handle(request)
        else:
            status, ctype, body = api.handle(request)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            # RST instead of FIN: the client sees "connection reset", as when a proxy dies.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The stdlib default backlog of 5 drops part of a burst of concurrent connects; the
    # dropped ones retry after a second, past the tests' short client timeouts.
    request_queue_size = 128
    api: KiteHttpApi


class KiteHttpApi:
    def __init__(self, owner: KiteTestServer) -> None:
        self.owner = owner
        self.book = owner.book
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.api = self
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        # Kite's order rate limits, per account (place, modify and cancel all count, refused
        # requests too): 429 above 10 a second, 400 a minute, 5,000 a day. Sliding windows.
        self.order_limits: list[tuple[int, float]] = [(10, 1.0), (400, 60.0), (5000, 86_400.0)]
        self.order_rate_limit: int | None = None  # overrides the per-second count (None: 10)
        self._order_times: list[float] = []
        self.rate_limited = 0  # order requests answered 429
        # Static IP rule (April 2026): when set, the IP Kite sees for our requests is not
        # whitelisted, and place/modify/cancel are refused with a PermissionException.
        self.unregistered_ip: str | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    # -- bookkeeping ---------------------------------------------------------------------

    def record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times != 0 and fault.matches(method, path):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    # -- routing -------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("token "):
            return False
        api_key, _, token = header[6:].partition(":")
        return self.owner.token_valid(api_key, token)

    def handle(self, request: Request) -> tuple[int, str, bytes]:
        try:
            return self._route(request)
        except BookError as exc:
            return exc.status, "application/json", error_body(exc.message, exc.error_type)

    def _route(self, request: Request) -> tuple[int, str, bytes]:
        method, path = request.method, request.path.rstrip("/") or "/"
        json_type = "application/json"
        if path == "/session/token":
            return self._session(request)
        if not self._authorised(request):
            raise BookError(403, "TokenException", "Incorrect `api_key` or `access_token`.")
        form = {k: v[-1] for k, v in request.form.items()}
        m = re.fullmatch(r"/orders/(regular|amo|co|iceberg|auction)(?:/(\w+))?", path)
        if m and method in ("POST", "PUT", "DELETE"):
            if self.unregistered_ip is not None:
                raise BookError(403, "PermissionException", static_ip_message(self.unregistered_ip))
            self._order_rate_check()
            variety, order_id = m.group(1), m.group(2)
            if method == "POST" and order_id is None:
                order = self.book.place(variety, form)
                return 200, json_type, success_body({"order_id": order["order_id"]})
            if method == "PUT" and order_id:
                self.book.modify(order_id, form)
                return 200, json_type, success_body({"order_id": order_id})
            if method == "DELETE" and order_id:
                self.book.cancel(order_id)
                return 200, json_type, success_body({"order_id": order_id})
        if path == "/gtt/triggers" or path.startswith("/gtt/triggers/"):
            return self._gtt(method, path, form)
        if method == "GET":
            if path == "/orders":
                return 200, json_type, success_body(self.book.order_list())
            m = re.fullmatch(r"/orders/(\w+)/trades", path)
            if m:
                self.book.get(m.group(1))
                return 200, json_type, success_body(self.book.trade_list(m.group(1)))
            m = re.fullmatch(r"/orders/(\w+)", path)
            if m:
                return 200, json_type, success_body(self.book.order_history(m.group(1)))
            if path == "/trades":
                return 200, json_type, success_body(self.book.trade_list())
            if path == "/portfolio/positions":
                return 200, json_type, success_body(self.book.positions())
            if path == "/user/margins":
                return 200, json_type, success_body(self.owner.margins)
            m = re.fullmatch(r"/user/margins/(equity|commodity)", path)
            if m:
                return 200, json_type, success_body(self.owner.margins[m.group(1)])
            if path == "/user/profile":
                return 200, json_type, success_body(load_mock("profile.json")["data"])
            if path == "/quote":
                return (
                    200,
                    json_type,
                    success_body(self.owner.quotes(request.query.get("i", []), full=True)),
                )
            if path == "/quote/ltp":
                return (
                    200,
                    json_type,
                    success_body(self.owner.quotes(request.query.get("i", []), full=False)),
                )
            m = re.fullmatch(r"/instruments/historical/(\d+)/(\w+)", path)
            if m:
                rows = self.owner.history.candles(int(m.group(1)), m.group(2), request.query)
                return 200, json_type, success_body({"candles": rows})
            if path == "/instruments":
                return 200, "text/csv", self.owner.instruments_csv()
            m = re.fullmatch(r"/instruments/([A-Z]+)", path)
            if m:
                csv_bytes = self.owner.instruments_csv(m.group(1))
                if csv_bytes is None:
                    raise BookError(400, "InputException", "Invalid exchange.")
                return 200, "text/csv", csv_bytes
        if method == "POST" and path == "/margins/orders":
            data = load_mock("order_margins.json")["data"]
            legs = request.json_body if isinstance(request.json_body, list) else []
            if legs and isinstance(legs[0], dict):
                data[0]["tradingsymbol"] = legs[0].get("tradingsymbol", data[0]["tradingsymbol"])
                data[0]["exchange"] = legs[0].get("exchange", data[0]["exchange"])
            return 200, json_type, success_body(data)
        return 404, json_type, error_body("Route not found", "GeneralException")

    def _gtt(self, method: str, path: str, form: dict[str, str]) -> tuple[int, str, bytes]:
        gtt = self.owner.gtt
        json_type = "application/json"
        if path == "/gtt/triggers":
            if method == "GET":
                return 200, json_type, success_body(gtt.list())
            if method == "POST":
                return 200, json_type, success_body({"trigger_id": gtt.place(form)})
        m = re.fullmatch(r"/gtt/triggers/(\w+)", path)
        if m:
            if method == "GET":
                return 200, json_type, success_body(gtt.get(m.group(1)))
            if method == "PUT":
                return 200, json_type, success_body({"trigger_id": gtt.modify(m.group(1), form)})
            if method == "DELETE":
                return 200, json_type, success_body({"trigger_id": gtt.delete(m.group(1))})
        return 404, json_type, error_body("Route not found", "GeneralException")

    def _order_rate_check(self) -> None:
        limits = list(self.order_limits)
        if self.order_rate_limit is not None:
            limits = [(self.order_rate_limit, 1.0)] + [lim for lim in limits if lim[1] != 1.0]
        if not limits:
            return
        now = time.monotonic()
        longest = max(period for _, period in limits)
        with self.lock:
            self._order_times = [t for t in self._order_times if now - t < longest]
            for count, period in limits:
                if sum(1 for t in self._order_times if now - t < period) >= count:
                    self.rate_limited += 1
                    raise BookError(429, "NetworkException", "Too many requests")
            self._order_times.append(now)

    def _session(self, request: Request) -> tuple[int, str, bytes]:
        form = {k: v[-1] for k, v in request.form.items()}
        if request.method == "DELETE":
            token = request.query.get("access_token", [""])[-1]
            self.owner.access_tokens.discard(token)
            return 200, "application/json", success_body(True)
        api_key = form.get("api_key", "")
        request_token = form.get("request_token", "")
        checksum = form.get("checksum", "")
        expected = hashlib.sha256(
            (api_key + request_token + self.owner.api_secret).encode()
        ).hexdigest()
        if (
            api_key != self.owner.api_key
            or request_token not in self.owner.request_tokens
            or checksum != expected
        ):
            raise BookError(403, "TokenException", "Token is invalid or has expired.")
        self.owner.request_tokens.discard(request_token)  # single use
        token = "at" + secrets.token_hex(16)
        self.owner.access_tokens.add(token)
        data = load_mock("generate_session.json")["data"]
        data.update(
            {"api_key": api_key, "access_token": token, "public_token": "pt" + secrets.token_hex(8)}
        )
        return 200, "application/json", success_body(data)
