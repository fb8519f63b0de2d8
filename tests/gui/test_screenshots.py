"""Render every widget offscreen with realistic data to /tmp/oms_<name>.png (for review)
and check the renders are not blank and nothing is clipped."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableView, QVBoxLayout, QWidget

from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.ui.alerts.panel import AlertsPanel
from desktop_oms.ui.blotter.orders_model import OrdersModel
from desktop_oms.ui.pnl.chart import PnlChart
from desktop_oms.ui.positions.model import (
    PositionsModel,
    PositionsTotalsModel,
    configure_totals_footer,
)
from desktop_oms.ui.risk.kill_switch_button import KillSwitchButton, KillSwitchState
from desktop_oms.ui.ticket.ticket import OrderTicket

OUT = Path(os.environ.get("OMS_SCREENSHOT_DIR", "/tmp"))


def save(widget, name: str) -> Path:
    image = widget.grab().toImage()
    path = OUT / f"oms_{name}.png"
    assert image.save(str(path))
    # not blank: more than a handful of distinct colours
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 4, f"{name} rendered blank"
    return path


def labels_fit(widget) -> list[str]:
    """Labels whose text is wider than the label (clipped)."""
    bad = []
    for label in widget.findChildren(QLabel):
        if label.isVisible() and label.text() and not label.wordWrap():
            if label.fontMetrics().horizontalAdvance(label.text()) > label.width() + 1:
                bad.append(f"{label.objectName() or label.text()!r}")
    return bad


@pytest.fixture
def ticket(qtbot, qloop, instruments, prices, submit):
    t = OrderTicket(
        instruments, prices, submit, capital=Decimal("1000000"), confirm_above=Decimal("500000")
    )
    qtbot.addWidget(t)
    return t


def test_render_order_ticket(qtbot, ticket):
    ticket.open_for(OrderSide.BUY, "RELIANCE")
    ticket.quantity.set_quantity(100)
    ticket.stop_loss.setText("2431.60")
    ticket.take_profit.setText("2492.30")
    ticket.resize(ticket.sizeHint().expandedTo(ticket.minimumSizeHint()))
    ticket.show()
    qtbot.waitExposed(ticket)
    assert labels_fit(ticket) == []
    save(ticket, "ticket")
    ticket.set_side(OrderSide.SELL)
    ticket.stop_loss.setText("2400.03")
    ticket.send()
    assert labels_fit(ticket) == []
    save(ticket, "ticket_refused")


def orders_view(qtbot, make_order, t0):
    model = OrdersModel()
    statuses = [
        OrderStatus.PENDING,
        OrderStatus.OPEN,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.SUBMITTED,
    ]
    rows = []
    for i, status in enumerate(statuses * 2, start=1):
        filled = {OrderStatus.FILLED: 10, OrderStatus.PARTIALLY_FILLED: 4}.get(status, 0)
        rows.append(
            make_order(
                i,
                status=status,
                side=OrderSide.BUY if i % 3 else OrderSide.SELL,
                symbol=["RELIANCE", "TCS", "HDFCBANK", "INFY"][i % 4],
                filled_quantity=filled,
                average_price=Decimal("2450.35") if filled else None,
                order_type=OrderType.SL
                if status is OrderStatus.TRIGGER_PENDING
                else OrderType.LIMIT,
                trigger_price=Decimal("2440.00") if status is OrderStatus.TRIGGER_PENDING else None,
                status_message="RMS: insufficient margin"
                if status is OrderStatus.REJECTED
                else None,
                quantity=10 * i,
                created_at=t0 + timedelta(seconds=37 * i),
                product=Product.MIS,
            )
        )
    model.upsert(rows)
    view = QTableView()
    view.setObjectName("blotter")
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.resizeColumnsToContents()
    return view


def test_render_blotter(qtbot, make_order, t0):
    view = orders_view(qtbot, make_order, t0)
    qtbot.addWidget(view)
    view.resize(1250, 420)
    view.show()
    qtbot.waitExposed(view)
    save(view, "blotter")


def positions_widget(qtbot, make_position):
    model = PositionsModel()
    model.upsert(
        [
            make_position(
                "RELIANCE", quantity=100, unrealized_pnl=Decimal("1000"), realized_pnl=Decimal("0")
            ),
            make_position(
                "TCS",
                quantity=-25,
                average_price=Decimal("3900"),
                last_price=Decimal("3912.4"),
                unrealized_pnl=Decimal("-310"),
                realized_pnl=Decimal("1250.5"),
            ),
            make_position(
                "INFY",
                quantity=0,
                average_price=Decimal("0"),
                last_price=Decimal("1890.05"),
                unrealized_pnl=Decimal("0"),
                realized_pnl=Decimal("-2480.75"),
            ),
            make_position(
                "HDFCBANK",
                product=Product.CNC,
                quantity=40,
                average_price=Decimal("1710.2"),
                last_price=Decimal("1725.9"),
                unrealized_pnl=Decimal("628"),
                realized_pnl=Decimal("0"),
            ),
        ]
    )
    box = QWidget()
    grid, footer = QTableView(), QTableView()
    grid.setObjectName("positionsGrid")
    grid.setModel(model)
    grid.verticalHeader().hide()
    grid.setSortingEnabled(True)
    footer.setModel(PositionsTotalsModel(model))
    configure_totals_footer(grid, footer)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(grid)
    layout.addWidget(footer)
    grid.resizeColumnsToContents()
    return box


def test_render_positions(qtbot, make_position):
    box = positions_widget(qtbot, make_position)
    qtbot.addWidget(box)
    box.resize(760, 220)
    box.show()
    qtbot.waitExposed(box)
    save(box, "positions")


def chart_with_day(qtbot, t0):
    chart = PnlChart()
    import math

    points = []
    realized = Decimal(0)
    for i in range(0, 6 * 60):
        if i % 45 == 0 and i:
            realized += Decimal(800 if (i // 45) % 3 else -1200)
        total = realized + Decimal(int(1500 * math.sin(i / 25)))
        points.append((t0 + timedelta(minutes=i), total, realized))
    chart.load(points)
    return chart


def test_render_pnl_chart(qtbot, t0):
    chart = chart_with_day(qtbot, t0)
    qtbot.addWidget(chart)
    chart.resize(760, 300)
    chart.show()
    qtbot.waitExposed(chart)
    save(chart, "pnl_chart")


def test_render_kill_switch_states(qtbot):
    row = QWidget()
    layout = QHBoxLayout(row)
    for state, text in (
        (KillSwitchState.ARMED, None),
        (KillSwitchState.ENGAGING, "cancelled 12/14, flattened 0/3"),
        (KillSwitchState.ENGAGED, "cancelled 14/14, flattened 3/3, verified flat"),
    ):
        b = KillSwitchButton()
        b.set_state(state, text)
        layout.addWidget(b)
    qtbot.addWidget(row)
    row.resize(row.sizeHint())
    row.show()
    qtbot.waitExposed(row)
    for b in row.findChildren(KillSwitchButton):
        lines = b.text().split("\n")
        assert max(b.fontMetrics().horizontalAdvance(x) for x in lines) < b.width()
    save(row, "kill_switch")


def test_render_alerts(qtbot):
    panel = AlertsPanel()
    panel.add("info", "reconciled 09:01:12 \u2014 0 mismatches", "reconcile")
    panel.add("success", "BUY 10 RELIANCE filled at 2,450.35", "oms")
    panel.add("warning", "market data stale 12 s", "feed")
    panel.add("error", "order #7 rejected (margin): insufficient funds", "oms")
    panel.add("critical", "kill switch engaged: daily loss limit 6% reached", "risk")
    panel.model.flush()
    qtbot.addWidget(panel)
    panel.resize(760, 220)
    panel.show()
    qtbot.waitExposed(panel)
    save(panel, "alerts")


def test_render_everything_together(
    qtbot, qloop, instruments, prices, submit, make_order, make_position, t0
):
    """A stand-in for the main window, to judge the whole at a glance."""
    window = QWidget()
    qtbot.addWidget(window)
    ticket = OrderTicket(
        instruments, prices, submit, capital=Decimal("1000000"), confirm_above=None
    )
    ticket.open_for(OrderSide.BUY, "RELIANCE")
    ticket.quantity.set_quantity(100)
    ticket.stop_loss.setText("2431.60")
    ticket.take_profit.setText("2492.30")
    left = QVBoxLayout()
    left.addWidget(ticket)
    kill = KillSwitchButton()
    left.addWidget(kill)
    right = QVBoxLayout()
    right.addWidget(orders_view(qtbot, make_order, t0), 3)
    right.addWidget(positions_widget(qtbot, make_position), 2)
    right.addWidget(chart_with_day(qtbot, t0), 2)
    layout = QHBoxLayout(window)
    layout.addLayout(left, 0)
    layout.addLayout(right, 1)
    window.resize(1500, 950)
    window.show()
    qtbot.waitExposed(window)
    save(window, "overview")
