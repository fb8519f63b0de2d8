"""Composition root: Settings -> Database -> Broker -> OMS -> (Window).

Used alike by the GUI entry point, `--smoke` and tests:
    app = Application(Settings(data_dir=..., broker="paper"))
    await app.start()     # inside a running (qasync) loop
    ...
    await app.stop()
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import sys
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal

from desktop_oms.app.candles_wiring import SAVE_INTERVAL_S, build_candles
from desktop_oms.app.risk_wiring import RiskServices, build_risk
from desktop_oms.config import Settings
from desktop_oms.domain.events import Alert, QuotesUpdated
from desktop_oms.domain.history import PnlSnapshot
from desktop_oms.infra.clock import utcnow
from desktop_oms.infra.tasks import TaskGroup
from desktop_oms.marketdata.quotes import QuoteCache
from desktop_oms.oms import EventBus, OrderManager, PositionManager
from desktop_oms.risk import KillSwitch, RiskLimits
from desktop_oms.storage import Database, DatabaseError

log = logging.getLogger(__name__)


@contextmanager
def _gc_paused():
    """No cyclic GC passes inside (start-up: what it makes is frozen at the end)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# How long a thread may hold the GIL while another waits for it (CPython's default is
# 5 ms). The event loop gives the GIL up around every SQLite step and Qt wait; while a
# worker thread runs Python (a chart's history read or generated, a thread's import), each
# of those hand-backs waited up to 5 ms, and a journal write of a few rows took 40-90 ms
# (measured: window under load, max loop lag 46-66 ms at 5 ms, 28-29 ms at 1 ms).
GIL_SWITCH_INTERVAL_S = 0.001

# Quotes reach the window (and a watched target) within this interval. Tick to screen
# (3,000 instruments streaming, chain, chart and ladder open): at 100 ms the market
# watch's p99 was 108-121 ms, over the 100 ms a trader should wait at most.
MARK_INTERVAL_S = 0.05
SNAPSHOT_INTERVAL_S = 5.0


