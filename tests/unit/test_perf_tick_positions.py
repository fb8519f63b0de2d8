"""The tick path's cheap mark-to-market and risk evaluation give exactly what the
straightforward versions gave.

`mark_to_market` and `apply_fill` now build their result in one construction; the
reference implementations below are the previous ones (dataclasses.replace, field by
field), so every field - Decimal representation included - must come out identical.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.positions import (
    Position,
    PositionAction,
    apply_fill,
    flat_position,
    mark_to_market,
    unrealized_pnl,
)
from desktop_oms.oms.event_bus import EventBus
from desktop_oms.oms.position_manager import PositionManager
from desktop_oms.risk.limits import RiskLimits
from desktop_oms.risk.monitor import RealTimeRiskMonitor
from desktop_oms.risk.pnl import DayPnlLedger

T0 = datetime(2026, 5, 4, 4, 0, tzinfo=UTC)
ZERO = Decimal(0)

# ---- the previous implementations (reference) -------------------------------------------


def _widen(position, price):
    high = price if position.highest_price is None else max(position.highest_price, price)
    low = price if position.lowest_price is None else min(position.lowest_price, price)
    return high, low


def _with_unrealized(position, mark):
    upnl = unrealized_pnl(position.quantity, position.average_price, mark, position.multiplier)
    if not position.is_open:
        return replace(position, unrealized_pnl=ZERO, last_price=mark)
    peak = max(position.peak_unrealized_pnl, upnl)
    drawdown = max(position.max_drawdown, peak - upnl)
    return replace(
        position,
        unrealized_pnl=upnl,
        last_price=mark,
        peak_unrealized_pnl=peak,
        max_drawdown=drawdown,
    )


def reference_mark(position, mark, at=None):
    marked = position
    if position.is_open:
        high, low = _widen(position, mark)
        marked = replace(position, highest_price=high, lowest_price=low)
    marked = _with_unrealized(marked, mark)
    return replace(marked, updated_at=at or position.updated_at)


def reference_fill(position, side, quantity, price, at=None):
    signed = quantity * side.sign
    old_qty = position.quantity
    mult = position.multiplier
    if old_qty == 0:
        action, realized, closed = PositionAction.NEW, ZERO, 0
        new_qty, new_avg, opened_at = signed, price, at
        extremes, peak, drawdown = (price, price), ZERO, ZERO
    elif (old_qty > 0) == (signed > 0):
        action, realized, closed = PositionAction.ADD, ZERO, 0
        new_qty = old_qty + signed
        new_avg = (abs(old_qty) * position.average_price + quantity * price) / abs(new_qty)
        opened_at, extremes = position.opened_at, _widen(position, price)
        peak, drawdown = position.peak_unrealized_pnl, position.max_drawdown
    else:
        closed = min(abs(old_qty), quantity)
        direction = 1 if old_qty > 0 else -1
        realized = closed * (price - position.average_price) * mult * direction
        new_qty = old_qty + signed
        if new_qty == 0:
            action, new_avg = PositionAction.CLOSE, ZERO
            opened_at, extremes = position.opened_at, _widen(position, price)
            peak, drawdown = position.peak_unrealized_pnl, position.max_drawdown
        elif (new_qty > 0) == (old_qty > 0):
            action, new_avg = PositionAction.REDUCE, position.average_price
            opened_at, extremes = position.opened_at, _widen(position, price)
            peak = position.peak_unrealized_pnl * abs(new_qty) / abs(old_qty)
            drawdown = position.max_drawdown
        else:
            action, new_avg, opened_at = PositionAction.REVERSE, price, at
            extremes, peak, drawdown = (price, price), ZERO, ZERO
    updated = replace(
        position,
        quantity=new_qty,
        average_price=new_avg,
        realized_pnl=position.realized_pnl + realized,
        highest_price=extremes[0],
        lowest_price=extremes[1],
        peak_unrealized_pnl=peak,
        max_drawdown=drawdown,
        opened_at=opened_at,
        updated_at=at or position.updated_at,
    )
    fresh = action in (PositionAction.NEW, PositionAction.REVERSE) or position.last_price is None
    updated = _with_unrealized(updated, price if fresh else position.last_price)
    return updated, action, realized, closed


def same(a: Position, b: Position) -> None:
    """Field by field, and Decimals by their exact text (1.5 vs 1.50 differs)."""
    for f in fields(Position):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x == y, f.name
        assert type(x) is type(y), f.name
        if isinstance(x, Decimal):
            assert str(x) == str(y), f.name


# ---- strategies ------------------------------------------------------------------------

# prices on a 0.05 grid, some written with a trailing zero (same value, other exponent)
price = st.builds(
    lambda ticks, pad: (
        Decimal(ticks) * Decimal("0.05")
        if not pad
        else (Decimal(ticks) * Decimal("0.05")).quantize(Decimal("0.0001"))
    ),
    st.integers(min_value=20, max_value=4000),
    st.booleans(),
)
optional_price = st.none() | price
money = st.builds(lambda cents: Decimal(cents) / 100, st.integers(-(10**7), 10**7))
moment = st.none() | st.builds(lambda s: T0 + timedelta(seconds=s), st.integers(0, 10**5))

positions = st.builds(
    Position,
    symbol=st.sampled_from(["RELIANCE", "TCS", "NIFTY24MAYFUT"]),
    exchange=st.sampled_from(["NSE", "NFO"]),
    product=st.sampled_from(list(Product)),
    quantity=st.integers(-500, 500),
    average_price=price,
    realized_pnl=money,
    unrealized_pnl=money,
    multiplier=st.sampled_from([Decimal(1), Decimal(25), Decimal("0.5")]),
    last_price=optional_price,
    highest_price=optional_price,
    lowest_price=optional_price,
    peak_unrealized_pnl=money,
    max_drawdown=money.map(abs),
    charges=money.map(abs),
    opened_at=moment,
    updated_at=moment,
    strategy_id=st.none() | st.just("breakout"),
    id=st.none() | st.integers(1, 10**6),
)


@settings(max_examples=400, deadline=None)
@given(positions, price, moment)
def test_mark_to_market_equals_the_replace_based_version(position, mark, at):
    same(mark_to_market(position, mark, at), reference_mark(position, mark, at))


@settings(max_examples=300, deadline=None)
@given(positions, price)
def test_ties_at_the_extremes_peak_and_drawdown_keep_the_existing_decimals(position, mark):
    # max/min keep their first argument on a tie, and so must the one-construction version
    for tie in (position.highest_price, position.lowest_price, position.last_price):
        if tie is not None:
            padded = tie.quantize(Decimal("0.000001"))  # equal value, another exponent
            assert str(padded) != str(tie)
            same(mark_to_market(position, padded), reference_mark(position, padded))
    if position.quantity:
        upnl = unrealized_pnl(position.quantity, position.average_price, mark, position.multiplier)
        at_peak = replace(position, peak_unrealized_pnl=upnl.quantize(Decimal("0.000001")))
        same(mark_to_market(at_peak, mark), reference_mark(at_peak, mark))
        fall = at_peak.peak_unrealized_pnl - upnl
        at_drawdown = replace(at_peak, max_drawdown=fall.quantize(Decimal("0.0000001")))
        same(mark_to_market(at_drawdown, mark), reference_mark(at_drawdown, mark))


fills = st.lists(
    st.tuples(
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.integers(1, 300),
        price,
        st.none() | price,  # a mark before the fill
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(fills, st.sampled_from([Decimal(1), Decimal(50)]))
def test_apply_fill_equals_the_replace_based_version(sequence, multiplier):
    fast = slow = flat_position("RELIANCE", "NSE", Product.MIS, multiplier)
    for i, (side, qty, fill_price, mark) in enumerate(sequence):
        at = T0 + timedelta(seconds=i)
        if mark is not None:
            fast = mark_to_market(fast, mark, at)
            slow = reference_mark(slow, mark, at)
        out = apply_fill(fast, side, qty, fill_price, at)
        ref, action, realized, closed = reference_fill(slow, side, qty, fill_price, at)
        same(out.position, ref)
        assert (out.action, out.realized_pnl, out.closed_quantity) == (action, realized, closed)
        fast, slow = out.position, ref


# ---- PositionManager.mark_prices ----------------------------------------------------------


class _NoDb:
    positions = None


def manager(*positions: Position) -> tuple[PositionManager, list]:
    bus = EventBus()
    seen: list = []
    from desktop_oms.domain.events import PricesMarked

    bus.subscribe(PricesMarked, seen.append)
    pm = PositionManager(_NoDb(), bus)
    pm._positions = {p.key: p for p in positions}
    return pm, seen


def pos(symbol, qty=10, exchange="NSE", product=Product.MIS, last="100.00"):
    return Position(
        symbol,
        exchange,
        product,
        qty,
        Decimal("100.00"),
        last_price=None if last is None else Decimal(last),
    )


def test_mark_prices_marks_changed_prices_only_and_prefers_the_exchange_key():
    a, b, c = pos("A"), pos("B", exchange="BSE"), pos("C", qty=0, last=None)
    pm, seen = manager(a, b, c)
    changed = pm.mark_prices(
        {
            ("NSE", "A"): Decimal("101.00"),
            "A": Decimal("999"),
            "B": Decimal("100.00"),
            "C": Decimal("5"),
        }
    )
    # A by its (exchange, symbol) key; B's price is its last mark (skipped); C flat but marked
    assert [p.symbol for p in changed] == ["A", "C"]
    assert pm._positions[a.key].last_price == Decimal("101.00")
    assert pm._positions[a.key].unrealized_pnl == Decimal("10.0000")
    assert pm._positions[b.key] is b
    assert (
        pm._positions[c.key].last_price == Decimal("5") and pm._positions[c.key].unrealized_pnl == 0
    )
    assert pm._dirty == {a.key, c.key}
    assert len(seen) == 1 and seen[0].positions == tuple(changed)
    assert pm.mark_prices({("NSE", "A"): Decimal("101.00")}) == [] and len(seen) == 1


def test_mark_prices_ignores_zero_and_negative_prices():
    pm, seen = manager(pos("A"))
    assert pm.mark_prices({"A": Decimal(0)}) == [] and pm.mark_prices({"A": Decimal(-1)}) == []
    assert seen == []


# ---- the day ledger and the risk monitor ---------------------------------------------------


class _Positions:
    def __init__(self, items):
        self.items = {p.key: p for p in items}

    def all_positions(self):
        return list(self.items.values())

    def open_positions(self):
        return [p for p in self.items.values() if p.is_open]


def _straight_today(ledger, positions, prices):
    """The ledger's formula written out: baseline by the text key, live prices."""
    realized = unrealized = charges = ZERO
    for p in positions.all_positions():
        r0, u0, c0 = ledger._baseline.get(
            f"{p.exchange}|{p.symbol}|{p.product.value}", (ZERO, ZERO, ZERO)
        )
        live = prices.get(p.symbol)
        u = (
            ZERO
            if not p.is_open
            else (
                unrealized_pnl(p.quantity, p.average_price, live, p.multiplier)
                if live is not None and live > 0
                else p.unrealized_pnl
            )
        )
        realized += p.realized_pnl - r0
        unrealized += u - u0
        charges += p.charges - c0
    return realized, unrealized, charges


