"""RealTimeRiskMonitor: the account's PnL and risk on every price and fill.

Subscribed to the EventBus (PricesMarked, FillApplied, PositionChanged), it computes
today's PnL net of charges at live prices (DayPnlLedger), the intraday peak and drawdown
and each open position's risk, publishes a RiskUpdated event, and:
- saves every new peak of the day at once (with the day's baseline in app_state), so the
  peak and the drawdown from it are the same after a restart, even after a crash (the
  peak rises at most once per mark, four times a second; one small write each);
- warns once a day (Alert, level warning, source "risk") when the net loss reaches
  `warn_at_loss_pct` of capital;
- on a net loss beyond `daily_loss_limit_pct` (strictly), alerts and acts per
  `loss_limit_action`: alert only, halt (kill switch without flattening), or halt and
  flatten (the full kill switch). The halt is synchronous, inside the event handler.
`check_time()` (run every second by the app, with an injectable clock) rolls the day at
IST midnight and, with `auto_square_off`, squares off MIS positions from `square_off_time`
(default 15:15 IST) to the close (15:30) on weekdays: open MIS orders are cancelled once,
then each open MIS position gets a reduce-only MARKET order (source "square_off").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.domain.events import Alert, FillApplied, PositionChanged, PricesMarked
from desktop_oms.domain.money import ZERO
from desktop_oms.domain.positions import unrealized_pnl
from desktop_oms.infra.clock import Clock, is_weekday, now_ist, to_ist, trading_day, utcnow
from desktop_oms.oms.errors import OrderNotCancellable
from desktop_oms.risk.checks import fmt
from desktop_oms.risk.events import PositionRisk, RiskSnapshot, RiskUpdated
from desktop_oms.risk.limits import SESSION_CLOSE, LossLimitAction, RiskLimits
from desktop_oms.risk.pnl import DayPnlLedger

log = logging.getLogger(__name__)


class RealTimeRiskMonitor:
    def __init__(
        self,
        ledger: DayPnlLedger,
        limits: RiskLimits,
        *,
        events,
        positions,
        kill_switch=None,
        order_manager=None,
        brackets=None,
        achievements=None,
        store=None,
        clock: Clock = now_ist,
        square_off_retry_s: float = 5.0,
    ) -> None:
        self.ledger = ledger
        self._limits = limits
        self.events = events
        self.positions = positions
        self.kill_switch = kill_switch
        self.om = order_manager
        self.brackets = brackets
        self.achievements = achievements
        self.store = store
        self.clock = clock
        self.square_off_retry_s = square_off_retry_s
        self.snapshot: RiskSnapshot | None = None
        self._day: date | None = None
        self._peak = ZERO
        self._warned = False
        self._breached = False
        self._square_off_day: date | None = None
        self._square_off_attempts: dict[tuple, datetime] = {}
        self._halted_note_day: date | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        # position key -> (position, live price, stop, PositionRisk) of the last evaluation
        self._risks: dict[tuple, tuple] = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, value: RiskLimits) -> None:
        if not isinstance(value, RiskLimits):
            raise TypeError("limits must be RiskLimits")
        self._limits = value
        self.evaluate()

    def start(self) -> None:
        if self._unsubscribe:
            return
        bus = self.events
        self._unsubscribe = [
            bus.subscribe(PricesMarked, self._on_change),
            bus.subscribe(FillApplied, self._on_change),
            bus.subscribe(PositionChanged, self._on_change),
        ]
        self.evaluate()

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def _on_change(self, _event) -> None:
        self.evaluate()

    # ------------------------------------------------------------------ evaluation
    def _load_day(self, day: date) -> None:
        self._day = day
        extra = self.ledger.extra if self.ledger.day == day else {}
        try:
            self._peak = Decimal(extra.get("peak", "0"))
        except ArithmeticError:
            self._peak = ZERO
        self._warned = extra.get("warned") == "True"
        self._breached = extra.get("breached") == "True"

    def loss_limit_breached(self) -> bool:
        """Today's net loss is beyond the daily loss limit (re-arm is refused while so)."""
        return -self.ledger.today().net > self._limits.daily_loss_limit

    def evaluate(self) -> RiskSnapshot:
        day_pnl = self.ledger.today()
        if day_pnl.day != self._day:
            self._load_day(day_pnl.day)
        net = day_pnl.net
        limits = self._limits
        if net > self._peak:
            # Saved at once: a peak kept only in memory was lost by a restart (the
            # drawdown then shrank by the difference with no trade).
            self._peak = net
            self.ledger.set_extra(peak=self._peak)
        snapshot = RiskSnapshot(
            at=utcnow(),
            day=day_pnl.day,
            realized=day_pnl.realized,
            unrealized=day_pnl.unrealized,
            charges=day_pnl.charges,
            peak=self._peak,
            loss_limit=limits.daily_loss_limit,
            loss_warning=limits.loss_warning,
            positions=self._position_risks(),
        )
        self.snapshot = snapshot
        loss = -net
        if loss >= limits.loss_warning and not self._warned:
            self._warned = True
            self.ledger.set_extra(warned=True, peak=self._peak)
            message = (
                f"Daily loss {fmt.rupees(loss)} (net of charges) has reached "
                f"{fmt.plain(limits.warn_at_loss_pct)}% of capital; the limit is "
                f"{fmt.rupees(limits.daily_loss_limit)} ({fmt.plain(limits.daily_loss_limit_pct)}%)"
            )
            self._alert("warning", message, {"net": str(net)})
            self._audit("loss_warning", message)
        if loss > limits.daily_loss_limit:
            self._on_breach(loss)
        self.events.publish(RiskUpdated(snapshot))
        return snapshot

    def _on_breach(self, loss: Decimal) -> None:
        limits = self._limits
        action = limits.loss_limit_action
        reason = (
            f"daily loss limit breached: net loss {fmt.rupees(loss)} is beyond "
            f"{fmt.rupees(limits.daily_loss_limit)} ({fmt.plain(limits.daily_loss_limit_pct)}% of capital)"
        )
        first = not self._breached
        if first:
            self._breached = True
            self.ledger.set_extra(breached=True, warned=self._warned, peak=self._peak)
            if self.achievements is not None:
                self.achievements.mark_breach(self._day)
            self._audit("loss_limit_breached", reason, {"action": action.value})
            self._alert("error", reason[0].upper() + reason[1:] + {
                LossLimitAction.ALERT: " (alert only, as configured)",
                LossLimitAction.HALT: ": halting new orders",
                LossLimitAction.HALT_AND_FLATTEN: ": halting and flattening",
            }[action])  # fmt: skip
        ks = self.kill_switch
        if ks is None or action is LossLimitAction.ALERT:
            return
        flatten = action is LossLimitAction.HALT_AND_FLATTEN
        if not ks.engaged:
            ks.engage_now(f"automatic: {reason}", flatten=flatten)
        elif first and flatten and not ks.busy and self.positions.open_positions():
            ks.engage_now(f"automatic: {reason}", flatten=True)

    def _position_risks(self) -> tuple[PositionRisk, ...]:
        """Each open position's risk at the live price. Runs on every mark and fill over
        every open position: one price lookup each, and a position whose inputs (the
        position object, the live price, the working stop) are unchanged keeps its
        PositionRisk from the last evaluation."""
        out = []
        last_price = self.ledger.last_price
        working_stop = self.brackets.working_stop if self.brackets else None
        cache = self._risks
        fresh: dict[tuple, tuple] = {}
        for p in self.positions.open_positions():
            exchange, symbol = p.exchange, p.symbol
            live = None
            if last_price is not None:
                try:
                    live = last_price(exchange, symbol)
                except Exception:  # noqa: BLE001
                    live = None
                if live is not None and not live > 0:
                    live = None
            stop = working_stop(exchange, symbol, p.product) if working_stop else None
            key = (exchange, symbol, p.product)
            hit = cache.get(key)
            if hit is not None and hit[0] is p and hit[1] is live and hit[2] is stop:
                risk = hit[3]
            else:
                risk = self._position_risk(p, live, stop)
            fresh[key] = (p, live, stop, risk)
            out.append(risk)
        self._risks = fresh
        return tuple(out)

    def _position_risk(self, p, live: Decimal | None, stop: Decimal | None) -> PositionRisk:
        last = live if live is not None else p.last_price
        # the ledger's live unrealized PnL (at the live price when there is one)
        unrealized = (
            unrealized_pnl(p.quantity, p.average_price, live, p.multiplier)
            if live is not None
            else self.ledger.live_unrealized(p)
        )
        mark = last if last is not None else p.average_price
        risk = p.quantity * (mark - stop) * p.multiplier if stop is not None else None
        return PositionRisk(
            exchange=p.exchange,
            symbol=p.symbol,
            product=p.product,
            quantity=p.quantity,
            last_price=last,
            exposure=abs(p.quantity) * mark * p.multiplier,
            unrealized_pnl=unrealized,
            net_pnl=p.realized_pnl + unrealized - p.charges,
            stop=stop,
            risk_to_stop=risk,
        )

    def _alert(self, level: str, message: str, details: dict | None = None) -> None:
        getattr(log, "error" if level == "error" else "warning")(message)
        self.events.publish(
            Alert(level=level, message=message, at=utcnow(), source="risk", details=details or {})
        )

    def _audit(self, kind: str, message: str, details: dict | None = None) -> None:
        if self.store is not None:
            self.store.audit(kind, message, details)

    # ------------------------------------------------------------------ time
    async def check_time(self) -> None:
        """Day roll, MIS auto square-off, achievements' day end. Run every second."""
        now = self.clock()
        if self.ledger.roll_if_new_day():
            self.evaluate()
        if self.achievements is not None:
            self.achievements.on_clock(now)
        if self._limits.auto_square_off:
            await self.square_off_if_due(now)

    def square_off_due(self, now) -> bool:
        ist = to_ist(now)
        return is_weekday(ist.date()) and self._limits.square_off_at <= ist.time() < SESSION_CLOSE

    async def square_off_if_due(self, now=None) -> int:
        """Square off open MIS positions if it is time; returns orders placed."""
        now = now or self.clock()
        om = self.om
        if om is None or not self.square_off_due(now) or not om.ready:
            return 0
        day = trading_day(now)
        if self._square_off_day != day:
            self._square_off_day = day
            self._square_off_attempts.clear()
            cancelled = await self._cancel_mis_orders(None)
            mis = [p for p in self.positions.open_positions() if p.product is Product.MIS]
            if mis or cancelled:
                message = (
                    f"Auto square-off {self._limits.square_off_time} IST: "
                    f"{len(mis)} MIS position{'s' if len(mis) != 1 else ''} to close"
                    + (f" ({', '.join(p.symbol for p in mis[:6])})" if mis else "")
                    + f", {cancelled} open MIS order{'s' if cancelled != 1 else ''} cancelled"
                )
                self._audit("square_off", message)
                self.events.publish(
                    Alert(level="warning", message=message, at=utcnow(), source="square_off")
                )
        positions = [p for p in self.positions.open_positions() if p.product is Product.MIS]
        if not positions:
            return 0
        if om.halted:
            if self._halted_note_day != day:
                self._halted_note_day = day
                self.events.publish(
                    Alert(
                        level="warning",
                        message="Auto square-off skipped: trading is halted (engage the kill switch to flatten)",
                        at=utcnow(),
                        source="square_off",
                    )
                )
            return 0
        placed = 0
        held = {p.key for p in positions}
        for key in [k for k in self._square_off_attempts if k not in held]:
            del self._square_off_attempts[key]  # flat again: a new position is a new attempt
        busy = {
            (o.exchange, o.symbol, o.product) for o in om.live_orders() if o.source == "square_off"
        }
        for p in positions:
            last = self._square_off_attempts.get(p.key)
            if p.key in busy or (
                last is not None and (now - last).total_seconds() < self.square_off_retry_s
            ):
                continue
            self._square_off_attempts[p.key] = now
            await self._cancel_mis_orders(p.key)
            request = OrderRequest(
                symbol=p.symbol,
                exchange=p.exchange,
                side=OrderSide.SELL if p.quantity > 0 else OrderSide.BUY,
                quantity=abs(p.quantity),
                order_type=OrderType.MARKET,
                product=Product.MIS,
                reduce_only=True,
                source="square_off",
            )
            try:
                result = await om.place_order(request)
                placed += 1
                om.db.journal.add_event(
                    result.order_id,
                    "SQUARE_OFF",
                    f"auto square-off at {self._limits.square_off_time} IST",
                    result.status,
                )
            except Exception as exc:  # noqa: BLE001 - retried after square_off_retry_s
                om.alert(
                    "error", f"Auto square-off of {p.symbol} failed: {exc}; retrying", "square_off"
                )
        return placed

    async def _cancel_mis_orders(self, key) -> int:
        cancelled = 0
        for order in list(self.om.live_orders()):
            if order.product is not Product.MIS or order.source in ("square_off", "kill_switch"):
                continue
            if key is not None and (order.exchange, order.symbol, order.product) != key:
                continue
            if order.broker_order_id is None:
                continue
            try:
                self.om.db.journal.add_event(
                    order.id, "SQUARE_OFF", "cancelled by the auto square-off", order.status
                )
                await self.om.cancel_order(order.id)
                cancelled += 1
            except OrderNotCancellable:
                pass
            except Exception as exc:  # noqa: BLE001
                log.warning("square-off could not cancel #%s: %s", order.id, exc)
        return cancelled
