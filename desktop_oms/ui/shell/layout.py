"""The window's layout: where its docks go and how big they are (`LayoutManager`).

The window builds the docks; the layout manager arranges them: the default layout for
the window's size and View > Reset layout, the layout following the window until the
trader rearranges it, the saved layout (geometry, docks, columns, a few values) and the
check that a layout restored from another screen leaves the trader's controls in view.

The default layout is designed per window size (issue 13, defect 5). Whatever the size,
the controls a trader acts on - the ticket with its Buy / Sell buttons, the positions'
Exit buttons and Exit all, the kill switch - are on screen without scrolling:

- "roomy" (a window at least COMPACT_BELOW, e.g. 1920x1080, 2560x1440): the ticket, the
  market watch (the depth ladder in a tab behind it) and the alerts in a left column; the
  blotter over the positions and the price chart (the P&L chart in a tab behind it)
  side by side on the right;
- "compact" (smaller, e.g. 1366x768, 1280x720 = 1920x1080 at 150 %): the ticket over the
  alerts on the left; the blotter over the positions and the market watch (the P&L
  chart, the price chart and the depth ladder in tabs behind it) side by side on the
  right. At 1366x768 that shows >= 6 blotter
  rows, >= 4 positions, >= 6 market-watch rows and >= 4 alerts; the left column, the
  tallest at its least, leaves room for a larger desktop font.

Heights come from the widgets' own measures (row height, headers, title bars), so a
larger desktop font keeps the same number of rows. The window opens maximized on the
screen's available area (`show_on_screen`); the default layout follows the window's
size until the trader rearranges it (drags a separator, moves, floats or closes a dock).
A saved layout from another screen that would hide one of those controls is not used:
the default for this size is (`hidden_controls` says what would be hidden).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHeaderView,
    QMainWindow,
    QStyle,
    QTabBar,
    QWidget,
)

from desktop_oms.ui.shell.saved_layout import restore_layout, save_layout, saved_values

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1600, 950)  # without a screen (a window opens maximized on its screen)

COMPACT = "compact"
ROOMY = "roomy"
# A window narrower or lower than this gets the compact layout (1366x768, 1600x900,
# 1280x720 logical = 1920x1080 at 150 %); 1920x1080 and up the roomy one.
COMPACT_BELOW = QSize(1500, 900)
# Rows each data panel shows in the default layout (at least, when the window has room).
DEFAULT_ROWS = {
    COMPACT: {"blotter": 6, "positions": 4, "watch": 6, "alerts": 4},
    ROOMY: {"blotter": 10, "positions": 8, "watch": 8, "alerts": 6},
}
# Rows a data panel keeps however the window is resized (its dock's minimum height).
MIN_ROWS = {"blotter": 3, "positions": 2, "watch": 3, "alerts": 2}
# The market watch's columns shown beside the positions in the compact layout
# (symbol, LTP, change, change %).
WATCH_COLUMNS_SHOWN = 4
ROOMY_TICKET_WIDTH = 420
# The window opens maximized; un-maximized it takes this share of the screen.
NORMAL_SHARE = 0.9


def layout_profile(width: int, height: int) -> str:
    """COMPACT or ROOMY: the default layout for a window of this size."""
    if width < COMPACT_BELOW.width() or height < COMPACT_BELOW.height():
        return COMPACT
    return ROOMY


def _min_height(widget: QWidget) -> int:
    """The height a layout gives `widget` at the least (its minimum, else its hint)."""
    return (
        widget.minimumHeight() if widget.minimumHeight() > 0 else widget.minimumSizeHint().height()
    )


def fully_visible(widget: QWidget) -> bool:
    """Shown, and no part of it clipped by its parents or covered by a sibling."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    return widget.visibleRegion() == QRegion(widget.rect())