def test_ledger_today_uses_the_baseline_of_each_position_and_a_new_capture():
    items = [
        replace(pos("A"), realized_pnl=Decimal("5"), charges=Decimal("1.5")),
        replace(pos("B", qty=-4), unrealized_pnl=Decimal("-2.00")),
        pos("C", qty=0),
    ]
    positions = _Positions(items)
    prices = {"A": Decimal("103.05")}
    day = [date(2026, 5, 4)]
    ledger = DayPnlLedger(
        positions,
        None,
        last_price=lambda ex, sym: prices.get(sym),
        clock=lambda: datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
    )
    ledger.capture(day[0])
    # the day moves on: positions change after the baseline was taken
    positions.items[items[0].key] = replace(
        items[0], realized_pnl=Decimal("12.5"), charges=Decimal("3")
    )
    d = ledger.today()
    assert (d.realized, d.unrealized, d.charges) == _straight_today(ledger, positions, prices)
    ledger.capture(day[0])  # a new baseline replaces the looked-up one
    d = ledger.today()
    assert (d.realized, d.charges) == (0, 0)
    assert (d.realized, d.unrealized, d.charges) == _straight_today(ledger, positions, prices)


def test_position_risks_reuse_unchanged_entries_and_follow_any_change():
    items = [pos("A"), pos("B", qty=-5), pos("C", qty=0)]
    positions = _Positions(items)
    prices = {"A": Decimal("101.00"), "B": Decimal("99.50")}
    ledger = DayPnlLedger(positions, None, last_price=lambda ex, sym: prices.get(sym))
    ledger.capture(date(2026, 5, 4))
    monitor = RealTimeRiskMonitor(
        ledger, RiskLimits(capital=Decimal("1e9")), events=EventBus(), positions=positions
    )
    first = monitor._position_risks()
    assert [r.symbol for r in first] == ["A", "B"]
    a, b = first
    assert a.last_price == Decimal("101.00") and a.unrealized_pnl == Decimal("10.0000")
    assert b.unrealized_pnl == Decimal("2.5000") and b.exposure == Decimal("497.5000")
    again = monitor._position_risks()
    assert again[0] is a and again[1] is b  # nothing changed: the same objects
    prices["A"] = Decimal("102.00")  # a new live price (a new object)
    third = monitor._position_risks()
    assert third[0] is not a and third[0].unrealized_pnl == Decimal("20.0000")
    assert third[1] is b
    positions.items[items[1].key] = replace(items[1], charges=Decimal("4"))
    fourth = monitor._position_risks()
    assert fourth[1] is not b and fourth[1].net_pnl == Decimal("2.5000") - 4
    prices.pop("A")  # no live price: the position's own mark, as before
    fifth = monitor._position_risks()
    assert fifth[0].last_price == items[0].last_price
    assert fifth[0].unrealized_pnl == items[0].unrealized_pnl
