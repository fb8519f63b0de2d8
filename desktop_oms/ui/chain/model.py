"""The option chain's model: one row per strike (`ChainSnapshotRow`), calls on the left,
puts on the right, keyed by strike and kept in strike order.

Headers: per side "OI", "Volume", "Chg", "IV", "Delta", "Bid", "Ask", "LTP" (calls; the
puts mirror them), "Strike" in the middle. Column keys say the side ("call_ask",
"put_bid", ...): `quote_at(index)` answers which option and which price a cell is.

The ATM row is marked (its strike reads "ATM 26,400" on a highlighted row); strikes in
the money are shaded on their side (calls below the ATM, puts above).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from desktop_oms.marketdata.options import ChainSnapshot
from desktop_oms.marketdata.options.snapshot import ChainSnapshotRow, OptionQuote
from desktop_oms.ui.common import CENTER, Column, KeyedTableModel, num_column, theme
from desktop_oms.ui.common import format as fmt

__all__ = ["PRICE_SIDES", "ChainCell", "ChainModel", "SIDE_FIELDS"]

CALL, PUT = "call", "put"
# (field, header) of one side, calls left to right (the puts' read right to left)
SIDE_FIELDS = (
    ("oi", "OI"),
    ("volume", "Volume"),
    ("change", "Chg"),
    ("iv", "IV"),
    ("delta", "Delta"),
    ("bid", "Bid"),
    ("ask", "Ask"),
    ("ltp", "LTP"),
)
PRICE_FIELDS = ("bid", "ask", "ltp")
# A click on a price: ask -> BUY (lift the offer), bid -> SELL (hit the bid), LTP -> the
# ticket's side as it is.
PRICE_SIDES = {"ask": "BUY", "bid": "SELL", "ltp": None}

_ATM_BRUSH = QBrush(QColor("#3a3320"))
_ITM_BRUSH = QBrush(QColor("#262b22"))
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)


@dataclass(frozen=True, slots=True)
class ChainCell:
    """What a clicked cell is: an option (`quote`), which side of the chain, which field."""

    row: ChainSnapshotRow
    side: str  # "call" / "put"
    field: str  # "ltp", "bid", "ask", "oi", ...
    quote: OptionQuote

    @property
    def is_price(self) -> bool:
        return self.field in PRICE_FIELDS

    @property
    def price(self) -> Decimal | None:
        return getattr(self.quote, self.field) if self.is_price else None


def _iv(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _change(value: Decimal | None) -> str:
    return "" if value is None else fmt.signed_money(value)


def _compact(value: int | None) -> str:
    """Lakh-style counts the chain shows (12.3L, 4.5K)."""
    if value is None:
        return ""
    if value >= 10_000_000:
        return f"{value / 10_000_000:.2f}Cr"
    if value >= 100_000:
        return f"{value / 100_000:.1f}L"
    if value >= 1_000:
        return f"{value / 1_000:.1f}K"
    return str(value)


def _side_column(side: str, field: str, header: str) -> Column:
    def value(row: ChainSnapshotRow, side=side, field=field):
        return getattr(getattr(row, side), field)

    displays: dict[str, Callable] = {
        "oi": _compact,
        "volume": _compact,
        "change": _change,
        "iv": _iv,
        "delta": _delta,
        "bid": fmt.price,
        "ask": fmt.price,
        "ltp": fmt.price,
    }
    colour = None
    if field == "change":

        def colour(row, value=value):
            return theme.pnl_colour(value(row))

    elif field == "bid":

        def colour(_row):
            return theme.qcolor(theme.SELL)

    elif field == "ask":

        def colour(_row):
            return theme.qcolor(theme.BUY)

    tips = {
        "bid": "Click: sell this option at the bid",
        "ask": "Click: buy this option at the offer",
        "ltp": "Click: load this option into the ticket",
        "iv": "Implied volatility, % a year (from the mid, else the LTP)",
        "delta": "Delta (Black-76 on the implied forward)",
        "oi": "Open interest",
    }
    return num_column(
        f"{side}_{field}",
        header,
        value,
        display=displays[field],
        colour=colour,
        header_tip=f"{'Calls' if side == CALL else 'Puts'}: {tips.get(field, header)}",
        tooltip=lambda row, side=side: getattr(row, side).symbol,
    )


CHAIN_COLUMNS: tuple[Column, ...] = (
    *(_side_column(CALL, f, h) for f, h in SIDE_FIELDS),
    Column(
        "strike",
        "Strike",
        lambda row: (row.strike, row.atm),
        display=lambda v: _strike_text_of(v),
        sort=lambda v: float(v[0]),
        align=CENTER,
        colour=lambda row: theme.qcolor(theme.AMBER) if row.atm else None,
        header_tip="Strike (ATM: the strike nearest the spot)",
    ),
    *(_side_column(PUT, f, h) for f, h in reversed(SIDE_FIELDS)),
)


def _strike_text_of(value: tuple[Decimal, bool]) -> str:
    strike, atm = value
    text = str(int(strike)) if strike == strike.to_integral_value() else str(strike.normalize())
    return f"ATM {text}" if atm else text


class ChainModel(KeyedTableModel):
    """objectName "chainModel": a chain's strikes keyed by strike, in strike order.

    `show(snapshot)` shows one snapshot: rows of strikes no longer in it go, new strikes
    come in place, the others change only in the cells that did; another underlying or
    expiry resets the rows."""

    def __init__(self, *, flush_interval_ms: int = 0, parent: QObject | None = None) -> None:
        super().__init__(
            CHAIN_COLUMNS,
            lambda row: row.strike,
            flush_interval_ms=flush_interval_ms,
            parent=parent,
        )
        self.setObjectName("chainModel")
        self.snapshot: ChainSnapshot | None = None
        self._shown_for: tuple | None = None
        self._atm: Decimal | None = None
        # per column: 1 a call's, -1 a put's, 0 the strike (the money shading)
        self._sides = [
            1 if c.key.startswith(CALL) else -1 if c.key.startswith(PUT) else 0
            for c in self.columns
        ]
        self.sort(self.column_index("strike"), Qt.SortOrder.AscendingOrder)

    def show(self, snapshot: ChainSnapshot) -> None:
        which = (snapshot.underlying, snapshot.expiry)
        self.snapshot = snapshot
        self._atm = snapshot.atm_strike
        if which != self._shown_for:
            self._shown_for = which
            self.reset(snapshot.rows)
            return
        keep = {row.strike for row in snapshot.rows}
        for key in [k for k in self._slot_of if k not in keep]:
            self.remove(key)
        self.upsert(snapshot.rows)

    def clear_chain(self) -> None:
        self.snapshot = None
        self._atm = None
        self._shown_for = None
        self.reset([])

    def atm_row(self) -> int | None:
        for row, item in enumerate(self.visible_items()):
            if item.atm:
                return row
        return None

    def row_of_strike(self, strike: Decimal) -> int | None:
        return self.row_for_key(Decimal(strike))

    def cell(self, index: QModelIndex | QPersistentModelIndex) -> ChainCell | None:
        """The option and field of a cell (None for the strike column or no row)."""
        if not index.isValid():
            return None
        key = self.columns[index.column()].key
        side, _, field = key.partition("_")
        if side not in (CALL, PUT):
            return None
        row = self.item_at(index.row())
        return ChainCell(row, side, field, getattr(row, side))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if role != _BACKGROUND:
            return super().data(index, role)
        if not index.isValid():
            return None
        row = self.item_at(index.row())
        if row.atm:
            return _ATM_BRUSH
        atm = self._atm
        if atm is None:
            return None
        side = self._sides[index.column()]
        if (side == 1 and row.strike < atm) or (side == -1 and row.strike > atm):
            return _ITM_BRUSH  # in the money on its side
        return None
