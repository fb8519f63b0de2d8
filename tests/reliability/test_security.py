"""Security: secrets stay secret, files are owner-only, the login catcher is loopback-only
and single-use, and no SQL is built by string formatting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import stat
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest

from desktop_oms import cli
from desktop_oms.app import Application
from desktop_oms.brokers.kite.credentials import CredentialStore
from desktop_oms.brokers.kite.login import LoginError, RedirectCatcher, generate_session
from desktop_oms.config import Settings
from desktop_oms.exports import IST
from desktop_oms.infra.clock import utcnow
from desktop_oms.infra.logs import setup_logging
from tests.helpers import MemoryKeyring, limit, until

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "desktop_oms"
SYMBOL = "EMMBI-BL"  # an NSE equity in Zerodha's mock instruments dump (the app's Kite universe)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@contextlib.contextmanager
def app_logging(log_dir: Path):
    """The app's own logging set-up (file + redaction) for this test only."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for handler in saved_handlers:
        if getattr(handler, "_oms", False):
            root.removeHandler(handler)
    setup_logging(log_dir, "DEBUG")
    added = [h for h in root.handlers if h not in saved_handlers]
    try:
        yield
    finally:
        for handler in added:
            handler.flush()
            handler.close()
            root.removeHandler(handler)
        for handler in saved_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved_level)


async def browser_redirect(url: str) -> int:
    host_port, _, target = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /{target} HTTP/1.1\r\nHost: {host_port}\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data.split(b" ")[1])


def forms(secret: str) -> set[bytes]:
    """The ways a secret could be written: raw, URL-encoded, UTF-16 (Windows APIs)."""
    return {secret.encode(), quote(secret).encode(), secret.encode("utf-16-le")}


def files_containing(folder: Path, needles: dict[str, str]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for label, secret in needles.items():
            if any(form in data for form in forms(secret)):
                found.append(f"{path.relative_to(folder)} contains the {label}")
    return found


async def test_api_secret_and_access_token_never_reach_files_or_logs(tmp_path, kite_server):
    data_dir = tmp_path / "data"
    exports = data_dir / "exports"
    server = kite_server
    with app_logging(data_dir / "logs"):
        server.api_secret = "ApiSecret" + secrets.token_hex(12)  # distinctive, grep-able
        server.set_price("NSE", SYMBOL, "100")
        store = CredentialStore(backend=MemoryKeyring())
        store.set_api_secret(server.api_key, server.api_secret)

        # The login: the browser redirect is caught on 127.0.0.1, the token exchanged.
        catcher = RedirectCatcher()
        redirect = await catcher.start()
        request_token = server.new_request_token()
        waiter = asyncio.ensure_future(catcher.wait(timeout=5))
        assert (
            await browser_redirect(f"{redirect}?status=success&request_token={request_token}")
            == 200
        )
        assert await waiter == request_token
        session = await generate_session(
            server.api_key, store.get_api_secret(server.api_key), request_token, root=server.root
        )
        store.set_access_token(server.api_key, session.access_token, None)
        secrets_ = {
            "API secret": server.api_secret,
            "access token": session.access_token,
            "request token": request_token,
        }

        settings = Settings(
            data_dir=data_dir,
            broker="kite",
            kite_api_key=server.api_key,
            kite_root=server.root,
            kite_ticker_root=server.ticker_root,
            monitor_interval_s=0.05,
        )
        settings.save()
        app = Application(settings, with_window=False, credentials=store)
        await app.start()
        try:
            app.quotes.set_price("NSE", SYMBOL, Decimal("100"), utcnow())  # for the price band
            om = app.order_manager
            filled = await om.place_order(limit(symbol=SYMBOL, qty=2, price="100"))
            server.book.fill(filled.broker_order_id, 2, "100")
            resting = await om.place_order(limit(symbol=SYMBOL, qty=1, price="95"))
            await until(lambda: om.sync.current(filled.order_id) is None, 5)
            await om.cancel_order(resting.order_id)
            # Errors are where secrets leak: a refused request, a lost answer, an expiry.
            server.fail_next(
                "POST",
                "/orders/regular",
                status=400,
                error_type="InputException",
                message="Invalid `price`.",
            )
            with contextlib.suppress(Exception):
                await om.place_order(limit(symbol=SYMBOL, qty=1, price="90"))
            logging.getLogger("desktop_oms.test").error(
                "diagnostics: api_secret=%s access_token=%s header: token %s:%s",
                server.api_secret,
                session.access_token,
                server.api_key,
                session.access_token,
            )
            try:
                raise RuntimeError(
                    f"failure holding {session.access_token} and {server.api_secret}"
                )
            except RuntimeError:
                logging.getLogger("desktop_oms.test").exception("an error with secrets in it")
            server.expire_session()
            with contextlib.suppress(Exception):
                await om.place_order(limit(symbol=SYMBOL, qty=1, price="90"))
            app.db.positions.add_pnl_snapshot(app.pnl_now())
        finally:
            await app.stop()

    today = datetime.now(IST).date()  # exports take trading days (IST), not UTC dates
    for what, fmt in (("trades", "csv"), ("review", "csv"), ("review", "html")):
        output = exports / f"{what}.{fmt}"
        exports.mkdir(parents=True, exist_ok=True)
        code = cli.main(
            [
                "export",
                what,
                "--from",
                str(date(today.year, 1, 1)),
                "--to",
                str(today),
                "--format",
                fmt,
                "--output",
                str(output),
                "--data-dir",
                str(data_dir),
            ]
        )
        assert code == 0
    assert (exports / "trades.csv").exists()

    written = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())
    assert "oms.db" in written and "settings.toml" in written
    assert any(name.startswith("logs") for name in written)
    log_text = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*"))
    assert "diagnostics" in log_text and "an error with secrets in it" in log_text  # logs worked
    assert files_containing(data_dir, secrets_) == [], f"files written: {written}"


