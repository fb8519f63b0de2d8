"""PaperBroker's order requests: accepting, modifying and finding open orders.

`PaperRequestsMixin` is a mixin of `PaperBroker` (paper.py), not a helper object. The
public request methods (place_order, modify_order, cancel_order) stay on `PaperBroker`;
this holds what they do under the broker's lock: the exchange checks and margin (see
`paper_rules`), the events of a new or changed order with its first matching pass, and
the simulated latency and rate limit around a request.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.brokers.paper.rules import (
    MAX_MODIFICATIONS,
    OrderTerms,
    check_funds,
    check_new_order,
    check_terms,
    label,
    modified_terms,
)
from desktop_oms.brokers.paper.state import PaperOrder
from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import Order, OrderStatus, OrderType
from desktop_oms.domain.margin import order_margin
from desktop_oms.domain.money import to_decimal


class PaperRequestsMixin:
    """Order requests of `PaperBroker`: latency and rate limit, accept, modify, look up."""

    async def _before_request(self, order_request: bool = False) -> None:
        if self._hub.loop is None:
            self._hub.loop = asyncio.get_running_loop()
        if order_request and self._limiter is not None:
            await self._limiter.acquire()
        if self.latency_s > 0:
            # Order requests: half the latency before the exchange acts, half after (a
            # caller that gives up in the second half leaves an order that exists).
            await asyncio.sleep(self.latency_s / 2 if order_request else self.latency_s)

    async def _after_request(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s / 2)

    def _accept(self, order: Order) -> tuple[str, list[BrokerUpdate]]:
        key = (order.exchange, order.symbol)
        last = self._state.prices.get(key)
        instrument, terms = check_new_order(
            order, self.instrument_store.get(*key), last, _paper._today()
        )
        reference = terms.price if terms.price is not None else last
        if reference is not None:
            position = self._state.position_quantity(order.exchange, order.symbol, order.product)
            required = order_margin(
                instrument, order.product, order.side, order.quantity, reference, position
            )
            check_funds(required, self._cash() - self._used_margin())
        now = _paper._utcnow()
        paper = PaperOrder(
            broker_order_id=self._next_order_id(),
            tag=order.client_order_id,
            exchange=instrument.exchange,
            symbol=instrument.symbol,
            side=order.side,
            order_type=terms.order_type,
            product=order.product,
            validity=order.validity,
            variety=order.variety,
            quantity=terms.quantity,
            price=terms.price,
            trigger_price=terms.trigger_price,
            status=OrderStatus.TRIGGER_PENDING
            if terms.order_type.needs_trigger
            else OrderStatus.OPEN,
            placed_at=now,
            updated_at=now,
        )
        events = [{"type": "accepted", "order": paper.to_json()}]
        events += self._match_events(paper, instrument, last, entering=True, now=now)
        return paper.broker_order_id, self._commit(events)

    def _modify(
        self,
        broker_order_id: str,
        quantity: int | None,
        price: Decimal | int | str | None,
        trigger_price: Decimal | int | str | None,
        order_type: OrderType | str | None,
    ) -> list[BrokerUpdate]:
        order = self._open_order(broker_order_id, "modified")
        if order.modification_count >= MAX_MODIFICATIONS:
            raise BrokerRejected(
                f"Maximum allowed order modifications ({MAX_MODIFICATIONS}) exceeded"
            )
        instrument = self.instrument_store.get(order.exchange, order.symbol)
        if instrument is None:
            raise BrokerRejected(f"Unknown instrument {label(order.exchange, order.symbol)}")
        try:
            new_type = OrderType(order_type) if order_type is not None else None
            new_price = to_decimal(price, "price") if price is not None else None
            new_trigger = (
                to_decimal(trigger_price, "trigger price") if trigger_price is not None else None
            )
        except ValueError as exc:
            raise BrokerRejected(str(exc)) from None
        current = OrderTerms(order.order_type, order.quantity, order.price, order.trigger_price)
        terms = modified_terms(
            current,
            quantity=quantity,
            price=new_price,
            trigger_price=new_trigger,
            order_type=new_type,
        )
        if terms.order_type.needs_trigger and not order.order_type.needs_trigger:
            raise BrokerRejected(
                f"An open {order.order_type.value} order cannot be changed into an {terms.order_type.value} order"
            )
        check_terms(instrument, order.side, terms)
        if terms.quantity < order.filled_quantity:
            raise BrokerRejected(
                f"Quantity cannot be less than the filled quantity ({order.filled_quantity})"
            )
        last = self._state.prices.get(order.key)
        if terms.order_type is OrderType.MARKET and last is None:
            raise BrokerRejected(f"No market price for {label(order.exchange, order.symbol)}")
        now = _paper._utcnow()
        event = {
            "type": "modified",
            "order_id": order.broker_order_id,
            "quantity": terms.quantity,
            "price": None if terms.price is None else str(terms.price),
            "trigger_price": None if terms.trigger_price is None else str(terms.trigger_price),
            "order_type": terms.order_type.value,
            "at": now.isoformat(),
        }
        preview = replace(
            order,
            quantity=terms.quantity,
            price=terms.price,
            trigger_price=terms.trigger_price,
            order_type=terms.order_type,
        )
        preview.settle_status()
        return self._commit(
            [event, *self._match_events(preview, instrument, last, entering=True, now=now)]
        )

    def _open_order(self, broker_order_id: str, verb: str) -> PaperOrder:
        order = self._state.orders.get(str(broker_order_id))
        if order is None:
            raise OrderNotFoundAtBroker(
                f"Couldn't find order {broker_order_id} at the paper broker"
            )
        if not order.is_active:
            raise BrokerRejected(
                f"Order cannot be {verb} as it is already {_paper._FINISHED_WORDS[order.status]}"
            )
        return order


# paper.py's own names (IST, the clock helpers, COMPACT_AFTER_*, PRICE_SAVE_INTERVAL_S,
# _FINISHED_WORDS) stay defined there and are read from it at call time, so patching them
# on desktop_oms.brokers.paper.broker still takes effect. Imported last: either module may load first.
from desktop_oms.brokers.paper import broker as _paper  # noqa: E402
