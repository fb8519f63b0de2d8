"""MainWindow's order and position actions: cancel / modify / cancel-all from the
blotter, CSV export, per-row Exit and Exit all from the positions panel, and the one
confirmation box at a time they share (`_confirm`, also used by ui/close_guard.py).

A mixin of `MainWindow` (ui/main_window.py), not a helper object: the panels' actions are
connected to these methods on the window, the tests call them there
(`window.request_exit`, `window.export_model`, `window.confirm_box`, ...), and a mixin
keeps those names and the returned tasks/dialogs identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from desktop_oms.domain import OrderRequest, OrderSide, OrderStatus, OrderType, Product
from desktop_oms.infra.clock import file_stamp

from . import dialogs
from . import format as fmt
from .columns import KeyedTableModel, export_csv
from .tasks import describe_error

if TYPE_CHECKING:  # type checkers see the window's API; at run time a plain mixin
    _WindowBase = QMainWindow
else:
    _WindowBase = object


class WindowOrderActionsMixin(_WindowBase):
    """Blotter and positions actions of the trading window, with their confirmations."""

    def _on_order_selection(self, *_args) -> None:
        orders = self.blotter_panel.selected_orders()
        self.audit.show_order(orders[0] if len(orders) == 1 else None)

    def cancel_selected_orders(self) -> asyncio.Task | None:
        """Del / context menu: cancel the selected open orders."""
        selected = self.blotter_panel.selected_orders()
        active = [o for o in selected if o.status.is_active]
        if not active:
            self.alerts.add("warning", "No open order selected to cancel", "blotter")
            return None
        om = self.app.order_manager

        async def cancel_each() -> list[str]:
            results = []
            for order in active:
                try:
                    after = await om.cancel_order(order.id)
                except Exception as exc:  # report each, go on with the others
                    results.append(
                        ("error", f"Cancel #{order.id} {order.symbol}: {describe_error(exc)}")
                    )
                else:
                    results.append(
                        (
                            "info",
                            f"Cancel #{order.id} {order.symbol}: {fmt.enum_text(after.status)}",
                        )
                    )
            return results

        names = ", ".join(f"#{o.id}" for o in active[:5]) + ("\u2026" if len(active) > 5 else "")
        return self.tasks.run(cancel_each(), f"cancel {names}", on_result=self._report_results)

    def _report_results(self, results: list[tuple[str, str]]) -> None:
        for level, text in results:
            self.alerts.add(level, text, "orders")

    def modify_selected_order(self):
        """Open the modify dialog for the one selected open order (non-modal)."""
        from .dialogs import ModifyOrderDialog

        active = [o for o in self.blotter_panel.selected_orders() if o.status.is_active]
        if len(active) != 1:
            self.alerts.add("warning", "Select one open order to modify", "blotter")
            return None
        if self.modify_dialog is not None:
            self.modify_dialog.close()
        order = active[0]
        instruments = self.app.instruments
        inst = instruments.get(order.exchange, order.symbol) if instruments is not None else None
        dialog = ModifyOrderDialog(
            order,
            tick_size=inst.tick_size if inst is not None else None,
            lot_size=inst.lot_size if inst is not None else 1,
            parent=self,
        )

        def accepted(_price, _qty, _trigger) -> None:
            changes = dialog.changes()
            if changes:
                self.send_modify(order, changes)

        dialog.accepted_values.connect(accepted)
        dialog.finished.connect(lambda _r: self._forget_modify_dialog(dialog))
        self.modify_dialog = dialog
        dialog.open()
        return dialog

    def _forget_modify_dialog(self, dialog) -> None:
        if self.modify_dialog is dialog:
            self.modify_dialog = None

    def send_modify(self, order, changes: dict) -> asyncio.Task | None:
        om = self.app.order_manager
        described = ", ".join(
            f"{k.replace('_price', '')} {fmt.price(v) if isinstance(v, Decimal) else v}"
            for k, v in changes.items()
        )

        def done(after) -> None:
            self.alerts.add(
                "info",
                f"Modified #{order.id} {order.symbol}: {described} \u2014 {fmt.enum_text(after.status)}",
                "orders",
            )

        return self.tasks.run(
            om.modify_order(order.id, **changes),
            f"modify #{order.id} {order.symbol} ({described})",
            on_result=done,
        )

    def request_cancel_all(self) -> QMessageBox | None:
        """Cancel all open orders, after a confirmation."""
        open_orders = self.orders_model.open_orders()
        if not open_orders:
            self.alerts.add("info", "No open orders to cancel", "blotter")
            return None
        count = len(open_orders)
        symbols = sorted({o.symbol for o in open_orders})
        listed = ", ".join(symbols[:8]) + ("\u2026" if len(symbols) > 8 else "")
        return self._confirm(
            "Cancel all open orders",
            f"Cancel all {count} open order{'s' if count != 1 else ''}?\n{listed}",
            self.cancel_all_orders,
            yes_text="Cancel &all",
            no_text="&Keep them",
        )

    def cancel_all_orders(self) -> asyncio.Task | None:
        om = self.app.order_manager

        def done(result) -> None:
            requested, errors = result
            self.alerts.add(
                "warning" if errors else "info",
                f"Cancel all: {requested} cancelled"
                + (f", {len(errors)} failed" if errors else ""),
                "orders",
            )
            for error in errors:
                self.alerts.add("error", f"Cancel all: {error}", "orders")

        return self.tasks.run(om.cancel_all_orders(), "cancel all open orders", on_result=done)

    def ask_export(self, model: KeyedTableModel, what: str) -> QFileDialog:
        """Export CSV: a non-modal save dialog, then `export_model`."""
        stamp = file_stamp()  # IST
        folder = Path.home() / "Documents"
        if not folder.is_dir():
            folder = Path.home()
        dialog = QFileDialog(self, f"Export {what} to CSV", str(folder / f"{what}-{stamp}.csv"))
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export_model(model, path, what))
        dialog.finished.connect(lambda _r: setattr(self, "file_dialog", None))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export_model(self, model: KeyedTableModel, path: str | Path, what: str = "rows") -> int:
        model.flush()
        try:
            count = export_csv(model, path)
        except OSError as exc:
            self.alerts.add("error", f"Could not export {what} to {path}: {exc}", "export")
            return -1
        self.alerts.add("info", f"Exported {count} {what} to {path}", "export")
        return count

    def _confirm(self, title: str, text: str, on_yes: Callable[[], object], **kw) -> QMessageBox:
        if self.confirm_box is not None:
            self.confirm_box.close()  # one question at a time; the old one counts as "no"
        box = dialogs.confirm(self, title, text, on_yes, **kw)
        self.confirm_box = box
        box.finished.connect(lambda _r: self._forget_confirm(box))
        return box

    def _forget_confirm(self, box) -> None:
        if self.confirm_box is box:
            self.confirm_box = None

    @staticmethod
    def _exit_text(position) -> str:
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return (
            f"{side.value} {fmt.quantity(abs(position.quantity))} {position.exchange}:{position.symbol} "
            f"{position.product.value} at MARKET"
        )

    def request_exit(self, position) -> QMessageBox | None:
        """Per-row Exit: square off one position at market, after a confirmation."""
        if not position.quantity:
            return None
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return self._confirm(
            "Exit position",
            f"Square off {position.exchange}:{position.symbol} ({position.product.value})?\n"
            f"{self._exit_text(position)}",
            lambda: self.exit_positions([position], f"exit {position.symbol}"),
            yes_text=f"&{side.value.title()} {fmt.quantity(abs(position.quantity))} at market",
            no_text="&Keep it",
            informative="A reduce-only market order; it is not sent if the position has changed meanwhile.",
        )

    def request_exit_all(self) -> QMessageBox | None:
        positions = self.positions_model.open_positions()
        if not positions:
            self.alerts.add("info", "No open positions to exit", "positions")
            return None
        lines = "\n".join(self._exit_text(p) for p in positions[:12])
        if len(positions) > 12:
            lines += f"\n\u2026 and {len(positions) - 12} more"
        count = len(positions)
        return self._confirm(
            "Exit all positions",
            f"Square off all {count} open position{'s' if count != 1 else ''} at market?\n{lines}",
            lambda: self.exit_positions(positions, "exit all positions"),
            yes_text="E&xit all",
            no_text="&Keep them",
            informative="Reduce-only market orders; a position that changed meanwhile is skipped.",
        )

    def exit_positions(self, positions: list, what: str) -> asyncio.Task | None:
        """Send the reduce orders for positions the trader confirmed (as they were then)."""
        om = self.app.order_manager
        pm = self.app.position_manager

        async def send() -> list[tuple[str, str]]:
            results = []
            for confirmed in positions:
                current = pm.peek(confirmed.exchange, confirmed.symbol, confirmed.product)
                label = f"{confirmed.exchange}:{confirmed.symbol} {confirmed.product.value}"
                if current.quantity != confirmed.quantity:
                    results.append(
                        (
                            "warning",
                            f"Exit {label}: not sent, the position changed from "
                            f"{confirmed.quantity} to {current.quantity} since you confirmed",
                        )
                    )
                    continue
                request = OrderRequest(
                    symbol=confirmed.symbol,
                    exchange=confirmed.exchange,
                    side=OrderSide.SELL if confirmed.quantity > 0 else OrderSide.BUY,
                    quantity=abs(confirmed.quantity),
                    order_type=OrderType.MARKET,
                    product=Product(confirmed.product),
                    reduce_only=True,
                )
                try:
                    result = await om.place_order(request)
                except Exception as exc:  # report each, go on with the others
                    results.append(("error", f"Exit {label}: {describe_error(exc)}"))
                else:
                    level = "error" if result.status is OrderStatus.REJECTED else "info"
                    tail = f" ({result.message})" if result.message else ""
                    results.append(
                        (
                            level,
                            f"Exit {label}: {request.side.value} {request.quantity} at market "
                            f"\u2014 #{result.order_id} {fmt.enum_text(result.status)}{tail}",
                        )
                    )
            return results

        return self.tasks.run(send(), what, on_result=self._report_results)
