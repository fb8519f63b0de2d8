"""The basket (dock objectName "basketDock"): a multi-leg order built from the option
chain, previewed before it is sent and sent as one action.

Each leg is a LIMIT order at the price it was added at (a buy at the offer, a sell at the
bid), in lots. The preview (`BasketPreviewer.preview`, the risk layer's) runs as a kept
task after every change, coalesced: each leg's premium, margin, charges, how many orders
it goes as (above the freeze quantity) and the checks it would fail now, with the totals
and the funds available. Send (`OrderManager.place_basket`: buy legs first, each through
every check; the first failure stops the rest) shows its outcome under the table and in
the alerts; each leg says whether it went.

The table is a keyed model (`BasketModel`, one row per leg id); nothing here blocks and
no dialog is exec()'d.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.ui.common import (
    Column,
    KeyedTableModel,
    make_table,
    num_column,
    selected_items,
    side_column,
    text_column,
    theme,
)
from desktop_oms.ui.common import format as fmt

__all__ = ["BasketLegRow", "BasketModel", "BasketPanel"]

PREVIEW_DELAY_MS = 150


@dataclass(frozen=True, slots=True)
class BasketLegRow:
    id: int
    request: OrderRequest
    lot_size: int
    preview: object | None = None  # risk.basket.LegPreview
    result: str = ""  # after sending: "sent #12 OPEN", "failed: ...", "not sent"

    @property
    def exchange(self) -> str:
        return self.request.exchange

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def lots(self) -> int:
        return self.request.quantity // max(self.lot_size, 1)

    @property
    def problems(self) -> str:
        if self.preview is None:
            return ""
        return "; ".join(reason for _check, reason in self.preview.problems)


def _p(row: BasketLegRow, name: str):
    return None if row.preview is None else getattr(row.preview, name)


BASKET_COLUMNS: tuple[Column, ...] = (
    side_column(lambda r: r.request.side),
    text_column("symbol", "Symbol", lambda r: r.request.symbol),
    num_column("lots", "Lots", lambda r: r.lots),
    num_column("quantity", "Qty", lambda r: r.request.quantity, display=fmt.quantity),
    num_column("price", "Price", lambda r: r.request.price, display=fmt.price),
    num_column("premium", "Premium", lambda r: _p(r, "premium"), display=fmt.money),
    num_column("margin", "Margin", lambda r: _p(r, "margin"), display=fmt.money),
    num_column("charges", "Charges", lambda r: _p(r, "charges"), display=fmt.money),
    num_column("slices", "Slices", lambda r: _p(r, "slices")),
    text_column(
        "checks",
        "Checks",
        lambda r: r.problems or ("ok" if r.preview is not None else ""),
        colour=lambda r: theme.qcolor(theme.LOSS if r.problems else theme.PROFIT),
        tooltip=lambda r: r.problems or None,
    ),
    text_column("result", "Result", lambda r: r.result, tooltip=lambda r: r.result or None),
)


class BasketModel(KeyedTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(BASKET_COLUMNS, lambda r: r.id, flush_interval_ms=0, parent=parent)


class BasketPanel(QWidget):
    """objectName "basketPanel": legs, totals, Send."""

    outcome = Signal(str, str)  # (level, text) of a send
    previewed = Signal(object)  # BasketPreview

    def __init__(
        self,
        place_basket: Callable[[list[OrderRequest]], Awaitable],
        preview: Callable[[list[OrderRequest]], Awaitable] | None,
        instruments,
        tasks,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("basketPanel")
        self._place_basket = place_basket
        self._preview = preview
        self._instruments = instruments
        self._tasks = tasks
        self._ids = itertools.count(1)
        self._preview_generation = 0
        self.preview_task = None
        self.send_task = None
        self.last_preview = None
        self.last_outcome = None

        self.model = BasketModel(self)
        self.view = make_table("basketTable", self.model, self)
        self.view.setSortingEnabled(False)
        self.model.sort(-1)  # the legs in the order they were added (make_table sorted)
        self.lots = QSpinBox(self)
        self.lots.setObjectName("basketLots")
        self.lots.setRange(1, 500)
        self.lots.setSuffix(" lots")
        self.lots.setToolTip("Lots of the selected leg (and of the next leg added)")
        self.remove_button = QPushButton("&Remove leg", self)
        self.remove_button.setObjectName("basketRemove")
        self.clear_button = QPushButton("C&lear", self)
        self.clear_button.setObjectName("basketClear")
        self.send_button = QPushButton("&Send basket", self)
        self.send_button.setObjectName("basketSend")
        self.totals = QLabel("Add legs from the option chain (right-click a strike)", self)
        self.totals.setObjectName("basketTotals")
        self.totals.setWordWrap(True)
        self.result_label = QLabel("", self)
        self.result_label.setObjectName("basketOutcome")
        self.result_label.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.lots)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.totals)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.run_preview)
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button.clicked.connect(self.clear)
        self.send_button.clicked.connect(self.send)
        self.lots.valueChanged.connect(self._lots_changed)
        self.view.selectionModel().currentRowChanged.connect(self._row_changed)
        self._update_buttons()

    # ------------------------------------------------------------------ legs
    def legs(self) -> list[OrderRequest]:
        return [row.request for row in self.model.visible_items()]

    def rows(self) -> list[BasketLegRow]:
        return self.model.visible_items()

    def add_leg(
        self,
        exchange: str,
        symbol: str,
        side: OrderSide,
        price: Decimal | None,
        *,
        lots: int | None = None,
        product: str | Product = Product.MIS,
    ) -> BasketLegRow | None:
        instrument = self._instruments.get(exchange, symbol)
        if instrument is None or price is None or price <= 0:
            self.result_label.setText(f"{exchange}:{symbol} has no price yet: not added")
            return None
        lots = lots or self.lots.value()
        request = OrderRequest(
            symbol=symbol,
            exchange=exchange,
            side=side,
            quantity=lots * instrument.lot_size,
            order_type=OrderType.LIMIT,
            price=price,
            product=Product(getattr(product, "value", product)),
            source="basket",
        )
        row = BasketLegRow(next(self._ids), request, instrument.lot_size)
        self.model.upsert([row])
        self.result_label.setText("")
        self._changed()
        return row

    def set_lots(self, leg_id: int, lots: int) -> None:
        row = self.model.get(leg_id)
        if row is None or lots < 1 or lots == row.lots:
            return
        request = replace(row.request, quantity=lots * row.lot_size)
        self.model.upsert([replace(row, request=request, preview=None, result="")])
        self._changed()

    def remove_selected(self) -> None:
        for row in selected_items(self.view):
            self.model.remove(row.id)
        self._changed()

    def clear(self) -> None:
        self.model.reset([])
        self.result_label.setText("")
        self._changed()

    def _current(self) -> BasketLegRow | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.model.item_at(index.row())

    def _row_changed(self, current, _previous) -> None:
        row = self._current()
        if row is not None:
            self.lots.blockSignals(True)
            self.lots.setValue(row.lots)
            self.lots.blockSignals(False)

    def _lots_changed(self, value: int) -> None:
        row = self._current()
        if row is not None:
            self.set_lots(row.id, value)

    def _changed(self) -> None:
        self._update_buttons()
        self._preview_generation += 1
        if len(self.model):
            self._preview_timer.start()
        else:
            self.last_preview = None
            self.totals.setText("Add legs from the option chain (right-click a strike)")

    def _update_buttons(self) -> None:
        has = len(self.model) > 0
        sending = self.send_task is not None and not self.send_task.done()
        self.send_button.setEnabled(has and not sending)
        self.remove_button.setEnabled(has and not sending)
        self.clear_button.setEnabled(has and not sending)

    # ------------------------------------------------------------------ preview
    def run_preview(self):
        """Preview the legs as they are now (a kept task; a newer change wins)."""
        legs = self.legs()
        if not legs or self._preview is None:
            return None
        generation = self._preview_generation

        def show(preview) -> None:
            if generation == self._preview_generation:
                self._show_preview(preview)

        self.preview_task = self._tasks.run(self._preview(legs), "basket preview", on_result=show)
        return self.preview_task

    def _show_preview(self, preview) -> None:
        self.last_preview = preview
        by_request = {id(leg.request): leg for leg in preview.legs}
        rows = [
            replace(row, preview=by_request.get(id(row.request), row.preview))
            for row in self.model.visible_items()
        ]
        self.model.upsert(rows)
        margin = fmt.rupees(preview.margin) if preview.margin is not None else "\u2014"
        available = fmt.rupees(preview.available) if preview.available is not None else "\u2014"
        fits = {True: "fits", False: "DOES NOT FIT", None: "?"}[preview.fits]
        problems = len(preview.problems)
        slices = sum(leg.slices for leg in preview.legs)
        text = (
            f"Premium paid {fmt.rupees(preview.premium_paid)} \u00b7 received "
            f"{fmt.rupees(preview.premium_received)} \u00b7 net {fmt.signed_money(preview.net_premium)}"
            f"\nMargin {margin} of {available} available ({fits}; {preview.source}) \u00b7 "
            f"charges {fmt.rupees(preview.charges)} \u00b7 {slices} order(s)"
        )
        if problems:
            text += f"\n{problems} check(s) would fail: see the Checks column"
        if preview.notes:
            text += "\n" + "; ".join(preview.notes)
        self.totals.setText(text)
        self.previewed.emit(preview)

    # ------------------------------------------------------------------ sending
    def send(self):
        legs = self.legs()
        if not legs or (self.send_task is not None and not self.send_task.done()):
            return None
        self.result_label.setText(f"Sending {len(legs)} leg(s)\u2026")
        self.send_task = self._tasks.run(
            self._place_basket(legs),
            "sending the basket",
            on_result=self._sent,
            on_error=lambda exc: self._failed(exc),
        )
        self._update_buttons()
        return self.send_task

    def _sent(self, outcome) -> None:
        self.last_outcome = outcome
        by_request = {id(leg.request): leg for leg in outcome.legs}
        rows = []
        for row in self.model.visible_items():
            leg = by_request.get(id(row.request))
            if leg is None:
                continue
            if leg.sent and leg.result is not None:
                text = f"sent #{leg.result.order_id} {leg.result.status.value}"
                if leg.result.sliced:
                    text += f" ({len(leg.result.slices)} slices)"
            elif leg is outcome.failed or (leg.sent and leg.error):
                text = f"failed: {leg.error}"
            else:
                text = leg.error or "not sent"
            rows.append(replace(row, result=text))
        self.model.upsert(rows)
        self.result_label.setText(outcome.message)
        self.outcome.emit(outcome.level, f"Basket: {outcome.message}")
        self._update_buttons()

    def _failed(self, exc: BaseException) -> None:
        self.result_label.setText(f"Basket not sent: {exc}")
        self.outcome.emit("error", f"Basket not sent: {exc}")
        self._update_buttons()
