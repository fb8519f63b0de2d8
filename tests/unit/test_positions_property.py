"""apply_fill / mark_to_market against an independent reference model.

The reference is an exact (fractions.Fraction) cost-basis ledger: it keeps the signed
quantity and the signed cost basis of the open position; a reduction removes the closed
share of the cost basis and realizes the difference with the closing cash flow. It never
computes an "average price" to realize against. On top of both, PnL is checked against
the raw cash flows of the fills: total PnL at a mark == sum of cash flows + value at mark.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.domain.enums import OrderSide, Product
from desktop_oms.domain.positions import PositionAction, apply_fill, flat_position, mark_to_market

TICK = Decimal("0.05")
TOL = Fraction(1, 10**9)

# price on the 0.05 grid between 1.00 and 5000.00, as a number of ticks
ticks = st.integers(min_value=20, max_value=100_000)
fill = st.tuples(
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.integers(min_value=1, max_value=500),
    ticks,  # fill price
    ticks,  # mark after the fill
    st.booleans(),  # whether the market is marked at the fill price before the fill
)


class Ledger:
    """Exact cost-basis ledger (signed quantity, signed cost basis)."""

    def __init__(self, multiplier: int) -> None:
        self.mult = Fraction(multiplier)
        self.qty = 0
        self.cost = Fraction(0)  # sum of signed qty * price of the open lots, per unit
        self.realized = Fraction(0)
        self.cash = Fraction(0)  # every rupee paid (-) or received (+), from the raw fills
        self.seen: list[Fraction] = []  # prices seen since the current position opened

    def fill(self, side: OrderSide, qty: int, price: Fraction) -> tuple[str, Fraction, int]:
        signed = qty if side is OrderSide.BUY else -qty
        self.cash -= signed * price * self.mult
        if self.qty == 0:
            self.qty, self.cost = signed, signed * price
            self.seen = [price]
            return "NEW", Fraction(0), 0
        if (self.qty > 0) == (signed > 0):
            self.qty += signed
            self.cost += signed * price
            self.seen.append(price)
            return "ADD", Fraction(0), 0
        closing = min(abs(self.qty), qty)
        direction = 1 if self.qty > 0 else -1
        cost_removed = self.cost * closing / abs(self.qty)
        proceeds = direction * closing * price  # sell a long: +; buy back a short: -
        realized = (proceeds - cost_removed) * self.mult
        self.realized += realized
        self.cost -= cost_removed
        self.qty -= direction * closing
        rest = qty - closing
        if rest:
            self.qty = -direction * rest
            self.cost = self.qty * price
            self.seen = [price]
            return "REVERSE", realized, closing
        self.seen.append(price)
        return ("CLOSE" if self.qty == 0 else "REDUCE"), realized, closing

    def mark(self, price: Fraction) -> None:
        if self.qty:
            self.seen.append(price)

    def average(self) -> Fraction:
        return self.cost / self.qty if self.qty else Fraction(0)

    def unrealized(self, mark: Fraction) -> Fraction:
        return (self.qty * mark - self.cost) * self.mult


def close(a: Decimal, b: Fraction) -> bool:
    return abs(Fraction(a) - b) <= TOL


@settings(max_examples=300, deadline=None)
@given(
    multiplier=st.sampled_from([1, 25, 100]),
    fills=st.lists(fill, min_size=1, max_size=40),
)
def test_apply_fill_matches_the_reference_ledger(multiplier, fills):
    pos = flat_position("SBIN", "NSE", Product.NRML, multiplier=Decimal(multiplier))
    ref = Ledger(multiplier)
    for side, qty, price_ticks, mark_ticks, mark_first in fills:
        price = price_ticks * TICK
        mark = mark_ticks * TICK
        if mark_first:
            pos = mark_to_market(pos, price)
            ref.mark(Fraction(price))
        before_realized = pos.realized_pnl

        out = apply_fill(pos, side, qty, price)
        action, realized, closed = ref.fill(side, qty, Fraction(price))
        pos = out.position

        assert out.action is PositionAction(action)
        assert out.closed_quantity == closed
        assert close(out.realized_pnl, realized)
        assert close(out.position.realized_pnl - before_realized, Fraction(out.realized_pnl))
        assert type(pos.quantity) is int
        assert pos.quantity == ref.qty
        assert close(pos.realized_pnl, ref.realized)
        assert close(pos.average_price, ref.average())
        if pos.quantity == 0:
            assert pos.average_price == 0
            assert pos.unrealized_pnl == 0

        pos = mark_to_market(pos, mark)
        ref.mark(Fraction(mark))
        assert pos.quantity == ref.qty
        assert pos.last_price == mark
        assert close(pos.unrealized_pnl, ref.unrealized(Fraction(mark)))
        assert pos.total_pnl == pos.realized_pnl + pos.unrealized_pnl
        # Total PnL from the raw fills: cash in and out plus what is held, at the mark.
        held = ref.qty * Fraction(mark) * ref.mult
        assert close(pos.total_pnl, ref.cash + held)
        assert pos.highest_price == max(ref.seen)
        assert pos.lowest_price == min(ref.seen)
        assert pos.max_drawdown >= 0
        assert pos.peak_unrealized_pnl >= 0
        if pos.is_open:
            assert pos.peak_unrealized_pnl >= pos.unrealized_pnl
            assert pos.max_drawdown >= pos.peak_unrealized_pnl - pos.unrealized_pnl
        for value in (
            pos.average_price,
            pos.realized_pnl,
            pos.unrealized_pnl,
            pos.total_pnl,
            pos.last_price,
            pos.highest_price,
            pos.lowest_price,
            pos.peak_unrealized_pnl,
            pos.max_drawdown,
            out.realized_pnl,
        ):
            assert isinstance(value, Decimal)


@settings(max_examples=300, deadline=None)
@given(
    multiplier=st.sampled_from([1, 25, 100]),
    fills=st.lists(fill, min_size=1, max_size=30),
)
def test_fill_order_within_one_side_does_not_change_the_result(multiplier, fills):
    """Buys (or sells) alone, in any order, give the same quantity and average."""
    side = fills[0][0]
    legs = [(qty, price_ticks * TICK) for _, qty, price_ticks, _, _ in fills]
    results = []
    for ordering in (legs, list(reversed(legs))):
        pos = flat_position("SBIN", "NSE", Product.NRML, multiplier=Decimal(multiplier))
        for qty, price in ordering:
            pos = apply_fill(pos, side, qty, price).position
        results.append(pos)
    a, b = results
    assert a.quantity == b.quantity == side.sign * sum(q for q, _ in legs)
    exact = Fraction(sum(q * Fraction(p) for q, p in legs), sum(q for q, _ in legs))
    assert close(a.average_price, exact)
    assert close(b.average_price, exact)
    assert a.realized_pnl == b.realized_pnl == 0