# ---------------------------------------------------------------------- owner-only files


@posix_only
async def test_database_settings_and_broker_state_are_owner_only(tmp_path):
    previous = os.umask(0)  # the most permissive umask a user could have
    try:
        settings = Settings(data_dir=tmp_path / "data", broker="paper", simulate_market=False)
        settings.save()
        app = Application(settings, with_window=False)
        await app.start()
        try:
            app.broker.set_last_price("NSE", "INFY", Decimal("1500"))
            await app.order_manager.place_order(limit("INFY", qty=1, price="1500"))
            data_dir = settings.data_dir
            running = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}
        finally:
            await app.stop()
    finally:
        os.umask(previous)
    must_be_private = ["oms.db", "oms.db-wal", "oms.db-shm", "settings.toml", "paper_broker.jsonl"]
    for name in must_be_private:
        assert name in running, f"{name} not found: {sorted(running)}"
    open_to_others = {name: oct(mode) for name, mode in running.items() if mode & 0o077}
    # Allowed explicitly: the empty instance-lock file (no content to protect).
    open_to_others.pop("oms.db.lock", None)
    assert open_to_others == {}, "files readable or writable by others"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "logs").stat().st_mode) == 0o700


@posix_only
def test_saved_settings_stay_owner_only_when_rewritten(tmp_path):
    previous = os.umask(0)
    try:
        settings = Settings(data_dir=tmp_path, broker="paper")
        settings.save()
        os.chmod(settings.settings_path, 0o644)  # e.g. restored from a backup
        settings.save()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(settings.settings_path.stat().st_mode) == 0o600


# ---------------------------------------------------------------------- the login redirect catcher


def non_loopback_address() -> str | None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
        address = probe.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


