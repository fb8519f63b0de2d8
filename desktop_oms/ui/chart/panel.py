"""The price chart panel (objectName "priceChart"): the instrument's candles, and
trading from the chart, with the mouse or the keyboard.

What the trader does here, and what it means:

- the chart follows the instrument the window selects (`show_instrument`): history from
  the candle source, then the recorded minutes as they come (the forming candle is
  refreshed every `REFRESH_MS`);
- lines: the position (average, live P&L), each working order, the bracket's stop and
  target (lines.py). Dragging an order's line modifies the order through
  `OrderManager.modify_order` and every risk check; dragging a bracket's stop or target
  moves that leg (`move_stop` / `move_target` of the bracket manager). A refusal puts the
  line back and says why on the chart's notice line (and in the alerts);
- right-click at a price: Buy / Sell limit here, Buy / Sell stop here. That prepares an
  order on the chart - entry, stop and target lines, the quantity sized from the stop
  distance and `risk_per_trade_pct`, shown in the preview bar - which Enter (or Send)
  sends through `place_order` and Esc drops;
- keys (the chart focused, Ctrl+5): Tab / Shift+Tab select a line, Up / Down move the
  selected line by a tick (Shift: ten), Enter sends the move, Esc undoes it; with no
  line selected Up / Down move a price cursor and Enter (or the menu key) opens the
  order menu at it; Del cancels the selected order; Left / Right pan, + / - zoom, Home
  shows the latest candles; I / Shift+I change the interval, V shows or hides VWAP.

The plot (pyqtgraph) is built once the window is up (`build_soon`); until then, and
until the first history loads, the panel keeps the instrument and loads nothing (numpy
and pyqtgraph are not on the way to the first window).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import (
    Instrument,
    OrderRequest,
    OrderSide,
    OrderType,
    Product,
)
from desktop_oms.domain.candles import Interval
from desktop_oms.domain.events import (
    FillApplied,
    OrderModified,
    OrderStatusChanged,
    PositionChanged,
)
from desktop_oms.domain.money import round_to_tick
from desktop_oms.infra.clock import format_date_time
from desktop_oms.risk.events import BracketChanged
from desktop_oms.ui.chart.lines import ChartLine, LineKind, build_lines
from desktop_oms.ui.common import NoticeBar, Subscriptions, TaskRunner, WindowServices, theme
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.common.background_import import BackgroundImport

if TYPE_CHECKING:
    from desktop_oms.ui.chart.plot import PricePlot
    from desktop_oms.ui.chart.series import ChartSeries

log = logging.getLogger(__name__)

__all__ = ["REFRESH_MS", "Draft", "PriceChartPanel"]

REFRESH_MS = 50  # the forming candle and the lines, at most this often (20 a second)
MIN_WIDTH = 160
INTERVALS = (Interval.M1, Interval.M3, Interval.M5, Interval.M15, Interval.H1, Interval.D1)
DEFAULT_INTERVAL = Interval.M5
OPTION_TYPES = ("CE", "PE")
STOP_LIMIT_BUFFER_PCT = Decimal("1")  # an option stop entry is an SL: its limit this far on


PLOT_MODULE = "desktop_oms.ui.chart.plot"  # pyqtgraph and numpy: imported off the GUI thread


@dataclass(frozen=True, slots=True)
class Draft:
    """An order being prepared on the chart: entry (a limit or a stop), its stop-loss and
    target, the product; the quantity comes from the sizing."""

    side: OrderSide
    kind: str  # "limit" | "stop"
    entry: Decimal
    stop: Decimal
    target: Decimal | None
    product: Product = Product.MIS
    target_placed: bool = False  # the trader moved the target (else it keeps the R:R)


class PriceChartPanel(QWidget):
    """objectName "priceChart" (see the module docstring)."""

    message = Signal(str, str)  # (level, text): also for the alerts panel
    plotReady = Signal(object)  # noqa: N815 - the PricePlot, once built

    def __init__(
        self,
        services: WindowServices,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("priceChart")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.services = services
        self.tasks = tasks
        self.om = services.order_manager
        self.positions = services.position_manager
        self.quotes = services.quotes
        self.candles = services.candles
        self.plot: PricePlot | None = None
        self.series: ChartSeries | None = None
        self.key: tuple[str, str] | None = None
        self.instrument: Instrument | None = None
        self.interval = DEFAULT_INTERVAL
        self.averages_index = 0
        self.lines: list[ChartLine] = []
        self.selected: str | None = None
        self.pending: dict[str, Decimal] = {}  # moved by keys (or sent), not yet confirmed
        self.sending: set[str] = set()
        self.draft: Draft | None = None
        self.sizing = None
        self.cursor_price: Decimal | None = None
        self.order_menu: QMenu | None = None
        self.loading = False
        self.load_problem: str | None = None
        # the history came back empty before the instrument had a price (paper mode
        # generates history up to the last price): load again once it has one
        self._empty_without_price = False
        self._load_task = None
        self._generation = 0
        self._lines_dirty = True
        self._last_price_seen: Decimal | None = None
        self._import: BackgroundImport | None = None
        self._hover_index = -1
        self._hover_price = math.nan
        self.paint_count = 0
        self._closed = False  # the window is closing: nothing new is started
        self._build()
        self.subscriptions = Subscriptions(services.events)
        for kind in (
            OrderStatusChanged,
            OrderModified,
            PositionChanged,
            FillApplied,
            BracketChanged,
        ):
            self.subscriptions.add(kind, self._on_order_event)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # ================================================================== building

    def _build(self) -> None:
        # a narrow dock (a tab beside the market watch) squeezes the toolbar, never the
        # panels beside it
        self.setMinimumSize(MIN_WIDTH, 120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        self.symbol_label = QLabel("No instrument", self)
        self.symbol_label.setObjectName("chartSymbol")
        self.symbol_label.setStyleSheet(f"font-weight: bold; color: {theme.TEXT};")
        self.interval_box = QComboBox(self)
        self.interval_box.setObjectName("chartInterval")
        for interval in INTERVALS:
            self.interval_box.addItem(interval.label, interval)
        self.interval_box.setCurrentIndex(INTERVALS.index(self.interval))
        self.interval_box.setToolTip("Candle interval (I / Shift+I on the chart)")
        self.interval_box.currentIndexChanged.connect(self._interval_chosen)
        self.averages_box = QComboBox(self)
        self.averages_box.setObjectName("chartAverages")
        for label in _average_labels():
            self.averages_box.addItem(label)
        self.averages_box.currentIndexChanged.connect(self._averages_chosen)
        self.vwap_box = QCheckBox("VWAP", self)
        self.vwap_box.setObjectName("chartVwap")
        self.vwap_box.setChecked(True)
        self.vwap_box.setToolTip("Volume-weighted average price, from each day's open (V)")
        self.vwap_box.toggled.connect(self._vwap_toggled)
        for widget in (self.interval_box, self.averages_box, self.vwap_box):
            widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.readout = QLabel("", self)
        self.readout.setObjectName("chartReadout")
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.readout_text = ""  # the whole readout (the label shows what fits, elided)
        self.readout.installEventFilter(self)
        bar.addWidget(self.symbol_label)
        bar.addWidget(self.interval_box)
        bar.addWidget(self.averages_box)
        bar.addWidget(self.vwap_box)
        bar.addSpacing(8)
        bar.addWidget(self.readout, 1)
        layout.addLayout(bar)
        self.notice = NoticeBar("chartMessage", self)
        layout.addWidget(self.notice)
        self.preview = QFrame(self)
        self.preview.setObjectName("chartOrderPreview")
        self.preview.setStyleSheet(
            f"#chartOrderPreview {{ background: {theme.SURFACE}; border: 1px solid {theme.AMBER}; }}"
        )
        row = QHBoxLayout(self.preview)
        row.setContentsMargins(6, 3, 6, 3)
        self.preview_text = QLabel("", self.preview)
        self.preview_text.setObjectName("chartOrderText")
        self.preview_text.setWordWrap(True)
        self.product_box = QComboBox(self.preview)
        self.product_box.setObjectName("chartOrderProduct")
        for product in (Product.MIS, Product.CNC, Product.NRML):
            self.product_box.addItem(product.value, product)
        self.product_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.product_box.currentIndexChanged.connect(self._product_chosen)
        self.send_button = QPushButton("Send", self.preview)
        self.send_button.setObjectName("chartOrderSend")
        self.send_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.send_button.clicked.connect(self.send_draft)
        self.cancel_button = QPushButton("Cancel", self.preview)
        self.cancel_button.setObjectName("chartOrderCancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.drop_draft)
        row.addWidget(self.preview_text, 1)
        row.addWidget(self.product_box)
        row.addWidget(self.send_button)
        row.addWidget(self.cancel_button)
        self.preview.hide()
        layout.addWidget(self.preview)
        self.pending_label = QLabel("Loading the chart\u2026", self)
        self.pending_label.setObjectName("chartPending")
        self.pending_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pending_label.setStyleSheet(f"color: {theme.TEXT_DIM}; background: {theme.BASE};")
        layout.addWidget(self.pending_label, 1)
        self._layout = layout

    # ---- the plot (pyqtgraph), built once the window is up ---------------------------

    @property
    def is_built(self) -> bool:
        return self.plot is not None

    def build_soon(self, delay_ms: int = 0) -> None:
        """Build the plot without holding up the GUI: at once if its module is loaded,
        else import it on a worker thread (after `delay_ms`) and build when it is done."""
        if self.plot is None and self._import is None and not self._closed:
            self._import = BackgroundImport(PLOT_MODULE, self._check_import, "price-chart", self)
            self._import.start(delay_ms)

    def _check_import(self) -> None:
        if self.plot is None and not self._closed:
            try:
                self.build_now()
            except Exception:  # a timer slot must not raise into Qt
                log.exception("could not build the price chart")
                self.pending_label.setText("The price chart could not be shown (see the log)")

    def build_now(self) -> PricePlot:
        """The plot, built now if need be (importing pyqtgraph on this thread)."""
        if self.plot is not None:
            return self.plot
        from desktop_oms.ui.chart.plot import PricePlot
        from desktop_oms.ui.chart.series import AVERAGES, ChartSeries

        plot = PricePlot(self)
        plot.setFocusProxy(self)
        plot.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        plot.lineMoved.connect(self.move_line)
        plot.lineSelected.connect(self._line_clicked)
        plot.priceMenuRequested.connect(self.open_order_menu)
        plot.cursorMoved.connect(self._hovered)
        self.series = ChartSeries(self.interval, AVERAGES[self.averages_index])
        self.plot = plot
        self._layout.removeWidget(self.pending_label)
        self.pending_label.hide()
        self._layout.addWidget(plot, 1)
        self.plotReady.emit(plot)
        if self.key is not None:
            self._load()
        else:
            self._show_empty()
        return plot

    def _show_empty(self) -> None:
        if self.plot is None:
            return
        self.series.load([], 0)
        self.plot.set_series(self.series, Decimal("0.05"))

    # ================================================================== the instrument

    def show_instrument(self, exchange: str, symbol: str) -> None:
        """Chart this instrument (the window's selection); history loads once built."""
        key = (exchange.upper(), symbol.upper())
        if key == self.key:
            return
        instrument = self.services.instrument_source.get(*key)
        self.key = key
        self.instrument = instrument
        self.drop_draft()
        self.selected = None
        self.pending.clear()
        self.cursor_price = None
        self.symbol_label.setText(f"{key[1]}  {key[0]}")
        self.services.subscribe([key])
        if self.candles is not None:
            self.candles.watch(*key)
        self._lines_dirty = True
        if self.plot is not None:
            self._load()

    @property
    def tick(self) -> Decimal:
        return self.instrument.tick_size if self.instrument is not None else Decimal("0.05")

    def last_price(self) -> Decimal | None:
        return None if self.key is None else self.quotes.last_price(*self.key)

    def set_interval(self, interval: Interval) -> None:
        if interval is self.interval:
            return
        self.interval = interval
        index = INTERVALS.index(interval)
        if self.interval_box.currentIndex() != index:
            self.interval_box.setCurrentIndex(index)
        if self.series is not None:
            self.series.interval = interval
        if self.plot is not None and self.key is not None:
            self._load()

    def _interval_chosen(self, index: int) -> None:
        self.set_interval(INTERVALS[index])

    def _averages_chosen(self, index: int) -> None:
        self.averages_index = index
        if self.series is None:
            return
        from desktop_oms.ui.chart.series import AVERAGES

        self.series.set_averages(AVERAGES[index])
        if self.plot is not None:
            self.plot.redraw()

    def _vwap_toggled(self, shown: bool) -> None:
        if self.plot is not None:
            self.plot.set_vwap_visible(shown)

    def _load(self) -> None:
        """Load the history of the instrument at the interval (a kept task)."""
        if self.key is None or self.plot is None or self._closed:
            return
        # an earlier load still running finishes unheard (its generation is old): not
        # cancelled, it leaves the cache consistent
        self._generation += 1
        generation = self._generation
        if self.candles is None:
            self.series.load([], 0)
            self.plot.set_series(self.series, self.tick)
            return
        self.loading = True
        exchange, symbol = self.key
        self._load_task = self.tasks.run(
            self.candles.load(exchange, symbol, self.interval),
            f"loading the {self.interval.label} chart of {symbol}",
            on_result=lambda load, g=generation: self._loaded(g, load),
            on_error=lambda exc, g=generation: self._load_failed(g, exc),
        )

    def _loaded(self, generation: int, load: Any) -> None:
        if generation != self._generation or self.plot is None:
            return
        self.loading = False
        self.series.interval = self.interval
        self.series.load(load.candles, load.cut)
        self.load_problem = load.problem
        self._empty_without_price = not load.candles and self.last_price() is None
        if load.problem:
            self.say(load.problem, "warning")
        self.refresh_live()
        self.plot.set_series(self.series, self.tick)
        self._lines_dirty = True
        self.refresh_lines()
        self._update_readout()

    def _load_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self.load_problem = str(exc)
        self.say(f"The chart's history could not be loaded: {exc}", "error")

    # ================================================================== live updates

    def _on_order_event(self, _event: object) -> None:
        self._lines_dirty = True

    def refresh(self) -> None:
        """The timer: the forming candle, the lines (a slot: never raises into Qt)."""
        try:
            if self.plot is None or self.key is None or self.loading:
                return
            if self._empty_without_price and self.last_price() is not None:
                self._empty_without_price = False
                self._load()
                return
            if self.refresh_live():
                self.plot.series_changed()
                self.paint_count += 1
                if self._hover_index < 0:
                    self._update_readout()
            self.refresh_lines()
        except Exception:  # noqa: BLE001
            log.exception("price chart refresh failed")

    def refresh_live(self) -> bool:
        """Take the recorded minutes since the cut; True if the candles changed."""
        if self.candles is None or self.series is None or self.key is None:
            return False
        exchange, symbol = self.key
        if not self.candles.live_complete(exchange, symbol, self.series.cut):
            self._load()  # the recorder no longer holds every minute since the load
            return False
        live = self.candles.live(exchange, symbol, self.interval, self.series.cut)
        return self.series.set_live(live) if live else False

    def refresh_lines(self, force: bool = False) -> None:
        last = self.last_price()
        if not (force or self._lines_dirty or last != self._last_price_seen):
            return
        self._lines_dirty = False
        self._last_price_seen = last
        if self.key is None:
            self.lines = []
        else:
            brackets = self.services.risk.brackets
            views = brackets.views() if brackets is not None else []
            self.lines = build_lines(
                *self.key,
                self.om.live_orders(),
                self.positions.open_positions(),
                views,
                last,
            )
        self.lines += self._draft_lines()
        keys = {line.key for line in self.lines}
        if self.selected is not None and self.selected not in keys:
            self.selected = None
        for key in list(self.pending):
            if key not in keys:
                self.pending.pop(key, None)
        if self.plot is not None:
            self.plot.set_lines(self.lines, self.selected, self.pending)
            self.plot.set_cursor(self.cursor_price)

    def line(self, key: str) -> ChartLine | None:
        return next((line for line in self.lines if line.key == key), None)

    # ================================================================== moving lines

    def move_line(self, key: str, price: Decimal) -> None:
        """A line was moved to `price` (dragged and let go, or Enter after the keys)."""
        line = self.line(key)
        if line is None or not line.movable:
            self.pending.pop(key, None)
            self.refresh_lines(force=True)
            return
        price = round_to_tick(Decimal(price), self.tick)
        if line.kind.draft:
            self.pending.pop(key, None)
            self._move_draft(line.kind, price)
            return
        if price == line.price:
            self.pending.pop(key, None)
            self.refresh_lines(force=True)
            return
        self.pending[key] = price
        self.sending.add(key)
        if line.kind is LineKind.ORDER:
            self.tasks.run(
                self._modify_order(line, price),
                f"moving order #{line.order_id}",
                on_error=lambda exc, k=key: self._refused(
                    k, f"Order #{line.order_id} not moved", exc
                ),
            )
            self.refresh_lines(force=True)
            return
        brackets = self.services.risk.brackets
        if brackets is None:
            self._refused(key, "Not moved", "no bracket manager")
            return
        if line.kind is LineKind.STOP:
            reason = brackets.move_stop(line.entry_id, price)
            what = f"Stop of order #{line.entry_id}"
        else:
            reason = brackets.move_target(line.entry_id, price)
            what = f"Target of order #{line.entry_id}"
        if reason:
            self._refused(key, f"{what} not moved", reason)
            return
        self.sending.discard(key)
        self.pending.pop(key, None)
        self.say(f"{what} moved to {fmt.price(price)}", "info")
        self.refresh_lines(force=True)

    async def _modify_order(self, line: ChartLine, price: Decimal) -> None:
        order = await self.om.get_order(line.order_id)
        changes: dict[str, Decimal] = {}
        if order.order_type is OrderType.LIMIT:
            changes["price"] = price
        elif order.order_type is OrderType.SL and order.trigger_price is not None:
            changes["trigger_price"] = price
            if order.price is not None:  # the limit keeps its distance from the trigger
                changes["price"] = round_to_tick(
                    order.price + (price - order.trigger_price), self.tick
                )
        else:
            changes["trigger_price"] = price
        await self.om.modify_order(order.id, **changes)
        self.sending.discard(line.key)
        self.pending.pop(line.key, None)
        self.say(f"Order #{order.id} moved to {fmt.price(price)}", "info")
        self._lines_dirty = True
        self.refresh_lines(force=True)

    def _refused(self, key: str, what: str, why: object) -> None:
        """A move refused: the line goes back where the order is, and the reason shows."""
        self.sending.discard(key)
        self.pending.pop(key, None)
        reason = getattr(why, "reason", None) or str(why)
        self.say(f"{what}: {reason}", "error")
        self._lines_dirty = True
        self.refresh_lines(force=True)

    def say(self, text: str, level: str = "info") -> None:
        """Show `text` on the chart's notice line and pass it on to the alerts."""
        self.notice.show_message(text, level)
        self.message.emit(level, text)

    def cancel_line_order(self, key: str) -> None:
        line = self.line(key)
        if line is None or line.kind is not LineKind.ORDER or line.order_id is None:
            return
        self.tasks.run(
            self.om.cancel_order(line.order_id),
            f"cancelling order #{line.order_id}",
            on_result=lambda _r: self.say(f"Order #{line.order_id}: cancel sent", "info"),
            on_error=lambda exc: self.say(f"Order #{line.order_id} not cancelled: {exc}", "error"),
        )

    # ================================================================== orders at a price

    def open_order_menu(self, price: Decimal, where: QPoint | None = None) -> QMenu:
        """Right-click (or Enter / the menu key at the cursor): orders at this price."""
        price = round_to_tick(Decimal(price), self.tick)
        menu = QMenu(self)
        menu.setObjectName("chartOrderMenu")
        last = self.last_price()
        text = fmt.price(price)
        for side, kind in (
            (OrderSide.BUY, "limit"),
            (OrderSide.SELL, "limit"),
            (OrderSide.BUY, "stop"),
            (OrderSide.SELL, "stop"),
        ):
            label = f"{'Buy' if side is OrderSide.BUY else 'Sell'} {kind} at {text}"
            action = menu.addAction(label)
            action.setObjectName(f"chart{side.value.title()}{kind.title()}")
            problem = _entry_problem(side, kind, price, last)
            if problem:
                action.setEnabled(False)
                action.setText(f"{label}  ({problem})")
            action.triggered.connect(lambda _c=False, s=side, k=kind: self.start_draft(s, k, price))
        self.order_menu = menu
        if where is None:
            where = self.mapToGlobal(self._price_point(price))
        menu.popup(where)
        return menu

    def _price_point(self, price: Decimal) -> QPoint:
        if self.plot is None:
            return self.rect().center()
        return self.plot.mapTo(self, self.plot.price_to_widget(price))

    def start_draft(self, side: OrderSide, kind: str, price: Decimal) -> Draft:
        """Prepare an order at `price`: a stop at the default distance, a target at the
        minimum reward:risk; shown with its size, sent with Enter."""
        from desktop_oms.ui.chart.sizing import default_stop_distance, stop_for, target_for

        data = self.series.data if self.series is not None and len(self.series) else None
        distance = default_stop_distance(
            price,
            self.tick,
            data.high if data is not None else None,
            data.low if data is not None else None,
            data.close if data is not None else None,
        )
        stop = stop_for(side, price, distance)
        if stop <= 0:
            stop = self.tick
        limits = self.services.risk.limits
        target = round_to_tick(target_for(side, price, stop, limits.min_risk_reward), self.tick)
        product = Product(self.product_box.currentData() or Product.MIS)
        if self.instrument is not None and self.instrument.exchange in ("NFO", "BFO", "MCX", "CDS"):
            product = Product.NRML if product is Product.CNC else product
        self.draft = Draft(side, kind, price, stop, target, product)
        self.selected = "draft:stop"
        self._draft_changed()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        return self.draft

    def _move_draft(self, kind: LineKind, price: Decimal) -> None:
        if self.draft is None:
            return
        if kind is LineKind.DRAFT_ENTRY:
            shift = price - self.draft.entry
            self.draft = replace(
                self.draft,
                entry=price,
                stop=self.draft.stop + shift,
                target=None if self.draft.target is None else self.draft.target + shift,
            )
        elif kind is LineKind.DRAFT_STOP:
            self.draft = replace(self.draft, stop=price)
            if not self.draft.target_placed:  # the target keeps the minimum reward:risk
                from desktop_oms.ui.chart.sizing import target_for

                rr = self.services.risk.limits.min_risk_reward
                target = round_to_tick(
                    target_for(self.draft.side, self.draft.entry, price, rr), self.tick
                )
                self.draft = replace(self.draft, target=target if target > 0 else None)
        else:
            self.draft = replace(self.draft, target=price, target_placed=True)
        self._draft_changed()

    def _product_chosen(self, _index: int) -> None:
        if self.draft is not None:
            self.draft = replace(self.draft, product=Product(self.product_box.currentData()))
            self._draft_changed()

    def _draft_lines(self) -> list[ChartLine]:
        d = self.draft
        if d is None:
            return []
        quantity = self.sizing.quantity if self.sizing is not None else 0
        word = "BUY" if d.side is OrderSide.BUY else "SELL"
        kind = "LMT" if d.kind == "limit" else "STOP"
        exit_word = "SELL" if d.side is OrderSide.BUY else "BUY"
        lines = [
            ChartLine("draft:entry", LineKind.DRAFT_ENTRY, d.entry,
                      f"NEW {word} {fmt.quantity(quantity)} {kind} {fmt.price(d.entry)}",
                      d.side, True),
            ChartLine("draft:stop", LineKind.DRAFT_STOP, d.stop,
                      f"NEW STOP {exit_word} {fmt.price(d.stop)}", d.side.opposite, True),
        ]  # fmt: skip
        if d.target is not None:
            lines.append(
                ChartLine("draft:target", LineKind.DRAFT_TARGET, d.target,
                          f"NEW TARGET {exit_word} {fmt.price(d.target)}", d.side.opposite, True)
            )  # fmt: skip
        return lines

    def _draft_changed(self) -> None:
        from desktop_oms.ui.chart.sizing import size_from_stop

        d = self.draft
        if d is None:
            return
        inst = self.instrument
        lot = inst.lot_size if inst is not None else 1
        multiplier = inst.multiplier if inst is not None else Decimal(1)
        self.sizing = size_from_stop(
            d.entry, d.stop, lot_size=lot, multiplier=multiplier, limits=self.services.risk.limits
        )
        problem = self._draft_problem()
        s = self.sizing
        word = "Buy" if d.side is OrderSide.BUY else "Sell"
        what = "limit" if d.kind == "limit" else "stop"
        symbol = self.key[1] if self.key else ""
        text = (
            f"<b>{word} {fmt.quantity(s.quantity)} {symbol} {what} {fmt.price(d.entry)}</b> "
            f"\u00b7 stop {fmt.price(d.stop)}"
        )
        if d.target is not None:
            text += f" \u00b7 target {fmt.price(d.target)}"
        text += f" \u00b7 {d.product.value} \u00b7 {s.text()}"
        if problem:
            text += f"<br><span style='color:{theme.ERROR}'>{problem}</span>"
        else:
            text += f"<br><span style='color:{theme.TEXT_DIM}'>Enter sends, Esc cancels; move the lines (Tab, Up / Down) to change it</span>"
        self.preview_text.setText(text)
        self.send_button.setEnabled(problem is None and s.quantity > 0)
        index = self.product_box.findText(d.product.value)
        if index >= 0 and index != self.product_box.currentIndex():
            self.product_box.blockSignals(True)
            self.product_box.setCurrentIndex(index)
            self.product_box.blockSignals(False)
        self.preview.show()
        self.refresh_lines(force=True)

    def _draft_problem(self) -> str | None:
        d = self.draft
        if d is None:
            return None
        if self.sizing is not None and self.sizing.problem:
            return self.sizing.problem
        long = d.side is OrderSide.BUY
        if (d.stop >= d.entry) if long else (d.stop <= d.entry):
            return f"The stop must be {'below' if long else 'above'} the entry"
        if d.target is not None and ((d.target <= d.entry) if long else (d.target >= d.entry)):
            return f"The target must be {'above' if long else 'below'} the entry"
        return _entry_problem(d.side, d.kind, d.entry, self.last_price())

    def draft_request(self) -> OrderRequest | None:
        """The order the draft sends (None: nothing sendable)."""
        d, s = self.draft, self.sizing
        if d is None or s is None or s.quantity <= 0 or self.key is None or self._draft_problem():
            return None
        exchange, symbol = self.key
        price = trigger = None
        if d.kind == "limit":
            order_type, price = OrderType.LIMIT, d.entry
        elif self._option():
            order_type, trigger = OrderType.SL, d.entry
            buffer = max(d.entry * STOP_LIMIT_BUFFER_PCT / 100, self.tick)
            direction = "up" if d.side is OrderSide.BUY else "down"
            limit = d.entry + buffer if d.side is OrderSide.BUY else d.entry - buffer
            price = round_to_tick(max(limit, self.tick), self.tick, direction)
        else:
            order_type, trigger = OrderType.SL_M, d.entry
        return OrderRequest(
            symbol=symbol,
            exchange=exchange,
            side=d.side,
            quantity=s.quantity,
            order_type=order_type,
            price=price,
            trigger_price=trigger,
            product=d.product,
            stop_loss=d.stop,
            take_profit=d.target,
            tag="chart",
        )

    def _option(self) -> bool:
        inst = self.instrument
        return inst is not None and inst.instrument_type in OPTION_TYPES

    def send_draft(self) -> None:
        request = self.draft_request()
        if request is None:
            problem = self._draft_problem() or "Nothing to send"
            self.say(problem, "error")
            return
        self.send_button.setEnabled(False)
        self.tasks.run(
            self.om.place_order(request),
            f"sending the chart's {request.side.value} order",
            on_result=lambda result, r=request: self._sent(r, result),
            on_error=lambda exc, r=request: self._not_sent(r, exc),
        )

    def _sent(self, request: OrderRequest, result: Any) -> None:
        self.drop_draft()
        self.say(
            f"Sent: {request.side.value} {fmt.quantity(request.quantity)} {request.symbol} "
            f"{request.order_type.value} (order #{result.order_id}, {result.status.value})",
            "info",
        )
        self._lines_dirty = True

    def _not_sent(self, request: OrderRequest, exc: BaseException) -> None:
        reason = getattr(exc, "reason", None) or str(exc)
        self.send_button.setEnabled(True)
        self.preview_text.setText(
            f"{self.preview_text.text().split('<br>')[0]}<br>"
            f"<span style='color:{theme.ERROR}'>Refused: {reason}</span>"
        )
        self.say(f"Chart order refused: {reason}", "error")

    def drop_draft(self) -> None:
        if self.draft is None:
            return
        self.draft = None
        self.sizing = None
        if self.selected and self.selected.startswith("draft:"):
            self.selected = None
        for key in [k for k in self.pending if k.startswith("draft:")]:
            self.pending.pop(key)
        self.preview.hide()
        self.refresh_lines(force=True)

    # ================================================================== the keyboard

    def selectable(self) -> list[ChartLine]:
        """Lines Tab selects, top (highest price) first."""
        return sorted((line for line in self.lines if line.movable), key=lambda x: -x.price)

    def select_line(self, key: str | None) -> None:
        self.selected = key
        self.refresh_lines(force=True)

    def _line_clicked(self, key: str) -> None:
        self.select_line(key)
        self.setFocus(Qt.FocusReason.MouseFocusReason)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt's names
        if self.selectable():
            return False  # Tab selects lines (keyPressEvent)
        return super().focusNextPrevChild(next)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, mods = event.key(), event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            self._cycle(-1 if key == Qt.Key.Key_Backtab or shift else 1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            steps = (10 if shift else 1) * (1 if key == Qt.Key.Key_Up else -1)
            self.step_selected(steps)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirm()
        elif key == Qt.Key.Key_Escape:
            self.escape()
        elif key == Qt.Key.Key_Delete and self.selected:
            self.cancel_line_order(self.selected)
        elif key == Qt.Key.Key_Menu or (key == Qt.Key.Key_F10 and shift):
            self.open_order_menu(self.cursor_price or self._middle_price())
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.plot is not None:
            x0, x1 = self.plot.view_span()
            step = max((x1 - x0) * 0.1, 1) if shift else 1
            self.plot.pan(-step if key == Qt.Key.Key_Left else step)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) and self.plot is not None:
            self.plot.zoom(0.8)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore) and self.plot is not None:
            self.plot.zoom(1.25)
        elif key == Qt.Key.Key_Home and self.plot is not None:
            self.plot.show_latest()
        elif key == Qt.Key.Key_I:
            index = (INTERVALS.index(self.interval) + (-1 if shift else 1)) % len(INTERVALS)
            self.set_interval(INTERVALS[index])
        elif key == Qt.Key.Key_V:
            self.vwap_box.toggle()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _cycle(self, direction: int) -> None:
        lines = self.selectable()
        if not lines:
            return
        keys = [line.key for line in lines]
        if self.selected in keys:
            index = (keys.index(self.selected) + direction) % len(keys)
        else:
            index = 0 if direction > 0 else len(keys) - 1
        self.select_line(keys[index])

    def _middle_price(self) -> Decimal:
        if self.plot is not None and self.series is not None and len(self.series):
            low, high = self.plot.price_range()
            return round_to_tick(Decimal(f"{(low + high) / 2:.6f}"), self.tick)
        return self.last_price() or Decimal(0)

    def step_selected(self, ticks: int) -> None:
        """Move the selected line by `ticks` (pending until Enter), or the price cursor."""
        line = self.line(self.selected) if self.selected else None
        if line is None or not line.movable:
            start = self.cursor_price or self.last_price() or self._middle_price()
            self.cursor_price = round_to_tick(start + self.tick * ticks, self.tick)
            if self.plot is not None:
                self.plot.set_cursor(self.cursor_price)
            return
        if line.kind.draft:  # a draft follows at once (nothing is sent)
            self._move_draft(line.kind, line.price + self.tick * ticks)
            return
        if line.key in self.sending:
            return
        now = self.pending.get(line.key, line.price)
        moved = now + self.tick * ticks
        if moved <= 0:
            return
        self.pending[line.key] = moved
        self.say(
            f"{line.label.split('  #')[0]} \u2192 {fmt.price(moved)}: Enter to send, Esc to undo",
            "info",
        )
        self.refresh_lines(force=True)

    def confirm(self) -> None:
        """Enter: send the selected line's move; else the draft; else the order menu."""
        if self.selected and self.selected in self.pending and self.selected not in self.sending:
            self.move_line(self.selected, self.pending[self.selected])
            return
        if self.draft is not None:
            self.send_draft()
            return
        if self.cursor_price is not None:
            self.open_order_menu(self.cursor_price)

    def escape(self) -> None:
        """Esc: undo a pending move, else drop the draft, else the selection and cursor."""
        if self.selected and self.selected in self.pending and self.selected not in self.sending:
            self.pending.pop(self.selected)
            self.notice.dismiss()
            self.refresh_lines(force=True)
            return
        if self.draft is not None:
            self.drop_draft()
            return
        self.selected = None
        self.cursor_price = None
        self.notice.dismiss()
        self.refresh_lines(force=True)

    # ================================================================== the readout

    def _hovered(self, index: int, price: float) -> None:
        self._hover_index = index
        self._hover_price = price
        self._update_readout()

    def _update_readout(self) -> None:
        series = self.series
        if series is None or not len(series):
            self._set_readout("")
            return
        index = self._hover_index if 0 <= self._hover_index < len(series) else len(series) - 1
        d = series.data
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(int(d.start[index]), UTC)
        when = format_date_time(at, seconds=False)
        if not self.interval.intraday:
            when = when.split(" ")[0]
        text = (
            f"{when}  O {d.open[index]:,.2f}  H {d.high[index]:,.2f}  "
            f"L {d.low[index]:,.2f}  C {d.close[index]:,.2f}  V {int(d.volume[index]):,}"
        )
        if math.isfinite(self._hover_price):
            text += f"   \u00b7 {self._hover_price:,.2f}"
        self._set_readout(text)

    def _set_readout(self, text: str) -> None:
        """The readout, elided to the label's width (a narrow dock shows what fits; the
        whole text is its tooltip)."""
        self.readout_text = text
        self.readout.setToolTip(text)
        metrics = self.readout.fontMetrics()
        self.readout.setText(
            metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(self.readout.width(), 0))
        )

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.readout and event.type() == event.Type.Resize:
            self._set_readout(self.readout_text)
        return False

    # ================================================================== tests and tools

    def line_global_point(self, key: str) -> QPoint | None:
        """Where a line is on the screen (the middle of the chart), or None."""
        if self.plot is None:
            return None
        point = self.plot.line_point(key)
        return None if point is None else self.plot.mapToGlobal(point)

    def price_global_point(self, price: Decimal | float) -> QPoint | None:
        if self.plot is None:
            return None
        return self.plot.mapToGlobal(self.plot.price_to_widget(price))

    def shutdown(self) -> None:
        """Stop listening and refreshing (the window is closing)."""
        self._closed = True
        self.subscriptions.close()
        self._timer.stop()


def _entry_problem(side: OrderSide, kind: str, price: Decimal, last: Decimal | None) -> str | None:
    """Why an entry of this kind at this price makes no sense now (None: it does)."""
    if price <= 0:
        return "no price"
    if last is None:
        return "no last price yet" if kind == "stop" else None
    if kind == "stop":
        if side is OrderSide.BUY and price <= last:
            return "a buy stop goes above the last price"
        if side is OrderSide.SELL and price >= last:
            return "a sell stop goes below the last price"
    else:
        if side is OrderSide.BUY and price > last:
            return "above the last price: it would fill at once"
        if side is OrderSide.SELL and price < last:
            return "below the last price: it would fill at once"
    return None


def _average_labels() -> list[str]:
    # the labels of series.AVERAGES, without importing numpy at start-up
    return ["EMA 20 / 50", "EMA 9 / 21", "SMA 20 / 50", "SMA 50 / 200", "No averages"]
