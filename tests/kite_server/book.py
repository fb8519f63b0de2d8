"""A small in-memory Kite order book: orders in Kite's JSON shape, history, trades.

Thread-safe (the HTTP server is threaded). Every change the real Kite pushes (fill,
modification, cancellation, rejection, trigger) is reported to `on_update` as a
postback-shaped dict, which the ticker server sends as {"type": "order", "data": ...}.
Placement itself is not pushed (Kite does not push it either).
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
TERMINAL = {"COMPLETE", "CANCELLED", "REJECTED"}


class BookError(Exception):
    """An error Kite would answer with: HTTP status, error_type, message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _now() -> str:
    return datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")


def _num(value) -> int | float:
    """JSON numbers as Kite sends them (ints stay ints)."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


class OrderBook:
    FIRST_ORDER_ID = 1953341975595868160  # 19 digits, like Kite's newest ids
    VARIETIES = ("regular", "amo", "co", "iceberg", "auction")
    ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
    PRODUCTS = ("MIS", "CNC", "NRML", "MTF", "CO", "BO")

    def __init__(self, on_update: Callable[[dict], None] | None = None) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.history: dict[str, list[dict]] = {}
        self.trades: list[dict] = []
        self.extra_positions: list[dict] = []
        self.on_update = on_update
        self._order_ids = itertools.count(self.FIRST_ORDER_ID)
        self._trade_ids = itertools.count(50_000_001)
        self.user_id = "AB1234"

    # -- helpers -------------------------------------------------------------------------

    def _snapshot(self, order: dict) -> None:
        self.history.setdefault(order["order_id"], []).append(copy.deepcopy(order))

    def _push(self, order: dict) -> None:
        if self.on_update is None:
            return
        update = copy.deepcopy(order)
        update.update(
            {
                "user_id": self.user_id,
                "unfilled_quantity": max(order["quantity"] - order["filled_quantity"], 0),
                "app_id": 1234,
                "checksum": "0" * 64,
            }
        )
        self.on_update(update)

    def get(self, order_id: str) -> dict:
        order = self.orders.get(str(order_id))
        if order is None:
            raise BookError(404, "GeneralException", "Couldn't find that `order_id`.")
        return order

    # -- requests ------------------------------------------------------------------------

    def place(self, variety: str, params: dict[str, str]) -> dict:
        if variety not in self.VARIETIES:
            raise BookError(400, "InputException", "Invalid `variety`.")
        for name in (
            "exchange",
            "tradingsymbol",
            "transaction_type",
            "quantity",
            "product",
            "order_type",
        ):
            if not params.get(name):
                raise BookError(400, "InputException", f"Missing `{name}`.")
        order_type = params["order_type"]
        if order_type not in self.ORDER_TYPES:
            raise BookError(400, "InputException", "Invalid `order_type`.")
        if params["transaction_type"] not in ("BUY", "SELL"):
            raise BookError(400, "InputException", "Invalid `transaction_type`.")
        if params["product"] not in self.PRODUCTS:
            raise BookError(400, "InputException", "Invalid `product`.")
        try:
            quantity = int(params["quantity"])
        except ValueError:
            raise BookError(400, "InputException", "Invalid `quantity`.") from None
        if quantity <= 0:
            raise BookError(400, "InputException", "Invalid `quantity`.")
        price = Decimal(params.get("price") or "0")
        trigger = Decimal(params.get("trigger_price") or "0")
        if order_type in ("LIMIT", "SL") and price <= 0:
            raise BookError(400, "InputException", "Invalid `price`.")
        if order_type in ("SL", "SL-M") and trigger <= 0:
            raise BookError(400, "InputException", "Invalid `trigger_price`.")
        if order_type in ("MARKET", "SL-M"):
            protection = params.get("market_protection")
            if protection in (None, "", "0"):
                raise BookError(
                    400,
                    "InputException",
                    "Market orders without market protection are not allowed. Set `market_protection`.",
                )
        tag = params.get("tag") or None
        if tag is not None and len(tag) > 20:
            raise BookError(400, "InputException", "Tag length should be less than 20 characters.")
        with self.lock:
            order_id = str(next(self._order_ids))
            now = _now()
            if variety == "amo":
                status = "AMO REQ RECEIVED"
            elif order_type in ("SL", "SL-M"):
                status = "TRIGGER PENDING"
            else:
                status = "OPEN"
            order = {
                "placed_by": self.user_id,
                "order_id": order_id,
                "exchange_order_id": None,
                "parent_order_id": None,
                "status": "PUT ORDER REQ RECEIVED",
                "status_message": None,
                "status_message_raw": None,
                "order_timestamp": now,
                "exchange_update_timestamp": None,
                "exchange_timestamp": None,
                "variety": variety,
                "modified": False,
                "exchange": params["exchange"],
                "tradingsymbol": params["tradingsymbol"],
                "instrument_token": 0,
                "order_type": order_type,
                "transaction_type": params["transaction_type"],
                "validity": params.get("validity") or "DAY",
                "product": params["product"],
                "quantity": quantity,
                "disclosed_quantity": 0,
                "price": _num(price),
                "trigger_price": _num(trigger),
                "average_price": 0,
                "filled_quantity": 0,
                "pending_quantity": quantity,
                "cancelled_quantity": 0,
                "market_protection": int(params.get("market_protection") or 0),
                "meta": {},
                "tag": tag,
                "tags": [tag] if tag else [],
                "guid": f"guid{order_id[-6:]}",
            }
            self.orders[order_id] = order
            for transient in ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"):
                order["status"] = transient
                self._snapshot(order)
            order["status"] = status
            if status != "AMO REQ RECEIVED":
                order["exchange_order_id"] = str(1300000000000000 + int(order_id[-9:]))
                order["exchange_timestamp"] = now
                order["exchange_update_timestamp"] = now
            self._snapshot(order)
            return order

    def modify(self, order_id: str, params: dict[str, str]) -> dict:
        with self.lock:
            order = self.get(order_id)
            if order["status"] in TERMINAL:
                raise BookError(
                    400,
                    "InputException",
                    f"Order cannot be modified as it is {order['status'].lower()}.",
                )
            working = order["status"]
            for transient in ("MODIFY VALIDATION PENDING", "MODIFY PENDING"):
                order["status"] = transient
                self._snapshot(order)
            if params.get("quantity"):
                quantity = int(params["quantity"])
                if quantity < order["filled_quantity"] or quantity <= 0:
                    order["status"] = working
                    raise BookError(400, "InputException", "Invalid `quantity`.")
                order["quantity"] = quantity
                order["pending_quantity"] = quantity - order["filled_quantity"]
            if params.get("price"):
                order["price"] = _num(params["price"])
            if params.get("trigger_price"):
                order["trigger_price"] = _num(params["trigger_price"])
            if params.get("order_type"):
                order["order_type"] = params["order_type"]
            order["status"] = "MODIFIED"
            order["modified"] = True
            self._snapshot(order)
            order["status"] = working
            order["order_timestamp"] = order["exchange_update_timestamp"] = _now()
            self._snapshot(order)
            self._push(order)
            return order

    def cancel(self, order_id: str) -> dict:
        with self.lock:
            order = self.get(order_id)
            if order["status"] in TERMINAL:
                raise BookError(
                    400,
                    "InputException",
                    f"Order cannot be cancelled as it is {order['status'].lower()}.",
                )
            order["status"] = "CANCEL PENDING"
            self._snapshot(order)
            order["status"] = "CANCELLED"
            order["cancelled_quantity"] = order["quantity"] - order["filled_quantity"]
            order["pending_quantity"] = 0
            order["exchange_update_timestamp"] = _now()
            self._snapshot(order)
            self._push(order)
            return order

    # -- test hooks ----------------------------------------------------------------------

    def fill(
        self, order_id: str, quantity: int | None = None, price=None, *, push: bool = True
    ) -> dict:
        """Execute `quantity` (default: all pending) at `price`; returns the trade."""
        with self.lock:
            order = self.get(order_id)
            if order["status"] in TERMINAL:
                raise ValueError(f"order {order_id} is {order['status']}")
            pending = order["quantity"] - order["filled_quantity"]
            quantity = pending if quantity is None else quantity
            if not 0 < quantity <= pending:
                raise ValueError(f"cannot fill {quantity} of {pending}")
            if price is None:
                price = order["price"] or order["trigger_price"] or 100
            price = Decimal(str(price))
            filled_before = order["filled_quantity"]
            average = Decimal(str(order["average_price"] or 0))
            new_filled = filled_before + quantity
            order["average_price"] = _num((average * filled_before + price * quantity) / new_filled)
            order["filled_quantity"] = new_filled
            order["pending_quantity"] = order["quantity"] - new_filled
            order["status"] = "COMPLETE" if new_filled == order["quantity"] else "OPEN"
            now = _now()
            order["exchange_update_timestamp"] = now
            self._snapshot(order)
            trade = {
                "trade_id": str(next(self._trade_ids)),
                "order_id": order["order_id"],
                "exchange": order["exchange"],
                "tradingsymbol": order["tradingsymbol"],
                "instrument_token": order["instrument_token"],
                "product": order["product"],
                "average_price": _num(price),
                "quantity": quantity,
                "exchange_order_id": order["exchange_order_id"],
                "transaction_type": order["transaction_type"],
                "fill_timestamp": now,
                "order_timestamp": now[11:],
                "exchange_timestamp": now,
            }
            self.trades.append(trade)
            if push:
                self._push(order)
            return trade

    def reject(
        self, order_id: str, message: str = "RMS:Margin Exceeds", *, push: bool = True
    ) -> dict:
        with self.lock:
            order = self.get(order_id)
            order["status"] = "REJECTED"
            order["status_message"] = message
            order["status_message_raw"] = message
            order["pending_quantity"] = 0
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def trigger(self, order_id: str, *, push: bool = True) -> dict:
        with self.lock:
            order = self.get(order_id)
            if order["status"] != "TRIGGER PENDING":
                raise ValueError("not trigger pending")
            order["status"] = "OPEN"
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def set_status(self, order_id: str, status: str, *, push: bool = False) -> dict:
        with self.lock:
            order = self.get(order_id)
            order["status"] = status
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def add_raw_order(self, row: dict, history: list[dict] | None = None) -> None:
        """Seed an order exactly as given (e.g. from orders.json)."""
        with self.lock:
            row = copy.deepcopy(row)
            self.orders[str(row["order_id"])] = row
            self.history[str(row["order_id"])] = copy.deepcopy(history or [row])

    def by_tag(self, tag: str) -> list[dict]:
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.get("tag") == tag or tag in (o.get("tags") or [])
            ]

    # -- views ---------------------------------------------------------------------------

    def order_list(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.orders.values()))

    def order_history(self, order_id: str) -> list[dict]:
        with self.lock:
            self.get(order_id)
            return copy.deepcopy(self.history.get(str(order_id), []))

    def trade_list(self, order_id: str | None = None) -> list[dict]:
        with self.lock:
            return copy.deepcopy(
                [t for t in self.trades if order_id is None or t["order_id"] == str(order_id)]
            )

    def positions(self) -> dict:
        """Net positions from the book's trades (plus any seeded rows)."""
        with self.lock:
            rows: dict[tuple[str, str, str], dict] = {}
            for trade in self.trades:
                key = (trade["exchange"], trade["tradingsymbol"], trade["product"])
                row = rows.setdefault(
                    key,
                    {
                        "buy_q": 0,
                        "buy_v": Decimal(0),
                        "sell_q": 0,
                        "sell_v": Decimal(0),
                        "last": Decimal(0),
                    },
                )
                price = Decimal(str(trade["average_price"]))
                if trade["transaction_type"] == "BUY":
                    row["buy_q"] += trade["quantity"]
                    row["buy_v"] += price * trade["quantity"]
                else:
                    row["sell_q"] += trade["quantity"]
                    row["sell_v"] += price * trade["quantity"]
                row["last"] = price
            net = []
            for (exchange, symbol, product), r in rows.items():
                quantity = r["buy_q"] - r["sell_q"]
                if quantity > 0:
                    average = r["buy_v"] / r["buy_q"]
                elif quantity < 0:
                    average = r["sell_v"] / r["sell_q"]
                else:
                    average = Decimal(0)
                net.append(
                    {
                        "tradingsymbol": symbol,
                        "exchange": exchange,
                        "instrument_token": 0,
                        "product": product,
                        "quantity": quantity,
                        "overnight_quantity": 0,
                        "multiplier": 1,
                        "average_price": _num(average),
                        "close_price": 0,
                        "last_price": _num(r["last"]),
                        "buy_quantity": r["buy_q"],
                        "sell_quantity": r["sell_q"],
                    }
                )
            net.extend(copy.deepcopy(self.extra_positions))
            return {"net": net, "day": copy.deepcopy(net)}
