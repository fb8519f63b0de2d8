"""Issue 16 in the window: the option chain dock, clicking a price into the ticket, lots on
the ticket, the blotter's slice groups, the options hotkeys, positions by underlying and
the basket (paper broker, real Application, offscreen)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QPushButton, QTableView

from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.ui.chain.model import ChainModel
from desktop_oms.ui.shell.shortcuts import shortcut_bindings

D = Decimal
NIFTY = ("NSE", "NIFTY 50")
SPOT = D("26000")  # the bundled listing's NIFTY strikes are around its close (~26,170)


@pytest.fixture
def app(make_app):
    app = make_app()
    # a tick of the index: the paper exchange reprices its futures and options (bid/ask,
    # OI) and the ticks reach the quote cache as the simulated market's would
    app.broker.set_last_price(*NIFTY, SPOT)
    return app


def chain_of(app):
    return app.window.options_ui.chain


def shown_chain(qtbot, app, underlying="NIFTY"):
    w = app.window
    w.options_ui.actions["actionOptionChain"].trigger()
    chain = chain_of(app)
    chain.select_underlying(underlying)
    qtbot.waitUntil(
        lambda: chain.model.rowCount() > 0 and chain.model.snapshot.underlying == underlying,
        timeout=3000,
    )
    return chain


def click(qtbot, view: QTableView, index) -> None:
    view.scrollTo(index)
    rect = view.visualRect(index)
    assert rect.isValid(), "the cell is not in view"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_chain_dock_is_a_table_view_on_a_keyed_model_with_the_headers(qtbot, app):
    w = app.window
    dock = w.findChild(QDockWidget, "optionChain")
    assert dock is not None and not dock.isVisible()  # a hidden tab until asked for
    chain = shown_chain(qtbot, app)
    assert dock.isVisible()
    view = chain.view
    assert isinstance(view, QTableView) and isinstance(view.model(), ChainModel)
    headers = [
        view.model().headerData(c, Qt.Orientation.Horizontal)
        for c in range(view.model().columnCount())
    ]
    for label in ("Strike", "LTP", "IV", "Delta", "OI"):
        assert label in headers
    assert headers.count("LTP") == 2 and headers.count("Delta") == 2  # calls and puts
    middle = headers.index("Strike")
    assert headers[:middle] == list(reversed(headers[middle + 1 :]))  # puts mirror calls


def test_chain_rows_are_strikes_in_order_with_the_atm_marked_and_in_view(qtbot, app):
    chain = shown_chain(qtbot, app)
    snap = chain.model.snapshot
    strikes = [row.strike for row in chain.model.visible_items()]
    assert strikes == sorted(strikes) and len(strikes) > 30
    atm_at = strikes.index(SPOT)
    assert strikes[atm_at - 1] == SPOT - 50 and strikes[atm_at + 1] == SPOT + 50
    assert len(strikes) - 1 - atm_at == 20  # ATM + 20 (the listing ends nearer below)
    atm = chain.model.atm_row()
    assert atm is not None and chain.model.item_at(atm).strike == snap.atm_strike == SPOT
    strike_col = chain.model.column_index("strike")
    assert chain.model.index(atm, strike_col).data().startswith("ATM")
    rect = chain.view.visualRect(chain.model.index(atm, strike_col))
    assert chain.view.viewport().rect().contains(rect.center())
    # the facts above the table
    assert chain.spot_label.text() == "Spot 26,000.00"
    assert chain.days_label.text().startswith("DTE ")
    assert "ATM IV" in chain.atm_iv_label.text() and "%" in chain.atm_iv_label.text()
    assert chain.pcr_label.text().startswith("PCR ") and "\u2014" not in chain.pcr_label.text()
    assert "lot 65" in chain.lot_label.text() and "freeze 1,800" in chain.lot_label.text()
    # the call side: IV and delta from the prices
    row = chain.model.item_at(atm)
    assert 0.3 < row.call.delta < 0.7 and -0.7 < row.put.delta < -0.3
    assert row.call.iv is not None and 0.03 < row.call.iv < 1.0


def test_spot_move_updates_cells_in_place_and_recentres_on_the_new_atm(qtbot, app):
    chain = shown_chain(qtbot, app)
    model = chain.model
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    before = model.snapshot.rows[model.atm_row()].call.ltp
    app.broker.set_last_price(*NIFTY, D("26210"))
    qtbot.waitUntil(lambda: model.snapshot.atm_strike == D("26200"), timeout=3000)
    assert not resets  # the same chain: rows updated in place, not re-filled
    atm = model.atm_row()
    assert model.item_at(atm).strike == D("26200")
    rect = chain.view.visualRect(model.index(atm, model.column_index("strike")))
    assert chain.view.viewport().rect().contains(rect.center())
    assert model.row_of_strike(D("26000")) is not None
    assert model.item_at(model.row_of_strike(D("26000"))).call.ltp > before


def test_clicking_the_ask_loads_a_buy_at_the_ask_and_the_bid_a_sell(qtbot, app):
    w = app.window
    chain = shown_chain(qtbot, app)
    atm = chain.model.snapshot.atm_strike
    ask_index = chain.cell_index(atm, "call", "ask")
    quote = chain.model.item_at(ask_index.row()).call
    click(qtbot, chain.view, ask_index)
    ticket = w.ticket
    assert ticket.side is OrderSide.BUY
    assert ticket.symbol.text() == quote.symbol and ticket.exchange.currentText() == "NFO"
    assert ticket.price.value() == quote.ask
    assert ticket.quantity.value() == 65  # one lot
    bid_index = chain.cell_index(atm, "put", "bid")
    put = chain.model.item_at(bid_index.row()).put
    click(qtbot, chain.view, bid_index)
    assert ticket.side is OrderSide.SELL
    assert ticket.symbol.text() == put.symbol and ticket.price.value() == put.bid
    # a non-price cell leaves the ticket alone
    click(qtbot, chain.view, chain.cell_index(atm, "call", "oi"))
    assert ticket.symbol.text() == put.symbol


def test_market_watch_and_positions_select_the_underlying_in_the_chain(qtbot, app, arun):
    w = app.window
    chain = shown_chain(qtbot, app, "BANKNIFTY")
    w.market_watch.symbolSelected.emit("NSE", "NIFTY 50")
    assert chain.current_underlying == "NIFTY"
    snap = chain.model.snapshot
    w.market_watch.symbolSelected.emit("NSE", "RELIANCE")  # no chain: unchanged
    assert chain.current_underlying == "NIFTY"
    finnifty = app.window.services.chains.snapshot("FINNIFTY").rows[0].call
    assert w.options_ui.follow_instrument(finnifty.exchange, finnifty.symbol) == "FINNIFTY"
    assert chain.current_underlying == "FINNIFTY"
    assert snap.underlying == "NIFTY"


# ------------------------------------------------------------------ lots on the ticket


def test_ticket_quantity_in_lots_for_an_option(qtbot, app):
    w = app.window
    ticket = w.ticket
    chain = shown_chain(qtbot, app)
    click(qtbot, chain.view, chain.cell_index(SPOT, "call", "ask"))
    assert ticket.lots.isVisibleTo(ticket) and ticket.lots.value() == 1
    assert "freeze 1,800" in ticket.instrument_label.text()
    ticket.lots.setValue(4)
    assert ticket.quantity.value() == 260
    ticket.quantity.set_quantity(195)
    assert ticket.lots.value() == 3
    qtbot.keyClick(ticket.quantity, Qt.Key.Key_Up)  # one lot up
    assert ticket.quantity.value() == 260 and ticket.lots.value() == 4
    ticket.quantity.set_quantity(100)  # not whole lots: no lots shown, the field says why
    assert ticket.lots.value() == 0
    assert "lot size" in ticket.check().reason()
    ticket.open_for(OrderSide.BUY, "RELIANCE", "NSE")
    assert not ticket.lots.isVisibleTo(ticket)  # a stock: units only


# ------------------------------------------------------------------ slices in the blotter


def option_at(app, strike_steps: int = 8, kind: str = "call"):
    snap = app.window.services.chains.snapshot("NIFTY")
    row = snap.rows[snap.atm_index + (strike_steps if kind == "call" else -strike_steps)]
    return getattr(row, kind)


def test_blotter_groups_the_slices_of_one_sliced_order(qtbot, app, arun):
    w = app.window
    quote = option_at(app)  # out of the money: 56 lots stay under the order value limit
    result = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol=quote.symbol,
                exchange=quote.exchange,
                side=OrderSide.BUY,
                quantity=56 * 65,  # 3,640: above twice the freeze quantity (1,800)
                order_type=OrderType.LIMIT,
                price=quote.ask,
                product=Product.MIS,
            )
        )
    )
    assert result.sliced and len(result.slices) == 3
    model = w.orders_model
    qtbot.waitUntil(
        lambda: all(model.row_for_key(i) is not None for i in result.order_ids), timeout=3000
    )
    group = result.slice_group
    assert model.slice_group_ids(group) == list(result.order_ids)
    col = model.column_index("slice")
    texts = [model.index(model.row_for_key(i), col).data() for i in result.order_ids]
    assert texts == [f"1/3  {group}", f"2/3  {group}", f"3/3  {group}"]
    rows = sorted(model.row_for_key(i) for i in result.order_ids)
    assert rows == list(range(rows[0], rows[0] + 3))  # together, whatever the sort
    tip = model.index(rows[0], col).data(Qt.ItemDataRole.ToolTipRole)
    assert "of 3 of one order of 3,640" in tip
    # an order sent whole has no slice text
    whole = arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol=quote.symbol,
                exchange=quote.exchange,
                side=OrderSide.BUY,
                quantity=65,
                order_type=OrderType.LIMIT,
                price=quote.ask,
                product=Product.MIS,
            )
        )
    )
    qtbot.waitUntil(lambda: model.row_for_key(whole.order_id) is not None, timeout=3000)
    assert model.index(model.row_for_key(whole.order_id), col).data() == ""


# ------------------------------------------------------------------ hotkeys, groups


def press_yes(qtbot, box) -> None:
    assert box is not None and box.isVisible()
    yes = box.findChild(QPushButton, "confirmYes")
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)


def position_of(app, quote):
    return app.position_manager.peek(quote.exchange, quote.symbol, Product.MIS)


def test_hotkeys_have_free_keys_and_buy_the_atm_call_and_put_with_stop_and_target(qtbot, make_app):
    app = make_app(atm_strike_offset=1, atm_lots=2)
    app.broker.set_last_price(*NIFTY, SPOT)
    w = app.window
    shown_chain(qtbot, app)
    keys = {name: a.shortcut().toString() for name, a in w.options_ui.actions.items()}
    assert keys["actionBuyAtmCall"] == "Ctrl+Alt+C" and keys["actionBuyAtmPut"] == "Ctrl+Alt+P"
    taken = {
        b.keys.toString(): b.owner.objectName()
        for b in shortcut_bindings(w)
        if b.owner not in w.options_ui.actions.values()
    }
    assert not set(keys.values()) & set(taken), "an options key is taken already"
    rows = {w.shortcut_rows()[i][0] for i in range(len(w.shortcut_rows()))}
    assert {"Ctrl+Alt+C", "Ctrl+Alt+U", "Ctrl+Alt+R"} <= rows  # in Help > Keyboard shortcuts
    snap = w.options_ui.chain.model.snapshot
    call = snap.rows[snap.atm_index + 1].call  # one strike out of the money
    put = snap.rows[snap.atm_index - 1].put
    w.options_ui.actions["actionBuyAtmCall"].trigger()  # (real keys: tests/e2e)
    qtbot.waitUntil(lambda: position_of(app, call).quantity == 130, timeout=5000)
    qtbot.waitUntil(
        lambda: any(o.symbol == call.symbol for o in w.orders_model.items()), timeout=3000
    )
    entry = next(
        o for o in w.orders_model.items() if o.symbol == call.symbol and o.source != "bracket"
    )
    assert entry.side is OrderSide.BUY and entry.price == call.ask
    assert entry.stop_loss is not None and entry.take_profit is not None
    assert entry.stop_loss <= call.ask * D("0.81") and entry.take_profit >= call.ask * D("1.4")
    # the ticket has finished sending the call (a second send meanwhile is refused: busy)
    qtbot.waitUntil(lambda: w.ticket.pending_task is None or w.ticket.pending_task.done())
    w.options_ui.actions["actionBuyAtmPut"].trigger()
    qtbot.waitUntil(lambda: position_of(app, put).quantity == 130, timeout=5000)
    # positions grouped by underlying: a long strangle, its combined premium and P&L
    panel = w.positions_panel
    qtbot.waitUntil(
        lambda: panel.groups_model.rowCount() == 1 and panel.groups_model.item_at(0).legs == 2,
        timeout=3000,
    )
    assert panel.groups.isVisible()
    group = panel.groups_model.item_at(0)
    low, high = sorted((put_strike(snap, -1), put_strike(snap, 1)))
    assert group.underlying == "NIFTY" and group.legs == 2
    assert group.structure == f"Long strangle {low}/{high}"
    qtbot.waitUntil(
        lambda: (
            panel.groups_model.item_at(0).premium
            == position_of(app, call).last_price + position_of(app, put).last_price
        ),
        timeout=3000,
    )
    assert (
        group.entry_premium
        == position_of(app, call).average_price + position_of(app, put).average_price
    )
    # exit everything on NIFTY (its legs cancelled first), after a confirmation
    box = w.options_ui.request_exit_underlying()
    assert "NIFTY" in box.text() and call.symbol in box.text()
    press_yes(qtbot, box)
    qtbot.waitUntil(
        lambda: position_of(app, call).quantity == 0 and position_of(app, put).quantity == 0,
        timeout=5000,
    )


def put_strike(snap, steps: int) -> str:
    return str(snap.rows[snap.atm_index + steps].strike)


def test_reverse_flips_the_selected_position(qtbot, app, arun):
    w = app.window
    quote = option_at(app, 3)
    arun(
        app.order_manager.place_order(
            OrderRequest(
                symbol=quote.symbol,
                exchange=quote.exchange,
                side=OrderSide.BUY,
                quantity=130,
                order_type=OrderType.LIMIT,
                price=quote.ask,
                product=Product.MIS,
            )
        )
    )
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 1, timeout=3000)
    row = w.positions_model.row_for_key((quote.exchange, quote.symbol, Product.MIS))
    w.positions_grid.setFocus()
    w.positions_grid.setCurrentIndex(w.positions_model.index(row, 0))
    assert w.options_ui.chain.current_underlying == "NIFTY"  # the chain follows the grid
    box = w.options_ui.request_reverse()
    assert "Reverse" in box.text()
    press_yes(qtbot, box)
    qtbot.waitUntil(lambda: position_of(app, quote).quantity == -130, timeout=5000)


def test_group_positions_names_straddles_and_leaves_stocks_out(make_position):
    from datetime import date

    from desktop_oms.domain import Instrument
    from desktop_oms.ui.positions import group_positions

    expiry = date(2026, 12, 29)

    def option(symbol, kind, strike):
        return Instrument(
            "NFO",
            symbol,
            name="BANKNIFTY",
            instrument_type=kind,
            strike=D(strike),
            expiry=expiry,
            lot_size=30,
        )

    listing = {
        ("NFO", "BNCE"): option("BNCE", "CE", "60000"),
        ("NFO", "BNPE"): option("BNPE", "PE", "60000"),
    }

    def describe(exchange, symbol):
        return listing.get((exchange, symbol))

    legs = [
        make_position(
            "BNCE",
            exchange="NFO",
            quantity=-30,
            average_price=D("500"),
            last_price=D("450"),
            unrealized_pnl=D("1500"),
        ),
        make_position(
            "BNPE",
            exchange="NFO",
            quantity=-30,
            average_price=D("480"),
            last_price=D("470"),
            unrealized_pnl=D("300"),
        ),
        make_position("RELIANCE"),
    ]
    (group,) = group_positions(legs, describe)
    assert group.structure == "Short straddle 60000"
    assert group.premium == D("920") and group.entry_premium == D("980")
    assert group.premium_change == D("-60") and group.total_pnl == D("1800")
    legs[1] = make_position(
        "BNPE", exchange="NFO", quantity=-60, average_price=D("480"), last_price=D("470")
    )
    (group,) = group_positions(legs, describe)
    assert group.structure == "" and group.premium is None  # not a pair: no structure


# ------------------------------------------------------------------ baskets


def test_basket_from_the_chain_previews_and_sends_buys_first(qtbot, app):
    w = app.window
    chain = shown_chain(qtbot, app)
    ui = w.options_ui
    atm = chain.model.snapshot.atm_strike
    # "Add to basket" on a strike's cell: a short straddle hedged by a long strangle
    menu = chain.context_menu(chain.cell_index(atm, "call", "ltp"))
    names = [a.objectName() for a in menu.actions()]
    assert names == ["chainBasketBuy", "chainBasketSell"]
    menu.actions()[1].trigger()  # SELL the ATM call
    chain.context_menu(chain.cell_index(atm, "put", "ltp")).actions()[1].trigger()
    wing = chain.model.snapshot.rows[chain.model.atm_row() + 4]
    chain.context_menu(chain.cell_index(wing.strike, "call", "ask")).actions()[0].trigger()
    basket = ui.basket
    assert ui.basket_dock.isVisible()
    assert [r.request.side for r in basket.rows()] == [
        OrderSide.SELL,
        OrderSide.SELL,
        OrderSide.BUY,
    ]
    sold = basket.rows()[0].request
    assert sold.price == chain.model.snapshot.rows[chain.model.atm_row()].call.bid  # at the bid
    assert basket.rows()[2].request.price == wing.call.ask
    # the preview: per leg premium, margin, charges, slices; totals
    qtbot.waitUntil(lambda: all(r.preview is not None for r in basket.rows()), timeout=5000)
    preview = basket.last_preview
    assert [leg.request.side for leg in preview.legs] == [
        OrderSide.BUY,
        OrderSide.SELL,
        OrderSide.SELL,
    ]
    model = basket.model
    for row in range(3):
        for key in ("premium", "margin", "charges", "slices"):
            assert model.index(row, model.column_index(key)).data(), key
    assert "Premium paid" in basket.totals.text() and "Margin" in basket.totals.text()
    # more lots than one order may carry: the preview says how many slices
    basket.view.setCurrentIndex(model.index(0, 0))
    basket.lots.setValue(30)  # 1,950 > the freeze quantity 1,800
    qtbot.waitUntil(
        lambda: basket.rows()[0].preview is not None and basket.rows()[0].preview.slices == 2,
        timeout=5000,
    )
    basket.lots.setValue(1)
    qtbot.waitUntil(
        lambda: basket.rows()[0].preview is not None and basket.rows()[0].preview.slices == 1,
        timeout=5000,
    )
    # Send: every leg goes (buys first) and says so; the positions follow
    qtbot.mouseClick(basket.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: basket.last_outcome is not None, timeout=5000)
    assert basket.last_outcome.complete, basket.last_outcome.message
    assert all(r.result.startswith("sent #") for r in basket.rows())
    assert basket.result_label.text() == basket.last_outcome.message
    qtbot.waitUntil(lambda: len(w.positions_model.open_positions()) == 3, timeout=5000)


def test_basket_send_stops_at_a_failed_leg_and_says_which(qtbot, app):
    w = app.window
    chain = shown_chain(qtbot, app)
    basket = w.options_ui.basket
    atm = chain.model.snapshot.atm_strike
    chain.context_menu(chain.cell_index(atm, "call", "ask")).actions()[0].trigger()
    chain.context_menu(chain.cell_index(atm, "put", "bid")).actions()[1].trigger()
    app.broker.inject_rejection("the exchange says no")
    qtbot.mouseClick(basket.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: basket.last_outcome is not None, timeout=5000)
    outcome = basket.last_outcome
    assert not outcome.complete
    results = [r.result for r in basket.rows()]
    assert results[0].startswith("failed") and "the exchange says no" in results[0]
    assert results[1].startswith("not sent")  # the put (a sell) waited for the buy
    assert (
        "not sent" in basket.result_label.text() or "stopped" in basket.result_label.text().lower()
    )


def test_the_chain_streams_the_strikes_it_shows_as_the_atm_moves(qtbot, app):
    from desktop_oms.ui.chain import OptionChainPanel

    asked: list[tuple[str, str]] = []
    panel = OptionChainPanel(app.window.services.chains, asked.extend, refresh_ms=10_000)
    qtbot.addWidget(panel)
    panel.select_underlying("NIFTY")
    snap = panel.refresh()
    assert NIFTY in asked
    shown = {key for row in snap.rows for key in (row.call.key, row.put.key)}
    assert shown <= set(asked)
    app.broker.set_last_price(*NIFTY, SPOT + 400)
    qtbot.waitUntil(lambda: panel.refresh().atm_strike == SPOT + 400, timeout=3000)
    top = panel.model.snapshot.rows[-1]
    assert top.strike > max(r.strike for r in snap.rows)  # new strikes came in view
    assert top.call.key in asked and top.put.key in asked


# ------------------------------------------------------------------ columns


def test_the_chains_columns_fit_their_numbers_and_are_chosen_on_both_sides(qtbot, make_app):
    """Each column fits the numbers it shows; OI, volume, change, IV and delta are shown or
    hidden for calls and puts together from the header's menu (volume hidden at first: the
    chain fits a laptop, see tests/e2e/test_options_e2e.py), and the choice survives a
    restart. Scrolled sideways, the strikes stay in the middle."""
    from PySide6.QtGui import QAction

    from desktop_oms.ui.chain.panel import HIDEABLE_FIELDS
    from tests.gui.conftest import run_async

    app = make_app(size=(1000, 700))
    app.broker.set_last_price(*NIFTY, SPOT)
    chain = shown_chain(qtbot, app)
    view, model = chain.view, chain.model
    header = view.horizontalHeader()
    assert chain.hidden_fields() == ["volume"]
    # every number fits its column (the widest text each shows)
    metrics = view.fontMetrics()
    for column in range(model.columnCount()):
        if header.isSectionHidden(column):
            continue
        for row in range(model.rowCount()):
            text = str(model.index(row, column).data() or "")
            assert metrics.horizontalAdvance(text) < header.sectionSize(column), text
    # the header's menu: both sides at once
    menu = chain.column_menu()
    names = [a.objectName() for a in menu.findChildren(QAction) if a.objectName()]
    assert names == [f"chainColumn_{f}" for f in ("oi", "volume", "change", "iv", "delta")]
    assert set(HIDEABLE_FIELDS) == {n.removeprefix("chainColumn_") for n in names}
    volume = menu.findChild(QAction, "chainColumn_volume")
    assert not volume.isChecked()
    volume.setChecked(True)
    menu.findChild(QAction, "chainColumn_delta").setChecked(False)
    for side in ("call", "put"):
        assert not header.isSectionHidden(model.column_index(f"{side}_volume"))
        assert header.isSectionHidden(model.column_index(f"{side}_delta"))
    assert chain.hidden_fields() == ["delta"]
    with pytest.raises(ValueError, match="always shows bid"):
        chain.set_field_shown("bid", False)
    # wider than the view: scrolled sideways to keep the strikes in the middle
    chain.centre_on_atm()
    assert header.length() > view.viewport().width()
    strike = model.column_index("strike")
    middle = header.sectionViewportPosition(strike) + header.sectionSize(strike) // 2
    assert abs(middle - view.viewport().width() // 2) <= 2
    run_async(qtbot, app.stop())

    again = make_app(app.settings.data_dir, size=(1000, 700))
    assert again.window.options_ui.chain.hidden_fields() == ["delta"]


def test_a_chain_with_longer_numbers_widens_its_columns(qtbot, app):
    """A premium wider than the column's default (six digits) widens the column when that
    chain is shown: a number is never cut short; another chain never narrows it. A view
    wider than the chain shares its room out: the chain spans it."""
    chain = shown_chain(qtbot, app)
    view, model = chain.view, chain.model
    header = view.horizontalHeader()
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    assert header.length() == pytest.approx(view.viewport().width(), abs=len(shown))
    assert all(header.sectionSize(c) >= chain.least_widths[c] for c in shown)
    ltp = model.column_index("call_ltp")
    before = chain.least_widths[ltp]
    deep = model.snapshot.rows[0].call.symbol  # the deepest in-the-money call shown
    app.broker.set_last_price("NFO", deep, "123456.75")
    qtbot.waitUntil(lambda: "1,23,456.75" in chain_texts(chain, ltp), timeout=3000)
    assert chain.least_widths[ltp] == before  # the same chain: left as it is
    chain.select_underlying("BANKNIFTY")
    qtbot.waitUntil(lambda: model.snapshot.underlying == "BANKNIFTY", timeout=3000)
    chain.select_underlying("NIFTY")
    qtbot.waitUntil(lambda: "1,23,456.75" in chain_texts(chain, ltp), timeout=3000)
    wide = view.fontMetrics().horizontalAdvance("1,23,456.75")
    assert chain.least_widths[ltp] > wide > before
    assert header.sectionSize(ltp) >= chain.least_widths[ltp]
    chain.select_underlying("BANKNIFTY")
    qtbot.waitUntil(lambda: model.snapshot.underlying == "BANKNIFTY", timeout=3000)
    assert chain.least_widths[ltp] > wide  # never narrowed


def chain_texts(chain, column):
    model = chain.model
    return [model.index(row, column).data() for row in range(model.rowCount())]
