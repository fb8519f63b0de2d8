"""OrderManager: the order journal's owner and the only path to the broker.

place_order: checks -> PENDING row committed (write-ahead) -> broker -> ack -> monitoring.
An order above its instrument's freeze quantity (index options and futures) is sent as
slices: see `place_order`.
Broker facts (pushed updates and the 1 s polling fallback) are applied by one consumer
under one lock, so order state, fills and positions change in a single order. Fills are
applied exactly once, keyed by (exchange, trade id), in the same transaction as the trade
row, the order change and the position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from desktop_oms.brokers.errors import (
    BrokerError,
    BrokerOutcomeUnknown,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)
from desktop_oms.brokers.port import Broker, BrokerUpdate
from desktop_oms.domain import (
    CANCELLABLE_STATUSES,
    MODIFIABLE_STATUSES,
    ClientOrderIdGenerator,
    Order,
    OrderRequest,
    OrderResult,
    OrderStatus,
    order_shape_problem,
)
from desktop_oms.domain.events import (
    Alert,
    OrderModified,
    OrderStatusChanged,
    TradingHalted,
    TradingResumed,
)
from desktop_oms.domain.ids import new_install_prefix
from desktop_oms.domain.orders import EXIT_SOURCES, HALT_EXEMPT_SOURCES, MAX_MODIFICATIONS
from desktop_oms.infra.clock import utcnow
from desktop_oms.marketdata.options.slicing import SlicePlan, SliceRefused, plan_slices
from desktop_oms.oms.baskets import BasketOutcome, place_basket
from desktop_oms.oms.checks import (
    check_modification,
    instrument_problem,
    order_type_problem,
    reducing_total,
)
from desktop_oms.oms.errors import (
    OMSError,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
    OrderSubmissionFailed,
    StorageError,
)
from desktop_oms.oms.event_bus import EventBus
from desktop_oms.oms.exits import ExitOutcome, PositionExit
from desktop_oms.oms.position_manager import PositionManager
from desktop_oms.oms.sync.order_sync import OrderSync
from desktop_oms.storage import Database, DatabaseError, explain_storage_error

log = logging.getLogger(__name__)

MAX_SLICES = 10  # Kite's limit on the orders one sliced order may become (2026)
SYSTEM_SOURCES = EXIT_SOURCES
MODIFY_CHECKS = ("price_band", "max_quantity", "max_order_value")


class OrderManager:
    def __init__(
        self,
        db: Database,
        broker_client: Broker,
        position_manager: PositionManager,
        validator=None,
        *,
        events: EventBus | None = None,
        instruments=None,
        monitor_interval: float = 1.0,
        reconcile_interval: float = 30.0,
        unknown_outcome_grace: float = 15.0,
        id_generator: ClientOrderIdGenerator | None = None,
        charges=None,
        max_slices: int = MAX_SLICES,
    ) -> None:
        self.db = db
        if isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1:
            raise ValueError(f"max_slices must be a whole number >= 1, got {max_slices!r}")
        self.max_slices = max_slices  # the F&O rules file's [slicing] max_slices
        # Issue 4 (risk): per-fill charges (risk.charges.ChargesCalculator); OrderSync adds
        # them to the position inside the fill's transaction. None: positions carry no charges.
        self.charges = charges
        self.broker = broker_client
        self.positions = position_manager
        self.validator = validator
        self.events = events or position_manager.events
        self.instruments = instruments
        self.monitor_interval = monitor_interval
        self.reconcile_interval = reconcile_interval
        self.unknown_outcome_grace = unknown_outcome_grace
        if id_generator is None:
            prefix = self._install_prefix()
            id_generator = ClientOrderIdGenerator(
                prefix, last_issued=db.journal.last_client_order_id(prefix)
            )
        self._ids = id_generator
        self._submit_lock = asyncio.Lock()  # validate + journal are one step: no burst slips past
        self.sync = OrderSync(self)
        self.exits = PositionExit(self)
        self._halts: dict[str, str] = {}  # source -> reason; trading resumes when all are lifted
        self.started = False
        self.ready = False  # reconciled with the broker at least once since start

    def _install_prefix(self) -> str:
        prefix = self.db.get_state("install_prefix")
        if prefix is None:
            prefix = new_install_prefix()
            self.db.set_state("install_prefix", prefix)
        return prefix

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        await self.sync.start()

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.sync.stop()
        try:
            self.positions.flush_marks()
        except Exception:  # noqa: BLE001 - shutting down; logged
            log.exception("could not persist position marks on stop")

    # ------------------------------------------------------------------ halting
    @property
    def halted(self) -> bool:
        return bool(self._halts)

    @property
    def halt_reason(self) -> str | None:
        return "; ".join(self._halts.values()) if self._halts else None

    def halts(self) -> dict[str, str]:
        return dict(self._halts)

    def halt(self, reason: str, source: str = "kill_switch") -> None:
        """Refuse new orders from now on (synchronous: effective before the caller awaits).

        Halts from different sources (kill switch, expired broker session, ...) stack:
        lifting one leaves the others in force.
        """
        already = bool(self._halts)
        self._halts[source] = reason
        if not already:
            self.events.publish(TradingHalted(reason=reason, at=utcnow()))

    def resume(self, source: str = "kill_switch") -> None:
        if self._halts.pop(source, None) is not None and not self._halts:
            self.events.publish(TradingResumed(at=utcnow()))

    # ------------------------------------------------------------------ placing
    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Check, journal (write-ahead) and send an order.

        Above its instrument's freeze quantity the order is sent as slices (the F&O rules
        file's freeze quantity; Kite's autoslice is not used, so that every slice is our
        own order with its own tag): each at most the freeze quantity in whole lots, full
        slices first, at most `max_slices` — more is refused (OrderRejected "max_quantity",
        or "order_shape" for a quantity that is not whole lots) before anything is
        journaled. The whole order passes the checks once; then every slice is journaled
        PENDING with its own client order id and `slice_group` = the first slice's client
        order id, all in one transaction, before the first is sent. Slices go one after
        the other; one that is refused, or whose answer is lost, stops the rest (marked
        REJECTED "not sent"). If the first is refused, place_order raises as for an
        unsliced order. Otherwise the result is the first slice's, with `slices` holding
        every slice's result and `message` saying how many went.
        """
        if not isinstance(request, OrderRequest):
            raise TypeError("place_order takes an OrderRequest")
        if not self.started:
            raise OrderSubmissionFailed("The OMS is not started")
        async with self._submit_lock:
            self._pre_checks(request)
            plan = self.slice_plan(request)
            if self.validator is not None:
                await self.validator.validate(request)
            if plan is None:
                order = self._journal_new(request)
            else:
                orders = self._journal_slices(request, plan)
        if plan is None:
            return await self._submit(order)
        return await self._submit_slices(request, plan, orders)

    def slice_plan(self, request: OrderRequest) -> SlicePlan | None:
        """How the order would be sliced (None: it goes whole); OrderRejected if it
        cannot be sent even as `max_slices` slices, or is not whole lots."""
        instrument = (
            self.instruments.get(request.exchange, request.symbol)
            if self.instruments is not None
            else None
        )
        if (
            instrument is None
            or instrument.freeze_quantity is None
            or request.quantity <= instrument.freeze_quantity
        ):
            return None
        try:
            return plan_slices(
                request.quantity,
                instrument.lot_size,
                instrument.freeze_quantity,
                self.max_slices,
                label=f"{request.exchange}:{request.symbol}",
            )
        except SliceRefused as exc:
            raise OrderRejected(str(exc), exc.check) from None

    def _pre_checks(self, request: OrderRequest) -> None:
        if "storage" in self._halts:
            raise StorageError(f"Order not sent: {self._halts['storage']}")
        if "session" in self._halts:
            raise OrderSubmissionFailed(f"Order not sent: {self._halts['session']}")
        if self.halted and not (request.reduce_only and request.source in HALT_EXEMPT_SOURCES):
            raise OrderRejected(f"Trading is halted: {self.halt_reason}", "kill_switch")
        if request.reduce_only:
            position = self.positions.peek(request.exchange, request.symbol, request.product)
            pending = reducing_total(
                self.live_orders_on(request.exchange, request.symbol, request.product), request
            )
            if position.quantity * request.side.sign >= 0 or pending > abs(position.quantity):
                raise OrderRejected(
                    f"Reduce-only order for {request.quantity} {request.symbol} would not only reduce the position "
                    f"of {position.quantity}",
                    "kill_switch" if self.halted else "order_shape",
                )
        if not self.ready:
            raise OrderSubmissionFailed(
                "Not reconciled with the broker yet; orders are held until it is"
            )
        problem = order_shape_problem(request)
        if problem:
            raise OrderRejected(problem, "order_shape")
        problem = instrument_problem(self.instruments, request)
        if problem:
            raise OrderRejected(problem, "instrument")
        problem = order_type_problem(self.instruments, request)
        if problem:
            raise OrderRejected(problem, "order_shape")

    def _draft(self, request: OrderRequest, now, **changes) -> Order:
        draft = Order(
            id=0,
            client_order_id=self._ids.next_id(),
            symbol=request.symbol,
            exchange=request.exchange,
            side=request.side,
            order_type=request.order_type,
            product=request.product,
            validity=request.validity,
            variety=request.variety,
            quantity=request.quantity,
            price=request.price,
            trigger_price=request.trigger_price,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            strategy_id=None if request.strategy_id is None else str(request.strategy_id),
            stop_loss=request.stop_loss,
            take_profit=request.take_profit,
            parent_order_id=request.parent_order_id,
            source=request.source,
        )
        return draft.copy(**changes) if changes else draft

    def _journal_slices(self, request: OrderRequest, plan: SlicePlan) -> list[Order]:
        """Every slice journaled PENDING in one transaction (all or none), then tracked."""
        now = utcnow()
        drafts: list[Order] = []
        for quantity in plan.slices:
            draft = self._draft(request, now, quantity=quantity)
            group = drafts[0].client_order_id if drafts else draft.client_order_id
            drafts.append(draft.copy(slice_group=group))
        count = plan.count
        lots = request.quantity // plan.lot_size
        reasons = [
            f"slice {i} of {count} ({q:,} of {request.quantity:,}, {lots} lots; freeze quantity "
            f"{plan.freeze_quantity:,}) journaled before sending"
            for i, q in enumerate(plan.slices, 1)
        ]
        try:
            orders = self.db.journal.insert_pending_group(drafts, reasons)
        except Exception as exc:
            log.exception("journal write failed; sliced order not sent")
            raise StorageError(
                f"Order not sent: the order journal could not be written ({explain_storage_error(exc)})"
            ) from exc
        for order in orders:
            self.sync.track(order)
            self.events.publish(
                OrderStatusChanged(order, None, OrderStatus.PENDING, "journaled", now)
            )
        hook = getattr(self.validator, "slices_journaled", None)
        if hook is not None:
            hook(request, orders)
        elif self.validator is not None and hasattr(self.validator, "order_journaled"):
            for order in orders:
                self.validator.order_journaled(order)
        return orders

    def _journal_new(self, request: OrderRequest) -> Order:
        draft = self._draft(request, utcnow())
        now = draft.created_at
        try:
            order = self.db.journal.insert_pending(draft)
        except Exception as exc:
            log.exception("journal write failed; order not sent")
            raise StorageError(
                f"Order not sent: the order journal could not be written ({explain_storage_error(exc)})"
            ) from exc
        self.sync.track(order)
        self.events.publish(OrderStatusChanged(order, None, OrderStatus.PENDING, "journaled", now))
        if self.validator is not None and hasattr(self.validator, "order_journaled"):
            self.validator.order_journaled(order)
        return order

    async def _durable_before_broker(self, what: str, order_id: int) -> None:
        """Durable before acting: the journal's writes reach the disk before the broker
        hears of them (flushed on the journal's thread; the window keeps running). If
        the disk refuses, new orders are held: StorageError."""
        try:
            await self.db.durable()
        except DatabaseError as exc:
            reason = (
                f"the order journal could not be saved to the disk ({exc}); restart the application"
            )
            if "storage" not in self._halts:
                self.halt(f"New orders are held: {reason}", source="storage")
                self.alert("error", f"{what} not sent: {reason}", "storage")
            raise StorageError(f"{what} of order {order_id} not sent: {reason}") from exc

    async def _submit(self, order: Order) -> OrderResult:
        result, _ = await self._send(order)
        return result

    async def _submit_slices(
        self, request: OrderRequest, plan: SlicePlan, orders: list[Order]
    ) -> OrderResult:
        """Send the journaled slices in turn; the first failure stops the rest."""
        count = len(orders)
        results: list[OrderResult] = []
        stopped: str | None = None
        first_error: Exception | None = None
        for index, order in enumerate(orders, 1):
            if stopped is not None:
                reason = f"Not sent: {stopped}"
                await self.sync.finish_unsent(order, OrderStatus.REJECTED, reason)
                results.append(
                    OrderResult(order.id, order.client_order_id, None, OrderStatus.REJECTED, reason)
                )
                continue
            try:
                result, unknown = await self._send(order)
            except asyncio.CancelledError:
                # Interrupted (the app closing): this slice's fate is the broker's to tell
                # (found by its tag, or marked not sent at the next start); the later ones
                # were certainly not sent.
                for later in orders[index:]:
                    await self.sync.finish_unsent(
                        later,
                        OrderStatus.REJECTED,
                        f"Not sent: sending slice {index} of {count} was interrupted",
                    )
                raise
            except OMSError as exc:  # refused, not sent, or the journal failed
                current = self.sync.latest(order.id) or order
                results.append(
                    OrderResult(
                        order.id,
                        order.client_order_id,
                        current.broker_order_id,
                        current.status,
                        str(exc),
                    )
                )
                if index == 1:
                    first_error = exc
                stopped = f"slice {index} of {count} was refused ({exc})"
                continue
            results.append(result)
            if unknown:
                stopped = (
                    f"the broker's answer to slice {index} of {count} was lost (it is looked up "
                    "by its tag); the rest were not sent so that nothing is doubled"
                )
            elif result.status is OrderStatus.REJECTED:
                stopped = f"slice {index} of {count} was rejected ({result.message})"
        if stopped is not None:
            self.alert(
                "error" if first_error is None else "warning",
                f"{request.side.value} {request.quantity:,} {request.exchange}:{request.symbol} in "
                f"{count} slices: {stopped}; "
                f"{sum(1 for r in results if r.broker_order_id is not None)} of {count} sent",
            )
        if first_error is not None:
            raise first_error
        sent = [r for r in results if r.broker_order_id is not None]
        sizes = " + ".join(f"{q:,}" for q in plan.slices)
        if stopped is None:
            message = f"sent as {count} slices ({sizes}; freeze quantity {plan.freeze_quantity:,})"
        else:
            message = f"{len(sent)} of {count} slices sent ({sizes}): {stopped}"
        first = results[0]
        return OrderResult(
            first.order_id,
            first.client_order_id,
            first.broker_order_id,
            first.status,
            message,
            slices=tuple(results),
        )

    async def _send(self, order: Order) -> tuple[OrderResult, bool]:
        """Send one journaled order: (its result, True if the broker's answer was lost)."""
        try:
            await self._durable_before_broker("Order", order.id)
        except StorageError as exc:
            await self.sync.finish_unsent(order, OrderStatus.REJECTED, str(exc))
            raise
        try:
            broker_order_id = await self.broker.place_order(order)
        except BrokerRejected as exc:
            await self.sync.finish_unsent(order, OrderStatus.REJECTED, exc.message)
            raise OrderRejected(exc.message, "broker", order.id) from exc
        except SessionExpired as exc:
            await self.sync.finish_unsent(order, OrderStatus.REJECTED, f"Not sent: {exc.message}")
            self.halt(f"Broker session expired: {exc.message}. Log in again.", source="session")
            raise OrderSubmissionFailed(f"Broker session expired: {exc.message}", order.id) from exc
        except BrokerUnavailable as exc:
            await self.sync.finish_unsent(order, OrderStatus.REJECTED, f"Not sent: {exc.message}")
            raise OrderSubmissionFailed(f"Order not sent: {exc.message}", order.id) from exc
        except (BrokerOutcomeUnknown, BrokerError, OSError, TimeoutError) as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            await self.sync.mark_outcome_unknown(order, message)
            current = self.sync.latest(order.id) or order
            return OrderResult(
                order.id,
                order.client_order_id,
                current.broker_order_id,
                current.status,
                "Broker response lost; finding the order by its tag (it will not be sent again)",
            ), True
        await self.sync.acknowledge(order, str(broker_order_id))
        await self.sync.drain()
        current = self.sync.latest(order.id) or order
        return OrderResult(
            order.id,
            order.client_order_id,
            current.broker_order_id,
            current.status,
            current.status_message,
        ), False

    # ------------------------------------------------------------------ baskets
    async def place_basket(self, legs: list[OrderRequest]) -> BasketOutcome:
        """Send several legs as one action: buy legs before sell legs, each through
        `place_order`; the first that fails stops the rest (oms/baskets.py). Never raises
        for a refused leg: the outcome says which failed and what was not sent."""
        return await place_basket(self, legs)

    # ------------------------------------------------------------------ exits
    async def exit_position(
        self,
        exchange: str,
        symbol: str,
        product,
        *,
        confirmed_quantity: int | None = None,
        reason: str = "exit requested by the trader",
    ) -> ExitOutcome:
        """Close a position at market: its bracket legs are cancelled first, then one
        reduce-only order closes what is held (see oms/exits.py). Never raises for a
        refusal: the outcome says what happened."""
        return await self.exits.exit(
            exchange, symbol, product, confirmed_quantity=confirmed_quantity, reason=reason
        )

    def exit_plan(self, exchange: str, symbol: str, product) -> tuple[list[Order], list[Order]]:
        """What an exit of this position would do besides its market order: (orders it
        cancels first, orders it leaves working) — for the confirmation the trader sees."""
        return self.exits.plan(exchange, symbol, product)

    # ------------------------------------------------------------------ cancel / modify
    async def cancel_order(self, order_id: int) -> Order:
        order = await self.get_order(order_id)
        if order.status not in CANCELLABLE_STATUSES or order.broker_order_id is None:
            raise OrderNotCancellable(order.status, order_id)
        self.db.journal.add_event(order.id, "CANCEL_REQUESTED", "cancel requested", order.status)
        try:
            await self._durable_before_broker("Cancel", order.id)
        except StorageError:
            # A cancel only lowers risk: it still goes, its request note may be lost.
            log.warning("cancel of order %s sent though the journal is not on disk", order.id)
        try:
            await self.broker.cancel_order(order.broker_order_id, variety=order.variety)
        except (BrokerRejected, OrderNotFoundAtBroker) as exc:
            self.sync.wake()
            current = await self.get_order(order_id)
            if isinstance(exc, BrokerRejected) and current.status in CANCELLABLE_STATUSES:
                # Still working here and the broker said no (the static-IP rule, ...): the
                # trader must hear why, and that the order is live.
                reason = (
                    f"Cancel of order #{order_id} {order.symbol} refused by the broker; the "
                    f"order is still working: {exc.message}"
                )
                self.db.journal.add_event(order.id, "CANCEL_REJECTED", exc.message, current.status)
                self.alert("error", reason)
                raise OrderNotCancellable(current.status, order_id, reason) from exc
            raise OrderNotCancellable(current.status, order_id) from exc
        except BrokerError as exc:
            raise OrderSubmissionFailed(f"Cancel not confirmed: {exc.message}", order_id) from exc
        await self.sync.drain()
        return await self.get_order(order_id)

    async def cancel_all_orders(self) -> tuple[int, list[str]]:
        """Cancel every open order; returns (requested, errors)."""
        requested, errors = 0, []
        for order in await self.get_active_orders():
            if order.broker_order_id is None or order.status not in CANCELLABLE_STATUSES:
                continue
            try:
                await self.cancel_order(order.id)
                requested += 1
            except Exception as exc:  # noqa: BLE001 - collect and go on with the rest
                errors.append(f"#{order.id} {order.symbol}: {exc}")
        return requested, errors

    async def modify_order(
        self,
        order_id: int,
        price: Decimal | None = None,
        quantity: int | None = None,
        trigger_price: Decimal | None = None,
    ) -> Order:
        order = await self.get_order(order_id)
        if order.status not in MODIFIABLE_STATUSES or order.broker_order_id is None:
            raise OrderNotModifiable(order.status, order_id)
        if order.modification_count >= MAX_MODIFICATIONS:
            raise OrderNotModifiable(
                order.status,
                order_id,
                f"Order {order_id} reached the broker's limit of {MAX_MODIFICATIONS} modifications",
            )
        price, quantity, trigger_price = check_modification(
            order, self.instruments, price, quantity, trigger_price
        )
        self._check_modified_terms(order, price, quantity, trigger_price)
        details = {"price": price, "quantity": quantity, "trigger_price": trigger_price}
        self.db.journal.add_event(
            order.id, "MODIFY_REQUESTED", "modify requested", order.status, details
        )
        await self._durable_before_broker("Modify", order.id)
        try:
            await self.broker.modify_order(
                order.broker_order_id,
                quantity=quantity,
                price=price,
                trigger_price=trigger_price,
                variety=order.variety,
            )
        except (BrokerRejected, OrderNotFoundAtBroker) as exc:
            self.db.journal.add_event(
                order.id, "MODIFY_REJECTED", exc.message, self._status_now(order)
            )
            raise OrderNotModifiable(
                order.status, order_id, f"Modify refused by broker: {exc.message}"
            ) from exc
        except BrokerUnavailable as exc:
            self.db.journal.add_event(
                order.id, "MODIFY_NOT_SENT", exc.message, self._status_now(order), details
            )
            raise OrderSubmissionFailed(f"Modify not sent: {exc.message}", order_id) from exc
        except BrokerError as exc:
            # The answer was lost: the modify may or may not have happened. It is never sent
            # again; the broker's report of the order says which (its terms are adopted).
            self.db.journal.add_event(
                order.id,
                "MODIFY_UNKNOWN",
                f"modify not confirmed ({exc.message}); the broker's terms will be read back",
                self._status_now(order),
                details,
            )
            self.sync.wake()
            raise OrderSubmissionFailed(
                f"Modify not confirmed: {exc.message}. The order's terms will follow the "
                "broker's (it is not sent again).",
                order_id,
            ) from exc
        await self.sync.modified(
            order.id, price=price, quantity=quantity, trigger_price=trigger_price
        )
        await self.sync.drain()
        return await self.get_order(order_id)

    def _status_now(self, order: Order) -> OrderStatus:
        """The order's status at this moment (notes written after an await use it)."""
        current = self.sync.latest(order.id) or order
        return current.status

    def _check_modified_terms(self, order: Order, price, quantity, trigger_price) -> None:
        """A modify may not do what a new order could not: fat-finger limits, price band,
        and no added exposure while trading is halted. Exits the OMS manages are exempt."""
        if order.source in SYSTEM_SOURCES:
            return
        if self.halted and quantity is not None and quantity > order.quantity:
            raise OrderRejected(
                f"Trading is halted: {self.halt_reason}. A modify may not add to an order.",
                "kill_switch",
            )
        run_check = getattr(self.validator, "run_check", None)
        if run_check is None:
            return
        terms = OrderRequest(
            symbol=order.symbol,
            exchange=order.exchange,
            side=order.side,
            quantity=quantity if quantity is not None else order.quantity,
            order_type=order.order_type,
            price=price if price is not None else order.price,
            trigger_price=trigger_price if trigger_price is not None else order.trigger_price,
            product=order.product,
            validity=order.validity,
            variety=order.variety,
        )
        for name in MODIFY_CHECKS:
            reason = run_check(name, terms)
            if reason:
                raise OrderRejected(reason, name)

    # ------------------------------------------------------------------ queries
    async def get_order(self, order_id: int) -> Order:
        order = self.sync.latest(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    async def get_active_orders(self) -> list[Order]:
        return self.sync.active_orders()

    def slices_of(self, order_id: int) -> list[Order]:
        """Every slice of the sliced order `order_id` belongs to (by `slice_group`), first
        slice first; [the order] if it was sent whole; [] if unknown."""
        order = self.sync.latest(order_id)
        if order is None:
            return []
        if order.slice_group is None:
            return [order]
        return [self.sync.latest(o.id) or o for o in self.db.journal.slice_group(order.slice_group)]

    async def get_orders_by_strategy(self, strategy_id) -> list[Order]:
        return self.db.journal.list_orders(strategy_id=str(strategy_id))

    async def list_orders(self, limit: int | None = None) -> list[Order]:
        return self.db.journal.list_orders(limit=limit)

    async def get_order_events(self, order_id: int):
        return self.db.journal.events(order_id)

    async def list_trades(self, since=None):
        return self.db.journal.trades(since=since)

    # Synchronous reads of the OMS's memory, for the risk layer and the window (no I/O for
    # live orders; a finished one may be read from the journal).
    def live_orders(self) -> list[Order]:
        """Orders working now (journaled and not final), oldest first."""
        return self.sync.active_orders()

    def live_orders_on(self, exchange: str, symbol: str, product) -> list[Order]:
        """Orders working now on one position key (exchange, symbol, product)."""
        return self.sync.orders.active_on(exchange, symbol, product)

    def open_quantity(self, exchange: str, symbol: str, product, side) -> int:
        """Unfilled quantity working on one side of a position key (bracket exits aside)."""
        return self.sync.orders.open_quantity(exchange, symbol, product, side)

    def live_keys(self) -> set[tuple]:
        """The (exchange, symbol, product) keys with orders working now."""
        return self.sync.orders.active_keys()

    def live_order(self, order_id: int) -> Order | None:
        """The order if it is working now, else None."""
        return self.sync.current(order_id)

    def order_now(self, order_id: int) -> Order | None:
        """The order as the OMS has it now, working or final; None if unknown."""
        return self.sync.latest(order_id)

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until what the broker has pushed so far is applied."""
        await self.sync.drain(timeout)

    @property
    def client_id_prefix(self) -> str:
        """Every client order id (Kite tag) this install sends starts with it."""
        return self._ids.prefix

    async def refresh_from_broker(self) -> None:
        """Read the broker's orders and trades now and apply them (an order that turned
        up late becomes live in the journal)."""
        await self.sync.poll(force=True)

    async def cancel_at_broker(self, report, reason: str) -> bool:
        """Cancel an order live at the broker that the journal does not have as working
        (one of ours by its tag, e.g. a lost request that turned up late). Audited on the
        journal's order when there is one. True if the broker took the cancel."""
        order = self.sync.orders.find(report.broker_order_id, report.client_order_id)
        if order is not None:
            self.db.journal.add_event(
                order.id,
                "CANCEL_AT_BROKER",
                reason,
                order.status,
                {"broker": report.broker_order_id},
            )
        try:
            await self.broker.cancel_order(report.broker_order_id)
        except BrokerError as exc:
            self.alert(
                "error",
                f"Could not cancel broker order {report.broker_order_id} ({report.symbol}, tag "
                f"{report.client_order_id}): {exc.message}",
            )
            return False
        self.alert(
            "warning",
            f"Cancelled broker order {report.broker_order_id} ({report.symbol}, tag "
            f"{report.client_order_id}) that the journal did not have as working: {reason}",
        )
        self.sync.wake()
        return True

    def poll_now(self) -> None:
        """Ask the broker for its orders and trades now, not at the next interval."""
        self.sync.wake()

    @property
    def last_reconciliation(self):
        return self.sync.last_reconciliation

    def inflight_orders(self) -> list[Order]:
        """Journaled orders the broker has not acknowledged yet (for risk checks)."""
        return self.sync.orders.pending()

    # ------------------------------------------------------------------ reconciliation
    async def reconcile_positions(self):
        return await self.sync.reconcile()

    def alert(self, level: str, message: str, source: str = "oms") -> None:
        getattr(log, "error" if level == "error" else "warning" if level == "warning" else "info")(
            message
        )
        self.events.publish(Alert(level=level, message=message, at=utcnow(), source=source))

    def on_update(
        self, listener: Callable[[BrokerUpdate], None]
    ) -> None:  # pragma: no cover - convenience
        self.broker.add_update_listener(listener)


__all__ = ["OrderManager", "OrderModified"]
