"""KiteBroker's order entry: place, modify and cancel (never retried, never resent).

`KiteOrdersMixin` is a mixin of `KiteBroker` (kite.py), not a helper object. A place
request whose answer is lost is resolved by looking its tag (= client order id) up in
the order book (`_resolve_by_tag`); an unanswered modify or cancel is BrokerOutcomeUnknown
(a cancel is first checked against the order's history). Requests go through the shared
order rate limiter and `KiteCallsMixin._call`; session handling lives on `KiteBroker`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRejected,
    SessionExpired,
)
from desktop_oms.brokers.kite.failures import Classified, Failure, classify_failure, to_broker_error
from desktop_oms.brokers.kite.mapping import order_params, plain_decimal
from desktop_oms.brokers.kite.parsing.values import BrokerDataError, _id, has_tag, iter_rows
from desktop_oms.domain import Order, OrderStatus, OrderType, Variety

# Split out of kite: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.broker")

_AMBIGUOUS_WRITE = frozenset({Failure.SERVER_ERROR, Failure.RESPONSE_LOST, Failure.MALFORMED})


class KiteOrdersMixin:
    """Order entry of `KiteBroker`: place (resolved by tag when unanswered), modify, cancel."""

    async def place_order(self, order: Order) -> str:
        """Send the journaled order once; return Kite's order id (a string).

        BrokerRejected: Kite refused it (StaticIpRejected for the static-IP rule).
        BrokerOutcomeUnknown: it may exist at Kite but could not be found by its tag.
        BrokerUnavailable / BrokerRateLimited: it certainly did not reach Kite.
        SessionExpired: log in again (nothing was sent).
        """
        self._check_session()
        params = order_params(order)
        tag = params["tag"]
        await self.order_limiter.acquire(max_wait=self.order_wait_limit)
        self._check_session()
        log.info(
            "placing Kite order %s: %s %s %s:%s x%s",
            tag,
            params["order_type"],
            params["transaction_type"],
            params["exchange"],
            params["tradingsymbol"],
            params["quantity"],
        )
        try:
            result = await self._call("place_order", **params)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                return await self._resolve_by_tag(tag, classified)
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            if classified.failure is Failure.NOT_FOUND:  # e.g. "instrument not found"
                classified = Classified(Failure.REJECTED, classified.message, classified.code)
            error = to_broker_error(classified, action=f"place order {tag}")
            log.warning("Kite order %s not placed: %s", tag, error)
            raise error from exc
        try:
            broker_order_id = _id(result, "order_id")
        except BrokerDataError as exc:
            return await self._resolve_by_tag(tag, Classified(Failure.MALFORMED, str(exc)))
        log.info("Kite order %s placed: order id %s", tag, broker_order_id)
        return broker_order_id

    async def _resolve_by_tag(self, tag: str, cause: Classified) -> str:
        """The place request may have reached Kite: find the order by its tag, never resend."""
        log.warning(
            "Kite did not confirm order %s (%s: %s); looking it up by its tag (it is NOT resent)",
            tag,
            cause.failure.value,
            cause.message,
        )
        last_error: BrokerError | None = None
        for attempt in range(self.lookup_attempts):
            if attempt:
                await self._sleep(self.lookup_interval)
            try:
                rows = await self._read("look up the order by its tag", "orders", retries=0)
                rows = list(iter_rows(rows, "an order list"))
            except SessionExpired as exc:
                last_error = exc
                break
            except BrokerError as exc:
                last_error = exc
                continue
            matches = []
            for row in rows:
                if isinstance(row, Mapping) and has_tag(row, tag):
                    try:
                        matches.append(_id(row.get("order_id"), "order_id"))
                    except BrokerDataError:
                        continue
            if matches:
                unique = list(dict.fromkeys(matches))
                if len(unique) > 1:
                    log.error(
                        "several Kite orders carry tag %s: %s (returning the first)", tag, unique
                    )
                log.warning("Kite order %s found by its tag: order id %s", tag, unique[0])
                return unique[0]
        detail = f"; the last look-up failed: {last_error.message}" if last_error else ""
        raise BrokerOutcomeUnknown(
            f"Kite did not confirm order {tag} ({cause.message}) and it was not found in the "
            f"order book after {self.lookup_attempts} look-ups{detail}. It was NOT sent again; "
            f"check the Kite order book - reconciliation will match it by its tag."
        )

    async def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
        variety: Variety = Variety.REGULAR,
    ) -> None:
        """Modify an open order. Never retried; an unanswered modify is BrokerOutcomeUnknown."""
        self._check_session()
        params: dict[str, Any] = {
            "variety": Variety(variety).value,
            "order_id": str(broker_order_id),
        }
        if quantity is not None:
            params["quantity"] = int(quantity)
        if price is not None:
            params["price"] = plain_decimal(price)
        if trigger_price is not None:
            params["trigger_price"] = plain_decimal(trigger_price)
        if order_type is not None:
            order_type = OrderType(order_type)
            params["order_type"] = order_type.value
            if order_type in (OrderType.MARKET, OrderType.SL_M):
                params["market_protection"] = -1
        if len(params) == 2:
            raise BrokerRejected("nothing to modify")
        await self.order_limiter.acquire(max_wait=self.order_wait_limit)
        self._check_session()
        try:
            await self._call("modify_order", **params)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the modification of order {broker_order_id} "
                    f"({classified.message}); it was not resent - refresh the order to see its state"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            raise to_broker_error(classified, action=f"modify order {broker_order_id}") from exc

    async def cancel_order(
        self, broker_order_id: str, *, variety: Variety = Variety.REGULAR
    ) -> None:
        """Cancel an order. An unanswered cancel is checked against the order's history.

        A cancel waits its turn at the rate limiter however long that takes: unlike a new
        order or a new price, it never goes stale (it only takes risk off)."""
        self._check_session()
        await self.order_limiter.acquire()
        self._check_session()
        try:
            await self._call("cancel_order", Variety(variety).value, str(broker_order_id))
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                if await self._is_cancelled(str(broker_order_id)):
                    log.warning(
                        "cancel of Kite order %s unconfirmed, but the order is cancelled",
                        broker_order_id,
                    )
                    return
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the cancellation of order {broker_order_id} "
                    f"({classified.message}); it was not resent - refresh the order to see its state"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            raise to_broker_error(classified, action=f"cancel order {broker_order_id}") from exc

    async def _is_cancelled(self, broker_order_id: str) -> bool:
        try:
            history = await self.order_history(broker_order_id)
        except BrokerError:
            return False
        return bool(history) and history[-1].status is OrderStatus.CANCELLED
