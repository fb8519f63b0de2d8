"""KiteBroker's account reads: order book, order history, trades, positions, margins,
funds, order margins and the session check (the user's profile).

`KiteAccountMixin` is a mixin of `KiteBroker` (kite.py), not a helper object: every read
goes through `KiteCallsMixin._read` (retried on transient failures) and its rows are
mapped by `kite_reports`; a malformed row fails the whole read.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from desktop_oms.brokers.kite.parsing.reports import (
    order_report_from_kite,
    position_report_from_kite,
    trade_report_from_kite,
)
from desktop_oms.brokers.kite.parsing.values import BrokerDataError, iter_rows
from desktop_oms.domain import Order, OrderReport, PositionReport, TradeReport
from desktop_oms.domain.market import Funds

# Kite's margins come in two segments; orders on these exchanges draw on the commodity one.
COMMODITY_SEGMENT = "commodity"
COMMODITY_EXCHANGES = frozenset({"MCX", "NCO"})


class KiteAccountMixin:
    """Reads of the account: orders, trades, positions, margins, funds, profile."""

    async def orders(self) -> list[OrderReport]:
        rows = await self._read("fetch the order book", "orders")
        now = self._now()
        return self._map_rows(rows, lambda row: order_report_from_kite(row, now=now), "order")

    async def order_history(self, broker_order_id: str) -> list[OrderReport]:
        """Every state the order went through, oldest first."""
        rows = await self._read(
            f"fetch the history of order {broker_order_id}", "order_history", str(broker_order_id)
        )
        now = self._now()
        return self._map_rows(rows, lambda row: order_report_from_kite(row, now=now), "order")

    async def order_trades(self, broker_order_id: str) -> list[TradeReport]:
        rows = await self._read(
            f"fetch the trades of order {broker_order_id}", "order_trades", str(broker_order_id)
        )
        now = self._now()
        return self._map_rows(rows, lambda row: trade_report_from_kite(row, now=now), "trade")

    async def trades(self) -> list[TradeReport]:
        rows = await self._read("fetch the trade book", "trades")
        now = self._now()
        return self._map_rows(rows, lambda row: trade_report_from_kite(row, now=now), "trade")

    async def positions(self, *, include_closed: bool = False) -> list[PositionReport]:
        """Net positions (signed quantity, Kite's multiplier); closed (0) rows only on request."""
        data = await self._read("fetch positions", "positions")
        if not isinstance(data, Mapping) or "net" not in data:
            raise BrokerDataError("Kite sent positions without a 'net' list")
        reports = self._map_rows(data["net"], position_report_from_kite, "position")
        self.learn_multipliers(reports)  # closed rows too: Kite's multiplier is the truth
        return [r for r in reports if include_closed or r.quantity != 0]

    async def margins(self) -> dict:
        """Kite's raw margins (equity and commodity segments)."""
        data = await self._read("fetch margins", "margins")
        if not isinstance(data, Mapping):
            raise BrokerDataError("Kite sent margins that are not an object")
        return dict(data)

    async def funds(self, exchange: str | None = None) -> Funds | None:
        """The segment's margin that an order on `exchange` draws on (Kite keeps MCX in
        its commodity segment, everything else in equity): available = net margin, used =
        utilised debits. Without an exchange: the equity segment."""
        data = await self.margins()
        segment = COMMODITY_SEGMENT if (exchange or "").upper() in COMMODITY_EXCHANGES else "equity"
        equity = data.get(segment)
        if not isinstance(equity, Mapping):
            return None
        try:
            available = Decimal(str(equity["net"]))
            utilised = equity.get("utilised") or {}
            used = (
                Decimal(str(utilised.get("debits", 0)))
                if isinstance(utilised, Mapping)
                else Decimal(0)
            )
        except Exception as exc:  # noqa: BLE001
            raise BrokerDataError(
                f"Kite sent {segment} margins that could not be read: {exc}"
            ) from exc
        return Funds(available=available, used=used)

    async def order_margins(self, order: Order) -> Decimal:
        """Margin Kite requires for this order (given current positions and orders)."""
        leg = {
            "exchange": order.exchange,
            "tradingsymbol": order.symbol,
            "transaction_type": order.side.value,
            "variety": order.variety.value,
            "product": order.product.value,
            "order_type": order.order_type.value,
            "quantity": int(order.quantity),
            "price": float(order.price) if order.price is not None else 0,
            "trigger_price": float(order.trigger_price) if order.trigger_price is not None else 0,
        }
        rows = await self._read("compute order margins", "order_margins", [leg])
        total = Decimal(0)
        for row in iter_rows(rows, "an order margin list"):
            if not isinstance(row, Mapping) or "total" not in row:
                raise BrokerDataError("Kite sent an order margin without a total")
            try:
                total += Decimal(str(row["total"]))
            except Exception as exc:  # noqa: BLE001
                raise BrokerDataError(
                    f"Kite sent an unreadable margin total: {row['total']!r}"
                ) from exc
        return total

    async def verify_session(self) -> dict:
        """The user's profile; raises SessionExpired if the token is not valid."""
        data = await self._read("check the session", "profile")
        return dict(data) if isinstance(data, Mapping) else {}
