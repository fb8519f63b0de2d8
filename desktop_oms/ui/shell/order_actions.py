"""What the blotter's and the positions grid's actions do (`OrderActions`): cancel / modify
/ cancel all from the blotter, CSV export, per-row Exit and Exit all from the positions
grid, each after its confirmation where one is due.

Everything reaches the broker through the OrderManager, as a kept task of the window's
TaskRunner; refusals and failures are shown in the alerts and under the panel the
action came from (the Modify dialog shows its own). The panels only offer the actions:
the window connects them here.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from desktop_oms.domain import OrderSide
from desktop_oms.infra.clock import file_stamp
from desktop_oms.ui.common import (
    InstrumentSource,
    KeyedTableModel,
    ModifyOrderDialog,
    TaskRunner,
    describe_error,
    export_csv,
)
from desktop_oms.ui.common import format as fmt
from desktop_oms.ui.shell.confirmations import Confirmations

if TYPE_CHECKING:
    from desktop_oms.oms import OrderManager
    from desktop_oms.ui.alerts import AlertsPanel
    from desktop_oms.ui.blotter import BlotterPanel
    from desktop_oms.ui.positions import PositionsPanel


class OrderActions(QObject):
    """What the blotter's and the positions grid's actions do: cancel, modify, cancel all,
    export, exit one position or all, each after its confirmation; outcomes go to the
    alerts and under the panel the action came from."""

    def __init__(
        self,
        *,
        order_manager: OrderManager,
        instruments: InstrumentSource,
        tasks: TaskRunner,
        alerts: AlertsPanel,
        confirmations: Confirmations,
        blotter: BlotterPanel,
        positions: PositionsPanel,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._parent = parent  # of the dialogs
        self.om = order_manager
        self.instruments = instruments
        self.tasks = tasks
        self.alerts = alerts
        self.confirmations = confirmations
        self.blotter_panel = blotter
        self.orders_model = blotter.orders_model
        self.trades_model = blotter.trades_model
        self.positions_panel = positions
        self.positions_model = positions.model
        self.modify_dialog: ModifyOrderDialog | None = None  # the open one, if any
        self.file_dialog: QFileDialog | None = None  # the open export dialog, if any

    def track(self, order) -> None:
        """An open Modify dialog follows its order live (fills, terms, the end)."""
        dialog = self.modify_dialog
        if dialog is not None and dialog.order.id == order.id:
            dialog.track(order)

    def close_dialogs(self) -> None:
        for dialog in (self.modify_dialog, self.file_dialog):
            if dialog is not None:
                dialog.close()

    # ================================================================== blotter

    def cancel_selected_orders(self) -> asyncio.Task | None:
        """Del / context menu: cancel the selected open orders."""
        selected = self.blotter_panel.selected_orders()
        active = [o for o in selected if o.status.is_active]
        if not active:
            self.alerts.add("warning", "No open order selected to cancel", "blotter")
            self.blotter_panel.show_message("No open order selected to cancel", "warning")
            return None
        om = self.om

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
        return self.tasks.run(cancel_each(), f"cancel {names}", on_result=self._report_cancels)

    def _report_results(self, results: list[tuple[str, str]]) -> None:
        for level, text in results:
            self.alerts.add(level, text, "orders")

    def _report_cancels(self, results: list[tuple[str, str]]) -> None:
        self._report_results(results)
        failed = [text for level, text in results if level == "error"]
        if failed:
            self.blotter_panel.show_message("\n".join(failed), "error")
        elif results:
            self.blotter_panel.show_message("\n".join(t for _l, t in results), "info")

    def modify_selected_order(self):
        """Open the modify dialog for the one selected open order (non-modal)."""
        active = [o for o in self.blotter_panel.selected_orders() if o.status.is_active]
        if len(active) != 1:
            self.alerts.add("warning", "Select one open order to modify", "blotter")
            self.blotter_panel.show_message("Select one open order to modify", "warning")
            return None
        if self.modify_dialog is not None:
            self.modify_dialog.close()
        order = active[0]
        inst = self.instruments.get(order.exchange, order.symbol)
        dialog = ModifyOrderDialog(
            order,
            tick_size=inst.tick_size if inst is not None else None,
            lot_size=inst.lot_size if inst is not None else 1,
            parent=self._parent,
            stay_open=True,
        )

        def accepted(_price, _qty, _trigger) -> None:
            changes = dialog.changes()
            if changes:
                self.send_modify(dialog.order, changes, dialog)

        dialog.accepted_values.connect(accepted)
        dialog.finished.connect(lambda _r: self._forget_modify_dialog(dialog))
        self.modify_dialog = dialog
        dialog.open()
        return dialog

    def _forget_modify_dialog(self, dialog) -> None:
        if self.modify_dialog is dialog:
            self.modify_dialog = None

    def send_modify(self, order, changes: dict, dialog=None) -> asyncio.Task | None:
        """Send a modify; its refusal is shown in the dialog it came from (which stays open
        until the modify is done) or under the blotter, and in the alerts."""
        om = self.om
        described = ", ".join(
            f"{k.replace('_price', '')} {fmt.price(v) if isinstance(v, Decimal) else v}"
            for k, v in changes.items()
        )
        what = f"modify #{order.id} {order.symbol} ({described})"

        def done(after) -> None:
            text = f"Modified #{order.id} {order.symbol}: {described} \u2014 {fmt.enum_text(after.status)}"
            self.alerts.add("info", text, "orders")
            self.blotter_panel.show_message(text, "info")
            if dialog is not None and self.modify_dialog is dialog:
                dialog.sent()

        def failed(exc: BaseException) -> None:
            reason = describe_error(exc)
            self.alerts.add("error", f"{what}: {reason}", "orders")
            if dialog is not None and self.modify_dialog is dialog:
                dialog.refused(reason)
            else:
                self.blotter_panel.show_message(f"Not modified #{order.id}: {reason}", "error")

        if dialog is not None:
            dialog.set_sending(f"Sending: {described}\u2026")
        return self.tasks.run(
            om.modify_order(order.id, **changes), what, on_result=done, on_error=failed
        )

    def request_cancel_all(self) -> QMessageBox | None:
        """Cancel all open orders, after a confirmation. The orders are the OMS's working
        ones (what Cancel all cancels), not the blotter's rows: an order placed a moment
        ago is working before the blotter's next flush shows it."""
        open_orders = self.om.live_orders() if self.om is not None else []
        if not open_orders:
            self.alerts.add("info", "No open orders to cancel", "blotter")
            return None
        count = len(open_orders)
        symbols = sorted({o.symbol for o in open_orders})
        listed = ", ".join(symbols[:8]) + ("\u2026" if len(symbols) > 8 else "")
        return self.confirmations.ask(
            "Cancel all open orders",
            f"Cancel all {count} open order{'s' if count != 1 else ''}?\n{listed}",
            self.cancel_all_orders,
            yes_text="Cancel &all",
            no_text="&Keep them",
            default_yes=True,
        )

    def cancel_all_orders(self) -> asyncio.Task | None:
        om = self.om

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

    # ================================================================== export

    def ask_export(self, model: KeyedTableModel, what: str) -> QFileDialog:
        """Export CSV: a non-modal save dialog, then `export_model`."""
        stamp = file_stamp()  # IST
        folder = Path.home() / "Documents"
        if not folder.is_dir():
            folder = Path.home()
        dialog = QFileDialog(
            self._parent, f"Export {what} to CSV", str(folder / f"{what}-{stamp}.csv")
        )
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

    # ================================================================== positions

    @staticmethod
    def _exit_text(position) -> str:
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        return (
            f"{side.value} {fmt.quantity(abs(position.quantity))} {position.exchange}:{position.symbol} "
            f"{position.product.value} at MARKET"
        )

    def _exit_plan_text(self, positions: list) -> str:
        """What an exit does besides the market order: legs cancelled first, orders left."""
        om = self.om
        lines = []
        for p in positions:
            legs, others = om.exit_plan(p.exchange, p.symbol, p.product)
            for leg in legs:
                kind = "bracket leg" if leg.source == "bracket" else "resting exit"
                lines.append(f"Cancels first: {_order_text(leg)} ({kind})")
            for other in others:
                lines.append(f"Left working: {_order_text(other)}")
        if len(lines) > 10:
            lines = lines[:10] + [f"\u2026 and {len(lines) - 10} more"]
        return "\n".join(lines)

    def request_exit(self, position=None) -> QMessageBox | None:
        """Per-row Exit (or Ctrl+Shift+X on the selected row): close one position at market,
        after a confirmation (Enter exits, Esc keeps)."""
        if position is None:
            position = self.positions_panel.current_position()
            if position is None:
                self.alerts.add("warning", "Select an open position to exit", "positions")
                return None
        if not position.quantity:
            return None
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        plan = self._exit_plan_text([position])
        return self.confirmations.ask(
            "Exit position",
            f"Square off {position.exchange}:{position.symbol} ({position.product.value})?\n"
            f"{self._exit_text(position)}" + (f"\n{plan}" if plan else ""),
            lambda: self.exit_positions([position], f"exit {position.symbol}"),
            yes_text=f"&{side.value.title()} {fmt.quantity(abs(position.quantity))} at market",
            no_text="&Keep it",
            informative="Orders on its closing side (stop-loss / target legs, resting exits) "
            "are cancelled first, then one reduce-only market order closes it.",
            default_yes=True,
        )

    def request_exit_all(self) -> QMessageBox | None:
        positions = self.positions_model.open_positions()
        if not positions:
            self.alerts.add("info", "No open positions to exit", "positions")
            return None
        lines = "\n".join(self._exit_text(p) for p in positions[:12])
        if len(positions) > 12:
            lines += f"\n\u2026 and {len(positions) - 12} more"
        plan = self._exit_plan_text(positions)
        count = len(positions)
        return self.confirmations.ask(
            "Exit all positions",
            f"Square off all {count} open position{'s' if count != 1 else ''} at market?\n{lines}"
            + (f"\n{plan}" if plan else ""),
            lambda: self.exit_positions(positions, "exit all positions"),
            yes_text="E&xit all",
            no_text="&Keep them",
            informative="Orders on each position's closing side (stop-loss / target legs, "
            "resting exits) are cancelled first, then reduce-only market orders close them.",
            default_yes=True,
        )

    def exit_positions(self, positions: list, what: str) -> asyncio.Task | None:
        """Exit the positions the trader confirmed (as they were then), one audited action
        each (OrderManager.exit_position): legs cancelled first, then the market order."""
        om = self.om

        async def send() -> list[tuple[str, str]]:
            outcomes = await asyncio.gather(
                *(
                    om.exit_position(
                        p.exchange,
                        p.symbol,
                        p.product,
                        confirmed_quantity=p.quantity,
                        reason=f"{what} (window)",
                    )
                    for p in positions
                ),
                return_exceptions=True,
            )
            results = []
            for p, outcome in zip(positions, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    results.append(
                        ("error", f"Exit {p.exchange}:{p.symbol}: {describe_error(outcome)}")
                    )
                else:
                    results.append((outcome.level, outcome.message))
            return results

        def report(results: list[tuple[str, str]]) -> None:
            self._report_results(results)
            failed = [text for level, text in results if level == "error"]
            if failed:
                self.positions_panel.show_message("\n".join(failed), "error")

        return self.tasks.run(send(), what, on_result=report)


def _order_text(order) -> str:
    left = order.quantity - order.filled_quantity
    price = f" @ {fmt.price(order.price)}" if order.price is not None else ""
    trigger = (
        f" trigger {fmt.price(order.trigger_price)}" if order.trigger_price is not None else ""
    )
    return f"#{order.id} {order.side.value} {fmt.quantity(left)} {order.order_type.value}{price}{trigger}"
