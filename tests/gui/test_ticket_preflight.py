"""Issue 14, pre-flight on the ticket: every refusal with a knowable reason (here the
exchange's circuit limits and Zerodha's MIS cut-off, from the real pre-trade validator
and the paper exchange's circuit limits) is shown as the trader types, before sending;
debounced, run off the typing as a task, a stale answer never shown."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from PySide6.QtWidgets import QLabel

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.domain.cutoffs import ZERODHA_MIS_CUTOFFS
from desktop_oms.infra.clock import IST
from desktop_oms.risk import PreTradeValidator, RiskLimits
from desktop_oms.ui.ticket.ticket import OrderTicket
from tests.gui.test_order_ticket import fill

LOOSE = RiskLimits(
    capital=Decimal("100000000"),
    max_order_value=Decimal("100000000"),
    max_quantity=1_000_000,
    price_band_pct=Decimal("50"),  # wider than the exchange's: the circuit speaks first
)


@pytest.fixture
def paper():
    broker = PaperBroker(seed=1)
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    return broker


def validator_for(paper, instruments, prices, **kw) -> PreTradeValidator:
    return PreTradeValidator(
        LOOSE,
        instruments=instruments,
        last_price=prices,
        circuit_limits=paper.circuit_limits,
        **kw,
    )


def make(qtbot, instruments, prices, submit, preflight) -> OrderTicket:
    ticket = OrderTicket(
        instruments,
        prices,
        submit,
        capital=Decimal("1000000"),
        confirm_above=None,
        preflight=preflight,
    )
    qtbot.addWidget(ticket)
    ticket.resize(420, 420)
    ticket.show()
    qtbot.waitExposed(ticket)
    return ticket


def shown(ticket: OrderTicket) -> str:
    label = ticket.findChild(QLabel, "ticketPreflight")
    return label.text() if label.isVisible() else ""


def test_a_price_outside_the_circuit_is_predicted_as_typed(
    qtbot, qloop, instruments, prices, submit, paper
):
    v = validator_for(paper, instruments, prices)
    ticket = make(qtbot, instruments, prices, submit, v.problems)
    fill(qtbot, ticket, price="2950")  # the paper circuit: 1960.00 - 2940.00
    qtbot.waitUntil(lambda: "circuit limits" in shown(ticket), timeout=3000)
    assert shown(ticket) == (
        "Would be refused: Price 2950 is outside the circuit limits of NSE:RELIANCE "
        "(1960.00 - 2940.00): the exchange does not accept it"
    )
    assert ticket.last_preflight[0][0] == "price_band"
    assert submit.requests == []  # a prediction sends nothing
    ticket.price.clear()
    qtbot.keyClicks(ticket.price, "2940")
    qtbot.waitUntil(lambda: shown(ticket) == "Pre-flight: no refusal expected", timeout=3000)
    ticket.quantity.clear()  # no order typed: nothing to predict
    qtbot.waitUntil(lambda: shown(ticket) == "", timeout=3000)


@pytest.mark.mis_cutoff
def test_a_fresh_mis_entry_after_the_cut_off_is_predicted(
    qtbot, qloop, instruments, prices, submit, paper
):
    at = datetime(2026, 12, 8, 15, 22, tzinfo=IST)  # a Tuesday, after 15:20
    v = validator_for(
        paper, instruments, prices, wall_clock=lambda: at, mis_cutoffs=ZERODHA_MIS_CUTOFFS
    )
    ticket = make(qtbot, instruments, prices, submit, v.problems)
    fill(qtbot, ticket, price="2450")
    qtbot.waitUntil(lambda: "auto square-off" in shown(ticket), timeout=3000)
    ticket.product.setCurrentText("CNC")
    qtbot.waitUntil(lambda: shown(ticket) == "Pre-flight: no refusal expected", timeout=3000)


def test_debounced_off_the_typing_and_a_stale_answer_is_dropped(
    qtbot, qloop, instruments, prices, submit
):
    asked: list = []
    gates: list[asyncio.Event] = []

    async def slow_preflight(request):
        asked.append(request)
        gate = asyncio.Event()
        gates.append(gate)
        await gate.wait()  # the broker's margin, say, takes its time
        return [("margin", f"refused for {request.price}")]

    ticket = make(qtbot, instruments, prices, submit, slow_preflight)
    fill(qtbot, ticket, price="2451")  # keystroke after keystroke: one question at the end
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=3000)
    assert asked[0].price == Decimal("2451")
    # While it is pending the ticket keeps taking keys (the loop is not held) ...
    ticket.price.clear()
    qtbot.keyClicks(ticket.price, "2452")
    assert ticket.price.text() == "2452"
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=3000)
    gates[0].set()  # ... and the answer for 2451 comes late: never shown
    qtbot.wait(100)
    assert shown(ticket) == ""
    gates[1].set()
    qtbot.waitUntil(lambda: shown(ticket) == "Would be refused: refused for 2452", timeout=3000)


def test_the_modify_dialog_predicts_kites_25_modifications(qtbot, qloop, make_order):
    from PySide6.QtWidgets import QDialogButtonBox

    from desktop_oms.ui.common import dialogs

    def dialog(count: int):
        order = make_order(7, modification_count=count)
        dlg = dialogs.ModifyOrderDialog(order, tick_size=Decimal("0.05"))
        qtbot.addWidget(dlg)
        dlg.open()
        return dlg, dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)

    dlg, modify = dialog(24)  # one left
    assert modify.isEnabled() and dlg.message.text() == ""
    assert "Modified 24 of 25" in dlg.title.toolTip()
    dlg.track(dlg.order.copy(modification_count=25))  # the 25th went (from elsewhere)
    assert not modify.isEnabled()
    assert dlg.message.text().startswith("Kite allows 25 modifications per order")
    dlg, modify = dialog(25)
    assert not modify.isEnabled() and "cancel it and place a new order" in dlg.message.text()


def test_the_apps_ticket_predicts_the_paper_exchanges_refusal(qtbot, make_app):
    """The window's ticket asks the app's own validator (paper: the paper exchange's
    circuit limits), and the prediction is the refusal the order then meets."""
    app = make_app()
    app.broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    ticket = app.window.ticket
    ticket.show_symbol("NSE", "RELIANCE")
    fill(qtbot, ticket, price="2950", qty="1")
    qtbot.waitUntil(lambda: "circuit limits" in shown(ticket), timeout=5000)
    assert "(1960.00 - 2940.00)" in shown(ticket)
