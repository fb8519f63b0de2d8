"""KiteBroker's call plumbing: per-thread KiteConnect clients, the two thread pools,
read retries with exponential backoff, and mapping list answers row by row.

`KiteCallsMixin` is a mixin of `KiteBroker` (kite.py), not a helper object: the state it
uses (`_local`, `_clients`, `_executor`, `_order_executor`, limiters, retry settings) is
set up in `KiteBroker.__init__`, and `_check_session` / `_mark_session_expired` live on
`KiteBroker`. Writes go to their own pool and are never retried here (see kite_orders).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from desktop_oms.brokers.kite.failures import Failure, classify_failure, to_broker_error
from desktop_oms.brokers.kite.parsing.values import BrokerDataError, UnsupportedKiteRow, iter_rows
from desktop_oms.brokers.rate_limit import RateLimiter

# Split out of kite: log under its name, as before.
log = logging.getLogger("desktop_oms.brokers.kite.broker")

_RETRYABLE_READ = frozenset(
    {
        Failure.SERVER_ERROR,
        Failure.RESPONSE_LOST,
        Failure.NOT_SENT,
        Failure.RATE_LIMITED,
        Failure.MALFORMED,
    }
)
_WRITES = frozenset({"place_order", "modify_order", "cancel_order"})


class KiteCallsMixin:
    """Running `KiteConnect` calls off the loop: clients, executors, retried reads."""

    def _client(self):
        """This worker thread's KiteConnect (created on first use, token kept current)."""
        from kiteconnect import KiteConnect

        client = getattr(self._local, "client", None)
        if client is None:
            client = KiteConnect(
                self.api_key, access_token=self._access_token, root=self.root, timeout=self.timeout
            )
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        elif client.access_token != self._access_token:
            client.set_access_token(self._access_token)
        return client

    def _invoke(self, method: str, args: tuple, kwargs: dict):
        return getattr(self._client(), method)(*args, **kwargs)

    async def _call(self, method: str, *args, **kwargs):
        loop = asyncio.get_running_loop()
        executor = self._order_executor if method in _WRITES else self._executor
        return await loop.run_in_executor(
            executor, functools.partial(self._invoke, method, args, kwargs)
        )

    def _retry_delay(self, attempt: int, failure: Failure) -> float:
        base = self.retry_base_delay * (2**attempt)
        if failure is Failure.RATE_LIMITED:
            base = max(base, self.retry_base_delay * 4)  # a 429 needs a real pause
        return min(base, self.retry_max_delay)

    async def _read(
        self,
        action: str,
        method: str,
        *args,
        limiter: RateLimiter | None = None,
        retries: int | None = None,
        **kwargs,
    ):
        """A read-only call with retries on transient failures."""
        retries = self.read_retries if retries is None else retries
        attempt = 0
        while True:
            self._check_session()
            await (limiter or self.api_limiter).acquire()
            try:
                return await self._call(method, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified below
                classified = classify_failure(exc)
                if classified.failure is Failure.SESSION_EXPIRED:
                    self._mark_session_expired(classified.message)
                    raise to_broker_error(classified, action=action) from exc
                if classified.failure not in _RETRYABLE_READ or attempt >= retries:
                    raise to_broker_error(classified, action=action) from exc
                delay = self._retry_delay(attempt, classified.failure)
                attempt += 1
                log.info(
                    "Kite %s failed (%s: %s); retry %d/%d in %.2f s",
                    method,
                    classified.failure.value,
                    classified.message,
                    attempt,
                    retries,
                    delay,
                )
                await self._sleep(delay)

    def _map_rows(self, rows: object, mapper: Callable, what: str) -> list:
        result = []
        for row in iter_rows(rows, f"a {what} list"):
            try:
                result.append(mapper(row))
            except UnsupportedKiteRow as exc:
                log.warning("skipping a Kite %s this app does not model: %s", what, exc)
            except BrokerDataError as exc:
                raise BrokerDataError(
                    f"Kite sent a {what} that could not be read: {exc.message}"
                ) from exc
            except Exception as exc:  # noqa: BLE001 - garbled rows are a data error
                raise BrokerDataError(f"Kite sent a {what} that could not be read: {exc}") from exc
        return result
