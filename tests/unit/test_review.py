"""Round trips and per-setup statistics against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from desktop_oms.domain import OrderSide, Product
from desktop_oms.domain.review import ReviewFill, round_trips, setup_statistics

D = Decimal
T0 = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
_n = iter(range(1, 10_000))


def fill(
    symbol,
    side,
    qty,
    price,
    minutes,
    setup=None,
    sl=False,
    charges="0",
    product=Product.MIS,
    mult="1",
):
    return ReviewFill(
        trade_id=str(next(_n)),
        symbol=symbol,
        exchange="NSE",
        product=product,
        side=OrderSide(side),
        quantity=qty,
        price=D(price),
        multiplier=D(mult),
        timestamp=T0 + timedelta(minutes=minutes),
        setup=setup,
        had_stop_loss=sl,
        charges=D(charges),
    )


def test_round_trips_and_setup_statistics():
    fills = [
        # Breakout win: +10 x (2460 - 2450) = +100, charges 5 -> net 95
        fill("RELIANCE", "BUY", 10, "2450", 0, "Breakout", sl=True, charges="2"),
        fill("RELIANCE", "SELL", 10, "2460", 5, charges="3"),
        # Breakout loss, scaled out: -5 x 10 - 5 x 20 = -150 (entry 1500)
        fill("INFY", "BUY", 10, "1500", 10, "Breakout"),
        fill("INFY", "SELL", 5, "1490", 12),
        fill("INFY", "SELL", 5, "1480", 14),
        # Hammer short win: -4 x (3890 - 3900) = +40
        fill("TCS", "SELL", 4, "3900", 20, "Hammer", sl=True),
        fill("TCS", "BUY", 4, "3890", 25),
        # still open: excluded from the statistics
        fill("SBIN", "BUY", 1, "800", 30, "Hammer"),
    ]
    trips = round_trips(fills)
    closed = [t for t in trips if t.is_closed]
    assert [(t.symbol, t.direction, t.gross_pnl, t.net_pnl) for t in closed] == [
        ("RELIANCE", "LONG", D("100"), D("95")),
        ("INFY", "LONG", D("-150"), D("-150")),
        ("TCS", "SHORT", D("40"), D("40")),
    ]
    assert [t.symbol for t in trips if not t.is_closed] == ["SBIN"]
    stats = {s.setup: s for s in setup_statistics(trips)}
    b = stats["Breakout"]
    assert (b.trades, b.wins, b.losses, b.win_rate) == (2, 1, 1, D(50))
    assert (b.gross_pnl, b.net_pnl, b.average_win, b.average_loss, b.largest_loss) == (
        D("-50"),
        D("-55"),
        D("95"),
        D("-150"),
        D("-150"),
    )
    assert b.with_stop_loss == 1
    h = stats["Hammer"]
    assert (h.trades, h.wins, h.net_pnl, h.with_stop_loss, h.average_loss) == (
        1,
        1,
        D("40"),
        1,
        None,
    )
    total = stats["ALL"]
    assert (total.trades, total.net_pnl, total.largest_loss) == (
        3,
        D("-15"),
        D("-150"),
    )  # 95 - 150 + 40


def test_reversal_ends_one_trip_and_opens_the_next():
    fills = [
        fill("NIFTY26DECFUT", "BUY", 65, "24000", 0, "Trend", product=Product.NRML),
        fill("NIFTY26DECFUT", "SELL", 130, "24010", 5, "Fade", charges="10", product=Product.NRML),
        fill("NIFTY26DECFUT", "BUY", 65, "23990", 9, product=Product.NRML),
    ]
    trips = round_trips(fills)
    assert [(t.direction, t.setup, t.gross_pnl, t.charges, t.is_closed) for t in trips] == [
        ("LONG", "Trend", D("650"), D("5"), True),  # 65 x 10; half of the reversing fill's charges
        ("SHORT", "Fade", D("1300"), D("5"), True),  # 65 x 20; opened by the reversing order
    ]


def test_multiplier_and_no_setup():
    trips = round_trips(
        [fill("GOLDM", "BUY", 2, "70000", 0, mult="10"), fill("GOLDM", "SELL", 2, "70100", 1)]
    )
    assert trips[0].gross_pnl == D("2000") and trips[0].setup == "(no setup)"
    assert setup_statistics([]) == []
