"""The real Desktop OMS window, run as a child process of an end-to-end test.

    python -m tests.e2e.app_child --data-dir DIR --socket PATH [--no-fill-screen]

The parent sets DISPLAY (an Xvfb it started) and QT_QPA_PLATFORM=xcb. The app starts as
`desktop-oms` does (desktop_oms/app/gui_runner.py: one qasync loop, the dark theme, the
settings file of the data directory; paper broker, no simulated market so that prices
move only when the test sets them) and its window is shown maximised, as a trader runs it,
unless a saved layout is restored (then as it was saved).

The test drives the window only through the X server (xdotool). This module is its eyes:
a JSON-lines control socket (one request per line, one answer per line) on which the test

- evaluates an expression with `app`, `window` and the helpers below in scope
  (`{"op": "eval", "expr": "..."}`; `await` allowed; an awaitable result is awaited),
- runs statements (`{"op": "exec", "code": "..."}`),
- waits until an expression is true, inside the child, with a timeout
  (`{"op": "wait", "expr": "...", "timeout": 10}`),
- takes a screenshot of the whole X screen (`{"op": "screenshot", "path": "..."}`).

Answers: `{"ok": true, "value": ...}` or `{"ok": false, "error": "..."}`. Values are made
plain for JSON (Decimal -> str, enums -> their value, dataclasses -> dicts, QRect ->
[x, y, w, h]). Test-only code: nothing here is part of the product.

The child exits when the window closes (File > Quit, SIGTERM), after a clean
`Application.stop()`, with exit code 0.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import dataclasses
import enum
import gc
import json
import logging
import os
import signal
import sys
import traceback
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

log = logging.getLogger("tests.e2e.app_child")

POLL_S = 0.02
BUTTON_INSET = (
    3,
    2,
)  # ButtonDelegate paints its button this far inside the cell  # how often `wait` re-evaluates its condition (a poll, not a sleep-to-sync)


# ---------------------------------------------------------------- plain values for JSON


def plain(value, depth: int = 0):
    """A JSON-able copy of `value` (Decimal as text, enums by value, dataclasses as dicts)."""
    from PySide6.QtCore import QPoint, QRect, QSize

    if depth > 6:
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return plain(value.value, depth + 1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, QRect):
        return [value.x(), value.y(), value.width(), value.height()]
    if isinstance(value, QPoint):
        return [value.x(), value.y()]
    if isinstance(value, QSize):
        return [value.width(), value.height()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(plain(k, depth + 1)): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, depth + 1) for v in value]
    return repr(value)


# ---------------------------------------------------------------- helpers in scope


def make_namespace(app, qapp) -> dict:
    """What an expression sent by the test can use."""
    from PySide6.QtCore import QPoint, QRect, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

    import desktop_oms.domain as domain

    window = app.window

    def find(name: str, kind=QWidget):
        """The window's (or any top-level's) child with this objectName."""
        found = window.findChild(kind, name)
        if found is None:
            for top in QApplication.topLevelWidgets():
                if top.objectName() == name and isinstance(top, kind):
                    return top
                found = top.findChild(kind, name)
                if found is not None:
                    break
        if found is None:
            raise LookupError(f"no widget named {name!r}")
        return found

    def widget(w):
        return find(w) if isinstance(w, str) else w

    def global_rect(w) -> list[int]:
        """The widget's rectangle in screen (X root) coordinates: [x, y, w, h]."""
        w = widget(w)
        top_left = w.mapToGlobal(QPoint(0, 0))
        return [top_left.x(), top_left.y(), w.width(), w.height()]

    def center(w) -> list[int]:
        x, y, wd, ht = global_rect(w)
        return [x + wd // 2, y + ht // 2]

    def column_of(view, column) -> int:
        if isinstance(column, int):
            return column
        model = view.model()
        if not hasattr(model, "column_index"):  # the positions totals row: the grid's columns
            model = window.positions_model
        return model.column_index(column)

    def row_of(view, match) -> int:
        """The row of a KeyedTableModel whose item matches: an int is the row itself, a
        dict compares item attributes (e.g. {"id": 3} or {"symbol": "TCS"})."""
        if isinstance(match, int):
            return match
        view = widget(view)
        model = view.model()
        for row in range(model.rowCount()):
            try:
                item = model.item_at(row)
            except IndexError:
                continue
            if all(plain(getattr(item, k, None)) == plain(v) for k, v in match.items()):
                return row
        raise LookupError(f"no row matching {match!r} in {view.objectName()}")

    def cell_rect(view, row, column) -> list[int]:
        """A table cell's rectangle in screen coordinates ([x, y, w, h]), wherever it is:
        nothing is scrolled into view (the test sees what the trader sees)."""
        view = widget(view)
        index = view.model().index(row_of(view, row), column_of(view, column))
        rect = view.visualRect(index)
        top_left = view.viewport().mapToGlobal(rect.topLeft())
        return [top_left.x(), top_left.y(), rect.width(), rect.height()]

    def cell_center(view, row, column) -> list[int]:
        x, y, w, h = cell_rect(view, row, column)
        return [x + w // 2, y + h // 2]

    def screen_rect() -> list[int]:
        g = QGuiApplication.primaryScreen().geometry()
        return [g.x(), g.y(), g.width(), g.height()]

    def fully_shown(w, rect: QRect | None = None) -> dict:
        """Is this widget (or a rectangle inside it, in its coordinates) entirely on
        screen: visible, not clipped by its parents (visibleRegion), inside the window
        and inside the screen?"""
        w = widget(w)
        rect = QRect(w.rect()) if rect is None else QRect(rect)
        region = w.visibleRegion()
        clipped = region.intersected(rect)
        unclipped = (
            not rect.isEmpty() and clipped.boundingRect() == rect and clipped.rectCount() == 1
        )
        top_left = w.mapToGlobal(rect.topLeft())
        g = QRect(top_left, rect.size())
        screen = QGuiApplication.primaryScreen().geometry()
        win = w.window()
        win_rect = QRect(win.mapToGlobal(QPoint(0, 0)), win.size())
        return {
            "name": w.objectName(),
            "visible": w.isVisible(),
            "unclipped": bool(unclipped),
            "on_screen": screen.contains(g),
            "in_window": win_rect.contains(g),
            "global": plain(g),
            "visible_part": plain(clipped.boundingRect()),
            "ok": bool(w.isVisible() and unclipped and screen.contains(g) and win_rect.contains(g)),
        }

    def cell_shown(view, row, column, inset: tuple[int, int] = (0, 0)) -> dict:
        """A table cell entirely visible in its viewport; with `inset` (dx, dy), the cell
        less that margin on each side (a button painted in the cell: its face)."""
        view = widget(view)
        index = view.model().index(row_of(view, row), column_of(view, column))
        rect = view.visualRect(index).adjusted(inset[0], inset[1], -inset[0], -inset[1])
        info = fully_shown(view.viewport(), rect)
        info["name"] = f"{view.objectName()}[{row}, {column}]"
        info["in_viewport"] = view.viewport().rect().contains(rect)
        info["hidden_column"] = view.horizontalHeader().isSectionHidden(index.column())
        info["ok"] = info["ok"] and info["in_viewport"] and not info["hidden_column"]
        return info

    def button_shown(view, row, column) -> dict:
        """A button painted in a table cell (the positions grid's Exit / Exit all: the
        cell less 3 px by 2 px, as ui/positions_panel.ButtonDelegate paints it) entirely
        visible."""
        return cell_shown(view, row, column, BUTTON_INSET)

    def hscroll(view) -> dict:
        """A table's horizontal scroll bar: shown?, value, maximum, and a point in its
        track right of the handle (a click there pages right)."""
        view = widget(view)
        bar = view.horizontalScrollBar()
        top_left = bar.mapToGlobal(QPoint(0, 0))
        arrow = bar.height()  # the arrow buttons are square
        return {
            "visible": bar.isVisible(),
            "value": bar.value(),
            "maximum": bar.maximum(),
            "page_point": [
                top_left.x() + bar.width() - arrow - 3,
                top_left.y() + bar.height() // 2,
            ],
        }

    def focus_name() -> str | None:
        w = QApplication.focusWidget()
        return None if w is None else (w.objectName() or type(w).__name__)

    def focus_in(w) -> bool:
        """The keyboard focus is on this widget or inside it."""
        w = widget(w)
        f = QApplication.focusWidget()
        return f is not None and (f is w or w.isAncestorOf(f))

    def active_window_name() -> str | None:
        w = QApplication.activeWindow()
        return None if w is None else (w.objectName() or type(w).__name__)

    def rows(view) -> list:
        """A keyed table's items in the order shown (as its model has them now: queued
        updates appear when the model flushes on its own timer, as for the trader)."""
        view = widget(view)
        model = view.model()
        return [model.item_at(r) for r in range(model.rowCount())]

    async def blotter_shows_the_journal() -> bool:
        """Every order's status in the blotter is its status in the OMS."""
        shown = {o.id: o.status for o in rows("blotter")}
        return all(shown.get(o.id) == o.status for o in await app.order_manager.list_orders())

    def cell_text(view, row, column) -> str | None:
        view = widget(view)
        index = view.model().index(row_of(view, row), column_of(view, column))
        return index.data()

    def select_order_row_is(order_id: int) -> bool:
        return [o.id for o in window.blotter_panel.selected_orders()] == [order_id]

    def risk_events(kind: str | None = None) -> list:
        store = getattr(app.kill_switch, "store", None)
        return [] if store is None else store.audit_log(kind=kind)

    # ---- the OMS through its public API (setting up a scene, checking the outcome)

    def _decimal(value):
        return None if value is None else Decimal(str(value))

    async def place(
        symbol: str,
        side: str,
        quantity: int,
        order_type: str = "LIMIT",
        price=None,
        trigger=None,
        stop_loss=None,
        take_profit=None,
        exchange: str = "NSE",
        product: str = "MIS",
    ):
        """Place an order as the ticket would (the trader's earlier orders of a scene)."""
        request = domain.OrderRequest(
            symbol=symbol,
            exchange=exchange,
            side=domain.OrderSide(side),
            quantity=int(quantity),
            order_type=domain.OrderType(order_type),
            price=_decimal(price),
            trigger_price=_decimal(trigger),
            product=domain.Product(product),
            stop_loss=_decimal(stop_loss),
            take_profit=_decimal(take_profit),
        )
        return await app.order_manager.place_order(request)

    def set_price(symbol: str, price, exchange: str = "NSE"):
        """The paper market's last price (fills what it crosses)."""
        return app.broker.set_last_price(exchange, symbol, Decimal(str(price)))

    def ltp(symbol: str, exchange: str = "NSE"):
        return app.quotes.last_price(exchange, symbol)

    async def all_orders(symbol: str | None = None) -> list:
        orders = await app.order_manager.list_orders()
        return [o for o in orders if symbol is None or o.symbol == symbol]

    async def order(order_id: int):
        return await app.order_manager.get_order(order_id)

    async def status(order_id: int) -> str:
        return (await app.order_manager.get_order(order_id)).status.value

    async def legs(entry_id: int) -> list:
        """A bracket entry's exit orders (stop-loss and target)."""
        return [o for o in await app.order_manager.list_orders() if o.parent_order_id == entry_id]

    async def live_legs(entry_id: int) -> list:
        return [o for o in await legs(entry_id) if o.status.is_active]

    def position_qty(symbol: str, exchange: str = "NSE") -> int:
        return sum(
            p.quantity
            for p in app.position_manager.all_positions()
            if p.symbol == symbol and p.exchange == exchange
        )

    def shown_positions() -> list:
        """The positions grid's rows as shown (symbol, quantity)."""
        return [(p.symbol, p.quantity) for p in rows("positionsGrid")]

    def blotter_row(order_id: int) -> int:
        return row_of("blotter", {"id": order_id})

    # ---- menus (the menu bar's titles and a shown menu's items, to click them)

    def menu_title_center(menu_name: str) -> list[int]:
        """Where to click to open a menu of the menu bar (the QMenu's objectName)."""
        from PySide6.QtWidgets import QMenu

        menu = window.findChild(QMenu, menu_name)
        if menu is None:
            raise LookupError(f"no menu named {menu_name!r}")
        bar = window.menuBar()
        rect = bar.actionGeometry(menu.menuAction())
        if rect.isEmpty():
            raise LookupError(f"menu {menu_name!r} is not in the menu bar")
        point = bar.mapToGlobal(rect.center())
        return [point.x(), point.y()]

    def menu_by_title(title: str):
        """A menu of the menu bar by its title without '&' (e.g. "Risk")."""
        for action in window.menuBar().actions():
            if action.text().replace("&", "") == title and action.menu() is not None:
                return action.menu()
        raise LookupError(f"no menu {title!r} in the menu bar")

    def menu_title_center_by_text(title: str) -> list[int]:
        bar = window.menuBar()
        menu = menu_by_title(title)
        point = bar.mapToGlobal(bar.actionGeometry(menu.menuAction()).center())
        return [point.x(), point.y()]

    def shown_menu():
        from PySide6.QtWidgets import QMenu

        popup = QApplication.activePopupWidget()
        return popup if isinstance(popup, QMenu) else None

    def menu_item_center(wanted) -> list[int]:
        """Where to click an item of the menu now shown: the QAction itself or its
        objectName."""
        menu = shown_menu()
        if menu is None:
            raise LookupError("no menu is shown")
        for action in menu.actions():
            if action is wanted or action.objectName() == wanted:
                rect = menu.actionGeometry(action)
                point = menu.mapToGlobal(rect.center())
                return [point.x(), point.y()]
        raise LookupError(f"no item {wanted!r} in the shown menu")

    def action(name: str):
        from PySide6.QtGui import QAction

        found = window.findChild(QAction, name)
        if found is None:
            raise LookupError(f"no action named {name!r}")
        return found

    def dialog(name: str):
        """A shown top-level window (dialog) with this objectName, or None."""
        for top in QApplication.topLevelWidgets():
            if top.objectName() == name and top.isVisible():
                return top
        return None

    def confirm_text() -> str | None:
        box = window.confirm_box
        return None if box is None else box.text()

    def alerts_text() -> list[str]:
        model = window.alerts.view.model()
        out = []
        for row in range(model.rowCount()):
            out.append(
                " | ".join(
                    str(model.index(row, c).data() or "") for c in range(model.columnCount())
                )
            )
        return out

    def shown_outside_alerts(fragment: str) -> list[str]:
        """Visible texts (labels, message boxes, the status bar's message) outside the
        alerts panel that contain `fragment`: where a trader would see a message."""
        from PySide6.QtWidgets import QLabel, QMessageBox, QStatusBar

        wanted = fragment.lower()
        found = []
        for top in QApplication.topLevelWidgets():
            if not top.isVisible():
                continue
            for w in [top, *top.findChildren(QWidget)]:
                if not w.isVisible() or w is window.alerts or window.alerts.isAncestorOf(w):
                    continue
                if isinstance(w, QMessageBox):
                    text = f"{w.text()} {w.informativeText()}"
                elif isinstance(w, QLabel):
                    text = w.text()
                elif isinstance(w, QStatusBar):
                    text = w.currentMessage()
                else:
                    continue
                if wanted in text.lower():
                    found.append(w.objectName() or type(w).__name__)
        return found

    def modify_dialog_state() -> dict | None:
        """The open modify dialog: can it still send (Modify enabled, fields editable) and
        all it says."""
        from PySide6.QtWidgets import QDialogButtonBox, QLabel

        d = dialog("modifyOrderDialog")
        if d is None:
            return None
        ok = d.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        return {
            "can_send": bool(ok is not None and ok.isEnabled() and ok.isVisible()),
            "editable": any(w.isEnabled() for w in (find("modifyPrice"), find("modifyQuantity"))),
            "text": " ".join(w.text() for w in d.findChildren(QLabel) if w.isVisible()),
        }

    def image_colours(path: str, step: int = 9) -> int:
        """Distinct colours of a PNG sampled every `step` pixels (a blank screen has 1)."""
        from PySide6.QtGui import QImage

        image = QImage(path)
        return len(
            {
                image.pixel(x, y)
                for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)
            }
        )

    def all_text(w) -> str:
        """Everything a window or widget shows as text: labels, buttons, text views and
        the cells and headers of its tables / lists / trees."""
        from PySide6.QtWidgets import (
            QAbstractButton,
            QAbstractItemView,
            QLabel,
            QPlainTextEdit,
            QTextEdit,
        )

        w = widget(w)
        parts: list[str] = []

        def model_text(model, parent=None) -> None:
            from PySide6.QtCore import QModelIndex

            parent = parent or QModelIndex()
            for c in range(model.columnCount(parent)):
                parts.append(str(model.headerData(c, Qt.Orientation.Horizontal) or ""))
            for r in range(model.rowCount(parent)):
                for c in range(model.columnCount(parent)):
                    index = model.index(r, c, parent)
                    parts.append(str(index.data() or ""))
                    if c == 0 and model.hasChildren(index):
                        model_text(model, index)

        for child in [w, *w.findChildren(QWidget)]:
            if isinstance(child, QLabel | QAbstractButton):
                parts.append(child.text())
            elif isinstance(child, QTextEdit | QPlainTextEdit):
                parts.append(child.toPlainText())
            elif isinstance(child, QAbstractItemView) and child.model() is not None:
                model_text(child.model())
        return "\n".join(p for p in parts if p)

    def current_row(view) -> int:
        return widget(view).currentIndex().row()

    return {
        "all_text": all_text,
        "current_row": current_row,
        "image_colours": image_colours,
        "shown_outside_alerts": shown_outside_alerts,
        "modify_dialog_state": modify_dialog_state,
        "place": place,
        "set_price": set_price,
        "ltp": ltp,
        "all_orders": all_orders,
        "order": order,
        "status": status,
        "legs": legs,
        "live_legs": live_legs,
        "position_qty": position_qty,
        "shown_positions": shown_positions,
        "blotter_row": blotter_row,
        "menu_title_center": menu_title_center,
        "menu_by_title": menu_by_title,
        "menu_title_center_by_text": menu_title_center_by_text,
        "shown_menu": shown_menu,
        "menu_item_center": menu_item_center,
        "action": action,
        "dialog": dialog,
        "confirm_text": confirm_text,
        "alerts_text": alerts_text,
        "app": app,
        "window": window,
        "qapp": qapp,
        "Qt": Qt,
        "QRect": QRect,
        "QPoint": QPoint,
        "QAbstractItemView": QAbstractItemView,
        "QApplication": QApplication,
        "Decimal": Decimal,
        "domain": domain,
        "OrderSide": domain.OrderSide,
        "OrderStatus": domain.OrderStatus,
        "OrderType": domain.OrderType,
        "find": find,
        "global_rect": global_rect,
        "center": center,
        "cell_rect": cell_rect,
        "cell_center": cell_center,
        "cell_text": cell_text,
        "row_of": row_of,
        "screen_rect": screen_rect,
        "fully_shown": fully_shown,
        "cell_shown": cell_shown,
        "button_shown": button_shown,
        "hscroll": hscroll,
        "focus_name": focus_name,
        "focus_in": focus_in,
        "active_window_name": active_window_name,
        "rows": rows,
        "blotter_shows_the_journal": blotter_shows_the_journal,
        "select_order_row_is": select_order_row_is,
        "risk_events": risk_events,
        "plain": plain,
        "os": os,
    }


# ---------------------------------------------------------------- the control socket

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


async def _evaluate(source: str, namespace: dict, mode: str):
    code = compile(source, "<e2e>", mode, flags=_FLAGS)
    result = eval(code, namespace)  # noqa: S307 - test harness: the test sends the code
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        result = await result
    if mode == "eval" and hasattr(result, "__await__"):
        result = await result
    return result


def _screenshot(qapp, path: str) -> list[int]:
    """Repaint every visible window now, then grab the X root window (what a trader sees,
    dialogs included) to a PNG. Returns [width, height]."""
    from PySide6.QtWidgets import QApplication

    for top in QApplication.topLevelWidgets():
        if top.isVisible():
            top.repaint()
    screen = qapp.primaryScreen()
    pixmap = screen.grabWindow(0)
    if pixmap.isNull() or not pixmap.save(path, "PNG"):
        raise RuntimeError(f"could not grab the screen to {path}")
    return [pixmap.width(), pixmap.height()]


class ControlServer:
    def __init__(self, namespace: dict, qapp) -> None:
        self.namespace = namespace
        self.qapp = qapp
        self.server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task] = set()

    async def start(self, path: str) -> None:
        self.server = await asyncio.start_unix_server(self._client, path=path, limit=2**24)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                answer = await self._answer(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _answer(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            op = request["op"]
            if op == "eval":
                value = await _evaluate(request["expr"], self.namespace, "eval")
            elif op == "exec":
                value = await _evaluate(request["code"], self.namespace, "exec")
            elif op == "wait":
                value = await self._wait(request["expr"], float(request.get("timeout", 10)))
            elif op == "screenshot":
                value = _screenshot(self.qapp, request["path"])
            elif op == "ping":
                value = "pong"
            else:
                raise ValueError(f"unknown op {op!r}")
            return {"ok": True, "value": plain(value)}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the test
            return {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }

    async def _wait(self, expr: str, timeout: float):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last, error = None, None
        while True:
            try:
                last = await _evaluate(expr, self.namespace, "eval")
                error = None
                if last:
                    return last
            except Exception as exc:  # noqa: BLE001 - not true yet; say why at the end
                error = f"{type(exc).__name__}: {exc}"
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"not true within {timeout:g} s: {expr}\n  last value: {plain(last)!r}"
                    + (f"\n  last error: {error}" if error else "")
                )
            await asyncio.sleep(POLL_S)


# ---------------------------------------------------------------- the app, as desktop-oms


def run(args) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_oms.app import Application
    from desktop_oms.app.gui_runner import (
        _set_app_icon,
        install_exception_handler,
        install_signal_handlers,
        restore_signal_handlers,
    )
    from desktop_oms.config import Settings
    from desktop_oms.infra.logs import setup_logging
    from desktop_oms.ui.common import apply_dark_theme

    settings, warning = Settings.load(Path(args.data_dir), broker="paper", simulate_market=False)
    settings.ensure_dirs()
    setup_logging(settings.log_dir, "INFO")

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    qapp.setApplicationName("Desktop OMS")
    qapp.setOrganizationName("desktop-oms")
    qapp.setQuitOnLastWindowClosed(False)
    apply_dark_theme(qapp)
    _set_app_icon(qapp)
    exit_code = 0

    async def main() -> None:
        nonlocal exit_code
        loop = asyncio.get_running_loop()
        app = Application(settings)
        closed = asyncio.Event()
        state: dict = {"window": None}

        def report(text: str) -> bool:
            if app.order_manager is not None:
                app.order_manager.alert("error", text, "event-loop")
                return app.window is not None
            return False

        def on_signal(signum: int) -> None:
            log.warning("%s received: closing the window", signal.Signals(signum).name)
            if state["window"] is not None:
                state["window"].close()
            closed.set()

        install_exception_handler(loop, report)
        previous = install_signal_handlers(on_signal)
        wakeup = QTimer()
        wakeup.timeout.connect(lambda: None)
        wakeup.start(200)
        server = None
        try:
            gc.freeze()
            gc.enable()
            await app.start()
            window = app.window
            state["window"] = window
            window.closing.connect(closed.set)
            if warning:
                app.order_manager.alert("warning", warning, "settings")
            if args.fill_screen and not window.layout_restored:
                # A trader's first start: the window maximised on her screen (the window
                # manager does it). A restored layout comes back as it was saved.
                window.showMaximized()
            else:
                window.show()
            server = ControlServer(make_namespace(app, qapp), qapp)
            await server.start(args.socket)
            print(f"E2E-READY pid={os.getpid()}", flush=True)
            try:
                await closed.wait()
            finally:
                await server.close()
                await app.stop()
                window.hide()
                window.deleteLater()
        except BaseException:
            exit_code = 3
            traceback.print_exc()
            raise
        finally:
            wakeup.stop()
            restore_signal_handlers(previous)

    qasync.run(main())
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.app_child")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--socket", required=True, help="unix socket path for the control RPC")
    parser.add_argument(
        "--no-fill-screen",
        dest="fill_screen",
        action="store_false",
        help="show the window at the product's first size instead of the whole screen",
    )
    args = parser.parse_args(argv)
    gc.disable()  # as desktop-oms: off while the program loads (run() turns it back on)
    try:
        return run(args)
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(main())
