"""The depth ladder (objectName "depthLadder"): price rows around the last price with the
book's bid and ask sizes and the trader's own working orders, traded by clicking.

Columns: My bids | Bid | Price | Ask | My asks. Rows are one tick apart, the highest
price on top, centred on the last price; the centre moves only when the price leaves
the middle of the ladder (or on C / Home), so a row stays under the mouse while the
trader aims at it. Sizes come from the streamed depth (the paper exchange's book, or
Kite's full-mode five levels).

Mouse: click a Bid cell to place a buy limit at that row's price, an Ask cell for a sell
limit (quantity: the lots box times the lot size); click an own order to cancel it; drag
an own order to another row to modify it to that price. Every order goes through the
OMS and its risk checks; a refusal shows on the ladder's notice line. Orders worth more
than the window's confirmation threshold ask first.

Keys (the ladder focused): Up / Down / Left / Right move the current cell; Enter or
Space on a Bid / Ask cell places, on an own order cancels it (Del too); Ctrl+Up /
Ctrl+Down on an own order carries it a tick at a time, Enter sends the move, Esc drops
it; + / - change the lots; C (or Home) centres the ladder on the last price.

No numpy, no pyqtgraph: the ladder is plain Qt and built at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import (
    Instrument,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
)
from desktop_oms.domain.events import FillApplied, OrderModified, OrderStatusChanged
from desktop_oms.domain.money import round_to_tick
from desktop_oms.ui.common import (
    NoticeBar,
    Subscriptions,
    TaskRunner,
    WindowServices,
    dialogs,
    theme,
)
from desktop_oms.ui.common import format as fmt

log = logging.getLogger(__name__)

__all__ = ["ASK", "BID", "MY_ASKS", "MY_BIDS", "PRICE", "DepthLadder", "LadderModel"]

ROWS = 25
MY_BIDS, BID, PRICE, ASK, MY_ASKS = range(5)
HEADERS = ("My bids", "Bid", "Price", "Ask", "My asks")
REFRESH_MS = 50  # the book and the last price, at most this often (20 a second)
RECENTRE_MARGIN = 4  # rows from an edge at which the ladder re-centres
MIN_WIDTH = 160
Key = tuple[str, str]


class LadderModel(QAbstractTableModel):
    """ROWS price rows around a centre price (see the module docstring)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tick = Decimal("0.05")
        self.centre: Decimal | None = None
        self.last: Decimal | None = None
        self.bids: dict[Decimal, int] = {}
        self.asks: dict[Decimal, int] = {}
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None
        self.own: dict[tuple[OrderSide, Decimal], list[Order]] = {}
        self.carry: tuple[OrderSide, Decimal, Decimal] | None = None  # side, from, to

    # ---- geometry --------------------------------------------------------------------

    def price_at(self, row: int) -> Decimal | None:
        if self.centre is None or not 0 <= row < ROWS:
            return None
        return self.centre + (ROWS // 2 - row) * self.tick

    def row_of(self, price: Decimal) -> int | None:
        if self.centre is None or self.tick <= 0:
            return None
        row = ROWS // 2 - int((price - self.centre) / self.tick)
        return row if 0 <= row < ROWS else None

    def centre_on(self, price: Decimal | None) -> None:
        if price is None:
            return
        self.centre = round_to_tick(price, self.tick)

    # ---- data ------------------------------------------------------------------------

    def update_book(self, last: Decimal | None, depth: Any, own: list[Order]) -> None:
        self.last = last
        self.bids, self.asks = {}, {}
        self.best_bid = self.best_ask = None
        if depth is not None:
            self.bids = {level.price: level.quantity for level in depth.bids}
            self.asks = {level.price: level.quantity for level in depth.asks}
            self.best_bid = depth.bids[0].price if depth.bids else None
            self.best_ask = depth.asks[0].price if depth.asks else None
        self.own = {}
        for order in own:
            price = order.price if order.order_type is OrderType.LIMIT else order.trigger_price
            if price is None:
                continue
            self.own.setdefault((order.side, price), []).append(order)
        if self.centre is None and last is not None:
            self.centre_on(last)
        elif last is not None and self.centre is not None:
            row = self.row_of(last)
            if row is None or row < RECENTRE_MARGIN or row >= ROWS - RECENTRE_MARGIN:
                self.centre_on(last)
        if self.centre is not None:  # (no rows before the first price)
            self.dataChanged.emit(self.index(0, 0), self.index(ROWS - 1, len(HEADERS) - 1))

    def orders_at(self, row: int, column: int) -> list[Order]:
        price = self.price_at(row)
        if price is None or column not in (MY_BIDS, MY_ASKS):
            return []
        side = OrderSide.BUY if column == MY_BIDS else OrderSide.SELL
        return list(self.own.get((side, price), []))

    # ---- Qt ----------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or self.centre is None else ROWS

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        price = self.price_at(row)
        if price is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(price, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column in (BID, MY_BIDS):
                return theme.qcolor(theme.BUY)
            if column in (ASK, MY_ASKS):
                return theme.qcolor(theme.SELL)
            if price == self.last:
                return theme.qcolor(theme.AMBER)
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(price, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(price, column)
        return None

    def _text(self, price: Decimal, column: int) -> str:
        if column == PRICE:
            return fmt.price(price)
        if column == BID:
            return fmt.quantity(self.bids[price]) if price in self.bids else ""
        if column == ASK:
            return fmt.quantity(self.asks[price]) if price in self.asks else ""
        side = OrderSide.BUY if column == MY_BIDS else OrderSide.SELL
        parts = []
        orders = self.own.get((side, price), [])
        if orders:
            quantity = sum(o.quantity - o.filled_quantity for o in orders)
            stop = any(o.order_type.needs_trigger for o in orders)
            sending = any(o.broker_order_id is None for o in orders)
            mark = " stp" if stop else ""
            parts.append(f"{fmt.quantity(quantity)}{mark}{'…' if sending else ''}")
        if self.carry is not None and self.carry[0] is side:
            if price == self.carry[2] and price != self.carry[1]:
                parts.append("\u2190 here")
        return " ".join(parts)

    def _background(self, price: Decimal, column: int):
        if self.carry is not None and price == self.carry[2] and column in (MY_BIDS, MY_ASKS):
            return theme.qcolor(theme.HIGHLIGHT)
        if column == PRICE and price == self.last:
            return theme.qcolor("#4a3f24")
        if column == BID and price == self.best_bid:
            return theme.qcolor("#1f3b2d")
        if column == ASK and price == self.best_ask:
            return theme.qcolor("#472626")
        return None

    def _tip(self, price: Decimal, column: int) -> str | None:
        if column == BID:
            return f"Click: buy limit at {fmt.price(price)}"
        if column == ASK:
            return f"Click: sell limit at {fmt.price(price)}"
        if column in (MY_BIDS, MY_ASKS):
            side = OrderSide.BUY if column == MY_BIDS else OrderSide.SELL
            orders = self.own.get((side, price), [])
            if orders:
                ids = ", ".join(f"#{o.id}" for o in orders)
                return f"Your orders {ids}: click to cancel, drag to another price to modify"
        return None


class LadderView(QTableView):
    """The ladder's table: clicks place or cancel, a drag from an own order modifies."""

    cellClicked = Signal(int, int)  # noqa: N815 - row, column (press and release on one cell)
    orderDragged = Signal(int, int, int)  # noqa: N815 - column, from row, to row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._press: tuple[int, int] | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.indexAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index.isValid():
            self._press = (index.row(), index.column())
            self.setCurrentIndex(index)
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press is not None:
            index = self.indexAt(event.position().toPoint())
            if index.isValid():
                self.setCurrentIndex(self.model().index(index.row(), self._press[1]))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        press, self._press = self._press, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        index = self.indexAt(event.position().toPoint())
        event.accept()
        if not index.isValid():
            return
        row, column = press
        if index.row() == row:
            self.cellClicked.emit(row, column)
        elif column in (MY_BIDS, MY_ASKS):
            self.orderDragged.emit(column, row, index.row())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        event.accept()  # a double-click is two clicks: never an editor


class DepthLadder(QWidget):
    """objectName "depthLadder" (see the module docstring)."""

    message = Signal(str, str)  # (level, text): also for the alerts panel

    def __init__(
        self,
        services: WindowServices,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        confirm_above: Callable[[], Decimal | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("depthLadder")
        self.services = services
        self.tasks = tasks
        self.om = services.order_manager
        self.quotes = services.quotes
        self._confirm_above = confirm_above or (lambda: services.settings.confirm_above_value)
        self.key: Key | None = None
        self.instrument: Instrument | None = None
        self.confirm_box = None
        self._seen: tuple | None = None
        self._dirty = True
        self.paint_count = 0
        self._build()
        self.subscriptions = Subscriptions(services.events)
        for kind in (OrderStatusChanged, OrderModified, FillApplied):
            self.subscriptions.add(kind, self._on_order_event)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def _build(self) -> None:
        self.setMinimumSize(MIN_WIDTH, 120)  # a narrow tab squeezes the bar, not its neighbours
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        self.symbol_label = QLabel("No instrument", self)
        self.symbol_label.setObjectName("ladderSymbol")
        self.symbol_label.setStyleSheet("font-weight: bold;")
        self.lots = QSpinBox(self)
        self.lots.setObjectName("ladderLots")
        self.lots.setRange(1, 10_000)
        self.lots.setValue(1)
        self.lots.setPrefix("Lots ")
        self.lots.setToolTip("Lots per click (+ / - on the ladder)")
        self.lots.valueChanged.connect(self._lots_changed)
        self.product = QComboBox(self)
        self.product.setObjectName("ladderProduct")
        for product in (Product.MIS, Product.CNC, Product.NRML):
            self.product.addItem(product.value, product)
        self.centre_button = QPushButton("Centre", self)
        self.centre_button.setObjectName("ladderCentre")
        self.centre_button.setToolTip("Centre on the last price (C)")
        self.centre_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.centre_button.clicked.connect(self.recentre)
        self.quantity_label = QLabel("", self)
        self.quantity_label.setObjectName("ladderQuantity")
        self.quantity_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        bar.addWidget(self.symbol_label)
        bar.addStretch(1)
        bar.addWidget(self.lots)
        bar.addWidget(self.quantity_label)
        bar.addWidget(self.product)
        bar.addWidget(self.centre_button)
        layout.addLayout(bar)
        self.notice = NoticeBar("ladderMessage", self)
        layout.addWidget(self.notice)
        self.model = LadderModel(self)
        self.view = LadderView(self)
        self.view.setObjectName("ladderView")
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(False)
        self.view.setWordWrap(False)
        # by pixel: the last price's row can be put exactly in the middle
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.view.cellClicked.connect(self.click_cell)
        self.view.orderDragged.connect(self.drag_order)
        self.view.installEventFilter(self)
        layout.addWidget(self.view, 1)
        self.setFocusProxy(self.view)

    # ---- the instrument ------------------------------------------------------------------

    def show_instrument(self, exchange: str, symbol: str) -> None:
        key = (exchange.upper(), symbol.upper())
        if key == self.key:
            return
        self.key = key
        self.instrument = self.services.instrument_source.get(*key)
        self.model.tick = self.instrument.tick_size if self.instrument else Decimal("0.05")
        self.model.beginResetModel()
        self.model.centre = None
        self.model.carry = None
        self.model.endResetModel()
        self.symbol_label.setText(f"{key[1]}  {key[0]}")
        if self.services.subscribe_depth is not None:
            self.services.subscribe_depth([key])
        else:
            self.services.subscribe([key])
        if self.instrument is not None and self.instrument.exchange in ("NFO", "BFO", "MCX", "CDS"):
            self.product.setCurrentIndex(self.product.findText(Product.NRML.value))
        self._lots_changed()
        self._seen = None
        self._dirty = True
        self.refresh()

    @property
    def lot_size(self) -> int:
        return self.instrument.lot_size if self.instrument is not None else 1

    @property
    def quantity(self) -> int:
        return self.lots.value() * self.lot_size

    def _lots_changed(self, *_args) -> None:
        self.quantity_label.setText(f"= {fmt.quantity(self.quantity)}")

    def recentre(self) -> None:
        if self.key is None:
            return
        self.model.beginResetModel()
        self.model.centre_on(self.quotes.last_price(*self.key))
        self.model.endResetModel()
        self._seen = None
        self.refresh()
        self.scroll_to_centre()

    def row_of_price(self, price: Decimal) -> int | None:
        return self.model.row_of(Decimal(price))

    # ---- live --------------------------------------------------------------------------

    def _on_order_event(self, _event: object) -> None:
        self._dirty = True

    def refresh(self) -> None:
        """The timer: the book and own orders when they changed (never raises into Qt)."""
        try:
            if self.key is None:
                return
            tick = self.quotes.tick(*self.key)
            if tick is self._seen and not self._dirty:
                return
            self._seen = tick
            self._dirty = False
            own = [
                o for o in self.om.live_orders()
                if (o.exchange, o.symbol) == self.key and o.status.is_active
            ]  # fmt: skip
            had_rows = self.model.centre is not None
            centre = self.model.centre
            last = tick.last_price if tick is not None else None
            if not had_rows:
                self.model.beginResetModel()
                self.model.update_book(last, None if tick is None else tick.depth, own)
                self.model.endResetModel()
            else:
                self.model.update_book(last, None if tick is None else tick.depth, own)
            if self.model.centre != centre:  # re-centred: the last price in the middle
                self.scroll_to_centre()
            self.paint_count += 1
        except Exception:  # noqa: BLE001
            log.exception("depth ladder refresh failed")

    # ---- acting ------------------------------------------------------------------------

    def say(self, text: str, level: str = "info") -> None:
        self.notice.show_message(text, level)
        self.message.emit(level, text)

    def click_cell(self, row: int, column: int) -> None:
        price = self.model.price_at(row)
        if price is None:
            return
        if column == BID:
            self.place(OrderSide.BUY, price)
        elif column == ASK:
            self.place(OrderSide.SELL, price)
        elif column in (MY_BIDS, MY_ASKS):
            self.cancel_at(row, column)

    def place(self, side: OrderSide, price: Decimal) -> None:
        """A limit order at `price` for the lots box's quantity (asks first above the
        confirmation threshold)."""
        if self.key is None:
            return
        exchange, symbol = self.key
        request = OrderRequest(
            symbol=symbol,
            exchange=exchange,
            side=side,
            quantity=self.quantity,
            order_type=OrderType.LIMIT,
            price=price,
            product=Product(self.product.currentData() or Product.MIS),
            tag="ladder",
        )
        multiplier = self.instrument.multiplier if self.instrument is not None else Decimal(1)
        value = price * request.quantity * multiplier
        limit = self._confirm_above()
        what = f"{side.value} {fmt.quantity(request.quantity)} {symbol} @ {fmt.price(price)}"
        if limit is not None and value > limit:
            self.confirm_box = dialogs.confirm(
                self,
                "Confirm order",
                f"{what} (value {fmt.rupees(value, 0)})?",
                lambda: self._send(request, what),
                informative=f"Above your confirmation threshold of {fmt.rupees(limit, 0)}.",
            )
            return
        self._send(request, what)

    def _send(self, request: OrderRequest, what: str) -> None:
        self.tasks.run(
            self.om.place_order(request),
            f"ladder order {what}",
            on_result=lambda result: self.say(
                f"{what}: order #{result.order_id} {result.status.value.lower()}", "info"
            ),
            on_error=lambda exc: self.say(
                f"{what} refused: {getattr(exc, 'reason', None) or exc}", "error"
            ),
        )

    def cancel_at(self, row: int, column: int) -> None:
        for order in self.model.orders_at(row, column):
            self.tasks.run(
                self.om.cancel_order(order.id),
                f"cancelling order #{order.id}",
                on_result=lambda _r, o=order: self.say(f"Order #{o.id}: cancel sent", "info"),
                on_error=lambda exc, o=order: self.say(
                    f"Order #{o.id} not cancelled: {getattr(exc, 'reason', None) or exc}", "error"
                ),
            )

    def drag_order(self, column: int, from_row: int, to_row: int) -> None:
        """Own orders at `from_row` modified to `to_row`'s price."""
        price = self.model.price_at(to_row)
        if price is not None:
            self.move_orders(self.model.orders_at(from_row, column), price)

    def move_orders(self, orders: list[Order], price: Decimal) -> None:
        for order in orders:
            if order.broker_order_id is None or order.status is OrderStatus.PENDING:
                self.say(
                    f"Order #{order.id} is still being sent: move it once it is open", "warning"
                )
                continue
            changes: dict[str, Decimal] = {}
            if order.order_type is OrderType.LIMIT:
                changes["price"] = price
            else:
                changes["trigger_price"] = price
                if (
                    order.order_type is OrderType.SL
                    and order.price is not None
                    and order.trigger_price
                ):
                    changes["price"] = order.price + (price - order.trigger_price)
            self.tasks.run(
                self.om.modify_order(order.id, **changes),
                f"moving order #{order.id}",
                on_result=lambda _r, o=order: self.say(
                    f"Order #{o.id} moved to {fmt.price(price)}", "info"
                ),
                on_error=lambda exc, o=order: self.say(
                    f"Order #{o.id} not moved: {getattr(exc, 'reason', None) or exc}", "error"
                ),
            )

    # ---- the keyboard ------------------------------------------------------------------

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.view:
            kind = event.type()
            if kind == event.Type.KeyPress:
                return self._key(event)
            if kind in (event.Type.Show, event.Type.Resize):
                # shown (a tab raised) or resized: the last price in the middle again,
                # once the view has its final size
                QTimer.singleShot(0, self, self.scroll_to_centre)
        return False

    def scroll_to_centre(self) -> None:
        """Scroll the centre row (the last price when centred) to the middle of the view."""
        if self.model.centre is not None:
            self.view.scrollTo(
                self.model.index(ROWS // 2, PRICE), QAbstractItemView.ScrollHint.PositionAtCenter
            )

    def _key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        index = self.view.currentIndex()
        row = index.row() if index.isValid() else ROWS // 2
        column = index.column() if index.isValid() else PRICE
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if ctrl and key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and column in (MY_BIDS, MY_ASKS):
            self._carry(row, column, -1 if key == Qt.Key.Key_Up else 1)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self.model.carry is not None:
                self._drop_carry(send=True)
            else:
                self.click_cell(row, column)
            return True
        if key == Qt.Key.Key_Delete and column in (MY_BIDS, MY_ASKS):
            self.cancel_at(row, column)
            return True
        if key == Qt.Key.Key_Escape and self.model.carry is not None:
            self._drop_carry(send=False)
            return True
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.lots.stepUp()
            return True
        if key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.lots.stepDown()
            return True
        if key in (Qt.Key.Key_C, Qt.Key.Key_Home) and not ctrl:
            self.recentre()
            return True
        return False

    def _carry(self, row: int, column: int, step: int) -> None:
        side = OrderSide.BUY if column == MY_BIDS else OrderSide.SELL
        carry = self.model.carry
        if carry is None or carry[0] is not side:
            if not self.model.orders_at(row, column):
                return
            origin = self.model.price_at(row)
            carry = (side, origin, origin)
        target = carry[2] - step * self.model.tick
        self.model.carry = (side, carry[1], target)
        target_row = self.model.row_of(target)
        if target_row is not None:
            self.view.setCurrentIndex(self.model.index(target_row, column))
        self.say(
            f"Move {side.value} orders at {fmt.price(carry[1])} to {fmt.price(target)}: "
            "Enter sends, Esc drops",
            "info",
        )
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(ROWS - 1, 4))

    def _drop_carry(self, *, send: bool) -> None:
        side, origin, target = self.model.carry
        self.model.carry = None
        if send and target != origin:
            self.move_orders(list(self.model.own.get((side, origin), [])), target)
        else:
            self.notice.dismiss()
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(ROWS - 1, 4))

    def shutdown(self) -> None:
        self.subscriptions.close()
        self._timer.stop()