class Application:
    def __init__(
        self,
        settings: Settings,
        *,
        broker=None,
        with_window: bool = True,
        login=None,
        credentials=None,
    ) -> None:
        """`login(api_key, reason) -> KiteLogin | None` is asked for a Kite session when none
        is stored or it expires (the GUI shows its login dialog); `credentials` defaults to
        the OS keyring store."""
        self.settings = settings
        self.login = login
        self._credentials = credentials
        self._relogin_task = None
        self._subscribed: set[tuple[str, str]] = set()
        self._depth_subscribed: set[tuple[str, str]] = set()
        self.candles = None  # the chart's CandleHistory (app/candles_wiring.py)
        self.events = EventBus()
        self.quotes = QuoteCache()
        self._injected_broker = broker
        self.with_window = with_window
        self.db: Database | None = None
        self.broker = None
        self.instruments = None
        self.position_manager: PositionManager | None = None
        self.order_manager: OrderManager | None = None
        self.kill_switch: KillSwitch | None = None
        self.validator = None
        self.risk: RiskServices | None = None
        self.market = None
        self._fno_rules = None
        self.window = None
        self._tasks = TaskGroup(self.events.task_failed)
        self._started = False
        self._switch_interval: float | None = None  # the interpreter's, restored at stop

    # ------------------------------------------------------------------ start
    async def start(self) -> None:
        if self._started:
            return
        s = self.settings
        try:
            s.ensure_dirs()
        except OSError as exc:
            reason = "it is read-only" if exc.errno == errno.EROFS else (exc.strerror or str(exc))
            raise DatabaseError(f"Cannot use the data folder {s.data_dir}: {reason}") from exc
        self.db = await Database.open(s.db_path, synchronous=s.db_synchronous)
        if self._switch_interval is None:  # given back in _close_partial
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        try:
            if s.broker == "kite" and self._injected_broker is None:
                await self._open_kite()  # may wait for the trader to log in
            with _gc_paused():
                await self._start_core()
                self._after_start()
                # Start-up objects (instruments, modules, the loaded journal, the window)
                # live for the session: keep them out of the garbage collector's full
                # passes, which paused the loop ~40 ms (and out of its way meanwhile).
                gc.freeze()
        except BaseException:
            await self._close_partial()
            raise
        self._started = True

    async def _start_core(self) -> None:
        s = self.settings
        # Alerts raised before the window exists (start-up recovery, the brackets' first
        # repairs) are kept and shown in its alerts panel once it is built.
        early: list[Alert] = []
        stop_keeping = self.events.subscribe(Alert, early.append)
        self.broker, self.instruments = self._make_broker()
        self.broker.add_tick_listener(self.quotes.on_ticks)
        self.candles = build_candles(self.broker, self.db, self.instruments, self.quotes)
        self.position_manager = PositionManager(self.db, self.events, self._multiplier_for)
        # The risk layer (app/risk_wiring.py): validator, charges and today's PnL exist
        # before the OMS uses them; the kill switch, brackets and monitor around it.
        self.risk = build_risk(
            s.risk,
            self.db,
            self.instruments,
            self.quotes,
            self.position_manager,
            self.broker,
            self._limits_changed,
        )
        self.validator = self.risk.validator
        self.order_manager = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.position_manager,
            validator=self.validator,
            events=self.events,
            instruments=self.instruments,
            monitor_interval=s.monitor_interval_s,
            reconcile_interval=s.reconcile_interval_s,
            charges=self.risk.charges,
            max_slices=self.fno_rules.max_slices,
        )
        self.kill_switch = self.risk.attach(self.order_manager, self.position_manager)
        await self.order_manager.start()
        self.risk.start(self.order_manager, self.events, self.quotes, self._tasks)
        self._tasks.periodic("mark-to-market", MARK_INTERVAL_S, self._mark)
        self._tasks.periodic("pnl-snapshots", SNAPSHOT_INTERVAL_S, self._snapshot)
        self._tasks.periodic("recorded-candles", SAVE_INTERVAL_S, self._save_candles)
        if s.broker == "paper" and s.simulate_market and self._injected_broker is None:
            from desktop_oms.marketdata.simulated import SimulatedMarket

            self.market = SimulatedMarket(
                self.broker, seed=s.market_seed, interval_s=s.tick_interval_s
            )
            await self.market.start()
        stop_keeping()  # the window, built now without a pause, hears them from here on
        if self.with_window:
            from desktop_oms import exports
            from desktop_oms.ui.shell import MainWindow, WindowServices

            self.window = MainWindow(
                WindowServices(
                    settings=self.settings,
                    events=self.events,
                    order_manager=self.order_manager,
                    position_manager=self.position_manager,
                    kill_switch=self.kill_switch,
                    quotes=self.quotes,
                    instruments=self.instruments,
                    broker=self.broker,
                    risk=self.risk,
                    workspace=self.db.workspace,
                    reporting=self.db.reporting,
                    pnl_history=self.db.positions,
                    alert_log=self.db.alerts,
                    reports=exports,
                    subscribe=self.subscribe,
                    pnl_now=self.pnl_now,
                    data_file=self.settings.db_path,
                    chains=self._option_chains(),
                    basket=self.risk.basket,
                    candles=self.candles,
                    subscribe_depth=self.subscribe_depth,
                )
            )
            for alert in early:
                self.window.alerts.add(alert.level, alert.message, alert.source, at=alert.at)

    def _option_chains(self):
        """The option chains the window shows (issue 16), from the listing and the ticks."""
        if self.instruments is None:
            return None
        from desktop_oms.marketdata.options import OptionChainService

        return OptionChainService(self.instruments, self.quotes.tick, self.fno_rules)

    @property
    def fno_rules(self):
        """The dated F&O rules file (lot sizes, freeze quantities, slicing limit)."""
        if self._fno_rules is None:
            from desktop_oms.marketdata.options import FnoRules

            self._fno_rules = FnoRules.bundled()
        return self._fno_rules

    # ------------------------------------------------------------------ Kite
    @property
    def credentials(self):
        if self._credentials is None:
            from desktop_oms.brokers.kite.credentials import CredentialStore

            self._credentials = CredentialStore()
        return self._credentials

    async def _open_kite(self) -> None:
        from desktop_oms.brokers.kite.factory import open_kite_broker
        from desktop_oms.marketdata.instruments import InstrumentStore

        s = self.settings
        broker = await open_kite_broker(
            api_key=s.kite_api_key,
            credentials=self.credentials,
            login=self.login,
            root=s.kite_root,
            ticker_root=s.kite_ticker_root,
            instruments_cache=self.db.workspace.instruments_cache,
        )
        if broker.api_key != s.kite_api_key:
            self.settings = replace(s, kite_api_key=broker.api_key)
            try:
                self.settings.save()
            except OSError:
                log.exception("could not save the Kite API key to settings")
        try:
            instruments = await broker.instruments()
        except Exception:
            await broker.close()
            raise
        unique = {}
        for instrument in instruments:  # Kite's dump can repeat a symbol; keep its first row
            unique.setdefault(instrument.key, instrument)
        # Kite's lot sizes stand; freeze quantities (not in the dump) come from the rules.
        from desktop_oms.infra.clock import trading_day
        from desktop_oms.marketdata.options import apply_fno_rules

        listed = apply_fno_rules(unique.values(), self.fno_rules, trading_day())
        broker.instrument_store = InstrumentStore(listed)
        self._injected_broker = broker

    def _after_start(self) -> None:
        """Wiring that needs the whole core: session expiry, stream subscriptions."""
        self.broker.add_session_expired_listener(self._on_session_expired)
        from desktop_oms.domain.events import OrderStatusChanged, PositionChanged

        self.events.subscribe(
            PositionChanged, lambda e: self.subscribe([(e.position.exchange, e.position.symbol)])
        )
        self.events.subscribe(
            OrderStatusChanged, lambda e: self.subscribe([(e.order.exchange, e.order.symbol)])
        )
        keys = [(p.exchange, p.symbol) for p in self.position_manager.open_positions()]
        keys += [(o.exchange, o.symbol) for o in self.order_manager.live_orders()]
        self.subscribe(keys)

    def subscribe(self, keys) -> None:
        """Stream these instruments (ticket, positions, open orders, watchlists, chart);
        their ticks are recorded into the chart's minutes."""
        keys = list(keys)
        if self.candles is not None:
            self.candles.recorder.watch(keys)
        new = [k for k in keys if k not in self._subscribed]
        if not new or self.broker is None:
            return
        self._subscribed.update(new)
        try:
            self.broker.subscribe(new)
        except Exception:  # noqa: BLE001 - a subscription problem must not break trading
            log.exception("could not subscribe to %s", new)

    def subscribe_depth(self, keys) -> None:
        """Stream these instruments with their five-level depth (the depth ladder)."""
        keys = list(keys)
        new = [k for k in keys if k not in self._depth_subscribed]
        if not new or self.broker is None:
            return
        self._depth_subscribed.update(new)
        self._subscribed.update(new)  # never asked for again without depth
        if self.candles is not None:
            self.candles.recorder.watch(new)
        try:
            self.broker.subscribe(new, depth=True)
        except Exception:  # noqa: BLE001 - a subscription problem must not break trading
            log.exception("could not subscribe to the depth of %s", new)

    async def _save_candles(self) -> None:
        self.candles.save_recorded_minutes()

    def _on_session_expired(self, reason: str) -> None:
        om = self.order_manager
        om.halt(f"Kite session expired ({reason}): log in again", source="session")
        om.alert(
            "error",
            f"Kite session expired ({reason}). New orders are halted until you log in again.",
            "kite",
        )
        if self.login is not None and (self._relogin_task is None or self._relogin_task.done()):
            self._relogin_task = asyncio.ensure_future(self._relogin(reason))

    async def _relogin(self, reason: str) -> None:
        """Log in again without touching the window's state; trading resumes on success."""
        try:
            result = await self.login(
                self.settings.kite_api_key, f"Your Kite session expired ({reason}). Log in again."
            )
            if result is None:
                self.order_manager.alert(
                    "warning", "Kite login cancelled: trading stays halted", "kite"
                )
                return
            self.credentials.set_access_token(
                result.api_key, result.access_token, result.expires_at
            )
            self.broker.set_access_token(result.access_token)
            await self.broker.verify_session()
            self.order_manager.resume("session")
            self.order_manager.alert("info", "Kite session renewed: trading resumed", "kite")
            self.order_manager.poll_now()
        except Exception as exc:  # noqa: BLE001 - shown, and trading stays halted
            self.order_manager.alert("error", f"Kite login failed: {exc}", "kite")

    def _make_broker(self):
        s = self.settings
        if self._injected_broker is not None:
            broker = self._injected_broker
            return broker, broker.instrument_store
        if s.broker == "paper":
            from desktop_oms.brokers.paper import PaperBroker
            from desktop_oms.marketdata.options import paper_market

            # Stocks, the indices and their futures and option chains (priced from them).
            instruments, derivatives = paper_market(utcnow(), self.fno_rules)
            # Kite's rules apply on paper; over Kite's order rate a request waits for a
            # slot (up to 5 s), as the app's Kite adapter makes it wait. With its simulated
            # market, the paper exchange fills against its order book.
            broker = PaperBroker(
                state_path=s.paper_state_path,
                instruments=instruments,
                derivatives=derivatives,
                order_wait_limit_s=5.0,
                book_fills=s.simulate_market,
            )
            prices = instruments.last_prices()
            known = broker.last_prices()
            missing = {k: v for k, v in prices.items() if k not in known}
            if missing:
                broker.set_last_prices(missing)
            now = utcnow()
            for (exchange, symbol), price in {**prices, **broker.last_prices()}.items():
                self.quotes.set_price(exchange, symbol, price, now)
            return broker, instruments
        raise ValueError(f"unknown broker {s.broker!r}")

    def _limits_changed(self, limits: RiskLimits, save: bool) -> None:
        """The risk layer took new limits: they are this app's settings from now on."""
        self.settings = replace(self.settings, risk=limits)
        if save:
            self.settings.save()

    def _multiplier_for(self, exchange: str, symbol: str) -> Decimal:
        instrument = (
            self.instruments.get(exchange, symbol) if self.instruments is not None else None
        )
        return instrument.multiplier if instrument is not None else Decimal(1)

    # ------------------------------------------------------------------ periodic work
    async def _mark(self) -> None:
        changed = self.quotes.take_changed()
        if not changed:
            return
        self.position_manager.mark_prices({k: t.last_price for k, t in changed.items()})
        self.events.publish(QuotesUpdated(tuple(changed.values()), utcnow()))

    def pnl_now(self) -> PnlSnapshot:
        realized, unrealized, charges = self.position_manager.totals()
        total = realized + unrealized
        return PnlSnapshot(
            at=utcnow(),
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            total_pnl=total,
            charges=charges,
            net_pnl=total - charges,
            open_positions=len(self.position_manager.open_positions()),
        )

    async def _snapshot(self) -> None:
        self.position_manager.flush_marks()
        self.db.positions.add_pnl_snapshot(self.pnl_now())

    # ------------------------------------------------------------------ stop
    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.window is not None and hasattr(self.window, "save_state"):
            try:
                self.window.save_state()
            except Exception:  # noqa: BLE001
                log.exception("could not save the window layout")
        if self.window is not None and hasattr(self.window, "shutdown"):
            try:  # in-flight ticket / window tasks finish (bounded) before the OMS stops
                await self.window.shutdown()
            except Exception:  # noqa: BLE001
                log.exception("window shutdown failed")
        if self.market is not None:
            await self.market.stop()
        await self._tasks.stop()
        try:
            if self.candles is not None:
                self.candles.save_recorded_minutes()
                self.candles.close()
        except Exception:  # noqa: BLE001
            log.exception("could not save the recorded candles")
        if self.risk is not None:
            self.risk.stop()
        if self.order_manager is not None:
            await self.order_manager.stop()
        try:
            if self.position_manager is not None:
                self.db.positions.add_pnl_snapshot(self.pnl_now())
        except Exception:  # noqa: BLE001
            log.exception("could not write the closing PnL snapshot")
        await self._close_partial()

    async def _close_partial(self) -> None:
        if self.broker is not None:
            try:
                await self.broker.close()
            except Exception:  # noqa: BLE001
                log.exception("broker close failed")
        if self.db is not None:
            await self.db.close()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    def with_settings(self, **changes) -> Settings:
        return replace(self.settings, **changes)


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll `predicate` until true or `timeout` (test and smoke helper)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())
