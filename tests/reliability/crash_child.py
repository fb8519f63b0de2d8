"""The child side of the crash-recovery suite: an OMS that gets SIGKILLed at random moments.

Run as a *zygote* (`python tests/reliability/crash_child.py zygote`): it imports the OMS
once, then reads one JSON command per line on stdin and forks one fresh *worker* process
per command (so ~30 kills cost ~30 forks, not ~30 interpreter start-ups). A worker opens
the journal (Database + PositionManager + OrderManager) in the given data directory
against a broker that outlives it -- the persisted paper broker (re-opened from its
fsync'ed journal each run) or the Kite test server running in the parent test process --
lets start-up recovery run, then places, modifies and cancels a seeded stream of orders
(and, for the paper broker, moves prices so orders fill) until it is killed.

Output: one line per fact, written with a single os.write (atomic on a pipe):

    F <run> <pid>            zygote: worker forked
    R <run>                  worker: start-up recovery finished (om.start() returned)
    K <run> <marker> <n>     worker: reached its kill point and now waits to be killed
    D <run> <json>           worker: finished its run without being killed
    S <run> <json>           worker (settle mode): quiescent, reconciled, stopped cleanly
    E <run> <json>           worker: unexpected exception (json-encoded traceback)
    X <run> <status>         zygote: worker reaped ("signal 9" or "exit N")

Kill points are progress markers inside the OMS's path, counted per worker: the parent
names one (marker, occurrence) and the worker blocks there so the SIGKILL lands exactly
between, e.g., the journal write and the broker call. Markers:

    journaled      PENDING row committed, broker not called yet (place_order)
    submitted      broker accepted the order, the ack is not journaled yet
    modify_sent    broker modified the order, the OMS has not journaled it
    cancel_sent    broker cancelled the order, the OMS has not journaled it
    fill_txn       inside record_fill's transaction (trade + order written, position not,
                   nothing committed)
    fill_done      fill committed, in-memory position and events not updated
    journal_save   any other order change committed (acks, status, adoption in recovery)
    orders_read    order book read (polling, recovery)
    trades_read    trade book read (polling, recovery, reconciliation)
    positions_read positions read (reconciliation: between its two reads)
    paper_durable  paper broker wrote + fsync'ed an exchange event, not applied/returned

Bracket mode (`"brackets": true`, paper broker only): the worker also runs the risk
layer's BracketManager (on a RiskStore of the same journal, started after om.start(),
last prices from the paper broker, whose ticks are published as QuotesUpdated as the app
does) and trades bracketed entries on their own instruments (BRACKET_SIDES) besides the
plain stream: entries with a stop-loss and/or a target, price moves through stops and
targets, partial fills of entries and of the resting stops, the trader's Exit, cancels
of resting entries and moves of the stop. Every run first settles (recovery, then the brackets' repair) and
writes a checkpoint: a copy of the journal (SQLite backup) and the broker's book, side
by side (`B <run> <path>`), which the parent audits. Kill points of a bracket's life
(counted besides the generic ones above):

    stop_journaled   a bracket stop (SL-M / SL) journaled, the broker not called yet
    stop_submitted   the broker accepted a bracket stop, the ack is not journaled yet
    stop_modified    the broker resized or moved a bracket stop, not journaled yet
    stop_cancelled   the broker cancelled a bracket stop (shrunk away, or for the target)
    target_cancel    the same, while the bracket's target is reached (the stop goes
                     first, the market exit is next)
    exit_journaled   the bracket's market exit journaled, the broker not called yet
    exit_submitted   the broker accepted the market exit, the ack is not journaled yet

Mode "away" (bracket mode, between runs): the paper exchange alone, while no OMS runs,
moves the bracket instruments' prices (through stops and targets, sometimes in a gap)
and fills some resting orders in part, then closes cleanly (its prices are saved).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sqlite3
import sys
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_oms.brokers.errors import BrokerError  # noqa: E402
from desktop_oms.brokers.paper import PaperBroker  # noqa: E402
from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product  # noqa: E402
from desktop_oms.domain.events import QuotesUpdated  # noqa: E402
from desktop_oms.infra.clock import utcnow  # noqa: E402
from desktop_oms.marketdata.instruments import load_bundled_instruments  # noqa: E402
from desktop_oms.oms import (  # noqa: E402
    EventBus,
    OrderManager,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
    OrderSubmissionFailed,
    PositionManager,
)
from desktop_oms.risk.brackets import BracketManager  # noqa: E402
from desktop_oms.storage import Database  # noqa: E402
from desktop_oms.storage.risk_store import RiskStore  # noqa: E402
from tests.reliability.crash_harness import paper_book  # noqa: E402

MARKERS = (
    "journaled",
    "submitted",
    "modify_sent",
    "cancel_sent",
    "fill_txn",
    "fill_done",
    "journal_save",
    "orders_read",
    "trades_read",
    "positions_read",
    "paper_durable",
)
BRACKET_MARKERS = (
    "stop_journaled",
    "stop_submitted",
    "stop_modified",
    "stop_cancelled",
    "target_cancel",
    "exit_journaled",
    "exit_submitted",
)
SYMBOLS = ("RELIANCE", "INFY", "TCS")
# Bracket mode: one side per instrument, so a position on the other side is a doubling.
BRACKET_SIDES = {"SBIN": OrderSide.BUY, "ITC": OrderSide.SELL, "HDFCBANK": OrderSide.BUY}
MAX_ACTIVE_BRACKETS = 3  # per instrument
EXPECTED = (
    OrderRejected,
    OrderSubmissionFailed,
    OrderNotCancellable,
    OrderNotModifiable,
    OrderNotFound,
)
_INSTRUMENTS = None


def emit(line: str) -> None:
    os.write(1, (line + "\n").encode())


class Markers:
    def __init__(self, run: int, kill_marker: str | None, kill_at: int | None) -> None:
        self.run = run
        self.kill_marker = kill_marker
        self.kill_at = kill_at
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> None:
        count = self.counts[name] = self.counts.get(name, 0) + 1
        if name == self.kill_marker and count == self.kill_at:
            emit(f"K {self.run} {name} {count}")
            time.sleep(30)  # the parent SIGKILLs us here; the loop must not go on
            emit(f"E {self.run} " + json.dumps(f"not killed at {name} {count}"))
            os._exit(5)


class BrokerProxy:
    """The real broker with kill points around every call the OMS makes.

    In bracket mode the worker sets `bracket_role(broker_order_id) -> str | None` (what a
    journaled order is to its bracket: "stop", "exit", "target_cancel" or None), and
    the bracket markers are hit too."""

    def __init__(self, inner, markers: Markers) -> None:
        self._inner = inner
        self._m = markers
        self.bracket_role = None

    def __getattr__(self, name):
        return getattr(self._inner, name)

    @staticmethod
    def _placed_role(order) -> str | None:
        if getattr(order, "source", None) != "bracket":
            return None
        return "exit" if order.order_type is OrderType.MARKET else "stop"

    def _role(self, broker_order_id) -> str | None:
        return None if self.bracket_role is None else self.bracket_role(broker_order_id)

    async def place_order(self, order):
        role = self._placed_role(order) if self.bracket_role is not None else None
        self._m.hit("journaled")
        if role:
            self._m.hit(f"{role}_journaled")
        result = await self._inner.place_order(order)
        self._m.hit("submitted")
        if role:
            self._m.hit(f"{role}_submitted")
        return result

    async def modify_order(self, *args, **kwargs):
        role = self._role(args[0] if args else kwargs.get("broker_order_id"))
        result = await self._inner.modify_order(*args, **kwargs)
        self._m.hit("modify_sent")
        if role in ("stop", "target_cancel"):
            self._m.hit("stop_modified")
        return result

    async def cancel_order(self, *args, **kwargs):
        role = self._role(args[0] if args else kwargs.get("broker_order_id"))
        result = await self._inner.cancel_order(*args, **kwargs)
        self._m.hit("cancel_sent")
        if role in ("stop", "target_cancel"):
            self._m.hit("stop_cancelled")
        if role == "target_cancel":
            self._m.hit("target_cancel")
        return result

    async def orders(self):
        result = await self._inner.orders()
        self._m.hit("orders_read")
        return result

    async def trades(self):
        result = await self._inner.trades()
        self._m.hit("trades_read")
        return result

    async def positions(self, *args, **kwargs):
        result = await self._inner.positions(*args, **kwargs)
        self._m.hit("positions_read")
        return result


def instrument_markers(db: Database, markers: Markers) -> None:
    """Kill points inside the journal's transactions (instance attributes, no product change)."""
    journal, store = db.journal, db.positions
    real_upsert, real_record_fill, real_save = store.upsert, journal.record_fill, journal.save

    def upsert(position, conn=None):
        real_upsert(position, conn=conn)
        if conn is not None:
            markers.hit("fill_txn")

    def record_fill(*args, **kwargs):
        applied = real_record_fill(*args, **kwargs)
        if applied:
            markers.hit("fill_done")
        return applied

    def save(*args, **kwargs):
        real_save(*args, **kwargs)
        if kwargs.get("conn") is None:
            markers.hit("journal_save")

    store.upsert = upsert
    journal.record_fill = record_fill
    journal.save = save


