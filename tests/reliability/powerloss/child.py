"""The OMS side of the power-loss suite: crash_child's worker, with the exchange kept apart.

    python tests/reliability/powerloss/child.py zygote

Runs crash_child's zygote (one forked worker per run, the OMS imported once) with
`PowerLossWorker`, which differs from crash_child.Worker in three ways:

- `exchange`: the paper broker's state file. The paper broker plays the exchange, and
  the exchange does not lose power with the laptop: its file lives outside the
  simulated disk, which holds only the OMS's data directory (`data_dir`).
- `fault` (negative controls, never a product change): "skip_fsync" makes the
  journal's flush thread skip its fdatasync (a writer that acknowledges what it never
  flushed); "sync_off" opens the journal with SQLite `synchronous=OFF` and no flush
  thread (a setting the product refuses: Database.open only takes FULL/EXTRA/NORMAL).
- `checkpoint_interval`: the journal checkpoints this often (seconds) instead of every
  CHECKPOINT_INTERVAL_S, so power cuts also land inside checkpoints and WAL restarts.
- mode "modify_fill": the scripted case of issue 20 (a modify whose acknowledgement
  never reached the disk, then a fill). It writes the mark `modify-sent:<run>` on the
  simulated disk at the moment the OMS hands the modify to the broker (the journal's
  "modify requested" is durable then), and reports the order on a `P` line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product  # noqa: E402
from desktop_oms.infra.files import FileSyncer  # noqa: E402
from desktop_oms.storage import Database, wal_sync  # noqa: E402
from tests.reliability import crash_child  # noqa: E402


class UnflushedSyncer(FileSyncer):
    """The journal's flush thread, minus the flush: says 'durable' for what is not."""

    def _sync_file(self) -> None:
        return None


def open_sync_off(url, **_options) -> Database:
    """Database.open with SQLite's synchronous=OFF (commits never reach the disk)."""
    real = Database._install_pragmas

    def pragmas(engine, synchronous, busy_timeout_ms, read_only=False, synced_by_thread=False):
        real(engine, "OFF", busy_timeout_ms, read_only=read_only)

    Database._install_pragmas = staticmethod(pragmas)
    try:
        # EXTRA: no flush thread; the pragma above then turns SQLite's own flushes off.
        return Database.open_sync(url, synchronous="EXTRA")
    finally:
        Database._install_pragmas = staticmethod(real)


class SyncOffDatabase:
    @staticmethod
    async def open(url, **options) -> Database:
        return open_sync_off(url, **options)


def write_mark(path: str, label: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, label.encode())
    finally:
        os.close(fd)


class PowerCutMarkers(crash_child.Markers):
    """At the chosen marker the power fails: a disk mark first (the images are cut
    there, so what the flush threads do until the parent's SIGKILL lands is not on the
    disk), then crash_child's K line and the wait for the kill."""

    def __init__(self, run: int, kill_marker, kill_at, mark_path: str, label: str) -> None:
        super().__init__(run, kill_marker, kill_at)
        self.mark_path = mark_path
        self.label = label

    def hit(self, name: str) -> None:
        if name == self.kill_marker and self.counts.get(name, 0) + 1 == self.kill_at:
            write_mark(self.mark_path, self.label)
        super().hit(name)


class RequestMarkingProxy(crash_child.BrokerProxy):
    """crash_child's proxy, plus a disk mark before every request that changes the
    exchange: a power cut placed after the last such mark is consistent with what the
    exchange holds (after it, the exchange only sees reads and its own market)."""

    def __init__(self, inner, markers, mark_path: str, label: str) -> None:
        super().__init__(inner, markers)
        self._mark_path = mark_path
        self._label = label
        self._requests = 0

    def _request(self) -> None:
        self._requests += 1
        write_mark(self._mark_path, f"{self._label}:{self._requests}")

    async def place_order(self, order):
        self._request()
        return await super().place_order(order)

    async def modify_order(self, *args, **kwargs):
        self._request()
        return await super().modify_order(*args, **kwargs)

    async def cancel_order(self, *args, **kwargs):
        self._request()
        return await super().cancel_order(*args, **kwargs)


