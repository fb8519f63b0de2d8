"""The positions dock's content: `positionsGrid`, its totals footer, per-row "Exit" buttons
and an "Exit all" button in the footer.

The buttons are painted by a delegate (no widget per row: the grid stays cheap and
sortable); a click emits `exitRequested(position)` / `exitAllRequested()`. The window asks
for confirmation and sends the reduce orders; nothing here talks to the OMS.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_oms.ui.common import (
    NoticeBar,
    copy_rows,
    make_table,
    selected_items,
    size_columns,
    theme,
)
from desktop_oms.ui.positions.groups import UnderlyingGroupsModel, group_positions
from desktop_oms.ui.positions.model import (
    PositionsModel,
    PositionsTotalsModel,
    configure_totals_footer,
)

POSITION_WIDTHS = {  # in digits; commas and points are narrower, so 9 fits "+12,345.00"
    "symbol": 10,
    "product": 6,
    "quantity": 6,
    "avg_price": 8,
    "ltp": 8,
    "unrealized": 9,
    "realized": 9,
    "total": 9,
    "charges": 8,
    "net": 9,
    "exit": 6,
}
GROUP_WIDTHS = {
    "underlying": 10,
    "legs": 4,
    "total_pnl": 9,
    "unrealized": 9,
    "structure": 24,
    "premium": 8,
    "entry_premium": 11,
    "premium_change": 8,
}
ALWAYS_SHOWN = ("symbol", "exit")  # not offered for hiding in the header's menu
# Shown with a right-click on the header (the choice is saved with the layout). Hidden at
# first so that the default split still shows every other column and the Exit buttons;
# each row's Net P&L tooltip and the totals row's tooltip give the charges meanwhile.
HIDDEN_AT_FIRST = ("charges",)
# Default visual order: what is held, at what, its net P&L and the Exit button first (on
# screen in a narrow dock, without scrolling), the gross breakdown after. The model's
# column order is unchanged (keys and exports); the trader can drag columns (saved).
LEADING = ("symbol", "product", "quantity", "avg_price", "ltp", "net", "exit")


class ButtonDelegate(QStyledItemDelegate):
    """Paints a small push button in cells whose display text is not empty; a left click
    on it emits `clicked(index)`."""

    clicked = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None, *, danger: bool = True) -> None:
        super().__init__(parent)
        self._danger = danger
        self._pressed: QModelIndex | None = None

    @staticmethod
    def _button_rect(option: QStyleOptionViewItem) -> QRect:
        return option.rect.adjusted(3, 2, -3, -2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        text = index.data()
        if not text:
            super().paint(painter, option, index)
            return
        button = QStyleOptionButton()
        button.rect = self._button_rect(option)
        button.text = str(text)
        button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        if option.state & QStyle.StateFlag.State_MouseOver:
            button.state |= QStyle.StateFlag.State_MouseOver
        if self._pressed is not None and self._pressed == index:
            button.state |= QStyle.StateFlag.State_Sunken
        button.palette = QPalette(option.palette)
        if self._danger:
            button.palette.setColor(QPalette.ColorRole.Button, QColor(theme.SELL_BUTTON))
            button.palette.setColor(QPalette.ColorRole.ButtonText, QColor("#ffffff"))
        button.fontMetrics = option.fontMetrics
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, widget)

    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802
        if not index.data():
            return False
        kind = event.type()
        if kind not in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseButtonDblClick,
        ):
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        inside = self._button_rect(option).contains(event.position().toPoint())
        if kind == QEvent.Type.MouseButtonPress:
            self._pressed = QModelIndex(index) if inside else None
            return inside
        if kind == QEvent.Type.MouseButtonDblClick:
            return inside  # a double click is not a second request
        pressed = self._pressed
        self._pressed = None
        if inside and pressed is not None and pressed == index:
            self.clicked.emit(QModelIndex(index))
            return True
        return False


class PositionsPanel(QWidget):
    """objectName "positionsPanel": `positionsGrid` + "positionsTotals" footer."""

    exitRequested = Signal(object)  # noqa: N815 (Qt-style) Position
    exitAllRequested = Signal()  # noqa: N815

    def __init__(self, model: PositionsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("positionsPanel")
        self.model = model
        self.grid = make_table("positionsGrid", model, self)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setMouseTracking(True)
        self.grid.horizontalHeader().setStretchLastSection(False)
        size_columns(self.grid, POSITION_WIDTHS)
        # a long option symbol keeps its strike and type in view: NIFTY26…26000PE
        self.grid.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        keys = {c.key for c in model.columns}
        header = self.grid.horizontalHeader()
        for visual, key in enumerate(k for k in LEADING if k in keys):
            header.moveSection(header.visualIndex(model.column_index(key)), visual)
        for key in HIDDEN_AT_FIRST:
            if key in {c.key for c in model.columns}:
                self.grid.horizontalHeader().setSectionHidden(model.column_index(key), True)
        self.grid.sortByColumn(model.column_index("symbol"), Qt.SortOrder.AscendingOrder)
        self.totals_model = PositionsTotalsModel(model, self)
        self.footer = QTableView(self)
        self.footer.setObjectName("positionsTotals")
        self.footer.setModel(self.totals_model)
        configure_totals_footer(self.grid, self.footer)
        self.footer.setMouseTracking(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.grid)
        layout.addWidget(self.footer)
        # issue 16: the positions by underlying (options / futures), under the totals;
        # hidden until set_grouping() is given and a group exists
        self.groups_model = UnderlyingGroupsModel(self)
        self.groups = make_table("positionGroups", self.groups_model, self)
        self.groups.setSortingEnabled(False)
        self.groups.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.groups.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.groups.setToolTip(
            "Positions by underlying: combined P&L; a straddle's or strangle's premium"
        )
        size_columns(self.groups, GROUP_WIDTHS)
        self.groups.hide()
        self._describe = None
        layout.addWidget(self.groups)
        self.notice = NoticeBar("positionsNotice", self)
        layout.addWidget(self.notice)

        self._exit_col = (
            model.column_index("exit") if "exit" in {c.key for c in model.columns} else -1
        )
        if self._exit_col >= 0:
            self.row_button = ButtonDelegate(self.grid)
            self.grid.setItemDelegateForColumn(self._exit_col, self.row_button)
            self.row_button.clicked.connect(self._on_row_exit)
            self.all_button = ButtonDelegate(self.footer)
            self.footer.setItemDelegateForColumn(self._exit_col, self.all_button)
            self.all_button.clicked.connect(lambda _i: self.exitAllRequested.emit())

        g = self.grid
        self.exit_action = QAction("E&xit position\u2026", g)
        self.exit_action.setObjectName("actionExitPosition")
        self.exit_action.setShortcut(QKeySequence("Ctrl+Shift+X"))
        self.exit_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.exit_action.setStatusTip(
            "Square off the selected position at market (Ctrl+Shift+X in the grid; asks first)"
        )
        self.exit_action.triggered.connect(self._exit_current)
        g.addAction(self.exit_action)
        # Exit all is window-wide (the window adds it to itself with its shortcut).
        self.exit_all_action = QAction("Exit &all positions\u2026", g)
        self.exit_all_action.setObjectName("actionExitAllPositions")
        self.exit_all_action.setShortcut(QKeySequence("Ctrl+Alt+X"))
        self.exit_all_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.exit_all_action.setStatusTip(
            "Square off every open position at market (Ctrl+Alt+X; asks first)"
        )
        self.exit_all_action.triggered.connect(self.exitAllRequested.emit)
        self.note_action = QAction("&Note\u2026", g)
        self.note_action.setObjectName("actionPositionNote")
        self.note_action.setStatusTip("Your note on this position: why in, why out")
        self.copy_action = QAction("C&opy", g)
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(lambda: copy_rows(self.grid))
        g.addAction(self.copy_action)
        g.customContextMenuRequested.connect(self._menu)
        header = g.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)

    def set_grouping(self, describe) -> None:
        """Group F&O positions by underlying: describe(exchange, symbol) -> groups.Leg or
        None (not grouped). Regrouped after every change to the positions' rows."""
        first = self._describe is None
        self._describe = describe
        if first:
            self.model.flushed.connect(lambda _c, _n: self.regroup())
            self.model.modelReset.connect(self.regroup)
        self.regroup()

    def regroup(self) -> None:
        if self._describe is None:
            return
        groups = group_positions(self.model.items(), self._describe)
        self.groups_model.show_groups(groups)
        if groups:
            rows = min(len(groups), 4)
            height = self.groups.verticalHeader().defaultSectionSize()
            self.groups.setFixedHeight(
                self.groups.horizontalHeader().sizeHint().height()
                + rows * height
                + 2 * self.groups.frameWidth()
                + 2
            )
        self.groups.setVisible(bool(groups))

    def natural_width(self) -> int:
        """Width that shows every column (for the default layout)."""
        header = self.grid.horizontalHeader()
        columns = sum(header.sectionSize(c) for c in range(header.count()))
        return columns + 2 * self.grid.frameWidth() + 4

    def action_width(self) -> int:
        """Width that shows every column up to the Exit column (the last one, without an
        Exit column) with room for a vertical scroll bar: the least the default layout
        gives the positions."""
        header = self.grid.horizontalHeader()
        last = header.visualIndex(self._exit_col) if self._exit_col >= 0 else header.count() - 1
        columns = sum(
            header.sectionSize(header.logicalIndex(v))
            for v in range(last + 1)
            if not header.isSectionHidden(header.logicalIndex(v))
        )
        scroll = self.grid.verticalScrollBar().sizeHint().width()
        return columns + scroll + 2 * self.grid.frameWidth() + 4

    def selected_positions(self) -> list:
        return selected_items(self.grid)

    def current_position(self):
        index = self.grid.currentIndex()
        if index.isValid():
            try:
                return self.model.item_at(index.row())
            except IndexError:
                return None
        items = self.selected_positions()
        return items[0] if items else None

    def _on_row_exit(self, index: QModelIndex) -> None:
        try:
            position = self.model.item_at(index.row())
        except IndexError:
            return
        if position.quantity:
            self.exitRequested.emit(position)

    def _exit_current(self) -> None:
        position = self.current_position()
        if position is not None and position.quantity:
            self.exitRequested.emit(position)
        else:
            self.show_message("Select an open position to exit", "warning")

    def show_message(self, text: str, level: str = "info") -> None:
        """The outcome of an action started here, under the grid (see ui/common/notice.py)."""
        self.notice.show_message(text, level)

    def column_menu(self) -> QMenu:
        """Show / hide columns (the header's context menu); the choice is saved with the
        layout (header state)."""
        header = self.grid.horizontalHeader()
        menu = QMenu(self)
        menu.setObjectName("positionsColumnsMenu")
        for col, column in enumerate(self.model.columns):
            if column.key in ALWAYS_SHOWN:
                continue
            action = menu.addAction(column.header or column.key)
            action.setObjectName(f"showColumn_{column.key}")
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(col))
            action.toggled.connect(lambda shown, c=col: self.set_column_shown(c, shown))
        return menu

    def set_column_shown(self, column: int | str, shown: bool) -> None:
        col = self.model.column_index(column) if isinstance(column, str) else column
        self.grid.horizontalHeader().setSectionHidden(col, not shown)
        self.footer.horizontalHeader().setSectionHidden(col, not shown)

    def _header_menu(self, pos) -> None:
        menu = self.column_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.grid.horizontalHeader().mapToGlobal(pos))

    def _menu(self, pos) -> None:
        position = self.current_position()
        self.exit_action.setEnabled(position is not None and bool(position.quantity))
        self.exit_all_action.setEnabled(bool(self.model.open_positions()))
        self.note_action.setEnabled(position is not None)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.exit_action)
        menu.addAction(self.exit_all_action)
        menu.addSeparator()
        menu.addAction(self.note_action)
        menu.addAction(self.copy_action)
        # Greyed in this menu only: the same actions carry Ctrl+Shift+X and Ctrl+Alt+X,
        # which must answer later whatever the menu showed (their handlers say when
        # there is nothing to exit). Left disabled, opening the menu while flat made
        # Ctrl+Alt+X do nothing once positions came.
        menu.aboutToHide.connect(self._enable_exit_keys)
        menu.popup(self.grid.viewport().mapToGlobal(pos))

    def _enable_exit_keys(self) -> None:
        self.exit_action.setEnabled(True)
        self.exit_all_action.setEnabled(True)