def instrument_paper(broker: PaperBroker, markers: Markers) -> None:
    journal = broker._store.journal
    real_append = journal.append

    def append(events, durable=True):
        real_append(events, durable=durable)
        if durable:
            markers.hit("paper_durable")

    journal.append = append


def tick_round(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value() * tick


@dataclass(frozen=True)
class _Working:
    broker_order_id: str
    remaining: int
    price: Decimal | None


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its committed state, WAL included)."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


class Worker:
    def __init__(self, args: dict) -> None:
        self.args = args
        self.run = int(args["run"])
        self.rng = random.Random(args["seed"])
        self.data_dir = Path(args["data_dir"])
        self.markers = Markers(self.run, args.get("kill_marker"), args.get("kill_at"))
        self.instruments = _INSTRUMENTS or load_bundled_instruments()
        self.stats = {"placed": 0, "modified": 0, "cancelled": 0, "moves": 0, "refused": 0}
        self.brackets: BracketManager | None = None
        self.bracket_mode = bool(args.get("brackets"))

    async def open(self) -> None:
        args = self.args
        self.db = await Database.open(self.data_dir / "oms.db")
        instrument_markers(self.db, self.markers)
        if args["broker"] == "paper":
            inner = PaperBroker(
                state_path=self.data_dir / "paper.jsonl", instruments=self.instruments
            )
            instrument_paper(inner, self.markers)
            known = inner.last_prices()
            base = self.instruments.last_prices()
            symbols = SYMBOLS + tuple(BRACKET_SIDES) if self.bracket_mode else SYMBOLS
            missing = {("NSE", s): base[("NSE", s)] for s in symbols if ("NSE", s) not in known}
            if missing:
                inner.set_last_prices(missing)
        else:
            from desktop_oms.brokers.kite.broker import KiteBroker

            kite = args["kite"]
            inner = KiteBroker(
                api_key=kite["api_key"],
                access_token=kite["access_token"],
                root=kite["root"],
                ticker_root=kite["ticker_root"],
                timeout=2,
                retry_base_delay=0.01,
                retry_max_delay=0.05,
                lookup_interval=0.1,
                stream=True,
                stream_options={
                    "coalesce_interval": 0.0,
                    "reconnect_initial_delay": 0.05,
                    "reconnect_max_delay": 0.2,
                    "open_timeout": 2.0,
                    "watchdog_timeout": 5.0,
                    "watchdog_active": lambda: False,
                },
            )
        self.inner = inner
        self.broker = BrokerProxy(inner, self.markers)
        self.events = EventBus()
        self.pm = PositionManager(self.db, self.events)
        self.om = OrderManager(
            db=self.db,
            broker_client=self.broker,
            position_manager=self.pm,
            events=self.events,
            instruments=self.instruments,
            monitor_interval=float(args.get("monitor_interval", 0.05)),
            reconcile_interval=float(args.get("reconcile_interval", 0.3)),
            unknown_outcome_grace=0.3,
        )
        await self.om.start()
        if not self.om.ready:
            raise RuntimeError("start-up recovery did not complete (om.ready is False)")
        if self.bracket_mode:
            self.start_brackets()

    def start_brackets(self) -> None:
        """As the app does (app/risk_wiring.py): after om.start(), on the journal's
        RiskStore, last prices from the broker, its ticks published as QuotesUpdated."""
        if self.args["broker"] != "paper":
            raise ValueError("bracket mode runs on the paper broker")
        events = self.events
        self._ticks = lambda ticks: events.publish(QuotesUpdated(tuple(ticks), utcnow()))
        self.inner.add_tick_listener(self._ticks)
        self.store = RiskStore(self.db)
        # a refused leg is retried after 0.05 s (the app: 1 s), so a restart settles fast
        self.brackets = BracketManager(
            self.om, self.store, last_price=self.inner.last_price, retry_delay=0.05
        )
        self.broker.bracket_role = self.bracket_role
        self.brackets.start()

    def bracket_role(self, broker_order_id) -> str | None:
        """What the working order with this broker id is to its bracket (kill markers)."""
        order = next(
            (o for o in self.om.live_orders() if o.broker_order_id == str(broker_order_id)), None
        )
        if order is None or order.source != "bracket":
            return None
        if order.sent_type is OrderType.MARKET:  # also once the broker protected it
            return "exit"
        entry = self.om.order_now(order.parent_order_id) if order.parent_order_id else None
        target = entry.take_profit if entry is not None else None
        last = self.inner.last_price(order.exchange, order.symbol)
        if target is not None and last is not None:
            reached = last >= target if entry.side is OrderSide.BUY else last <= target
            if reached:
                return "target_cancel"
        return "stop"

    async def close(self) -> None:
        if self.brackets is not None:
            self.inner.remove_tick_listener(self._ticks)
            await self.brackets.stop()
        await self.om.stop()
        if hasattr(self.inner, "close"):
            await self.inner.close()
        await self.db.close()

    # -------------------------------------------------------------- the order stream
    def last_price(self, symbol: str) -> Decimal:
        if self.args["broker"] == "paper":
            return self.inner.last_price("NSE", symbol)
        return Decimal(self.args["kite"]["prices"][symbol])

    def new_request(self) -> OrderRequest:
        rng = self.rng
        symbol = rng.choice(SYMBOLS)
        tick = self.instruments.get("NSE", symbol).tick_size
        last = self.last_price(symbol)
        side = rng.choice((OrderSide.BUY, OrderSide.SELL))
        quantity = rng.randint(1, 5)
        kind = rng.random()
        common = {
            "symbol": symbol,
            "exchange": "NSE",
            "side": side,
            "quantity": quantity,
            "product": Product.MIS,
        }
        if kind < 0.6:
            price = tick_round(last + tick * rng.randint(-6, 6), tick)
            return OrderRequest(order_type=OrderType.LIMIT, price=price, **common)
        if kind < 0.8:
            return OrderRequest(order_type=OrderType.MARKET, **common)
        away = tick * rng.randint(1, 6) * side.sign
        trigger = tick_round(last + away, tick)
        price = trigger + tick * rng.randint(0, 3) * side.sign
        return OrderRequest(order_type=OrderType.SL, price=price, trigger_price=trigger, **common)

    async def step(self) -> None:
        rng = self.rng
        om = self.om
        roll = rng.random()
        active = [
            o for o in await om.get_active_orders() if o.broker_order_id and o.symbol in SYMBOLS
        ]
        paper = self.args["broker"] == "paper"
        try:
            if roll < 0.4 or (not active and not paper):
                await om.place_order(self.new_request())
                self.stats["placed"] += 1
            elif roll < 0.55 and active:
                order = rng.choice(active)
                tick = self.instruments.get(order.exchange, order.symbol).tick_size
                if order.order_type is OrderType.LIMIT and rng.random() < 0.7:
                    price = tick_round(self.last_price(order.symbol), tick) + tick * rng.randint(
                        -4, 4
                    )
                    await om.modify_order(order.id, price=price)
                else:
                    await om.modify_order(order.id, quantity=order.quantity + rng.randint(1, 3))
                self.stats["modified"] += 1
            elif roll < 0.7 and active:
                await om.cancel_order(rng.choice(active).id)
                self.stats["cancelled"] += 1
            elif paper:
                symbol = rng.choice(SYMBOLS)
                tick = self.instruments.get("NSE", symbol).tick_size
                base = self.instruments.last_prices()[("NSE", symbol)]
                price = self.last_price(symbol) + tick * rng.randint(-5, 5)
                price = min(max(price, base * Decimal("0.97")), base * Decimal("1.03"))
                self.inner.set_last_price("NSE", symbol, tick_round(price, tick))
                self.stats["moves"] += 1
            else:
                await om.place_order(self.new_request())
                self.stats["placed"] += 1
        except EXPECTED:
            self.stats["refused"] += 1

    async def trade(self) -> None:
        deadline = time.monotonic() + float(self.args.get("duration", 1.5))
        pause = float(self.args.get("pause", 0.01))
        while time.monotonic() < deadline:
            if self.bracket_mode and self.rng.random() < 0.75:
                await self.bracket_step()
            else:
                await self.step()
            await asyncio.sleep(self.rng.uniform(0, pause))

    # -------------------------------------------------------------- bracket mode
    def bracket_request(self) -> OrderRequest | None:
        """A bracketed entry: marketable or resting LIMIT, or MARKET; a stop-loss and/or
        a target a few ticks away (the price walk reaches them)."""
        rng = self.rng
        symbol = rng.choice(tuple(BRACKET_SIDES))
        working = [v for v in self.brackets.views() if v.symbol == symbol]
        if len(working) >= MAX_ACTIVE_BRACKETS:
            return None
        side = BRACKET_SIDES[symbol]
        tick = self.instruments.get("NSE", symbol).tick_size
        last = self.inner.last_price("NSE", symbol)
        sign = side.sign
        kind = rng.random()
        if kind < 0.4:
            order_type, price = OrderType.LIMIT, last + sign * tick * rng.randint(0, 2)
        elif kind < 0.75:
            order_type, price = OrderType.LIMIT, last - sign * tick * rng.randint(1, 4)
        else:
            order_type, price = OrderType.MARKET, None
        ref = price if price is not None else last
        stop = ref - sign * tick * rng.randint(2, 8)
        target = ref + sign * tick * rng.randint(2, 8)
        shape = rng.random()
        if shape < 0.2:
            target = None
        elif shape < 0.3:
            stop = None
        return OrderRequest(
            symbol=symbol,
            exchange="NSE",
            side=side,
            quantity=rng.randint(2, 12),
            order_type=order_type,
            price=price,
            product=Product.MIS,
            stop_loss=stop,
            take_profit=target,
        )

    def move_bracket_price(self, symbol: str, ticks: int, broker=None) -> None:
        broker = broker or self.inner
        tick = self.instruments.get("NSE", symbol).tick_size
        base = self.instruments.last_prices()[("NSE", symbol)]
        price = broker.last_price("NSE", symbol) + tick * ticks
        price = min(max(price, base * Decimal("0.97")), base * Decimal("1.03"))
        broker.set_last_price("NSE", symbol, tick_round(price, tick))

    def part_fill(self, reports, broker) -> bool:
        """The exchange fills part of a working order (an entry, or a bracket's stop)."""
        rng = self.rng
        candidates = [r for r in reports if r.remaining >= 1]
        if not candidates:
            return False
        report = rng.choice(candidates)
        quantity = rng.randint(1, max(report.remaining - 1, 1))
        try:
            broker.fill(report.broker_order_id, quantity, report.price)
        except (BrokerError, ValueError):
            return False
        return True

    def working_at(self, *, stops: bool):
        """The broker's working orders on the bracket instruments: resting entries (LIMIT)
        or bracket stops (SL-M / SL), with `remaining`."""
        out = []
        for o in self.om.live_orders():
            if o.symbol not in BRACKET_SIDES or o.broker_order_id is None:
                continue
            is_stop = o.source == "bracket" and o.order_type in (OrderType.SL_M, OrderType.SL)
            is_entry = o.source != "bracket" and o.order_type is OrderType.LIMIT
            if (is_stop if stops else is_entry) and o.status.is_active:
                out.append(
                    _Working(o.broker_order_id, o.quantity - o.filled_quantity, o.trigger_price)
                )
        return out

    async def bracket_step(self) -> None:
        rng, om, stats = self.rng, self.om, self.stats
        roll = rng.random()
        symbol = rng.choice(tuple(BRACKET_SIDES))
        try:
            if roll < 0.27:
                request = self.bracket_request()
                if request is not None:
                    await om.place_order(request)
                    stats["entries"] = stats.get("entries", 0) + 1
            elif roll < 0.67:
                ticks = rng.randint(-4, 4) if rng.random() < 0.9 else rng.choice((-1, 1)) * 10
                self.move_bracket_price(symbol, ticks)
                stats["moves"] += 1
            elif roll < 0.77:
                if self.part_fill(self.working_at(stops=False), self.inner):
                    stats["entry_fills"] = stats.get("entry_fills", 0) + 1
            elif roll < 0.85:
                if self.part_fill(self.working_at(stops=True), self.inner):
                    stats["stop_fills"] = stats.get("stop_fills", 0) + 1
            elif roll < 0.91:
                views = [v for v in self.brackets.views() if v.stop_loss is not None]
                if views:
                    view = rng.choice(views)
                    tick = self.instruments.get("NSE", view.symbol).tick_size
                    stop = view.stop_loss + tick * rng.randint(-3, 3)
                    if self.brackets.move_stop(view.entry_order_id, stop) is None:
                        stats["stop_moves"] = stats.get("stop_moves", 0) + 1
            elif roll < 0.96:
                entries = [
                    o for o in om.live_orders()
                    if o.symbol in BRACKET_SIDES and o.source != "bracket" and o.broker_order_id
                ]  # fmt: skip
                if entries:
                    await om.cancel_order(rng.choice(entries).id)
                    stats["entry_cancels"] = stats.get("entry_cancels", 0) + 1
            else:
                if om.positions.peek("NSE", symbol, Product.MIS).quantity:
                    await om.exit_position("NSE", symbol, Product.MIS)
                    stats["exits"] = stats.get("exits", 0) + 1
        except EXPECTED:
            stats["refused"] += 1

    async def away(self) -> dict:
        """The exchange while no OMS runs: prices of the bracket instruments move (through
        stops and targets, sometimes in a gap) and resting orders fill in part."""
        rng = self.rng
        broker = PaperBroker(state_path=self.data_dir / "paper.jsonl", instruments=self.instruments)
        stats = {"moves": 0, "fills": 0}
        try:
            for _ in range(rng.randint(1, 6)):
                if rng.random() < 0.75:
                    ticks = rng.randint(-6, 6) if rng.random() < 0.8 else rng.choice((-1, 1)) * 12
                    self.move_bracket_price(rng.choice(tuple(BRACKET_SIDES)), ticks, broker)
                    stats["moves"] += 1
                    continue
                working = [
                    _Working(r.broker_order_id, r.pending_quantity, r.price)
                    for r in await broker.orders()
                    if r.symbol in BRACKET_SIDES and r.status.is_active
                    and r.order_type in (OrderType.LIMIT, OrderType.SL_M, OrderType.SL)
                ]  # fmt: skip
                if self.part_fill(working, broker):
                    stats["fills"] += 1
        finally:
            await broker.close()  # the prices are saved: they are the market's
        stats["prices"] = {s: str(broker.last_price("NSE", s)) for s in BRACKET_SIDES}
        return stats

    async def settle_brackets(self, timeout: float = 10.0) -> bool:
        """Until the OMS has nothing unresolved and the brackets have nothing to do (no
        dirty bracket, no retry pending), for 0.3 s. False if never within `timeout`."""
        sync, brackets = self.om.sync, self.brackets
        transient = (OrderStatus.PENDING, OrderStatus.SUBMITTED)
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            await self.om.drain()
            busy = (
                any(sync.unresolved().values())
                or any(o.status in transient for o in sync.active_orders())
                or not brackets.idle.is_set()
                or bool(brackets._dirty)
                or bool(brackets._retry_handles)
            )
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since > 0.3:
                return True
            await asyncio.sleep(0.02)
        return False

    async def checkpoint(self) -> None:
        """Restarted and settled: a copy of the journal beside the broker's book, for the
        parent's audit (B line). Both read with nothing moving: the book read before and
        after the copy must agree."""
        started = time.monotonic()
        settled = await self.settle_brackets()
        stem = self.data_dir / f"checkpoint-{self.run}"
        consistent = False
        for _ in range(5):
            before = await paper_book(self.inner)
            backup_sqlite(self.data_dir / "oms.db", stem.with_suffix(".db"))
            book = await paper_book(self.inner)
            if book == before:
                consistent = True
                break
        stem.with_suffix(".json").write_text(
            json.dumps(
                {
                    "run": self.run,
                    "settled": settled,
                    "consistent": consistent,
                    "seconds": round(time.monotonic() - started, 3),
                    "book": book,
                }
            )
        )
        emit(f"B {self.run} {stem}")

    async def settle(self) -> dict:
        """Wait until nothing is unresolved, reconcile once more, report."""
        om, sync = self.om, self.om.sync
        deadline = time.monotonic() + 10
        quiet_since = None
        while time.monotonic() < deadline:
            busy = any(sync.unresolved().values()) or any(
                o.status is OrderStatus.PENDING for o in sync.active_orders()
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.4:
                break
            await asyncio.sleep(0.05)
        result = await om.reconcile_positions()
        return {
            "mismatches": len(result.mismatches),
            "skipped": list(result.skipped),
            "active": len(sync.active_orders()),
            "unknown": sync.unresolved()["unknown"],
            "orphans": sync.unresolved()["orphans"],
        }

    async def main(self) -> int:
        if self.args.get("mode") == "away":
            emit(f"D {self.run} " + json.dumps(await self.away()))
            return 0
        started = time.monotonic()
        await self.open()
        emit(f"R {self.run} {time.monotonic() - started:.3f}")
        if self.brackets is not None:
            await self.checkpoint()
        if self.args.get("mode") == "settle":
            summary = await self.settle()
            await self.close()
            emit(f"S {self.run} " + json.dumps(summary))
            return 0
        await self.trade()
        await self.close()
        emit(f"D {self.run} " + json.dumps({**self.stats, "markers": self.markers.counts}))
        return 0


def run_worker(args: dict) -> int:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format=f"[run {args['run']} pid {os.getpid()}] %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    try:
        return asyncio.run(Worker(args).main())
    except BaseException:  # noqa: BLE001 - everything unexpected is reported to the parent
        emit(f"E {args['run']} " + json.dumps(traceback.format_exc()))
        return 3


def zygote() -> int:
    global _INSTRUMENTS
    import kiteconnect  # noqa: F401 - imported once, before any fork (KiteBroker imports it lazily)
    import websockets.asyncio.client  # noqa: F401

    import desktop_oms.brokers.kite.broker  # noqa: F401
    import desktop_oms.storage.database as database

    _INSTRUMENTS = load_bundled_instruments()
    import alembic.command  # noqa: F401 - warm alembic (the app imports it lazily)
    from alembic.script import ScriptDirectory

    ScriptDirectory.from_config(database._alembic_config())
    emit("Z ready")
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command.get("cmd") == "quit":
            break
        args = command["args"]
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                code = run_worker(args)
            finally:
                os._exit(code)
        emit(f"F {args['run']} {pid}")
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            emit(f"X {args['run']} signal {os.WTERMSIG(status)}")
        else:
            emit(f"X {args['run']} exit {os.WEXITSTATUS(status)}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["zygote"]:
        return zygote()
    if argv[:1] == ["run"]:  # one worker in this process (debugging): run '<json args>'
        return run_worker(json.loads(argv[1]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
