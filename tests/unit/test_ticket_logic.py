"""The ticket's refusals without Qt: a stop-loss or take-profit must be on the right side
of where the order will fill - its own price when it rests, the last price when it
trades at once (MARKET, a marketable LIMIT, a stop order already triggered)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desktop_oms.domain import Instrument, OrderSide, OrderType
from desktop_oms.ui.ticket.logic import TicketInput, check_ticket, fills_at_once

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
RELIANCE = Instrument("NSE", "RELIANCE", 738561, "Reliance Industries", D("0.05"), 1)
LAST = D("1516.00")


def check(side, kind, *, price="", trigger="", stop="", target="", last=LAST):
    return check_ticket(
        TicketInput(
            side=side,
            exchange="NSE",
            symbol="RELIANCE",
            quantity="1",
            order_type=kind,
            price=price,
            trigger=trigger,
            stop_loss=stop,
            take_profit=target,
        ),
        instrument=lambda e, s: RELIANCE if (e, s) == ("NSE", "RELIANCE") else None,
        last_price=lambda e, s: last,
        capital=D("1000000"),
    )


@pytest.mark.parametrize(
    ("side", "kind", "price", "trigger", "at_once"),
    [
        (BUY, OrderType.MARKET, None, None, True),
        (SELL, OrderType.MARKET, None, None, True),
        (BUY, OrderType.LIMIT, D("1538.80"), None, True),  # marketable
        (BUY, OrderType.LIMIT, LAST, None, True),
        (BUY, OrderType.LIMIT, D("1500"), None, False),  # rests below the market
        (SELL, OrderType.LIMIT, D("1500"), None, True),
        (SELL, OrderType.LIMIT, D("1530"), None, False),
        (BUY, OrderType.SL_M, None, D("1530"), False),  # breakout: waits for 1530
        (BUY, OrderType.SL_M, None, D("1510"), True),  # already through: buys now
        (SELL, OrderType.SL_M, None, D("1500"), False),
        (SELL, OrderType.SL_M, None, D("1520"), True),
        (BUY, OrderType.SL, D("1512"), D("1510"), False),  # triggered, limit rests
        (BUY, OrderType.SL, D("1520"), D("1510"), True),
        (BUY, OrderType.SL, D("1535"), D("1530"), False),
    ],
)
def test_fills_at_once(side, kind, price, trigger, at_once):
    assert fills_at_once(side, kind, price, trigger, LAST) is at_once


def test_the_incident_marketable_limit_with_a_stop_already_crossed_is_refused():
    """INFY's terms under RELIANCE: LIMIT 1538.80 with RELIANCE at 1516 buys at once at
    about 1516; the stop 1525 is above that and would sell at market straight away."""
    result = check(BUY, OrderType.LIMIT, price="1538.80", stop="1525", target="1560")
    assert not result.ok and result.request is None
    assert result.problems["stop_loss"] == (
        "A buy order's stop-loss must be below the last price 1,516.00: at 1,525.00 it is "
        "already reached and would trigger as soon as the order fills"
    )
    assert "take_profit" not in result.problems


def test_the_same_terms_at_a_resting_price_are_fine():
    result = check(BUY, OrderType.LIMIT, price="1500", stop="1490", target="1510")
    assert result.ok, result.reason()


def test_a_stop_at_the_last_price_of_a_market_order_is_refused():
    result = check(SELL, OrderType.MARKET, stop="1516")
    assert (
        "sell order's stop-loss must be above the last price 1,516.00"
        in (result.problems["stop_loss"])
    )


def test_a_triggered_stop_order_needs_its_target_beyond_the_last_price():
    result = check(BUY, OrderType.SL_M, trigger="1510", stop="1500", target="1514")
    assert result.problems == {
        "take_profit": "A buy order's take-profit must be above the last price 1,516.00: at "
        "1,514.00 it would fill as soon as the order fills, at a loss"
    }


def test_a_breakout_stop_between_the_last_price_and_the_trigger_is_allowed():
    result = check(BUY, OrderType.SL_M, trigger="1530", stop="1520", target="1560")
    assert result.ok, result.reason()
    result = check(SELL, OrderType.SL_M, trigger="1500", stop="1510", target="1480")
    assert result.ok, result.reason()


def test_the_entry_price_bound_wins_when_it_is_the_tighter_one():
    # buy SL-M triggered at 1510 (fills ~1516): the stop must still be below the trigger
    result = check(BUY, OrderType.SL_M, trigger="1510", stop="1512")
    assert result.problems["stop_loss"] == (
        "A buy order's stop-loss must be below the entry price 1,510.00"
    )


def test_without_a_quote_only_the_entry_price_is_checked():
    result = check(BUY, OrderType.LIMIT, price="1538.80", stop="1525", last=None)
    assert result.ok, result.reason()
