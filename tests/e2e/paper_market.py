"""The paper exchange while the app is closed: a short process that opens the data
directory's paper broker alone (the app is not running), sets last prices — its matching
fills what they cross, as an exchange does whether the app runs or not — and closes it,
saving the prices (the market's, when the app starts again).

    python -m tests.e2e.paper_market --data-dir DIR NSE:TCS=3110 [...]

It prints the broker's book afterwards, one JSON object: orders (status, type, side,
quantity, filled, average price, trigger), trades and net positions. `move_market` runs
it from a test. Test-only code, nothing of the product changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0


async def _move(data_dir: Path, prices: dict[str, str]) -> dict:
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.config import Settings
    from desktop_oms.marketdata.instruments import load_bundled_instruments

    settings, _warning = Settings.load(data_dir, broker="paper", simulate_market=False)
    # as the app opens it (app/application.py _make_broker), minus the app
    broker = PaperBroker(
        state_path=settings.paper_state_path, instruments=load_bundled_instruments()
    )
    try:
        trades = broker.set_last_prices({key: Decimal(value) for key, value in prices.items()})
        book = {
            "new_trades": [
                {
                    "broker_order_id": t.broker_order_id,
                    "quantity": t.quantity,
                    "price": str(t.price),
                }
                for t in trades
            ],
            "orders": [
                {
                    "broker_order_id": r.broker_order_id,
                    "tag": r.client_order_id,
                    "symbol": r.symbol,
                    "side": r.side.value,
                    "order_type": r.order_type.value,
                    "status": r.status.value,
                    "quantity": r.quantity,
                    "filled": r.filled_quantity,
                    "average_price": None if r.average_price is None else str(r.average_price),
                    "trigger": None if r.trigger_price is None else str(r.trigger_price),
                }
                for r in await broker.orders()
            ],
            "positions": {
                f"{p.exchange}:{p.symbol}:{p.product.value}": p.quantity
                for p in await broker.positions()
                if p.quantity
            },
        }
    finally:
        await broker.close()  # saves the prices: the app starts with the market's
    return book


def move_market(data_dir: Path, prices: dict[str, str]) -> dict:
    """Run this module in a process of its own (the app must not be running on
    `data_dir`); the broker's book afterwards."""
    args = [sys.executable, "-m", "tests.e2e.paper_market", "--data-dir", str(data_dir)]
    args += [f"{key}={value}" for key, value in prices.items()]
    done = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"paper_market failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.paper_market")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("prices", nargs="+", help="EXCHANGE:SYMBOL=PRICE")
    args = parser.parse_args(argv)
    prices = dict(item.split("=", 1) for item in args.prices)
    print(json.dumps(asyncio.run(_move(Path(args.data_dir), prices))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
