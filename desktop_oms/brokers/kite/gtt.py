"""KiteBroker's GTTs: place, modify, delete and list Kite's good-till-triggered orders.

`KiteGttMixin` is a mixin of `KiteBroker` (broker.py). Writes are never retried or
resent: a GTT carries no tag, so an unanswered place cannot be found again with
certainty; it is BrokerOutcomeUnknown and the trader looks at the GTT list (which is
refreshed). Reads retry like every other read (`KiteCallsMixin._read`).
"""

from __future__ import annotations

import logging

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerRejected
from desktop_oms.brokers.kite.failures import Failure, classify_failure, to_broker_error
from desktop_oms.brokers.kite.orders import _AMBIGUOUS_WRITE
from desktop_oms.brokers.kite.parsing.gtt import gtt_from_kite, gtt_params, trigger_id_of
from desktop_oms.brokers.kite.parsing.values import BrokerDataError
from desktop_oms.domain.gtt import Gtt, GttRequest, gtt_problem

log = logging.getLogger("desktop_oms.brokers.kite.broker")


class KiteGttMixin:
    """GTTs of `KiteBroker`."""

    async def place_gtt(self, request: GttRequest) -> int:
        problem = gtt_problem(request)
        if problem:
            raise BrokerRejected(problem)
        params = gtt_params(request)
        log.info(
            "placing Kite GTT %s %s:%s triggers %s",
            request.gtt_type.value,
            request.exchange,
            request.symbol,
            params["trigger_values"],
        )
        data = await self._gtt_write("place", "place_gtt", **params)
        try:
            return trigger_id_of(data)
        except BrokerDataError as exc:
            raise BrokerOutcomeUnknown(
                f"Kite's answer to the GTT could not be read ({exc}); it was not sent again - "
                "refresh the GTT list to see whether it exists"
            ) from exc

    async def modify_gtt(self, gtt_id: int, request: GttRequest) -> None:
        problem = gtt_problem(request)
        if problem:
            raise BrokerRejected(problem)
        await self._gtt_write(
            f"modify GTT {gtt_id}", "modify_gtt", int(gtt_id), **gtt_params(request)
        )

    async def delete_gtt(self, gtt_id: int) -> None:
        await self._gtt_write(f"delete GTT {gtt_id}", "delete_gtt", int(gtt_id))

    async def gtts(self) -> list[Gtt]:
        rows = await self._read("fetch the GTTs", "get_gtts")
        return self._map_rows(rows, gtt_from_kite, "GTT")

    async def _gtt_write(self, action: str, method: str, *args, **kwargs):
        self._check_session()
        await self.api_limiter.acquire()
        self._check_session()
        try:
            return await self._call(method, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classified below
            classified = classify_failure(exc)
            if classified.failure in _AMBIGUOUS_WRITE:
                raise BrokerOutcomeUnknown(
                    f"Kite did not confirm the request to {action} ({classified.message}); "
                    "it was not sent again - refresh the GTT list to see where it stands"
                ) from exc
            if classified.failure is Failure.SESSION_EXPIRED:
                self._mark_session_expired(classified.message)
            error = to_broker_error(classified, action=action)
            log.warning("Kite GTT request to %s failed: %s", action, error)
            raise error from exc
