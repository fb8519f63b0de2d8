"""The day review's table columns: per-setup statistics and round trips (declarative,
as the blotter's; see ui/common/table_model.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from desktop_oms.domain.review import RoundTrip
from desktop_oms.infra.clock import IST
from desktop_oms.ui.common import CENTER, Column, num_column, pnl_column, text_column, theme
from desktop_oms.ui.common import format as fmt


def ist_text(ts: datetime | None, with_date: bool) -> str:
    if ts is None:
        return ""
    ts = ts.astimezone(IST)
    return ts.strftime("%d %b %H:%M:%S" if with_date else "%H:%M:%S")


def percent_text(value) -> str:
    return "" if value is None else f"{float(value):.1f}%"


SETUP_COLUMNS: tuple[Column, ...] = (
    text_column("setup", "Setup", lambda s: s.setup),
    num_column("trades", "Trades", lambda s: s.trades, display=fmt.quantity),
    num_column("win_rate", "Win rate", lambda s: s.win_rate, display=percent_text),
    pnl_column(
        "average_win",
        "Avg win",
        lambda s: s.average_win,
    ),
    pnl_column(
        "average_loss",
        "Avg loss",
        lambda s: s.average_loss,
    ),
    pnl_column(
        "gross",
        "Gross",
        lambda s: s.gross_pnl,
    ),
    num_column("charges", "Charges", lambda s: s.charges, display=fmt.money),
    pnl_column(
        "net",
        "Net",
        lambda s: s.net_pnl,
    ),
    pnl_column(
        "largest_loss",
        "Largest loss",
        lambda s: s.largest_loss,
    ),
    Column(
        "with_stop_loss",
        "With SL",
        lambda s: (s.with_stop_loss, s.trades),
        display=lambda v: f"{v[0]} of {v[1]}",
        sort=lambda v: v[0] / v[1] if v[1] else 0.0,
        align=CENTER,
        header_tip="Trades that had a stop-loss on the order that opened them",
    ),
)


def trip_columns(with_date: Callable[[], bool]) -> tuple[Column, ...]:
    def trip(r) -> RoundTrip:
        return r[1]

    return (
        Column(
            "opened",
            "Opened",
            lambda r: trip(r).opened_at,
            display=lambda v: ist_text(v, with_date()),
            sort=fmt.time_key,
            header_tip="When the trip opened (IST)",
        ),
        Column(
            "closed",
            "Closed",
            lambda r: trip(r).closed_at,
            display=lambda v: ist_text(v, with_date()) if v is not None else "open",
            sort=fmt.time_key,
            header_tip="When the position was flat again (IST); open: not yet",
        ),
        text_column(
            "symbol",
            "Symbol",
            lambda r: trip(r).symbol,
            tooltip=lambda r: f"{trip(r).exchange}:{trip(r).symbol} {trip(r).product.value}",
        ),
        Column(
            "direction",
            "Dir",
            lambda r: trip(r).direction,
            align=CENTER,
            colour=lambda r: theme.qcolor(theme.BUY if trip(r).direction == "LONG" else theme.SELL),
        ),
        text_column("setup", "Setup", lambda r: trip(r).setup),
        num_column("quantity", "Qty", lambda r: trip(r).max_quantity, display=fmt.quantity),
        pnl_column(
            "gross",
            "Gross",
            lambda r: trip(r).gross_pnl,
        ),
        num_column("charges", "Charges", lambda r: trip(r).charges, display=fmt.money),
        pnl_column(
            "net",
            "Net",
            lambda r: trip(r).net_pnl,
        ),
        Column(
            "stop_loss",
            "Stop-loss",
            lambda r: trip(r).had_stop_loss,
            display=lambda v: "yes" if v else "no",
            align=CENTER,
            colour=lambda r: None if trip(r).had_stop_loss else theme.qcolor(theme.AMBER),
        ),
    )
