"""A small in-memory Kite order book: orders in Kite's JSON shape, history, trades.

Thread-safe (the HTTP server is threaded). Every change the real Kite pushes (fill,
modification, cancellation, rejection, trigger) is reported to `on_update` as a
postback-shaped dict, which the ticker server sends as {"type": "order", "data": ...}.
Placement itself is not pushed (Kite does not push it either).

Kite's rules it applies (each a switch, defaulting to what Kite does):

* Market protection (`convert_market_orders`): MARKET and SL-M need `market_protection`
  (-1 automatic, 1-100 percent; 0 or none is refused). A MARKET order becomes a LIMIT at
  the protection price (last price +/- the percentage, on the tick, never past it), its
  row saying `order_type` LIMIT and `tags` [tag, "mktp", "mktp:2.00"] - Zerodha's
  orders.json shows such a row; an SL-M order does the same when it triggers. With no
  known last price (`ltp` hook) a MARKET order is kept as MARKET.
* Plain decimals (`strict_numbers`): price, trigger price and quantity must be plain
  decimal text ("1000", "1500.50"); exponent forms ("1E+3") are refused as invalid.
* At most `max_modifications` (25) modifications per order.
* IOC is refused on MCX (`refuse_ioc_on_mcx`: no IOC for API orders since April 2026).
* Cover orders (variety co) need a trigger price; their rows say product CO, and the
  stop-loss leg (SL-M, parent_order_id = the main order) appears when the main leg fills.
* A modification is pushed with status UPDATE (`modify_push_status`), as Kite's order
  postbacks and WebSocket updates do; the order book row keeps the working status.
* `visibility_delay`: a placed order shows in the order book (list, history) only after
  that many seconds, as Kite's book can lag an accepted request.

Timestamps come from `clock` (IST, whole seconds as Kite sends them): tests can step it.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
TERMINAL = {"COMPLETE", "CANCELLED", "REJECTED"}
# Kite's answer to a MARKET/SL-M order without protection (pykiteconnect issue #242).
NO_PROTECTION = (
    "Market orders without market protection are not allowed via API. "
    "Please set market protection or use a Limit order."
)
TOO_MANY_MODIFICATIONS = "Maximum allowed order modifications exceeded."
MCX_IOC = "IOC orders are not allowed for MCX contracts placed through the API."
CO_NEEDS_TRIGGER = "Trigger price is required for a cover order (`trigger_price`)."
# Kite's RMS answer to a price outside the day's circuit limits: the order is placed and
# comes back REJECTED with this message (not an exception at placement).
CIRCUIT_REJECTION = (
    "RMS:Rule: Check circuit limit including square off order exceeds  for entity "
    "account-AB1234 across exchange across segment across product"
)
_PLAIN_DECIMAL = re.compile(r"\d+(\.\d+)?")
_PLAIN_INTEGER = re.compile(r"\d+")


class BookError(Exception):
    """An error Kite would answer with: HTTP status, error_type, message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _num(value) -> int | float:
    """JSON numbers as Kite sends them (ints stay ints)."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


class OrderBook:
    FIRST_ORDER_ID = 1953341975595868160  # 19 digits, like Kite's newest ids
    VARIETIES = ("regular", "amo", "co", "iceberg", "auction")
    ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
    PRODUCTS = ("MIS", "CNC", "NRML", "MTF", "CO", "BO")

    def __init__(
        self,
        on_update: Callable[[dict], None] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        instrument: Callable[[str, str], dict | None] | None = None,
        ltp: Callable[[str, str], Decimal | None] | None = None,
        mark: Callable[[str, str], Decimal | None] | None = None,
        circuit: Callable[[str, str], tuple[Decimal, Decimal] | None] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.history: dict[str, list[dict]] = {}
        self.trades: list[dict] = []
        self.extra_positions: list[dict] = []
        self.on_update = on_update
        self._order_ids = itertools.count(self.FIRST_ORDER_ID)
        self._trade_ids = itertools.count(50_000_001)
        self.user_id = "AB1234"
        # Hooks into the server's market: instrument facts (tick_size, multiplier,
        # instrument_token), the last price market protection is computed from, and the
        # price positions are marked at.
        self.clock = clock or (lambda: datetime.now(IST))
        self.instrument = instrument or (lambda exchange, symbol: None)
        self.ltp = ltp or (lambda exchange, symbol: None)
        self.mark = mark or (lambda exchange, symbol: None)
        self.circuit = circuit or (lambda exchange, symbol: None)  # (lower, upper) or None
        # Kite's rules (see the module docstring); defaults are what Kite does.
        self.convert_market_orders = True
        self.auto_protection = Decimal("2")  # percent applied for market_protection=-1
        self.strict_numbers = True
        self.max_modifications = 25
        self.refuse_ioc_on_mcx = True
        self.modify_push_status: str | None = "UPDATE"
        self.visibility_delay = 0.0
        self._visible_at: dict[str, float] = {}
        self._modifications: dict[str, int] = {}
        self._protection: dict[str, Decimal] = {}  # SL-M order id -> percent, until it triggers
        self._cover_triggers: dict[str, Decimal] = {}  # CO main order id -> stop trigger

    # -- helpers -------------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock().astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")

    def _snapshot(self, order: dict) -> None:
        self.history.setdefault(order["order_id"], []).append(copy.deepcopy(order))

    def _push(self, order: dict, status: str | None = None) -> None:
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
        if status is not None:
            update["status"] = status
        self.on_update(update)

    def _visible(self, order_id: str) -> bool:
        return time.monotonic() >= self._visible_at.get(order_id, 0.0)

    def _order(self, order_id: str) -> dict:
        """The order whether or not the order book shows it yet (test hooks)."""
        order = self.orders.get(str(order_id))
        if order is None:
            raise BookError(404, "GeneralException", "Couldn't find that `order_id`.")
        return order

    def get(self, order_id: str) -> dict:
        """The order as Kite's API finds it (not yet if it is still invisible)."""
        order = self._order(order_id)
        if not self._visible(order["order_id"]):
            raise BookError(404, "GeneralException", "Couldn't find that `order_id`.")
        return order

    def _decimal(self, params: dict[str, str], name: str) -> Decimal | None:
        text = params.get(name)
        if text is None or text == "":
            return None
        if self.strict_numbers and not _PLAIN_DECIMAL.fullmatch(text):
            raise BookError(400, "InputException", f"Invalid `{name}`.")
        try:
            value = Decimal(text)
        except ArithmeticError:
            raise BookError(400, "InputException", f"Invalid `{name}`.") from None
        if not value.is_finite() or value < 0:
            raise BookError(400, "InputException", f"Invalid `{name}`.")
        return value

    def _quantity(self, params: dict[str, str]) -> int | None:
        text = params.get("quantity")
        if text is None or text == "":
            return None
        if not _PLAIN_INTEGER.fullmatch(text) or int(text) <= 0:
            raise BookError(400, "InputException", "Invalid `quantity`.")
        return int(text)

    def _protection_percent(self, params: dict[str, str]) -> Decimal:
        """Kite's market_protection: -1 (automatic) or a percentage above 0, up to 100."""
        text = params.get("market_protection")
        if text in (None, "", "0"):
            raise BookError(400, "InputException", NO_PROTECTION)
        if text.strip() == "-1":
            return self.auto_protection
        try:
            value = Decimal(text)
        except ArithmeticError:
            raise BookError(400, "InputException", "Invalid `market_protection`.") from None
        if value == 0:
            raise BookError(400, "InputException", NO_PROTECTION)
        if not value.is_finite() or not 0 < value <= 100:
            raise BookError(400, "InputException", "Invalid `market_protection`.")
        return value

    def _tick(self, exchange: str, symbol: str) -> Decimal:
        info = self.instrument(exchange, symbol) or {}
        tick = Decimal(str(info.get("tick_size") or "0.05"))
        return tick if tick > 0 else Decimal("0.05")

    def protection_price(
        self, exchange: str, symbol: str, side: str, reference: Decimal, percent: Decimal
    ) -> Decimal:
        """The protected limit: reference +/- percent, on the tick, never past the band."""
        tick = self._tick(exchange, symbol)
        factor = (Decimal(100) + percent) / 100 if side == "BUY" else (Decimal(100) - percent) / 100
        steps = (reference * factor / tick).to_integral_value(
            rounding=ROUND_FLOOR if side == "BUY" else ROUND_CEILING
        )
        return max(steps, Decimal(1)) * tick

    def _convert_to_protected_limit(self, order: dict, reference: Decimal, percent: Decimal):
        price = self.protection_price(
            order["exchange"], order["tradingsymbol"], order["transaction_type"], reference, percent
        )
        order["order_type"] = "LIMIT"
        order["price"] = _num(price)
        order["market_protection"] = 0  # as Zerodha's converted row in orders.json shows
        tags = [t for t in order.get("tags") or [] if t != "mktp" and not t.startswith("mktp:")]
        order["tags"] = [*tags, "mktp", f"mktp:{percent:.2f}"]

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
        quantity = self._quantity(params)
        price = self._decimal(params, "price") or Decimal(0)
        trigger = self._decimal(params, "trigger_price") or Decimal(0)
        if order_type in ("LIMIT", "SL") and price <= 0:
            raise BookError(400, "InputException", "Invalid `price`.")
        if variety == "co" and trigger <= 0:
            raise BookError(400, "InputException", CO_NEEDS_TRIGGER)
        if order_type in ("SL", "SL-M") and trigger <= 0:
            raise BookError(400, "InputException", "Invalid `trigger_price`.")
        percent = None
        if order_type in ("MARKET", "SL-M"):
            percent = self._protection_percent(params)
        validity = params.get("validity") or "DAY"
        if self.refuse_ioc_on_mcx and validity == "IOC" and params["exchange"] == "MCX":
            raise BookError(400, "InputException", MCX_IOC)
        tag = params.get("tag") or None
        if tag is not None and len(tag) > 20:
            raise BookError(400, "InputException", "Tag length should be less than 20 characters.")
        exchange, symbol = params["exchange"], params["tradingsymbol"]
        info = self.instrument(exchange, symbol) or {}
        with self.lock:
            order_id = str(next(self._order_ids))
            now = self._now()
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
                "exchange": exchange,
                "tradingsymbol": symbol,
                "instrument_token": int(info.get("instrument_token") or 0),
                "order_type": order_type,
                "transaction_type": params["transaction_type"],
                "validity": validity,
                "product": "CO" if variety == "co" else params["product"],
                "quantity": quantity,
                "disclosed_quantity": 0,
                "price": _num(price),
                "trigger_price": _num(trigger),
                "average_price": 0,
                "filled_quantity": 0,
                "pending_quantity": quantity,
                "cancelled_quantity": 0,
                "market_protection": _num(params["market_protection"]) if percent else 0,
                "meta": {},
                "tag": tag,
                "tags": [tag] if tag else [],
                "guid": f"guid{order_id[-6:]}",
            }
            if variety == "co":
                # The stop-loss leg is created when the main leg fills (see `fill`).
                self._cover_triggers[order_id] = trigger
            if percent is not None and self.convert_market_orders:
                if order_type == "MARKET":
                    reference = self.ltp(exchange, symbol)
                    if reference is not None and reference > 0:
                        self._convert_to_protected_limit(order, Decimal(str(reference)), percent)
                else:  # SL-M: protected when it triggers
                    self._protection[order_id] = percent
            self.orders[order_id] = order
            if self.visibility_delay > 0:
                self._visible_at[order_id] = time.monotonic() + self.visibility_delay
            for transient in ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"):
                order["status"] = transient
                self._snapshot(order)
            limits = self.circuit(exchange, symbol)
            if limits is not None and any(
                value > 0 and not limits[0] <= value <= limits[1] for value in (price, trigger)
            ):
                order["status"] = "REJECTED"  # RMS: outside the day's circuit limits
                order["status_message"] = order["status_message_raw"] = CIRCUIT_REJECTION
                order["cancelled_quantity"] = 0
                order["pending_quantity"] = 0
                self._snapshot(order)
                return order
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
            done = self._modifications.get(order["order_id"], 0)
            if done >= self.max_modifications:
                raise BookError(400, "InputException", TOO_MANY_MODIFICATIONS)
            quantity = self._quantity(params)
            price = self._decimal(params, "price")
            trigger = self._decimal(params, "trigger_price")
            new_type = params.get("order_type") or None
            if new_type is not None and new_type not in self.ORDER_TYPES:
                raise BookError(400, "InputException", "Invalid `order_type`.")
            percent = None
            if new_type in ("MARKET", "SL-M"):
                percent = self._protection_percent(params)
            if quantity is not None and quantity < order["filled_quantity"]:
                raise BookError(400, "InputException", "Invalid `quantity`.")
            working = order["status"]
            for transient in ("MODIFY VALIDATION PENDING", "MODIFY PENDING"):
                order["status"] = transient
                self._snapshot(order)
            if quantity is not None:
                order["quantity"] = quantity
                order["pending_quantity"] = quantity - order["filled_quantity"]
            if price is not None:
                order["price"] = _num(price)
            if trigger is not None:
                order["trigger_price"] = _num(trigger)
            if new_type is not None:
                order["order_type"] = new_type
            if percent is not None and self.convert_market_orders:
                if new_type == "MARKET":
                    reference = self.ltp(order["exchange"], order["tradingsymbol"])
                    if reference is not None and reference > 0:
                        self._convert_to_protected_limit(order, Decimal(str(reference)), percent)
                else:
                    self._protection[order["order_id"]] = percent
            self._modifications[order["order_id"]] = done + 1
            order["status"] = "MODIFIED"
            order["modified"] = True
            self._snapshot(order)
            order["status"] = working
            order["order_timestamp"] = order["exchange_update_timestamp"] = self._now()
            self._snapshot(order)
            self._push(order, self.modify_push_status)
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
            order["exchange_update_timestamp"] = self._now()
            self._snapshot(order)
            self._push(order)
            return order

    def modifications(self, order_id: str) -> int:
        """How many modifications Kite accepted for this order."""
        return self._modifications.get(str(order_id), 0)

    # -- test hooks ----------------------------------------------------------------------

    def fill(
        self, order_id: str, quantity: int | None = None, price=None, *, push: bool = True
    ) -> dict:
        """Execute `quantity` (default: all pending) at `price`; returns the trade."""
        with self.lock:
            order = self._order(order_id)
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
            now = self._now()
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
            if order["status"] == "COMPLETE" and order["order_id"] in self._cover_triggers:
                self._cover_stop_leg(order, self._cover_triggers.pop(order["order_id"]))
            if push:
                self._push(order)
            return trade

    def _cover_stop_leg(self, main: dict, trigger: Decimal) -> dict:
        """A cover order's second leg: SL-M the other way, parent_order_id = the main leg."""
        order_id = str(next(self._order_ids))
        now = self._now()
        leg = copy.deepcopy(main)
        leg.update(
            {
                "order_id": order_id,
                "exchange_order_id": str(1300000000000000 + int(order_id[-9:])),
                "parent_order_id": main["order_id"],
                "status": "TRIGGER PENDING",
                "order_timestamp": now,
                "exchange_timestamp": now,
                "exchange_update_timestamp": now,
                "order_type": "SL-M",
                "transaction_type": "SELL" if main["transaction_type"] == "BUY" else "BUY",
                "price": 0,
                "trigger_price": _num(trigger),
                "average_price": 0,
                "filled_quantity": 0,
                "pending_quantity": main["quantity"],
                "cancelled_quantity": 0,
                "modified": False,
                "guid": f"guid{order_id[-6:]}",
            }
        )
        self.orders[order_id] = leg
        self._snapshot(leg)
        return leg

    def reject(
        self, order_id: str, message: str = "RMS:Margin Exceeds", *, push: bool = True
    ) -> dict:
        with self.lock:
            order = self._order(order_id)
            order["status"] = "REJECTED"
            order["status_message"] = message
            order["status_message_raw"] = message
            order["pending_quantity"] = 0
            order["exchange_update_timestamp"] = self._now()
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def trigger(self, order_id: str, *, push: bool = True) -> dict:
        """A stop order triggers: OPEN at its limit; an SL-M becomes a protected LIMIT."""
        with self.lock:
            order = self._order(order_id)
            if order["status"] != "TRIGGER PENDING":
                raise ValueError("not trigger pending")
            percent = self._protection.pop(order["order_id"], None)
            if percent is not None and order["order_type"] == "SL-M":
                reference = self.ltp(order["exchange"], order["tradingsymbol"])
                if reference is None or reference <= 0:
                    reference = order["trigger_price"]
                self._convert_to_protected_limit(order, Decimal(str(reference)), percent)
            order["status"] = "OPEN"
            order["exchange_update_timestamp"] = self._now()
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def set_status(self, order_id: str, status: str, *, push: bool = False) -> dict:
        with self.lock:
            order = self._order(order_id)
            order["status"] = status
            order["exchange_update_timestamp"] = self._now()
            self._snapshot(order)
            if push:
                self._push(order)
            return order

    def replay(self, order_id: str, status: str) -> dict:
        """Push again the newest past state of the order with this status, timestamps and
        all: a late, out-of-order update (Kite's postbacks are asynchronous OMS events)."""
        with self.lock:
            self._order(order_id)
            for state in reversed(self.history.get(str(order_id), [])):
                if state["status"] == status:
                    self._push(state)
                    return copy.deepcopy(state)
        raise ValueError(f"order {order_id} was never {status}")

    def add_raw_order(self, row: dict, history: list[dict] | None = None) -> None:
        """Seed an order exactly as given (e.g. from orders.json)."""
        with self.lock:
            row = copy.deepcopy(row)
            self.orders[str(row["order_id"])] = row
            self.history[str(row["order_id"])] = copy.deepcopy(history or [row])

    def by_tag(self, tag: str) -> list[dict]:
        """Every order with this tag, shown in the order book yet or not (a test's view)."""
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.get("tag") == tag or tag in (o.get("tags") or [])
            ]

    # -- views ---------------------------------------------------------------------------

    def order_list(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(
                [o for o in self.orders.values() if self._visible(str(o["order_id"]))]
            )

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
        """Net positions from the book's trades (plus any seeded rows), in Kite's shape.

        Quantities are what the orders said (lots on MCX/CDS); prices are per unit of the
        quote; every value is multiplied by the contract's `multiplier` (1000 for
        LEADMINI): value = sell value - buy value, pnl = value + quantity x last x
        multiplier (Zerodha's positions.json: 1 LEADMINI @161.05 -> value -161050).
        """
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
                        "token": trade.get("instrument_token") or 0,
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
            net = [self._position_row(key, r) for key, r in rows.items()]
            net.extend(copy.deepcopy(self.extra_positions))
            return {"net": net, "day": copy.deepcopy(net)}

    def _position_row(self, key: tuple[str, str, str], r: dict) -> dict:
        exchange, symbol, product = key
        info = self.instrument(exchange, symbol) or {}
        multiplier = Decimal(str(info.get("multiplier") or 1))
        quantity = r["buy_q"] - r["sell_q"]
        if quantity > 0:
            average = r["buy_v"] / r["buy_q"]
        elif quantity < 0:
            average = r["sell_v"] / r["sell_q"]
        else:
            average = Decimal(0)
        mark = self.mark(exchange, symbol)
        last = Decimal(str(mark)) if mark is not None else r["last"]
        buy_value = r["buy_v"] * multiplier
        sell_value = r["sell_v"] * multiplier
        value = sell_value - buy_value
        pnl = value + quantity * last * multiplier
        unrealised = quantity * (last - average) * multiplier
        buy_price = r["buy_v"] / r["buy_q"] if r["buy_q"] else Decimal(0)
        sell_price = r["sell_v"] / r["sell_q"] if r["sell_q"] else Decimal(0)
        return {
            "tradingsymbol": symbol,
            "exchange": exchange,
            "instrument_token": int(info.get("instrument_token") or r["token"] or 0),
            "product": product,
            "quantity": quantity,
            "overnight_quantity": 0,
            "multiplier": _num(multiplier),
            "average_price": _num(average),
            "close_price": 0,
            "last_price": _num(last),
            "value": _num(value),
            "pnl": _num(pnl),
            "m2m": _num(pnl),
            "unrealised": _num(unrealised),
            "realised": _num(pnl - unrealised),
            "buy_quantity": r["buy_q"],
            "buy_price": _num(buy_price),
            "buy_value": _num(buy_value),
            "buy_m2m": _num(buy_value),
            "sell_quantity": r["sell_q"],
            "sell_price": _num(sell_price),
            "sell_value": _num(sell_value),
            "sell_m2m": _num(sell_value),
            "day_buy_quantity": r["buy_q"],
            "day_buy_price": _num(buy_price),
            "day_buy_value": _num(buy_value),
            "day_sell_quantity": r["sell_q"],
            "day_sell_price": _num(sell_price),
            "day_sell_value": _num(sell_value),
        }