class PowerLossWorker(crash_child.Worker):
    def __init__(self, args: dict) -> None:
        super().__init__(args)
        if args.get("mark_path"):
            self.markers = PowerCutMarkers(
                self.run,
                args.get("kill_marker"),
                args.get("kill_at"),
                args["mark_path"],
                args["power_cut_label"],
            )

    async def open(self) -> None:
        args = self.args
        saved = (
            crash_child.PaperBroker,
            crash_child.Database,
            crash_child.BrokerProxy,
            wal_sync.FileSyncer,
        )
        if args.get("mark_path"):

            def proxy(inner, markers):
                return RequestMarkingProxy(inner, markers, args["mark_path"], args["request_label"])

            crash_child.BrokerProxy = proxy
        exchange = args.get("exchange")
        if exchange:
            real = crash_child.PaperBroker

            def paper_broker(state_path, **options):
                return real(state_path=Path(exchange), **options)

            crash_child.PaperBroker = paper_broker
        if args.get("checkpoint_interval"):
            # Checkpoints (WAL folded into the database file, then the WAL restarted from
            # its start) every few commits instead of every 5 s: more cuts land in one.
            wal_sync.CHECKPOINT_INTERVAL_S = float(args["checkpoint_interval"])
        fault = args.get("fault")
        if fault == "skip_fsync":
            wal_sync.FileSyncer = UnflushedSyncer
        elif fault == "sync_off":
            crash_child.Database = SyncOffDatabase
        elif fault:
            raise ValueError(f"unknown fault {fault!r}")
        try:
            await super().open()
        finally:
            (
                crash_child.PaperBroker,
                crash_child.Database,
                crash_child.BrokerProxy,
                wal_sync.FileSyncer,
            ) = saved

    async def settle(self) -> dict:
        """crash_child's settle with a deadline from `settle_timeout`: a journal that lost
        orders keeps trades it cannot book (orphans) until the deadline, by design."""
        om, sync = self.om, self.om.sync
        deadline = time.monotonic() + float(self.args.get("settle_timeout", 10))
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
        if self.args.get("mode") != "modify_fill":
            return await super().main()
        await self.open()
        crash_child.emit(f"R {self.run} 0")
        report = await self.modify_fill()
        await self.close()
        crash_child.emit(f"P {self.run} " + json.dumps(report))
        crash_child.emit(f"D {self.run} {{}}")
        return 0

    async def wait_for(self, order_id: int, statuses, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            order = await self.om.get_order(order_id)
            if order.status in statuses:
                return order
            if time.monotonic() > deadline:
                raise RuntimeError(f"order {order_id} stayed {order.status.name}")
            await asyncio.sleep(0.02)

    async def modify_fill(self) -> dict:
        """Issue 20: qty 2 LIMIT open; modify to qty 1 (accepted); the exchange fills 1."""
        om, exchange = self.om, self.inner
        exchange.set_last_price("NSE", "INFY", Decimal("1500"))
        placed = await om.place_order(
            OrderRequest(
                symbol="INFY",
                exchange="NSE",
                side=OrderSide.BUY,
                quantity=2,
                order_type=OrderType.LIMIT,
                price=Decimal("1490"),
                product=Product.MIS,
            )
        )
        opened = await self.wait_for(placed.order_id, {OrderStatus.OPEN})
        proxy, mark_path = self.broker, self.args["mark_path"]
        real_modify = proxy.modify_order

        async def modify_order(*a, **kw):
            # The journal's "modify requested" is on the disk (the OMS awaited it).
            write_mark(mark_path, f"modify-sent:{self.run}")
            return await real_modify(*a, **kw)

        proxy.modify_order = modify_order
        modified = await om.modify_order(placed.order_id, quantity=1)
        exchange.set_last_price("NSE", "INFY", Decimal("1489"))  # crosses the limit: fills 1
        filled = await self.wait_for(placed.order_id, {OrderStatus.FILLED})
        await self.db.durable()
        return {
            "client_order_id": placed.client_order_id,
            "broker_order_id": opened.broker_order_id,
            "opened": [opened.status.name, opened.quantity],
            "modified": [modified.status.name, modified.quantity],
            "filled": [filled.status.name, filled.quantity, filled.filled_quantity],
        }


def main(argv: list[str]) -> int:
    crash_child.Worker = PowerLossWorker  # run_worker builds crash_child.Worker(args)
    return crash_child.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
