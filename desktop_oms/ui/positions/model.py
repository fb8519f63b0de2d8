"""The positions grid's model (domain `Position` keyed by (exchange, symbol, product)) and
a one-row totals model shown as a footer under the grid (never sorted with the rows)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from desktop_oms.domain import Position
from desktop_oms.domain.money import ZERO
from desktop_oms.ui.common import (
    CENTER,
    Column,
    KeyedTableModel,
    enum_column,
    num_column,
    pnl_column,
    text_column,
    theme,
)
from desktop_oms.ui.common import format as fmt


def _qty_colour(p: Position):
    if p.quantity > 0:
        return theme.qcolor(theme.BUY)
    if p.quantity < 0:
        return theme.qcolor(theme.SELL)
    return theme.qcolor(theme.TEXT_DIM)


def _signed_qty(value: int | None) -> str:
    if value is None:
        return ""
    return ("+" if value > 0 else "") + fmt.quantity(value)


POSITION_COLUMNS: tuple[Column, ...] = (
    text_column(
        "symbol",
        "Symbol",
        lambda p: p.symbol,
        tooltip=lambda p: (
            f"{p.exchange}:{p.symbol} x{p.multiplier}"
            if p.multiplier != 1
            else f"{p.exchange}:{p.symbol}"
        ),
    ),
    enum_column("product", "Product", lambda p: p.product),
    num_column("quantity", "Qty", lambda p: p.quantity, display=_signed_qty, colour=_qty_colour),
    num_column(
        "avg_price",
        "Avg price",
        lambda p: p.average_price if p.quantity else None,
        display=fmt.price,
    ),
    num_column("ltp", "LTP", lambda p: p.last_price, display=fmt.price),
    pnl_column(
        "unrealized",
        "Unrealized",
        lambda p: p.unrealized_pnl,
    ),
    pnl_column(
        "realized",
        "Realized",
        lambda p: p.realized_pnl,
    ),
    pnl_column(
        "total",
        "Total P&L",
        lambda p: p.total_pnl,
        tooltip=lambda p: (
            f"charges {fmt.rupees(p.charges)}, net {fmt.rupees(p.net_pnl)}" if p.charges else None
        ),
        header_tip="Gross P&L: realized + unrealized, before charges",
    ),
    num_column(
        "charges",
        "Charges",
        lambda p: p.charges,
        display=fmt.money,
        colour=lambda p: theme.qcolor(theme.TEXT_DIM) if not p.charges else None,
        header_tip="Brokerage, STT/CTT, exchange, SEBI, stamp duty and GST on this position's trades",
    ),
    pnl_column(
        "net",
        "Net P&L",
        lambda p: p.net_pnl,
        tooltip=lambda p: f"total {fmt.rupees(p.total_pnl)} \u2212 charges {fmt.rupees(p.charges)}",
        header_tip="Net P&L: total P&L minus charges",
    ),
)


@dataclass(frozen=True, slots=True)
class PositionTotals:
    open_positions: int = 0
    unrealized: Decimal = ZERO
    realized: Decimal = ZERO
    total: Decimal = ZERO
    charges: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.total - self.charges


EXIT_COLUMN = Column(
    "exit",
    "",
    lambda p: p.quantity,
    display=lambda q: "Exit" if q else "",
    sort=fmt.num_key,
    align=CENTER,
    tooltip=lambda p: (
        f"Square off {p.exchange}:{p.symbol} {p.product.value} at market (asks first)"
        if p.quantity
        else None
    ),
    header_tip="Square off the position at market (asks first)",
)


class PositionsModel(KeyedTableModel):
    """Positions keyed by (exchange, symbol, product). Closed positions stay (their realized
    PnL counts for the day). `totals` and `totals_changed` follow every applied batch.

    exit_column=True appends an "exit" column ("Exit" on open positions) for a button
    delegate (the window's per-row square-off)."""

    totals_changed = Signal(object)  # PositionTotals

    def __init__(
        self,
        *,
        flush_interval_ms: int = 150,
        exit_column: bool = False,
        parent: QObject | None = None,
    ) -> None:
        self.totals = PositionTotals()
        columns = POSITION_COLUMNS + ((EXIT_COLUMN,) if exit_column else ())
        super().__init__(
            columns, lambda p: p.key, flush_interval_ms=flush_interval_ms, parent=parent
        )

    def _after_apply(self) -> None:
        unrealized = realized = charges = ZERO
        count = 0
        for p in self._items:
            unrealized += p.unrealized_pnl
            realized += p.realized_pnl
            charges += p.charges
            count += p.quantity != 0
        totals = PositionTotals(count, unrealized, realized, unrealized + realized, charges)
        if totals != self.totals:
            self.totals = totals
            self.totals_changed.emit(totals)

    def open_positions(self) -> list[Position]:
        """Positions with a non-zero quantity (for "exit all")."""
        return [p for p in self._items if p.quantity != 0]


_TOTAL_TEXT = {
    "symbol": lambda t: "TOTAL",
    "product": lambda t: f"{t.open_positions} open",
    "unrealized": lambda t: fmt.signed_money(t.unrealized),
    "realized": lambda t: fmt.signed_money(t.realized),
    "total": lambda t: fmt.signed_money(t.total),
    "charges": lambda t: fmt.money(t.charges),
    "net": lambda t: fmt.signed_money(t.net),
    "exit": lambda t: "Exit all" if t.open_positions else "",
}
_TOTAL_VALUE = {
    "unrealized": lambda t: t.unrealized,
    "realized": lambda t: t.realized,
    "total": lambda t: t.total,
    "net": lambda t: t.net,
}


class PositionsTotalsModel(QAbstractTableModel):
    """One row, same columns as PositionsModel: sums of unrealized, realized, total PnL,
    charges and net PnL."""

    def __init__(self, source: PositionsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._columns = source.columns
        source.totals_changed.connect(self._on_totals)

    @property
    def totals(self) -> PositionTotals:
        return self._source.totals

    def _on_totals(self, _totals: PositionTotals) -> None:
        self.dataChanged.emit(self.index(0, 0), self.index(0, len(self._columns) - 1))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid() or index.row() != 0 or not 0 <= index.column() < len(self._columns):
            return None
        key = self._columns[index.column()].key
        totals = self._source.totals
        role = int(role)
        if role == int(Qt.ItemDataRole.DisplayRole):
            text = _TOTAL_TEXT.get(key)
            return text(totals) if text else ""
        if role == int(Qt.ItemDataRole.ForegroundRole):
            value = _TOTAL_VALUE.get(key)
            return theme.pnl_colour(value(totals)) if value else None
        if role == int(Qt.ItemDataRole.TextAlignmentRole):
            return int(self._columns[index.column()].align.value)
        if role == int(Qt.ItemDataRole.FontRole):
            return None
        if role == int(Qt.ItemDataRole.ToolTipRole) and key in ("total", "net"):
            return (
                f"total {fmt.rupees(totals.total)} \u2212 charges {fmt.rupees(totals.charges)}"
                f" = net {fmt.rupees(totals.net)}"
            )
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            int(role) == int(Qt.ItemDataRole.DisplayRole)
            and orientation == Qt.Orientation.Horizontal
        ):
            if 0 <= section < len(self._columns):
                return self._columns[section].header
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren


class _FooterSync(QObject):
    """Keeps a footer table's column widths and scroll position in step with a grid."""

    def __init__(self, grid: QTableView, footer: QTableView) -> None:
        super().__init__(footer)
        self._grid = grid
        self._footer = footer
        grid.horizontalHeader().sectionResized.connect(self.on_section_resized)
        grid.horizontalHeader().sectionMoved.connect(lambda *_a: self.sync())
        grid.horizontalHeader().geometriesChanged.connect(self.sync)
        grid.horizontalScrollBar().valueChanged.connect(self.on_scrolled)

    def on_section_resized(self, column: int, _old: int, new: int) -> None:
        try:
            self._footer.horizontalHeader().resizeSection(column, new)
        except RuntimeError:  # either table is being destroyed
            pass

    def on_scrolled(self, value: int) -> None:
        try:
            self._footer.horizontalScrollBar().setValue(value)
        except RuntimeError:
            pass

    def sync(self) -> None:
        try:
            grid_header = self._grid.horizontalHeader()
            footer_header = self._footer.horizontalHeader()
            vertical = self._grid.verticalHeader()
            if vertical.isVisible():
                self._footer.verticalHeader().setFixedWidth(vertical.width())
                self._footer.verticalHeader().show()
            else:
                self._footer.verticalHeader().hide()
            # the same visual order and hidden columns as the grid (moved / hidden by the user)
            for visual in range(grid_header.count()):
                logical = grid_header.logicalIndex(visual)
                at = footer_header.visualIndex(logical)
                if at != visual:
                    footer_header.moveSection(at, visual)
            for col in range(grid_header.count()):
                hidden = grid_header.isSectionHidden(col)
                footer_header.setSectionHidden(col, hidden)
                if not hidden:
                    footer_header.resizeSection(col, grid_header.sectionSize(col))
        except RuntimeError:
            pass


def configure_totals_footer(grid: QTableView, footer: QTableView) -> None:
    """Make `footer` (showing a PositionsTotalsModel) a fixed one-row strip under `grid`:
    no headers, no scroll bars, bold, columns and horizontal scrolling in step with the grid."""
    footer.setObjectName(footer.objectName() or "positionsTotals")
    footer.horizontalHeader().hide()
    footer.verticalHeader().hide()
    footer.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    footer.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    footer.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    footer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    font = footer.font()
    font.setBold(True)
    footer.setFont(font)
    row_height = grid.verticalHeader().defaultSectionSize()
    footer.verticalHeader().setDefaultSectionSize(row_height)
    footer.setFixedHeight(row_height + 2 * footer.frameWidth())
    footer.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    footer.horizontalHeader().setStretchLastSection(grid.horizontalHeader().stretchLastSection())
    _FooterSync(grid, footer).sync()
