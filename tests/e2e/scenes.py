"""Trading states the screen tests set up through the OMS's public API (what a morning of
trading leaves on screen): positions with live bracket legs, open orders, alerts."""

from __future__ import annotations

from tests.e2e.harness import OmsProcess
from tests.e2e.steps import buy_bracket_by_keyboard, price


def a_trading_morning(oms: OmsProcess) -> dict:
    """Long TCS 5 with its stop-loss and target live (entered on the ticket by keyboard),
    long SBIN 10, short ITC 20, a resting INFY buy and a trigger-pending HDFCBANK stop
    entry; prices moved so the P&L is not flat."""
    for symbol, value in (
        ("TCS", "3140"),
        ("SBIN", "970"),
        ("ITC", "407"),
        ("INFY", "1540"),
        ("HDFCBANK", "998.55"),
    ):
        price(oms, symbol, value)
    entry = buy_bracket_by_keyboard(oms, "TCS", 5, "3120", "3190")
    oms.eval("await place('SBIN', 'BUY', 10, 'MARKET')")
    oms.eval("await place('ITC', 'SELL', 20, 'MARKET')")
    resting = oms.eval("await place('INFY', 'BUY', 10, 'LIMIT', price='1520')")["order_id"]
    stop_entry = oms.eval("await place('HDFCBANK', 'BUY', 20, 'SL', price='1012', trigger='1010')")[
        "order_id"
    ]
    oms.wait(
        f"len(await live_legs({entry})) == 1 and (await status({resting})) == 'OPEN'"
        f" and (await status({stop_entry})) in ('OPEN', 'TRIGGER_PENDING', 'TRIGGER PENDING')"
        " and position_qty('SBIN') == 10 and position_qty('ITC') == -20",
        20,
    )
    oms.wait("len(shown_positions()) == 3 and await blotter_shows_the_journal()", 10)
    return {"entry": entry, "resting": resting, "stop_entry": stop_entry}


def move_prices(oms: OmsProcess, steps: list[tuple[str, str, str]]) -> None:
    """Tick the market through (TCS, SBIN, ITC) prices, one P&L chart point each."""
    for tcs, sbin, itc in steps:
        before = oms.eval("window.pnl_slot.point_count()")
        price(oms, "TCS", tcs)
        price(oms, "SBIN", sbin)
        price(oms, "ITC", itc)
        oms.wait(f"window.pnl_slot.point_count() > {before}", 10)
