"""KiteTestServer: Kite's REST API and ticker on 127.0.0.1, backed by one order book."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import secrets
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from tests.kite_server.book import OrderBook, _num
from tests.kite_server.contracts import CONTRACTS, front_month_expiry, instrument_row
from tests.kite_server.history import HistoricalData
from tests.kite_server.http_api import Fault, KiteHttpApi, error_body
from tests.kite_server.mocks import load_mock, mock_data, mock_path
from tests.kite_server.ticker import KiteTickerServer


class KiteTestServer:
    """Start with `with KiteTestServer() as server:` (or start()/stop()).

    server.root / server.ticker_root   -> KiteBroker(root=..., ticker_root=...)
    server.api_key / server.access_token / server.api_secret
    server.book                         -> the order book (fill, reject, trigger hooks;
                                           Kite's rules and their switches: see book.py)
    server.add_contract("LEADMINI")     -> list an MCX/CDS future (lot_size 1, multiplier)
    server.http.requests                -> every REST request received
    server.history                      -> historical candles (Kite's day limits, 3/s)
    server.ticker                       -> the WebSocket side (push_tick, drop_all, ...)
    """

    def __init__(
        self, *, push_order_updates: bool = True, heartbeat_interval: float | None = 0.5
    ) -> None:
        self.api_key = "kitetestkey"
        self.api_secret = "kitetestsecret" + secrets.token_hex(4)
        self.access_token = "at" + secrets.token_hex(16)
        self.access_tokens: set[str] = {self.access_token}
        self.request_tokens: set[str] = set()
        self.push_order_updates = push_order_updates
        self.book = OrderBook(
            on_update=self._on_book_update,
            instrument=self.instrument_info,
            ltp=self.last_price,
            mark=lambda exchange, symbol: self.prices.get((exchange, symbol)),
            circuit=lambda exchange, symbol: self.circuits.get((exchange, symbol)),
        )
        # The day's circuit limits set for an instrument (set_circuit_limits): its quote
        # carries them and the RMS rejects a price or trigger outside them.
        self.circuits: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self.margins = mock_data("margins.json")
        self.prices: dict[tuple[str, str], Decimal] = {}
        self.tokens: dict[tuple[str, str], int] = {}
        # Instrument facts by (exchange, symbol): tick_size, lot_size, multiplier (1 unless
        # a contract says otherwise: the dump has no multiplier; positions carry it).
        self.instruments: dict[tuple[str, str], dict] = {}
        self.extra_instrument_rows: list[dict[str, str]] = []
        with mock_path("instruments_all.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                self._index_instrument(row)
        self.tokens[("NSE", "INFY")] = 408065
        self.history = HistoricalData()  # GET /instruments/historical/... (history.py)
        self.http = KiteHttpApi(self)
        self.ticker = KiteTickerServer(self.token_valid, heartbeat_interval=heartbeat_interval)
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> KiteTestServer:
        self.http.start()
        self.ticker.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            self.ticker.stop()
            self.http.stop()

    def __enter__(self) -> KiteTestServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    @property
    def ticker_root(self) -> str:
        return f"ws://127.0.0.1:{self.ticker.port}"

    # -- session -------------------------------------------------------------------------

    def token_valid(self, api_key: str, access_token: str) -> bool:
        return api_key == self.api_key and access_token in self.access_tokens

    def expire_session(self) -> None:
        """Every token stops working (06:00 IST, or a logout elsewhere)."""
        self.access_tokens.clear()

    def issue_token(self) -> str:
        token = "at" + secrets.token_hex(16)
        self.access_tokens.add(token)
        return token

    def new_request_token(self) -> str:
        token = "rt" + secrets.token_hex(12)
        self.request_tokens.add(token)
        return token

    # -- instruments ---------------------------------------------------------------------

    def _index_instrument(self, row: dict[str, str], multiplier: int = 1) -> None:
        key = (row["exchange"], row["tradingsymbol"])
        self.tokens[key] = int(row["instrument_token"])
        self.instruments[key] = {
            "instrument_token": int(row["instrument_token"]),
            "tick_size": Decimal(row["tick_size"] or "0"),
            "lot_size": int(row["lot_size"] or 0),
            "multiplier": multiplier,
            "segment": row["segment"],
        }

    def instrument_info(self, exchange: str, symbol: str) -> dict | None:
        return self.instruments.get((exchange, symbol))

    def add_contract(self, name: str, *, expiry: date | None = None, price=None) -> str:
        """List an MCX/CDS future (see contracts.py): lot_size 1 in the dump, Kite's
        multiplier in positions. Returns its trading symbol."""
        contract = CONTRACTS[name]
        row = instrument_row(contract, expiry or front_month_expiry())
        symbol = row["tradingsymbol"]
        if (contract.exchange, symbol) not in self.instruments:
            self.extra_instrument_rows.append(row)
            self._index_instrument(row, contract.multiplier)
        if price is not None:
            self.set_price(contract.exchange, symbol, price)
        return symbol

    def instruments_csv(self, exchange: str | None = None) -> bytes | None:
        """The instruments dump (all, or one exchange's): Zerodha's mock plus added rows."""
        if exchange is None:
            base = mock_path("instruments_all.csv").read_text()
            extra = self.extra_instrument_rows
        else:
            extra = [r for r in self.extra_instrument_rows if r["exchange"] == exchange]
            if exchange == "NSE":
                base = mock_path("instruments_nse.csv").read_text()
            elif extra:
                base = mock_path("instruments_all.csv").read_text().splitlines()[0] + "\n"
            else:
                return None
        if extra:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(extra[0]), lineterminator="\n")
            writer.writerows(extra)
            base = base if base.endswith("\n") else base + "\n"
            base += out.getvalue()
        return base.encode()

    # -- market data ---------------------------------------------------------------------

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        """The last price Kite would protect a market order with (set, or Zerodha's ltp.json)."""
        if (exchange, symbol) in self.prices:
            return self.prices[(exchange, symbol)]
        row = mock_data("ltp.json").get(f"{exchange}:{symbol}")
        return Decimal(str(row["last_price"])) if row else None

    def set_price(self, exchange: str, symbol: str, price, token: int | None = None) -> None:
        self.prices[(exchange, symbol)] = Decimal(str(price))
        if token is not None:
            self.tokens[(exchange, symbol)] = token

    def set_circuit_limits(self, exchange: str, symbol: str, lower, upper) -> None:
        self.circuits[(exchange, symbol)] = (Decimal(str(lower)), Decimal(str(upper)))

    def quotes(self, keys: list[str], *, full: bool) -> dict:
        fixture = mock_data("quote.json") if full else mock_data("ltp.json")
        out = {}
        for key in keys:
            exchange, _, symbol = key.partition(":")
            if (exchange, symbol) in self.prices:
                price = float(self.prices[(exchange, symbol)])
                token = self.tokens.get((exchange, symbol), 0)
                if full:
                    row = copy.deepcopy(mock_data("quote.json")["NSE:INFY"])
                    row.update({"instrument_token": token, "last_price": price})
                    limits = self.circuits.get((exchange, symbol))
                    if limits is not None:
                        row["lower_circuit_limit"] = _num(limits[0])
                        row["upper_circuit_limit"] = _num(limits[1])
                    else:  # INFY's limits would be another price's: none set, none sent
                        row.pop("lower_circuit_limit", None)
                        row.pop("upper_circuit_limit", None)
                else:
                    row = {"instrument_token": token, "last_price": price}
                out[key] = row
            elif key in fixture:
                out[key] = fixture[key]
            elif (exchange, symbol) in self.tokens:
                out[key] = {"instrument_token": self.tokens[(exchange, symbol)], "last_price": 0}
        return out

    # -- order book ----------------------------------------------------------------------

    def _on_book_update(self, update: dict) -> None:
        if self.push_order_updates and self._started:
            self.ticker.push_order_update(update)

    def seed_fixture_orders(self) -> None:
        """Load Zerodha's orders.json, order_info.json history and trades.json."""
        for row in mock_data("orders.json"):
            self.book.add_raw_order(row)
        history = mock_data("order_info.json")
        self.book.add_raw_order(history[-1], history)
        self.book.trades.extend(copy.deepcopy(mock_data("trades.json")))
        self.book.extra_positions.extend(copy.deepcopy(mock_data("positions.json")["net"]))

    # -- faults --------------------------------------------------------------------------

    def fault(self, method: str | None, path: str, **kwargs) -> Fault:
        return self.http.add_fault(Fault(method, path, **kwargs))

    def fail_next(
        self,
        method: str | None,
        path: str,
        *,
        status: int = 500,
        error_type: str = "GeneralException",
        message: str = "Something went wrong",
        times: int = 1,
        process: bool = False,
    ) -> Fault:
        return self.fault(
            method,
            path,
            status=status,
            body=error_body(message, error_type),
            times=times,
            process=process,
        )

    def order_exception_next(
        self,
        method: str | None = "POST",
        path: str = "/orders/regular",
        *,
        process: bool = True,
        message: str = "Order could not be confirmed. Please check the order book.",
        times: int = 1,
    ) -> Fault:
        """An OrderException with HTTP 500 (pykiteconnect's default code for it); with
        `process` the order WAS placed and sits in the book under its tag."""
        return self.fail_next(
            method,
            path,
            status=500,
            error_type="OrderException",
            message=message,
            times=times,
            process=process,
        )

    def refuse_orders_from_ip(self, ip: str | None = "203.0.113.7") -> None:
        """The static-IP rule: place/modify/cancel answer 403 PermissionException (None: off)."""
        self.http.unregistered_ip = ip

    def rate_limit_next(self, method: str | None, path: str, times: int = 3) -> Fault:
        return self.fail_next(
            method,
            path,
            status=429,
            error_type="NetworkException",
            message="Too many requests",
            times=times,
        )

    def malformed_next(
        self,
        method: str | None,
        path: str,
        body: bytes = b"{this is not json",
        *,
        content_type: str = "application/json",
        times: int = 1,
        process: bool = False,
    ) -> Fault:
        return self.fault(
            method,
            path,
            status=200,
            body=body,
            content_type=content_type,
            times=times,
            process=process,
        )

    def stall_next(
        self, method: str | None, path: str, seconds: float, *, process: bool = True
    ) -> Fault:
        return self.fault(method, path, stall=seconds, process=process)

    def drop_next(self, method: str | None, path: str, *, process: bool = False) -> Fault:
        return self.fault(method, path, drop=True, process=process)

    # -- inspection ----------------------------------------------------------------------

    def count(self, method: str, path_regex: str) -> int:
        import re

        return sum(
            1
            for r in list(self.http.requests)
            if r.method == method and re.fullmatch(path_regex, r.path)
        )

    def form_of_last(self, method: str, path_regex: str) -> dict[str, str]:
        import re

        for request in reversed(list(self.http.requests)):
            if request.method == method and re.fullmatch(path_regex, request.path):
                return {k: v[-1] for k, v in request.form.items()}
        raise LookupError(f"no {method} {path_regex} request")


async def wait_until(predicate: Callable[[], object], timeout: float = 3.0, interval: float = 0.01):
    """Poll `predicate` on the running loop until truthy; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


__all__ = ["KiteTestServer", "load_mock", "mock_data", "wait_until"]