class LayoutManager(QObject):
    """Where the window's docks go and how big they are: the default layout for the
    window's size (and its reset), following the window until the trader rearranges it,
    the saved layout, and whether the controls a trader acts on are on screen.

    It holds the docks and panels it measures; the window forwards its show and resize
    events (`on_shown`, `on_resized`)."""

    def __init__(self, window: QMainWindow, state_path: Path) -> None:
        super().__init__(window)
        self.window = window
        self._state_path = Path(state_path)
        # the docks and what they hold
        self.docks = window.docks  # the main docks, by object name
        self.ticket_dock = window.ticket_dock
        self.blotter_dock = window.blotter_dock
        self.positions_dock = window.positions_dock
        self.pnl_dock = window.pnl_dock
        self.alerts_dock = window.alerts_dock
        self.chart_dock = window.chart_dock
        self.ladder_dock = window.ladder_dock
        self.market_watch = window.market_watch  # a dock itself
        self.review_dock = window.review_dock
        # Docks other features add as hidden tabs beside the blotter (the option chain,
        # the basket): arranged with the rest, shown from the View menu or their keys.
        self.extra_tabs: list[QDockWidget] = []
        # Their tables' headers (column widths, hidden columns): saved with the layout
        self._extra_headers: dict[str, QHeaderView] = {}
        self.ticket = window.ticket
        self.blotter_panel = window.blotter_panel
        self.blotter = window.blotter
        self.trades_view = window.trades_view
        self.audit = window.audit
        self.positions_panel = window.positions_panel
        self.positions_grid = window.positions_grid
        self.positions_model = window.positions_model
        self.alerts = window.alerts
        self.kill_button = window.kill_button
        self.kill_bar = window.kill_bar
        self.status = window.status
        # the profile the docks are arranged for (None: not arranged yet)
        self.layout_profile: str | None = None
        self.restored = False  # a saved layout was restored at start
        self.fit_pending = False  # the default layout is refitted on the next loop turn
        # True once the layout is the trader's (restored, or rearranged): it no longer
        # follows the window's size
        self._layout_own = False
        self._arranging = False
        self._shown = False
        self._window_closed = False
        self._saved_final = False
        self._restored_screen: str | None = None
        self._dock_titles: dict[str, int] | None = None
        self._watched: set[str] = set()
        window.installEventFilter(self)  # the window only: its docks' events stay in C++
        for dock in window.findChildren(QDockWidget):
            self._watch(dock)
        self._default_headers = {name: h.saveState() for name, h in self._headers().items()}

    # ================================================================== the trader's own layout

    def _watch(self, dock: QDockWidget) -> None:
        """A dock floated, moved or closed makes the layout the trader's."""
        if dock.objectName() in self._watched:
            return
        self._watched.add(dock.objectName())
        dock.topLevelChanged.connect(self._rearranged)
        dock.dockLocationChanged.connect(self._rearranged)
        # closed (hidden), not merely behind another tab
        dock.visibilityChanged.connect(lambda _shown, d=dock: d.isHidden() and self._rearranged())

    def _rearranged(self, *_args) -> None:
        if not self._arranging:
            self._layout_own = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # a press on a dock separator is a mouse press on the window itself
        if event.type() == QEvent.Type.MouseButtonPress and watched is self.window:
            self._rearranged()
        return False

    # ================================================================== screen

    def _available(self) -> QRect | None:
        screen = self.window.screen() or QApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else None

    def _screen_text(self) -> str:
        available = self._available()
        return "" if available is None else f"{available.width()}x{available.height()}"

    def first_size(self) -> tuple[int, int]:
        """The screen's available size: the window opens maximized (`show_on_screen`) and
        the docks are arranged for that size from the start."""
        available = self._available()
        if available is None:
            return DEFAULT_SIZE
        return available.width(), available.height()

    def show_on_screen(self) -> None:
        """Show the window: as saved when a saved layout was restored, else maximized to
        the screen's available area (un-maximized: NORMAL_SHARE of it, centred); the
        default layout fits itself to the size the window gets."""
        if self.restored:
            self.window.show()
            return
        self._maximize()

    def _maximize(self) -> None:
        available = self._available()
        if available is not None:
            normal = QRect(
                0, 0, int(available.width() * NORMAL_SHARE), int(available.height() * NORMAL_SHARE)
            )
            normal.moveCenter(available.center())
            if not self.window.isVisible():
                self.window.setGeometry(normal)
        self.window.showMaximized()

    # ================================================================== default layout

    def _headers(self) -> dict[str, QHeaderView]:
        return {
            "blotter": self.blotter.horizontalHeader(),
            "trades": self.trades_view.horizontalHeader(),
            "positions": self.positions_grid.horizontalHeader(),
            "audit": self.audit.view.horizontalHeader(),
            "alerts": self.alerts.view.horizontalHeader(),
            **self._extra_headers,
        }

    def add_header(self, name: str, header: QHeaderView) -> None:
        """A feature's table header, saved and restored with the layout (and put back as
        it is now by Reset layout): call before the layout is restored."""
        self._extra_headers[name] = header
        self._default_headers[name] = header.saveState()

    def apply_default_layout(self) -> None:
        """Every dock back in its default place for the window's size (see the module
        docstring); sizes follow (`_size_default_docks`)."""
        self._layout_own = False
        self._arrange(layout_profile(self.window.width(), self.window.height()))
        self._size_default_docks()

    def _arrange(self, profile: str) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        vertical, horizontal = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
        watch, review = self.market_watch, self.review_dock
        docks = [*self.docks.values(), watch, review, *self.extra_tabs]
        for dock in (watch, review, *self.extra_tabs):
            self._watch(dock)
        self._arranging = True
        try:
            for dock in docks:
                dock.setFloating(False)
                self.window.removeDockWidget(dock)
            self.window.addDockWidget(left, self.ticket_dock)
            self.window.addDockWidget(right, self.blotter_dock)
            self.window.splitDockWidget(self.ticket_dock, self.alerts_dock, vertical)
            self.window.splitDockWidget(self.blotter_dock, self.positions_dock, vertical)
            if profile == COMPACT:
                self.window.splitDockWidget(self.positions_dock, watch, horizontal)
                self.window.tabifyDockWidget(watch, self.pnl_dock)
                self.window.tabifyDockWidget(self.pnl_dock, self.chart_dock)
                self.window.tabifyDockWidget(self.chart_dock, self.ladder_dock)
            else:
                self.window.splitDockWidget(self.positions_dock, self.pnl_dock, horizontal)
                self.window.tabifyDockWidget(self.pnl_dock, self.chart_dock)
                self.window.splitDockWidget(self.ticket_dock, watch, vertical)
                self.window.tabifyDockWidget(watch, self.ladder_dock)
            for dock in docks:
                dock.show()
            # the day review: a hidden tab beside the blotter (View > Day review shows it)
            self.window.tabifyDockWidget(self.blotter_dock, review)
            review.hide()
            for dock in self.extra_tabs:
                self.window.tabifyDockWidget(self.blotter_dock, dock)
                dock.hide()
            self.blotter_dock.raise_()
            if profile == ROOMY:
                self.chart_dock.raise_()  # in front of the P&L chart
            watch.raise_()
            self.kill_bar.show()
            self.layout_profile = profile
        finally:
            self._arranging = False

    def _dock_area(self) -> QSize:
        """The room the docks share: the window less its menu bar, toolbar and status bar."""
        height = self.window.height()
        menu = self.window.menuBar()
        if not menu.isNativeMenuBar():
            height -= menu.sizeHint().height()
        height -= self.kill_bar.sizeHint().height() + self.status.sizeHint().height()
        return QSize(self.window.width(), height)

    def _separator(self) -> int:
        window = self.window
        return window.style().pixelMetric(
            QStyle.PixelMetric.PM_DockWidgetSeparatorExtent, None, window
        )

    def _panel_height(
        self, dock: QDockWidget, view: QAbstractItemView, rows: int, width: int | None = None
    ) -> int:
        """Height of `dock` showing `rows` rows of `view` (its title bar, the panel's other
        parts, the table's header and, when its columns are wider than `width`, its
        horizontal scroll bar)."""
        chrome = max(
            self._title_height(dock) + dock.widget().minimumSizeHint().height() - _min_height(view),
            0,
        )
        header = view.horizontalHeader()
        table = 2 * view.frameWidth() + rows * view.verticalHeader().defaultSectionSize()
        if not header.isHidden():
            table += header.sizeHint().height()
        if width is None or self._columns_width(view) > width - 24:
            table += view.horizontalScrollBar().sizeHint().height()
        return chrome + table

    def _title_height(self, dock: QDockWidget) -> int:
        """Height of a dock's title bar, measured the first time, before a minimum height
        is set on the dock (a dock's minimum size hint includes its own minimum height)."""
        if self._dock_titles is None:
            self._dock_titles = {}
        name = dock.objectName()
        if name not in self._dock_titles:
            hint = dock.minimumSizeHint().height() - dock.widget().minimumSizeHint().height()
            self._dock_titles[name] = max(hint, 0)
        return self._dock_titles[name]

    @staticmethod
    def _columns_width(view: QAbstractItemView) -> int:
        header = view.horizontalHeader()
        shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
        if not shown:
            return 0
        if header.stretchLastSection():  # the last one takes what is left (or its least)
            last = max(shown, key=header.visualIndex)
            shown.remove(last)
            return sum(header.sectionSize(c) for c in shown) + header.minimumSectionSize()
        return sum(header.sectionSize(c) for c in shown)

    def _tab_bar_height(self) -> int:
        """Height of the tab bar under tabbed docks."""
        bar = QTabBar()
        bar.setFont(self.window.font())
        bar.addTab("P&&L today")
        return bar.sizeHint().height()

    def _ticket_height(self) -> int:
        dock = self.ticket_dock
        return max(dock.sizeHint().height(), dock.minimumSizeHint().height())

    def _watch_table(self) -> QAbstractItemView | None:
        entry = self.market_watch.current()
        return entry[2] if entry else None

    def _watch_width(self) -> int:
        """Width of the market watch showing its first WATCH_COLUMNS_SHOWN columns."""
        table = self._watch_table()
        if table is None:
            return self.market_watch.minimumSizeHint().width()
        header = table.horizontalHeader()
        columns = sum(
            header.sectionSize(header.logicalIndex(v))
            for v in range(min(WATCH_COLUMNS_SHOWN, header.count()))
        )
        scroll = table.verticalScrollBar().sizeHint().width()
        return columns + scroll + 2 * table.frameWidth() + 24  # + the dock and tab margins

    def _set_minimum_heights(self) -> None:
        """However the window is resized, a data panel keeps MIN_ROWS rows."""
        panels = [
            ("blotter", self.blotter_dock, self.blotter),
            ("positions", self.positions_dock, self.positions_grid),
            ("alerts", self.alerts_dock, self.alerts.view),
        ]
        table = self._watch_table()
        if table is not None:
            panels.append(("watch", self.market_watch, table))
        for name, dock, view in panels:
            least = self._title_height(dock) + dock.widget().minimumSizeHint().height()
            dock.setMinimumHeight(max(self._panel_height(dock, view, MIN_ROWS[name]), least))

    def _size_default_docks(self) -> None:
        """Fit the default layout to the window's size: its profile's arrangement (the
        docks re-arranged when the size crossed into the other profile), then the sizes.
        Nothing once the layout is the trader's own."""
        self.fit_pending = False
        if self._layout_own:
            return
        profile = layout_profile(self.window.width(), self.window.height())
        if profile != self.layout_profile:
            self._arrange(profile)
        self._set_minimum_heights()
        if profile == COMPACT:
            self._size_compact()
        else:
            self._size_roomy()
        # applied now rather than at the next layout pass: the docks are where they belong
        # as soon as this returns
        self.window.layout().activate()

    def _size_compact(self) -> None:
        area, sep = self._dock_area(), self._separator()
        rows = DEFAULT_ROWS[COMPACT]
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        ticket_w = max(
            self.ticket_dock.sizeHint().width(), self.ticket_dock.minimumSizeHint().width()
        )
        right_w = area.width() - ticket_w - sep
        self.window.resizeDocks(
            [self.ticket_dock, self.blotter_dock], [ticket_w, right_w], horizontal
        )
        # left: the ticket at its natural height; the alerts the rest
        ticket_h = self._ticket_height()
        self.window.resizeDocks(
            [self.ticket_dock, self.alerts_dock],
            [ticket_h, area.height() - ticket_h - sep],
            vertical,
        )
        # right: the blotter over the positions (up to their Exit column at least) beside
        # the market watch (the P&L chart in a tab behind it)
        watch = self.market_watch
        watch_w = max(
            min(self._watch_width(), right_w - self.positions_panel.action_width() - sep),
            watch.minimumSizeHint().width(),
        )
        positions_w = right_w - watch_w - sep
        blotter_need = self._panel_height(self.blotter_dock, self.blotter, rows["blotter"], right_w)
        bottom_need = self._panel_height(
            self.positions_dock, self.positions_grid, rows["positions"], positions_w
        )
        table = self._watch_table()
        if table is not None:
            watch_need = self._panel_height(watch, table, rows["watch"], watch_w)
            bottom_need = max(bottom_need, watch_need + self._tab_bar_height())
        spare = max(area.height() - sep - blotter_need - bottom_need, 0)
        blotter_h = blotter_need + spare // 2
        self.window.resizeDocks(
            [self.blotter_dock, self.positions_dock],
            [blotter_h, area.height() - sep - blotter_h],
            vertical,
        )
        self.window.resizeDocks([self.positions_dock, watch], [positions_w, watch_w], horizontal)

    def _size_roomy(self) -> None:
        area, sep = self._dock_area(), self._separator()
        rows = DEFAULT_ROWS[ROOMY]
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        ticket_w = max(self.ticket_dock.minimumSizeHint().width() + 24, ROOMY_TICKET_WIDTH)
        right_w = area.width() - ticket_w - sep
        self.window.resizeDocks(
            [self.ticket_dock, self.blotter_dock], [ticket_w, right_w], horizontal
        )
        # left: the ticket at its natural height, the market watch, the alerts
        watch = self.market_watch
        ticket_h = self._ticket_height()
        rest = area.height() - ticket_h - 2 * sep
        alerts_need = self._panel_height(
            self.alerts_dock, self.alerts.view, rows["alerts"], ticket_w
        )
        table = self._watch_table()
        watch_need = (  # the depth ladder is a tab beside it: its tab bar too
            self._panel_height(watch, table, rows["watch"], ticket_w) + self._tab_bar_height()
            if table is not None
            else 0
        )
        watch_h = max(min(watch_need, rest - alerts_need), int(rest * 0.55))
        self.window.resizeDocks(
            [self.ticket_dock, watch, self.alerts_dock],
            [ticket_h, watch_h, rest - watch_h],
            vertical,
        )
        # right: the blotter over the positions beside the P&L chart
        half = (area.height() - sep) // 2
        self.window.resizeDocks(
            [self.blotter_dock, self.positions_dock], [half, area.height() - sep - half], vertical
        )
        grid_w = self.positions_panel.natural_width()
        grid_w = min(max(grid_w, int(right_w * 0.5)), int(right_w * 0.66))
        self.window.resizeDocks(
            [self.positions_dock, self.pnl_dock], [grid_w, right_w - grid_w - sep], horizontal
        )

    def on_shown(self) -> None:
        """The window is shown: the first time, the default layout is fitted to the size it
        got, or a restored layout is checked against this screen."""
        if self._shown:
            return
        self._shown = True
        if self.restored:
            QTimer.singleShot(0, self._check_restored_layout)
        else:  # the default proportions for the size shown at
            QTimer.singleShot(0, self._size_default_docks)

    def on_resized(self) -> None:
        # the default layout follows the window (maximized by the window manager after
        # the first show, or resized by the trader) until the trader rearranges it
        if self._shown and not self._layout_own and not self.fit_pending:
            self.fit_pending = True
            QTimer.singleShot(0, self._size_default_docks)

    def window_closed(self) -> None:
        """No more checks or refits: the window is closing."""
        self._window_closed = True

    def reset_layout(self) -> None:
        """View > Reset layout: every panel back, default places, sizes and columns."""
        self._reset_to_default()
        self.alerts.add("info", "Layout reset to the default", "window")

    def _reset_to_default(self) -> None:
        self.apply_default_layout()
        for name, header in self._headers().items():
            saved = self._default_headers.get(name)
            if saved is not None:
                header.restoreState(saved)
        # sizes settle after the re-docking is laid out
        self.fit_pending = True
        QTimer.singleShot(0, self._size_default_docks)

    # ================================================================== checks

    def hidden_controls(self) -> list[str]:
        """The controls a trader acts on that are not wholly on screen now: the kill
        switch, the ticket's Buy / Sell buttons, the positions' Exit column and Exit all
        (each named; empty: all visible without scrolling)."""
        hidden: list[str] = []
        available = self._available()

        def on_screen(widget: QWidget) -> bool:
            if not fully_visible(widget):
                return False
            if available is None:
                return True
            top_left = widget.mapToGlobal(widget.rect().topLeft())
            return available.contains(QRect(top_left, widget.size()))

        for name, widget in (
            ("kill switch", self.kill_button),
            ("Buy button", self.ticket.buy_button),
            ("Sell button", self.ticket.sell_button),
        ):
            if not on_screen(widget):
                hidden.append(name)
        grid, footer = self.positions_grid, self.positions_panel.footer
        exit_col = self.positions_model.column_index("exit")
        header = grid.horizontalHeader()
        viewport = grid.viewport()
        start = header.sectionViewportPosition(exit_col)
        shown = (
            on_screen(viewport)
            and not header.isSectionHidden(exit_col)
            and start >= 0
            and start + header.sectionSize(exit_col) <= viewport.width()
            and viewport.height() >= grid.verticalHeader().defaultSectionSize()
        )
        if not shown:
            hidden.append("Exit buttons")
        footer_start = footer.horizontalHeader().sectionViewportPosition(exit_col)
        if not (
            shown
            and on_screen(footer.viewport())
            and footer_start >= 0
            and footer_start + header.sectionSize(exit_col) <= footer.viewport().width()
        ):
            hidden.append("Exit all")
        return hidden

    def _check_restored_layout(self) -> None:
        """A layout saved on another screen (or before screens were recorded) is kept only
        if the trader's controls are all visible on this one; else the default for this
        size."""
        if self._window_closed:
            return
        here = self._screen_text()
        if self._restored_screen == here:
            return  # saved on this screen: the trader's own arrangement, as they left it
        hidden = self.hidden_controls()
        if not hidden:
            return
        where = f"on a {self._restored_screen} screen" if self._restored_screen else "earlier"
        text = (
            f"The layout saved {where} would hide {', '.join(hidden)} on this {here} screen: "
            "using the default layout for this size"
        )
        log.warning(text)
        self._reset_to_default()
        self._maximize()
        self.alerts.add("warning", text, "window")

    # ================================================================== saved layout

    def save_state(self, *, final: bool = False) -> None:
        """Write geometry, docks, column widths and the ticket's instrument to
        settings.ui_state_path. After the final save (when the window closed, while still
        on screen) a later call changes nothing."""
        if self._saved_final:
            return
        values = {
            "blotter_filter": self.blotter_panel.filter.currentText(),
            "blotter_tab": self.blotter_panel.tabs.currentIndex(),
            "ticket_exchange": self.ticket.exchange.currentText(),
            "ticket_symbol": self.ticket.symbol.text().strip().upper(),
            "ticket_product": self.ticket.product.currentText(),
            "screen": self._screen_text(),  # the layout is checked on another screen
        }
        save_layout(self.window, self._state_path, self._headers(), values)
        if final:
            self._saved_final = True

    def restore(self) -> bool:
        """The saved layout and values, if any (True: a saved layout was restored)."""
        self.restored = self._restore()
        return self.restored

    def _restore(self) -> bool:
        try:
            values = saved_values(self._state_path)
            # A layout from another screen may be replaced by the default once shown
            # (_check_restored_layout): its docks are restored before the geometry, so
            # that Qt does not keep a "restored state" for a maximized window to re-apply
            # later - re-arranging docks while it waits crashes Qt (6.11, removeDockWidget).
            elsewhere = values.get("screen") != self._screen_text()
            restored = restore_layout(
                self.window, self._state_path, self._headers(), docks_first=elsewhere
            )
        except Exception:
            log.exception("could not restore the window layout; using the default")
            return False
        self.kill_bar.show()  # whatever the saved state says
        if restored:
            self._layout_own = True
            self._restored_screen = values.get("screen") or None
        bp = self.blotter_panel
        if values.get("blotter_filter"):
            index = bp.filter.findText(values["blotter_filter"])
            if index >= 0:
                bp.filter.setCurrentIndex(index)
        try:
            tab = int(values.get("blotter_tab", "0"))
        except ValueError:
            tab = 0
        if 0 <= tab < bp.tabs.count():
            bp.tabs.setCurrentIndex(tab)
        t = self.ticket
        if values.get("ticket_exchange") and t.exchange.findText(values["ticket_exchange"]) >= 0:
            t.exchange.setCurrentText(values["ticket_exchange"])
        if values.get("ticket_product") and t.product.findText(values["ticket_product"]) >= 0:
            t.product.setCurrentText(values["ticket_product"])
        if values.get("ticket_symbol"):
            t.symbol.setText(values["ticket_symbol"])
        return restored
