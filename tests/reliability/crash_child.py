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
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_oms.brokers.paper import PaperBroker  # noqa: E402
from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product  # noqa: E402
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
from desktop_oms.storage import Database  # noqa: E402

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
SYMBOLS = ("RELIANCE", "INFY", "TCS")
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
    """The real broker with kill points around every call the OMS makes."""

    def __init__(self, inner, markers: Markers) -> None:
        self._inner = inner
        self._m = markers

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def place_order(self, order):
        self._m.hit("journaled")
        result = await self._inner.place_order(order)
        self._m.hit("submitted")
        return result

    async def modify_order(self, *args, **kwargs):
        result = await self._inner.modify_order(*args, **kwargs)
        self._m.hit("modify_sent")
        return result

    async def cancel_order(self, *args, **kwargs):
        result = await self._inner.cancel_order(*args, **kwargs)
        self._m.hit("cancel_sent")
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


class Worker:
    def __init__(self, args: dict) -> None:
        self.args = args
        self.run = int(args["run"])
        self.rng = random.Random(args["seed"])
        self.data_dir = Path(args["data_dir"])
        self.markers = Markers(self.run, args.get("kill_marker"), args.get("kill_at"))
        self.instruments = _INSTRUMENTS or load_bundled_instruments()
        self.stats = {"placed": 0, "modified": 0, "cancelled": 0, "moves": 0, "refused": 0}

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
            missing = {("NSE", s): base[("NSE", s)] for s in SYMBOLS if ("NSE", s) not in known}
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

    async def close(self) -> None:
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
        active = [o for o in await om.get_active_orders() if o.broker_order_id]
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
            await self.step()
            await asyncio.sleep(self.rng.uniform(0, pause))

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
        started = time.monotonic()
        await self.open()
        emit(f"R {self.run} {time.monotonic() - started:.3f}")
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
