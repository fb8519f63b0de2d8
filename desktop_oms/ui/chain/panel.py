"""The option chain panel (in the dock objectName "optionChain"): underlying and expiry
selectors, the underlying's spot / future, days to expiry, ATM IV and PCR above a
QTableView (`chainTable`) on the keyed `ChainModel`.

Updates are coalesced: ticks only land in the quote cache; a timer (`REFRESH_MS`) takes
one `OptionChainService.snapshot` (IV and Greeks of the whole chain in one vectorised
call, ~2 ms for ATM +/- 20 strikes, see tests/bench/bench_option_chains.py) while the
panel is shown, and the model repaints only the cells that changed. The ATM row is
brought to the middle of the view when the chain is loaded and whenever the ATM strike
moves.

Signals: `cell_clicked(ChainCell)` for a click on a call or put cell (a price: the window
loads that option into the ticket on that side); `basket_requested(ChainCell, side)` from
the context menu; `underlying_changed(name)`.
"""

from __future__ import annotations

import logging
from datetime import date

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.infra.clock import trading_day, utcnow
from desktop_oms.marketdata.options import ChainSnapshot, OptionChainService
from desktop_oms.ui.chain.model import SIDE_FIELDS, ChainModel
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common import make_table
from desktop_oms.ui.common.plain_delegate import PlainTextDelegate

__all__ = ["HIDEABLE_FIELDS", "REFRESH_MS", "OptionChainPanel"]

log = logging.getLogger(__name__)

# The chain repaints at most twice a second: a snapshot (IV and Greeks of ~80 options) is
# ~2 ms, but repainting ~350 changing cells costs ~15-25 ms on a loaded 2-core machine
# (offscreen, measured), so 4 Hz would give the loop a 25 ms pause every 250 ms.
REFRESH_MS = 500
STRIKES_EACH_SIDE = 20
# Columns are as wide as the widest text they show (OI and volume in lakh / crore, a
# change of thousands, a 5-digit strike): the chain fits a 1366-pixel laptop screen.
WIDEST_TEXT = {
    "oi": "88.88Cr",
    "volume": "88.88Cr",
    "change": "+8,888.88",
    "iv": "188.8",
    "delta": "+0.88",
    "bid": "8,888.88",
    "ask": "8,888.88",
    "ltp": "8,888.88",
    "strike": "ATM 88888",
}
COLUMN_PADDING = 12
# What a trader may hide (both sides at once); prices and strikes always show. Volume
# starts hidden: with it the chain (~1,050 px) is wider than its place on a 1366x768
# screen (~950 px), and traders read OI first; the header's menu shows it.
HIDEABLE_FIELDS = ("oi", "volume", "change", "iv", "delta")
HIDDEN_AT_FIRST = ("volume",)


_LAID_OUT = (QEvent.Type.Resize, QEvent.Type.Show)


def _expiry_text(day: date, monthly: bool) -> str:
    return f"{day:%d %b %Y} ({'monthly' if monthly else 'weekly'})"


