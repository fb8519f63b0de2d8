"""The window's options side (issue 16): the option chain dock, the basket dock, the
options hotkeys and the links from the market watch and positions to the chain.

`OptionsUi(window, services)` is built by the window once its other controllers exist
(it uses the ticket, the positions panel, the confirmations and the order actions) and
adds, without touching the other menus:

- the dock objectName "optionChain" (an `OptionChainPanel`) as a tab beside the blotter,
  and the dock "basketDock" (a `BasketPanel`) beside it;
- the menu "Options" with window-wide keys (free in the window; the shortcut-conflict
  test walks them): Ctrl+Alt+O the chain, Ctrl+Alt+B the basket, Ctrl+Alt+C / Ctrl+Alt+P
  buy the ATM call / put of the chain's underlying (strike offset, lots, stop-loss and
  target % from Settings: atm_strike_offset, atm_lots, option_stop_pct,
  option_target_pct), Ctrl+Alt+U exit everything on the chain's underlying, Ctrl+Alt+R
  reverse the selected position;
- a click on a price in the chain loads that option into the ticket on that side (ask ->
  BUY at the ask, bid -> SELL at the bid, LTP -> the ticket's side at the LTP), a lot;
- selecting an index, a future or an option in the market watch or the positions grid
  shows its underlying's chain.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox

from desktop_oms.domain import OrderRequest, OrderSide, OrderType
from desktop_oms.domain.money import round_to_tick
from desktop_oms.marketdata.options.snapshot import ChainSnapshot, OptionQuote
from desktop_oms.ui.chain.basket import BasketPanel
from desktop_oms.ui.chain.model import PRICE_SIDES, ChainCell
from desktop_oms.ui.chain.panel import OptionChainPanel
from desktop_oms.ui.chain.underlying import underlying_of
from desktop_oms.ui.common import format as fmt

__all__ = ["OPTION_KEYS", "OptionsUi"]

log = logging.getLogger(__name__)

# objectName -> (menu text, key)
OPTION_KEYS = {
    "actionOptionChain": ("Option &chain", "Ctrl+Alt+O"),
    "actionBasket": ("&Basket", "Ctrl+Alt+B"),
    "actionBuyAtmCall": ("Buy ATM &call", "Ctrl+Alt+C"),
    "actionBuyAtmPut": ("Buy ATM &put", "Ctrl+Alt+P"),
    "actionExitUnderlying": ("E&xit everything on this underlying", "Ctrl+Alt+U"),
    "actionReversePosition": ("&Reverse the selected position", "Ctrl+Alt+R"),
}
HUNDRED = Decimal(100)


class OptionsUi(QObject):
    def __init__(self, window: QMainWindow, services) -> None:
        super().__init__(window)
        self.window = window
        self.services = services
        self.settings = services.settings
        self.chain: OptionChainPanel | None = None
        self.chain_dock: QDockWidget | None = None
        self.basket: BasketPanel | None = None
        self.basket_dock: QDockWidget | None = None
        self.actions: dict[str, QAction] = {}
        if services.chains is None:
            return
        self.chain = OptionChainPanel(services.chains, services.subscribe, window)
        self.chain_dock = window._dock("optionChain", "Option chain", self.chain)  # noqa: SLF001
        self.basket = BasketPanel(
            services.order_manager.place_basket,
            services.basket.preview if services.basket is not None else None,
            services.instrument_source,
            window.tasks,
            window,
        )
        self.basket_dock = window._dock("basketDock", "Basket", self.basket)  # noqa: SLF001
        for dock in (self.chain_dock, self.basket_dock):
            window.layout_manager.extra_tabs.append(dock)
        window.layout_manager.add_header("chain", self.chain.view.horizontalHeader())
        self.chain.cell_clicked.connect(self.load_into_ticket)
        self.chain.basket_requested.connect(self.add_to_basket)
        self.basket.outcome.connect(self._on_basket_outcome)
        self._build_actions()
        self._link()
        window.positions_panel.set_grouping(self.derivative)

    def derivative(self, exchange: str, symbol: str):
        """The instrument of an index option or future (positions group by its name)."""
        try:
            instrument = self.services.instrument_source.get(exchange, symbol)
        except Exception:  # noqa: BLE001 - not grouped
            return None
        if instrument is None or instrument.exchange not in ("NFO", "BFO"):
            return None
        return instrument if (instrument.is_option or instrument.is_future) else None

    # ------------------------------------------------------------------ menus and keys
    def _build_actions(self) -> None:
        w = self.window
        handlers = {
            "actionOptionChain": self.show_chain,
            "actionBasket": self.show_basket,
            "actionBuyAtmCall": lambda: self.buy_atm("CE"),
            "actionBuyAtmPut": lambda: self.buy_atm("PE"),
            "actionExitUnderlying": self.request_exit_underlying,
            "actionReversePosition": self.request_reverse,
        }
        menu = w.menuBar().addMenu("O&ptions")
        menu.setObjectName("optionsMenu")
        for name, (text, keys) in OPTION_KEYS.items():
            action = QAction(text, w)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _c=False, h=handlers[name]: h())
            w.addAction(action)
            menu.addAction(action)
            self.actions[name] = action
            if name == "actionBasket":
                menu.addSeparator()
        self.menu = menu
        view_menu = w.menus.view_menu
        separator = next((a for a in view_menu.actions() if a.isSeparator()), None)
        for dock in (self.chain_dock, self.basket_dock):
            view_menu.insertAction(separator, dock.toggleViewAction())

    def _link(self) -> None:
        """Selecting an index or an F&O instrument elsewhere shows its chain."""
        w = self.window
        w.market_watch.symbolSelected.connect(self.follow_instrument)
        selection = w.positions_grid.selectionModel()
        if selection is not None:
            selection.currentRowChanged.connect(
                lambda current, _prev: self._follow_position(current)
            )

    def _follow_position(self, index) -> None:
        if not index.isValid():
            return
        try:
            position = self.window.positions_model.item_at(index.row())
        except IndexError:
            return
        self.follow_instrument(position.exchange, position.symbol)

    def follow_instrument(self, exchange: str, symbol: str) -> str | None:
        """Show the chain of this instrument's underlying (if it has one)."""
        if self.chain is None:
            return None
        name = underlying_of(
            self.services.instrument_source, self.services.chains.rules, exchange, symbol
        )
        if name is not None and name != self.chain.current_underlying:
            self.chain.select_underlying(name)
        return name

    # ------------------------------------------------------------------ docks
    def show_chain(self) -> None:
        if self.chain_dock is None:
            return
        self.chain_dock.show()
        self.chain_dock.raise_()
        self.chain.refresh(subscribe=True)
        self.chain.centre_on_atm()
        self.chain.view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_basket(self) -> None:
        if self.basket_dock is None:
            return
        self.basket_dock.show()
        self.basket_dock.raise_()

    # ------------------------------------------------------------------ chain -> ticket
    def load_into_ticket(self, cell: ChainCell) -> bool:
        """A price clicked in the chain: that option on the ticket, on the price's side."""
        if not cell.is_price:
            return False
        ticket = self.window.ticket
        side = PRICE_SIDES[cell.field] or ticket.side.value
        self._ticket_for(cell.quote, side, cell.price)
        return True

    def _ticket_for(self, quote: OptionQuote, side: str, price: Decimal | None) -> None:
        w = self.window
        ticket = w.ticket
        w.ticket_dock.show()
        w.ticket_dock.raise_()
        ticket.open_for(OrderSide(side), quote.symbol, quote.exchange)
        if price is not None and price > 0:
            ticket.order_type.setCurrentText(OrderType.LIMIT.value)
            ticket.price.setValue(price)

    # ------------------------------------------------------------------ hotkeys
    def _snapshot(self) -> ChainSnapshot | None:
        if self.chain is None:
            return None
        return self.chain.refresh() or self.chain.model.snapshot

    def atm_option(self, kind: str) -> OptionQuote | None:
        """The option the buy-ATM keys take: the ATM strike moved `atm_strike_offset`
        strikes out of the money (calls up, puts down)."""
        snap = self._snapshot()
        if snap is None or snap.atm_index is None:
            return None
        offset = self.settings.atm_strike_offset
        i = snap.atm_index + (offset if kind == "CE" else -offset)
        if not 0 <= i < len(snap.rows):
            return None
        row = snap.rows[i]
        return row.call if kind == "CE" else row.put

    def buy_atm(self, kind: str) -> bool:
        """Ctrl+Alt+C / Ctrl+Alt+P: buy the ATM call / put of the chain's underlying, on the
        ticket (so it goes through the ticket's checks and confirmation), `atm_lots` lots
        at the offer, with the stop-loss and target of the settings attached."""
        quote = self.atm_option(kind)
        ticket = self.window.ticket
        if quote is None:
            what = self.chain.current_underlying if self.chain is not None else None
            self._say(
                "warning", f"No ATM {kind} to buy: no chain shown for {what or 'any underlying'}"
            )
            return False
        price = quote.ask or quote.ltp
        instrument = self.services.instrument_source.get(quote.exchange, quote.symbol)
        if price is None or price <= 0 or instrument is None:
            self._say("warning", f"No price for {quote.symbol} yet: not sent")
            return False
        self._ticket_for(quote, "BUY", price)
        ticket.quantity.set_quantity(self.settings.atm_lots * instrument.lot_size)
        tick = instrument.tick_size
        stop_pct, target_pct = self.settings.option_stop_pct, self.settings.option_target_pct
        ticket.stop_loss.clear()
        ticket.take_profit.clear()
        if stop_pct > 0:
            # (rounded towards the price: the risk is never more than the % says)
            stop = round_to_tick(price * (HUNDRED - stop_pct) / HUNDRED, tick, "up")
            if stop > 0:
                ticket.stop_loss.setValue(stop)
        if target_pct > 0:
            ticket.take_profit.setValue(
                round_to_tick(price * (HUNDRED + target_pct) / HUNDRED, tick, "up")
            )
        return ticket.send(OrderSide.BUY)

    def positions_on(self, underlying: str) -> list:
        source = self.services.instrument_source
        rules = self.services.chains.rules if self.services.chains is not None else None
        return [
            p
            for p in self.window.positions_model.open_positions()
            if underlying_of(source, rules, p.exchange, p.symbol) == underlying
        ]

    def request_exit_underlying(self) -> QMessageBox | None:
        """Ctrl+Alt+U: exit every open position on the chain's underlying (its options,
        futures), after a confirmation."""
        name = self.chain.current_underlying if self.chain is not None else None
        if not name:
            self._say("info", "No underlying chosen in the option chain")
            return None
        positions = self.positions_on(name)
        if not positions:
            self._say("info", f"No open positions on {name}")
            return None
        lines = "\n".join(
            f"{p.exchange}:{p.symbol} {'+' if p.quantity > 0 else ''}{fmt.quantity(p.quantity)}"
            for p in positions[:12]
        )
        return self.window.confirmations.ask(
            f"Exit {name}",
            f"Square off all {len(positions)} open position(s) on {name} at market?\n{lines}",
            lambda: self.window.order_actions.exit_positions(positions, f"exit {name}"),
            yes_text="E&xit them",
            no_text="&Keep them",
            default_yes=True,
        )

    def request_reverse(self) -> QMessageBox | None:
        """Ctrl+Alt+R: reverse the selected position, after a confirmation: exit it (its
        bracket legs cancelled first, a reduce-only market order), then the same quantity
        the other way as a limit at the touch (the same order at market straight after the
        exit would be refused as a likely duplicate)."""
        position = self.window.positions_panel.current_position()
        if position is None or not position.quantity:
            self._say("info", "Select an open position to reverse")
            return None
        qty = abs(position.quantity)
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return self.window.confirmations.ask(
            "Reverse position",
            f"Reverse {position.exchange}:{position.symbol} "
            f"{'+' if position.quantity > 0 else ''}{fmt.quantity(position.quantity)}: exit it "
            f"at market, then {side.value} {fmt.quantity(qty)} at the touch (a marketable limit)?",
            lambda: self.reverse(position),
            yes_text="&Reverse",
            no_text="&Keep it",
            default_yes=False,
        )

    def _touch(self, exchange: str, symbol: str, side: OrderSide) -> Decimal | None:
        """A marketable limit for the new side: the offer to buy, the bid to sell (the
        last price without a quote), on the tick."""
        tick = self.services.quotes.tick(exchange, symbol)
        if tick is None:
            return None
        price = (tick.ask if side is OrderSide.BUY else tick.bid) or tick.last_price
        instrument = self.services.instrument_source.get(exchange, symbol)
        if instrument is not None and price is not None:
            price = round_to_tick(
                price, instrument.tick_size, "up" if side is OrderSide.BUY else "down"
            )
        return price

    def reverse(self, position):
        om = self.services.order_manager
        qty = abs(position.quantity)
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY

        async def run() -> str:
            outcome = await om.exit_position(
                position.exchange,
                position.symbol,
                position.product,
                confirmed_quantity=position.quantity,
                reason="reverse (window)",
            )
            if outcome.level == "error":
                raise RuntimeError(f"exit failed, not reversed: {outcome.message}")
            result = await om.place_order(
                OrderRequest(
                    symbol=position.symbol,
                    exchange=position.exchange,
                    side=side,
                    quantity=qty,
                    order_type=OrderType.LIMIT,
                    price=self._touch(position.exchange, position.symbol, side),
                    product=position.product,
                )
            )
            return f"Reversed {position.symbol}: {side.value} {fmt.quantity(qty)} sent (#{result.order_id})"

        return self.window.tasks.run(
            run(), f"reverse {position.symbol}", on_result=lambda text: self._say("info", text)
        )

    # ------------------------------------------------------------------ baskets
    def add_to_basket(self, cell: ChainCell, side: str) -> None:
        if self.basket is None:
            return
        price = cell.quote.ask if side == "BUY" else cell.quote.bid
        self.basket.add_leg(
            cell.quote.exchange,
            cell.quote.symbol,
            OrderSide(side),
            price or cell.quote.ltp,
            product=self.window.ticket.product.currentText(),
        )
        self.show_basket()

    def _on_basket_outcome(self, level: str, text: str) -> None:
        self._say(level, text)

    def _say(self, level: str, text: str) -> None:
        self.window.alerts.add(level, text, "options")

    def close(self) -> None:
        if self.chain is not None:
            self.chain.timer.stop()
