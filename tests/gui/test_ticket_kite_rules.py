"""Issue 14 item 7 on the ticket: IOC is not offered on MCX (Kite refuses IOC for API
orders on MCX since April 2026), and stays offered elsewhere."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from desktop_oms.ui.ticket.ticket import OrderTicket


def offered(combo: QComboBox) -> list[str]:
    model = combo.model()
    return [
        combo.itemText(i)
        for i in range(combo.count())
        if model.flags(model.index(i, 0)) & Qt.ItemFlag.ItemIsEnabled
    ]


def test_ticket_does_not_offer_ioc_on_mcx(qtbot, qloop, instruments, prices, submit):
    ticket = OrderTicket(
        instruments, prices, submit, capital=Decimal("1000000"), confirm_above=None
    )
    qtbot.addWidget(ticket)
    exchange = ticket.findChild(QComboBox, "ticketExchange")
    validity = ticket.findChild(QComboBox, "ticketValidity")
    assert "IOC" in offered(validity)  # NSE: IOC is fine
    exchange.setCurrentText("MCX")
    assert "IOC" not in offered(validity)
    assert validity.currentText() != "IOC"
    exchange.setCurrentText("NSE")
    assert "IOC" in offered(validity)
