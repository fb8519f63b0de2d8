"""The plain cell renderer (ui/common/plain_delegate.py): backgrounds, selection, text in
its colour, as the option chain's table shows them."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from desktop_oms.ui.common.plain_delegate import PlainTextDelegate

SHADE = QColor("#3a3320")
GREEN = QColor("#00ff00")


def _view(qtbot) -> QTableView:
    model = QStandardItemModel(3, 2)
    for row in range(3):
        for col in range(2):
            model.setItem(row, col, QStandardItem(""))
    shaded = model.item(0, 0)
    shaded.setBackground(QBrush(SHADE))
    coloured = model.item(1, 1)
    coloured.setText("8888888")
    coloured.setForeground(QBrush(GREEN))
    coloured.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    view = QTableView()
    view.setModel(model)
    view.setItemDelegate(PlainTextDelegate(view))
    view.setShowGrid(False)
    view.resize(400, 200)
    view.setColumnWidth(0, 150)
    view.setColumnWidth(1, 150)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def _pixels(view: QTableView, row: int, col: int) -> set:
    rect = view.visualRect(view.model().index(row, col))
    image = view.viewport().grab().toImage()
    return {
        image.pixelColor(x, y).name()
        for x in range(rect.left() + 1, rect.right())
        for y in range(rect.top() + 1, rect.bottom())
    }


def test_background_brush_text_colour_and_alignment(qtbot):
    view = _view(qtbot)
    assert _pixels(view, 0, 0) == {SHADE.name()}  # the cell's brush, no text
    cell = _pixels(view, 1, 1)
    assert GREEN.name() in cell  # its text, in its colour
    rect = view.visualRect(view.model().index(1, 1))
    image = view.viewport().grab().toImage()
    left_half = {
        image.pixelColor(x, y).name()
        for x in range(rect.left() + 1, rect.center().x() - 20)
        for y in range(rect.top() + 1, rect.bottom())
    }
    assert GREEN.name() not in left_half  # right-aligned


def test_a_selected_cell_is_highlighted(qtbot):
    view = _view(qtbot)
    view.selectionModel().select(
        view.model().index(2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    highlight = view.palette().highlight().color().name()
    assert highlight in _pixels(view, 2, 0)
    assert highlight not in _pixels(view, 2, 1)


def test_the_option_chain_draws_with_it(make_app):
    chain = make_app().window.options_ui.chain
    assert isinstance(chain.view.itemDelegate(), PlainTextDelegate)
