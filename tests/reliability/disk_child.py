"""Child programs for the disk-fault suite (they change process-wide limits or mounts).

python tests/reliability/disk_child.py full DATA_DIR '<kite json>'
    An OMS on KiteBroker (the Kite test server runs in the parent). After one order is
    open, the disk "fills up": RLIMIT_FSIZE = 1 byte, so every file write fails with
    EFBIG, exactly like ENOSPC for SQLite (the parent's files are unaffected). Then:
    the parent fills the open order; a new order must be refused with a clear error and
    NOT sent; the fill cannot be recorded yet. The disk frees up (limit lifted): the fill
    is applied once. Talks to the parent by lines on stdout / stdin.

python tests/reliability/disk_child.py start DATA_DIR
    Application.start() on the paper broker (used inside a read-only mount); prints
    `STARTED` or `ERROR <type names> | <message>`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def say(*parts) -> None:
    print(*parts, flush=True)


async def disk_full(data_dir: Path, kite: dict) -> int:
    from desktop_oms.brokers.kite.broker import KiteBroker
    from desktop_oms.domain import OrderStatus
    from desktop_oms.domain.events import BackgroundTaskFailed
    from desktop_oms.marketdata.instruments import load_bundled_instruments
    from desktop_oms.oms import EventBus, OrderManager, PositionManager
    from desktop_oms.storage import Database
    from tests.helpers import limit, until

    db = await Database.open(data_dir / "oms.db")
    broker = KiteBroker(
        api_key=kite["api_key"],
        access_token=kite["access_token"],
        root=kite["root"],
        timeout=2,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
        stream=False,
    )
    events = EventBus()
    failures: list[str] = []
    events.subscribe(BackgroundTaskFailed, lambda e: failures.append(e.error))
    om = OrderManager(
        db=db,
        broker_client=broker,
        position_manager=PositionManager(db, events),
        events=events,
        instruments=load_bundled_instruments(),
        monitor_interval=0.05,
        reconcile_interval=3600,
    )
    await om.start()
    opened = await om.place_order(limit("INFY", qty=4, price="1490"))
    with db.engine.connect() as conn:  # an empty WAL: the next write must grow a file
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))
    say("FULL", opened.broker_order_id)
    assert sys.stdin.readline().strip() == "FILLED"  # the parent filled the order
    await until(lambda: failures, 5)  # the fill was seen but could not be recorded
    try:
        await om.place_order(limit("INFY", qty=1, price="1480"))
        say("SENT")  # wrong: the order was not journaled
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        say("REFUSED", json.dumps(f"{type(exc).__name__}: {exc}"))
    assert (await om.get_order(opened.order_id)).filled_quantity == 0
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
    await until(lambda: om.sync.current(opened.order_id) is None, 10)
    order = await om.get_order(opened.order_id)
    say("APPLIED", order.status.value, order.filled_quantity, len(failures))
    await om.stop()
    await broker.close()
    await db.close()
    return 0 if order.status is OrderStatus.FILLED else 1


async def start_app(data_dir: Path) -> int:
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    settings, warning = Settings.load(data_dir, broker="paper", simulate_market=False)
    app = Application(settings, with_window=False)
    try:
        await app.start()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        names = ",".join(c.__name__ for c in type(exc).__mro__)
        say(f"ERROR {names} | {exc}")
        return 0
    say("STARTED")
    await app.stop()
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "full":
        return asyncio.run(disk_full(Path(argv[1]), json.loads(argv[2])))
    if argv[0] == "start":
        return asyncio.run(start_app(Path(argv[1])))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