async def refused(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (ConnectionRefusedError, OSError, TimeoutError):
        return True
    writer.close()
    return False


async def test_redirect_catcher_listens_on_loopback_only():
    for host in ("0.0.0.0", "::", "192.168.1.10", "10.0.0.1"):
        with pytest.raises(ValueError, match="loopback"):
            RedirectCatcher(host=host)
    catcher = RedirectCatcher()
    await catcher.start()
    try:
        addresses = {s.getsockname()[0] for s in catcher._server.sockets}
        assert addresses == {"127.0.0.1"}
        other = non_loopback_address()
        if other is not None:
            assert await refused(other, catcher.port), f"reachable on {other}"
    finally:
        await catcher.close()


async def test_redirect_catcher_is_single_use_and_closes_itself():
    catcher = RedirectCatcher()
    url = await catcher.start()
    waiter = asyncio.ensure_future(catcher.wait(timeout=5))
    assert await browser_redirect(f"{url}favicon.ico") == 404  # does not consume it
    assert await browser_redirect(f"{url}?status=success&request_token=FirstToken1") == 200
    assert await waiter == "FirstToken1"
    assert catcher.closed
    assert await refused("127.0.0.1", catcher.port)  # a second redirect finds nobody
    with pytest.raises(LoginError, match="already been used"):
        await catcher.start()


async def test_redirect_catcher_closes_itself_on_timeout():
    catcher = RedirectCatcher()
    await catcher.start()
    with pytest.raises(LoginError):
        await catcher.wait(timeout=0.2)
    assert catcher.closed and await refused("127.0.0.1", catcher.port)


# ---------------------------------------------------------------------- no SQL by string formatting


# The only formatted SQL allowed: PRAGMAs whose values are validated first (an int() and
# one of FULL/NORMAL/EXTRA), in storage/database.py. (file, exact source of the argument)
ALLOWED_FORMATTED_SQL = {
    ("storage/database.py", 'f"PRAGMA busy_timeout={int(busy_timeout_ms)}"'),
    ("storage/database.py", 'f"PRAGMA synchronous={synchronous}"'),
}


def sql_formatting_sites() -> list[tuple[str, int, str]]:
    # In a fresh interpreter: CPython 3.11.7's ast.parse can raise "SystemError: AST
    # constructor recursion depth mismatch" deep inside a long test session (gh-106905).
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sql_scan.py")), str(SOURCE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [tuple(site) for site in json.loads(result.stdout)]


def test_no_sql_is_built_by_string_formatting():
    sites = sql_formatting_sites()
    unexpected = [s for s in sites if (s[0], s[2]) not in ALLOWED_FORMATTED_SQL]
    assert unexpected == [], "SQL built by string formatting:\n" + "\n".join(
        f"  desktop_oms/{f}:{line}: {text}" for f, line, text in unexpected
    )
    # The allowed PRAGMAs are still there and still validated before formatting.
    assert {(s[0], s[2]) for s in sites} == ALLOWED_FORMATTED_SQL
    database = (SOURCE / "storage" / "database.py").read_text()
    assert '"FULL", "NORMAL", "EXTRA"' in database and "int(busy_timeout_ms)" in database


def test_the_scanner_catches_formatted_sql(tmp_path):
    """The scan finds each way of formatting SQL (guards the guard)."""
    samples = [
        'conn.execute(text(f"SELECT * FROM orders WHERE id = {order_id}"))',
        'cur.execute("DELETE FROM trades WHERE id = %s" % trade_id)',
        'cur.execute("UPDATE positions SET quantity = {}".format(q))',
        'sql = "INSERT INTO orders VALUES (" + values + ")"',
        'conn.exec_driver_sql(f"PRAGMA {name}")',
        "query = f'''\\n  SELECT id\\n  FROM orders WHERE symbol = {symbol!r}'''",
    ]
    for number, sample in enumerate(samples):
        (tmp_path / f"sample{number}.py").write_text(sample + "\n")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sql_scan.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = {site[0] for site in json.loads(result.stdout)}
    assert found == {f"sample{n}.py" for n in range(len(samples))}