class OptionChainPanel(QWidget):
    """objectName "optionChainPanel"."""

    cell_clicked = Signal(object)  # ChainCell
    basket_requested = Signal(object, str)  # ChainCell, "BUY" / "SELL"
    underlying_changed = Signal(str)

    def __init__(
        self,
        chains: OptionChainService,
        subscribe=None,
        parent: QWidget | None = None,
        *,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("optionChainPanel")
        self.chains = chains
        self._subscribe = subscribe
        self._centred_on = None  # (underlying, expiry, ATM strike) last brought into view
        self._fitted_for = None  # (underlying, expiry) whose numbers the columns were fitted to
        self._subscribed_for = None  # (underlying, expiry, strikes, ATM) last streamed
        self.last_error: str | None = None
        self.refreshes = 0

        self.underlying = QComboBox(self)
        self.underlying.setObjectName("chainUnderlying")
        self.expiry = QComboBox(self)
        self.expiry.setObjectName("chainExpiry")
        self.strikes = QSpinBox(self)
        self.strikes.setObjectName("chainStrikes")
        self.strikes.setRange(2, 60)
        self.strikes.setValue(STRIKES_EACH_SIDE)
        self.strikes.setPrefix("\u00b1")
        self.strikes.setSuffix(" strikes")
        self.strikes.setToolTip("Strikes shown each side of the ATM")

        def label(name: str, tip: str) -> QLabel:
            widget = QLabel("", self)
            widget.setObjectName(name)
            widget.setToolTip(tip)
            widget.setProperty("role", "metric")
            return widget

        self.spot_label = label("chainSpot", "The index's last price")
        self.future_label = label("chainFuture", "The expiry month's future")
        self.days_label = label("chainDays", "Calendar days to 15:30 IST on the expiry day")
        self.atm_iv_label = label("chainAtmIv", "ATM implied volatility (calls' and puts' mean)")
        self.pcr_label = label("chainPcr", "Put-call ratio: puts' OI over calls' OI shown")
        self.lot_label = label("chainLot", "Lot size and freeze quantity (one order at most)")
        self.lot_label.setProperty("role", "dim")

        self.model = ChainModel(parent=self)
        self.view = make_table("chainTable", self.model, self)
        # drawn plainly: the style's cell painting held the loop 9-23 ms a refresh
        self.view.setItemDelegate(PlainTextDelegate(self.view))
        self.view.setSortingEnabled(False)  # strikes stay in order
        # (make_table's view sorted the model by its sort indicator: back to strikes)
        self.model.sort(self.model.column_index("strike"), Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionsMovable(False)
        self.view.horizontalHeader().setStretchLastSection(False)
        # sideways by the pixel: the strikes can be put in the middle
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        header.setToolTip("Right-click: show or hide columns")
        self.size_columns()
        for field in HIDDEN_AT_FIRST:
            self.set_field_shown(field, False)
        # resized or shown (a dock, a scroll bar): columns fill it, the ATM in the middle
        self.view.viewport().installEventFilter(self)
        self.view.clicked.connect(self._on_clicked)
        self.view.customContextMenuRequested.connect(self._menu)

        top = QHBoxLayout()
        top.addWidget(QLabel("Underlying", self))
        top.addWidget(self.underlying)
        top.addWidget(QLabel("Expiry", self))
        top.addWidget(self.expiry, 1)
        top.addWidget(self.strikes)
        facts = QHBoxLayout()
        for widget in (
            self.spot_label,
            self.future_label,
            self.days_label,
            self.atm_iv_label,
            self.pcr_label,
        ):
            facts.addWidget(widget)
        facts.addStretch(1)
        facts.addWidget(self.lot_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(facts)
        layout.addWidget(self.view, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self._on_timer)

        self._load_underlyings()
        self.underlying.currentTextChanged.connect(self._on_underlying)
        self.expiry.currentIndexChanged.connect(self._on_expiry)
        self.strikes.valueChanged.connect(lambda _v: self.refresh(subscribe=True))
        if self.underlying.count():
            self._on_underlying(self.underlying.currentText())
        self.timer.start()

    # ------------------------------------------------------------------ choosing
    def _load_underlyings(self) -> None:
        try:
            names = self.chains.underlyings()
        except Exception:  # noqa: BLE001 - an empty chain, said on the panel
            log.exception("option chain: underlyings")
            names = []
        self.underlying.blockSignals(True)
        self.underlying.clear()
        self.underlying.addItems(names)
        if "NIFTY" in names:
            self.underlying.setCurrentText("NIFTY")
        self.underlying.blockSignals(False)

    @property
    def current_underlying(self) -> str | None:
        return self.underlying.currentText() or None

    @property
    def current_expiry(self) -> date | None:
        return self.expiry.currentData()

    def select_underlying(self, name: str, expiry: date | None = None) -> bool:
        """Show this underlying's chain (the nearest expiry unless one is given). False if
        it has no options listed."""
        index = self.underlying.findText(name)
        if index < 0:
            return False
        if index != self.underlying.currentIndex():
            self.underlying.setCurrentIndex(index)  # loads the expiries, refreshes
        if expiry is not None:
            found = self.expiry.findData(expiry)
            if found >= 0:
                self.expiry.setCurrentIndex(found)
        return True

    def _on_underlying(self, name: str) -> None:
        self.expiry.blockSignals(True)
        self.expiry.clear()
        try:
            expiries = self.chains.expiries(name) if name else []
        except Exception as exc:  # noqa: BLE001
            expiries = []
            self.last_error = str(exc)
        try:
            calendar = self.chains.rules.for_underlying(name, trading_day(utcnow())).calendar()
        except Exception:  # noqa: BLE001 - the labels only say weekly / monthly
            calendar = None
        for day in expiries:
            monthly = calendar is not None and calendar.is_monthly(day)
            self.expiry.addItem(_expiry_text(day, monthly), day)
        self.expiry.blockSignals(False)
        self.refresh(subscribe=True)
        self.underlying_changed.emit(name)

    def _on_expiry(self, _index: int) -> None:
        self.refresh(subscribe=True)

    # ------------------------------------------------------------------ refreshing
    def _on_timer(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self, *, subscribe: bool = False) -> ChainSnapshot | None:
        """Take a snapshot of the chosen chain now and show it."""
        name, expiry = self.current_underlying, self.current_expiry
        if not name or expiry is None:
            self.model.clear_chain()
            return None
        each_side = self.strikes.value()
        try:
            if subscribe and self._subscribe is not None:
                self._subscribe(self.chains.subscriptions(name, expiry, each_side))
            snapshot = self.chains.snapshot(name, expiry, strikes_each_side=each_side)
        except Exception as exc:  # noqa: BLE001 - shown on the panel, the timer goes on
            if str(exc) != self.last_error:
                log.exception("option chain %s %s", name, expiry)
            self.last_error = str(exc)
            self.spot_label.setText(f"Chain unavailable: {exc}")
            return None
        self.last_error = None
        self.refreshes += 1
        where = (name, expiry, each_side, snapshot.atm_strike)
        if self._subscribe is not None and where != self._subscribed_for:
            # the window of strikes moved with the spot: stream the new ones too (Kite
            # streams only what is asked; already streamed keys cost nothing)
            self._subscribed_for = where
            try:
                self._subscribe(self.chains.subscriptions(name, expiry, each_side))
            except Exception:  # noqa: BLE001 - the chain still shows what it has
                log.exception("option chain subscriptions %s %s", name, expiry)
        self.model.show(snapshot)
        self._show_facts(snapshot)
        self._keep_atm_in_view(snapshot)
        return snapshot

    def _show_facts(self, snap: ChainSnapshot) -> None:
        self.spot_label.setText(f"Spot {fmt.price(snap.spot) if snap.spot else fmt.DASH}")
        self.future_label.setText(
            f"Fut {fmt.price(snap.future)}" if snap.future is not None else "Fut \u2014"
        )
        flag = " \u2014 expires today" if snap.expires_today else ""
        self.days_label.setText(f"DTE {snap.days_to_expiry:.1f}{flag}")
        self.atm_iv_label.setText(
            f"ATM IV {snap.atm_iv * 100:.1f}%" if snap.atm_iv is not None else "ATM IV \u2014"
        )
        self.pcr_label.setText(f"PCR {snap.pcr:.2f}" if snap.pcr is not None else "PCR \u2014")
        freeze = f" \u00b7 freeze {snap.freeze_quantity:,}" if snap.freeze_quantity else ""
        self.lot_label.setText(f"lot {snap.lot_size}{freeze}")

    def _keep_atm_in_view(self, snap: ChainSnapshot) -> None:
        where = (snap.underlying, snap.expiry, snap.atm_strike)
        if where == self._centred_on:
            return
        row = self.model.atm_row()
        if row is None:
            return
        if where[:2] != self._fitted_for:
            self._fitted_for = where[:2]
            self.fit_columns_to_text()  # another chain: its numbers may be longer
        self._centred_on = where
        self.view.scrollTo(
            self.model.index(row, self.model.column_index("strike")),
            QAbstractItemView.ScrollHint.PositionAtCenter,
        )
        self.centre_strike_column()

    def centre_strike_column(self) -> None:
        """Scroll sideways so the strikes are in the middle (calls and puts alike)."""
        self.view.updateGeometries()  # the scroll range, with columns just shown or hidden
        header = self.view.horizontalHeader()
        strike = self.model.column_index("strike")
        middle = header.sectionPosition(strike) + header.sectionSize(strike) // 2
        self.view.horizontalScrollBar().setValue(middle - self.view.viewport().width() // 2)

    def centre_on_atm(self) -> None:
        self._centred_on = None
        if self.model.snapshot is not None:
            self._keep_atm_in_view(self.model.snapshot)

    # ------------------------------------------------------------------ clicks
    def _on_clicked(self, index: QModelIndex) -> None:
        cell = self.model.cell(index)
        if cell is not None:
            self.cell_clicked.emit(cell)

    def _menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        menu = self.context_menu(index)
        if menu is not None:
            menu.popup(self.view.viewport().mapToGlobal(pos))

    def context_menu(self, index: QModelIndex) -> QMenu | None:
        """The menu of a call or put cell: add the option to the basket, bought or sold."""
        cell = self.model.cell(index)
        if cell is None:
            return None
        menu = QMenu(self)
        menu.setObjectName("chainMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for side in ("BUY", "SELL"):
            action = QAction(f"Add to basket: {side} {cell.quote.symbol}", menu)
            action.setObjectName(f"chainBasket{side.title()}")
            action.triggered.connect(
                lambda _c=False, s=side, c=cell: self.basket_requested.emit(c, s)
            )
            menu.addAction(action)
        return menu

    # ------------------------------------------------------------------ columns
    def size_columns(self) -> None:
        """Each column as wide as the widest text it shows (or its title): the narrowest
        it is made; a wider view shares its room out (`fill_width`)."""
        header = self.view.horizontalHeader()
        cells, titles = self.view.fontMetrics(), header.fontMetrics()
        self._least_widths = []
        for spec in self.model.columns:
            widest = WIDEST_TEXT[spec.key.rpartition("_")[2]]
            text = max(cells.horizontalAdvance(widest), titles.horizontalAdvance(spec.header))
            self._least_widths.append(text + COLUMN_PADDING)
        self.fill_width()

    def fit_columns_to_text(self) -> None:
        """Widen a column whose widest text this chain shows does not fit (a stock's
        5-digit premiums): a number is never cut short. Never narrows one."""
        metrics = self.view.fontMetrics()
        model = self.model
        rows = model.rowCount()
        for column in range(model.columnCount()):
            widest = max(
                (metrics.horizontalAdvance(str(model.index(row, column).data() or ""))
                 for row in range(rows)),
                default=0,
            )  # fmt: skip
            if widest + COLUMN_PADDING > self._least_widths[column]:
                self._least_widths[column] = widest + COLUMN_PADDING
        self.fill_width()

    @property
    def least_widths(self) -> tuple[int, ...]:
        """Per column, the narrowest it is made (its widest text, padded)."""
        return tuple(self._least_widths)

    def fill_width(self) -> None:
        """The columns shown at their least widths, sharing out (in proportion) the room a
        wider view has: the chain spans its dock, calls and puts alike."""
        header = self.view.horizontalHeader()
        shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
        least = sum(self._least_widths[c] for c in shown)
        room = max(self.view.viewport().width() - least, 0) if self.view.isVisible() else 0
        for column in shown:
            width = self._least_widths[column]
            header.resizeSection(column, width + room * width // max(least, 1))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.view.viewport() and event.type() in _LAID_OUT:
            self.fill_width()
            self.centre_on_atm()
        return False

    def hidden_fields(self) -> list[str]:
        """The optional fields hidden (on both sides), in SIDE_FIELDS order."""
        header = self.view.horizontalHeader()
        return [
            field
            for field in HIDEABLE_FIELDS
            if header.isSectionHidden(self.model.column_index(f"call_{field}"))
        ]

    def set_field_shown(self, field: str, shown: bool) -> None:
        """Show or hide a field's column for calls and puts alike."""
        if field not in HIDEABLE_FIELDS:
            raise ValueError(f"the chain always shows {field}")
        header = self.view.horizontalHeader()
        for side in ("call", "put"):
            header.setSectionHidden(self.model.column_index(f"{side}_{field}"), not shown)
        self.fill_width()
        self.centre_strike_column()

    def column_menu(self) -> QMenu:
        """The header's menu: show or hide OI, volume, change, IV and delta (prices and
        strikes always show); the choice is kept with the window's layout."""
        menu = QMenu(self)
        menu.setObjectName("chainColumnsMenu")
        hidden = self.hidden_fields()
        for field, title in SIDE_FIELDS:
            if field not in HIDEABLE_FIELDS:
                continue
            action = menu.addAction(title)
            action.setObjectName(f"chainColumn_{field}")
            action.setCheckable(True)
            action.setChecked(field not in hidden)
            action.toggled.connect(lambda shown, f=field: self.set_field_shown(f, shown))
        return menu

    def _header_menu(self, pos) -> None:
        menu = self.column_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.horizontalHeader().mapToGlobal(pos))

    def cell_index(self, strike, side: str, field: str) -> QModelIndex:
        """The model index of one cell (tests, the e2e harness)."""
        row = self.model.row_of_strike(strike)
        if row is None:
            return QModelIndex()
        return self.model.index(row, self.model.column_index(f"{side}_{field}"))
