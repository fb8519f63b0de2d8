"""Kite's GTT triggers (/gtt/triggers) for the test server: place, modify, delete, list,
get, and firing on the server's prices.

Rows have the shape of Zerodha's own mocks (gtt_get_orders.json): `id`, `type`,
`status`, naive IST times, `condition` {exchange, tradingsymbol, trigger_values,
last_price, instrument_token}, `orders` (each with `result` once fired). Kite's refusals
are InputExceptions with Kite's wording. A deleted trigger stays listed with status
"deleted". When a trigger fires (`on_price`, called by the server's `set_price`), its leg
is placed in the order book as a regular LIMIT order, and an OCO's other leg never is.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from tests.kite_server.book import IST, BookError, OrderBook, _num

GTT_TYPES = ("single", "two-leg")


def _input(message: str) -> BookError:
    return BookError(400, "InputException", message)


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, bool):
        raise _input(f"Invalid {what}.")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _input(f"Invalid {what}.") from None
    if not number.is_finite() or number <= 0:
        raise _input(f"Invalid {what}.")
    return number


class GttBook:
    FIRST_ID = 105100

    def __init__(
        self,
        book: OrderBook,
        *,
        instrument: Callable[[str, str], dict | None],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.book = book
        self.instrument = instrument
        self.clock = clock or (lambda: datetime.now(IST))
        self.lock = threading.RLock()
        self.triggers: dict[int, dict] = {}
        self._ids = itertools.count(self.FIRST_ID)

    def _now(self) -> datetime:
        return self.clock().astimezone(IST)

    @staticmethod
    def _text(when: datetime) -> str:
        return when.strftime("%Y-%m-%d %H:%M:%S")

    # -- requests ------------------------------------------------------------------------

    def _parse(self, form: dict[str, str]) -> tuple[str, dict, list[dict]]:
        kind = form.get("type")
        if kind not in GTT_TYPES:
            raise _input("Invalid `type`.")
        try:
            condition = json.loads(form.get("condition") or "")
            orders = json.loads(form.get("orders") or "")
        except ValueError:
            raise _input("Invalid `condition` or `orders`.") from None
        if not isinstance(condition, dict) or not isinstance(orders, list):
            raise _input("Invalid `condition` or `orders`.")
        exchange, symbol = condition.get("exchange"), condition.get("tradingsymbol")
        info = self.instrument(exchange, symbol) if exchange and symbol else None
        if info is None:
            raise _input("Invalid `tradingsymbol`.")
        values = condition.get("trigger_values")
        legs = 1 if kind == "single" else 2
        if not isinstance(values, list) or len(values) != legs:
            raise _input("Invalid trigger data.")
        triggers = [_decimal(v, "trigger value") for v in values]
        last = _decimal(condition.get("last_price"), "`last_price`")
        if any(t == last for t in triggers):
            raise _input(
                "Trigger cannot be created with one of the trigger values equal to the last price."
            )
        if kind == "two-leg":
            if triggers[0] > last:
                raise _input(
                    "Trigger cannot be created with the first trigger price more than the last price."
                )
            if triggers[1] < last:
                raise _input(
                    "Trigger cannot be created with the second trigger price less than the last price."
                )
        if len(orders) != legs:
            raise _input("Invalid orders.")
        rows = []
        for leg in orders:
            if not isinstance(leg, dict):
                raise _input("Invalid orders.")
            if leg.get("transaction_type") not in ("BUY", "SELL"):
                raise _input("Invalid `transaction_type`.")
            if leg.get("order_type") != "LIMIT":
                raise _input("Invalid `order_type`.")
            if leg.get("product") not in ("CNC", "NRML", "MIS", "MTF"):
                raise _input("Invalid `product`.")
            quantity = leg.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise _input("Invalid `quantity`.")
            price = _decimal(leg.get("price"), "`price`")
            rows.append(
                {
                    "exchange": exchange,
                    "tradingsymbol": symbol,
                    "product": leg["product"],
                    "order_type": "LIMIT",
                    "transaction_type": leg["transaction_type"],
                    "quantity": quantity,
                    "price": _num(price),
                    "result": None,
                }
            )
        condition_row = {
            "exchange": exchange,
            "last_price": _num(last),
            "tradingsymbol": symbol,
            "trigger_values": [_num(t) for t in triggers],
            "instrument_token": int(info.get("instrument_token") or 0),
        }
        return kind, condition_row, rows

    def place(self, form: dict[str, str]) -> int:
        kind, condition, orders = self._parse(form)
        with self.lock:
            gtt_id = next(self._ids)
            now = self._now()
            self.triggers[gtt_id] = {
                "id": gtt_id,
                "user_id": self.book.user_id,
                "parent_trigger": None,
                "type": kind,
                "created_at": self._text(now),
                "updated_at": self._text(now),
                "expires_at": self._text(now + timedelta(days=365)),
                "status": "active",
                "condition": condition,
                "orders": orders,
                "meta": {},
            }
            return gtt_id

    def _get(self, gtt_id: str | int) -> dict:
        try:
            row = self.triggers.get(int(gtt_id))
        except ValueError:
            row = None
        if row is None:
            raise BookError(400, "InputException", "Trigger not found.")
        return row

    def modify(self, gtt_id: str, form: dict[str, str]) -> int:
        kind, condition, orders = self._parse(form)
        with self.lock:
            row = self._get(gtt_id)
            if row["status"] != "active":
                raise _input(f"Trigger is not active (status {row['status']}).")
            row.update(
                {
                    "type": kind,
                    "condition": condition,
                    "orders": orders,
                    "updated_at": self._text(self._now()),
                }
            )
            return row["id"]

    def delete(self, gtt_id: str) -> int:
        with self.lock:
            row = self._get(gtt_id)
            if row["status"] != "active":
                raise _input(f"Trigger is not active (status {row['status']}).")
            row["status"] = "deleted"
            row["updated_at"] = self._text(self._now())
            return row["id"]

    def get(self, gtt_id: str) -> dict:
        with self.lock:
            return json.loads(json.dumps(self._get(gtt_id)))

    def list(self) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(sorted(self.triggers.values(), key=lambda r: -r["id"])))

    # -- firing --------------------------------------------------------------------------

    def on_price(self, exchange: str, symbol: str, price: Decimal) -> list[int]:
        """Fire the active triggers of this instrument that `price` reaches. Returns the
        ids fired."""
        fired = []
        with self.lock:
            for row in self.triggers.values():
                condition = row["condition"]
                if row["status"] != "active" or (
                    condition["exchange"],
                    condition["tradingsymbol"],
                ) != (exchange, symbol):
                    continue
                triggers = [Decimal(str(v)) for v in condition["trigger_values"]]
                last = Decimal(str(condition["last_price"]))
                leg = None
                if row["type"] == "single":
                    if (triggers[0] < last and price <= triggers[0]) or (
                        triggers[0] > last and price >= triggers[0]
                    ):
                        leg = 0
                elif price <= triggers[0]:
                    leg = 0
                elif price >= triggers[1]:
                    leg = 1
                if leg is None:
                    continue
                self._fire(row, leg, triggers[leg])
                fired.append(row["id"])
        return fired

    def _fire(self, row: dict, index: int, trigger: Decimal) -> None:
        leg = row["orders"][index]
        now = self._text(self._now())
        params = {
            "exchange": leg["exchange"],
            "tradingsymbol": leg["tradingsymbol"],
            "transaction_type": leg["transaction_type"],
            "quantity": str(leg["quantity"]),
            "product": leg["product"],
            "order_type": "LIMIT",
            "price": str(leg["price"]),
            "validity": "DAY",
        }
        try:
            order = self.book.place("regular", params)
            outcome = {"status": "success", "order_id": order["order_id"], "rejection_reason": ""}
        except BookError as exc:
            outcome = {"status": "failed", "order_id": "", "rejection_reason": exc.message}
        leg["result"] = {
            "account_id": self.book.user_id,
            "exchange": leg["exchange"],
            "tradingsymbol": leg["tradingsymbol"],
            "validity": "DAY",
            "product": leg["product"],
            "order_type": "LIMIT",
            "transaction_type": leg["transaction_type"],
            "quantity": leg["quantity"],
            "price": leg["price"],
            "meta": json.dumps({"app_id": 12617, "gtt": row["id"]}),
            "timestamp": now,
            "triggered_at": _num(trigger),
            "order_result": outcome,
        }
        row["status"] = "triggered"
        row["updated_at"] = now
