"""Exports: trades and the day's review as CSV (UTF-8 with BOM, so spreadsheet programs
show ₹ and non-Latin names) and the review as a self-contained HTML report."""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from desktop_oms.domain import Order
from desktop_oms.domain.history import PnlSnapshot, TradeRecord
from desktop_oms.domain.money import format_inr
from desktop_oms.domain.review import RoundTrip, SetupStats
from desktop_oms.infra.clock import IST, day_bounds, format_date_time, format_time, to_ist

__all__ = [
    "IST",
    "day_range",
    "pnl_svg",
    "write_review_csv",
    "write_review_html",
    "write_trades_csv",
]

ENCODING = "utf-8-sig"

TRADE_COLUMNS = [
    "time (IST)",
    "trade id",
    "order id",
    "client order id",
    "broker order id",
    "symbol",
    "exchange",
    "product",
    "side",
    "quantity",
    "price",
    "value",
    "multiplier",
    "realized pnl",
    "charges",
    "setup",
]
REVIEW_COLUMNS = [
    "setup",
    "trades",
    "wins",
    "losses",
    "win rate %",
    "average win",
    "average loss",
    "gross pnl",
    "charges",
    "net pnl",
    "largest loss",
    "with stop-loss",
]
TRIP_COLUMNS = [
    "opened (IST)",
    "closed (IST)",
    "symbol",
    "exchange",
    "product",
    "direction",
    "setup",
    "max quantity",
    "gross pnl",
    "charges",
    "net pnl",
    "stop-loss",
]


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 IST, the day after end 00:00 IST) as aware datetimes."""
    return day_bounds(start, end)


def _ist(ts: datetime | None) -> str:
    return format_date_time(ts)


def _clock(ts: datetime) -> str:
    """The chart's time labels: "04 May 09:15 IST" (the day, as a range may span days)."""
    return f"{to_ist(ts):%d %b} {format_time(ts, seconds=False)} IST"


def _num(value: Decimal | None) -> str:
    return "" if value is None else str(value.quantize(Decimal("0.01")))


def write_trades_csv(path: Path, rows: Sequence[tuple[TradeRecord, Order]]) -> int:
    with Path(path).open("w", encoding=ENCODING, newline="") as fh:
        out = csv.writer(fh)
        out.writerow(TRADE_COLUMNS)
        for trade, order in rows:
            out.writerow(
                [
                    _ist(trade.timestamp),
                    trade.trade_id,
                    order.id,
                    order.client_order_id,
                    trade.broker_order_id or "",
                    trade.symbol,
                    trade.exchange,
                    trade.product.value,
                    trade.side.value,
                    trade.quantity,
                    str(trade.price),
                    _num(trade.price * trade.quantity * trade.multiplier),
                    str(trade.multiplier),
                    _num(trade.realized_pnl),
                    _num(trade.charges),
                    order.strategy_id or "",
                ]
            )
    return len(rows)


def _stats_row(s: SetupStats) -> list:
    rate = s.win_rate
    return [
        s.setup,
        s.trades,
        s.wins,
        s.losses,
        "" if rate is None else str(rate.quantize(Decimal("0.1"))),
        _num(s.average_win),
        _num(s.average_loss),
        _num(s.gross_pnl),
        _num(s.charges),
        _num(s.net_pnl),
        _num(s.largest_loss),
        s.with_stop_loss,
    ]


def _trip_row(t: RoundTrip) -> list:
    return [
        _ist(t.opened_at),
        _ist(t.closed_at) or "open",
        t.symbol,
        t.exchange,
        t.product.value,
        t.direction,
        t.setup,
        t.max_quantity,
        _num(t.gross_pnl),
        _num(t.charges),
        _num(t.net_pnl),
        "yes" if t.had_stop_loss else "no",
    ]


def write_review_csv(path: Path, stats: Sequence[SetupStats], trips: Sequence[RoundTrip]) -> int:
    with Path(path).open("w", encoding=ENCODING, newline="") as fh:
        out = csv.writer(fh)
        out.writerow(REVIEW_COLUMNS)
        out.writerows(_stats_row(s) for s in stats)
        out.writerow([])
        out.writerow(TRIP_COLUMNS)
        out.writerows(_trip_row(t) for t in trips)
    return len(trips)


def pnl_svg(points: Sequence[PnlSnapshot], width: int = 900, height: int = 260) -> str:
    """An inline SVG line chart of total and realized PnL (no Qt needed)."""
    if len(points) < 2:
        return "<p>No PnL history for this period.</p>"
    t0 = points[0].at.timestamp()
    span = max(points[-1].at.timestamp() - t0, 1.0)
    values = [p.total_pnl for p in points] + [p.realized_pnl for p in points] + [Decimal(0)]
    low, high = min(values), max(values)
    rng = float(high - low) or 1.0
    pad = 30

    def xy(p: PnlSnapshot, value: Decimal) -> str:
        x = pad + (p.at.timestamp() - t0) / span * (width - 2 * pad)
        y = pad + (float(high - value) / rng) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    total = " ".join(xy(p, p.total_pnl) for p in points)
    realized = " ".join(xy(p, p.realized_pnl) for p in points)
    zero_y = pad + (float(high) / rng) * (height - 2 * pad)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="PnL chart">'
        f'<rect width="100%" height="100%" fill="#1e2227"/>'
        f'<line x1="{pad}" x2="{width - pad}" y1="{zero_y:.1f}" y2="{zero_y:.1f}" stroke="#666" stroke-dasharray="4"/>'
        f'<polyline fill="none" stroke="#61afef" stroke-width="2" points="{total}"/>'
        f'<polyline fill="none" stroke="#98c379" stroke-width="2" points="{realized}"/>'
        f'<text x="{pad}" y="18" fill="#61afef" font-size="12">total</text>'
        f'<text x="{pad + 50}" y="18" fill="#98c379" font-size="12">realized</text>'
        f'<text x="{width - pad}" y="18" fill="#abb2bf" font-size="12" text-anchor="end">'
        f"high ₹{format_inr(high)} · low ₹{format_inr(low)}</text>"
        f'<text x="{pad}" y="{height - 8}" fill="#abb2bf" font-size="12">'
        f"{_clock(points[0].at)}</text>"
        f'<text x="{width - pad}" y="{height - 8}" fill="#abb2bf" font-size="12" '
        f'text-anchor="end">{_clock(points[-1].at)}</text></svg>'
    )


def write_review_html(
    path: Path,
    title: str,
    stats: Sequence[SetupStats],
    trips: Sequence[RoundTrip],
    points: Sequence[PnlSnapshot],
) -> int:
    def table(headers: list[str], rows: list[list]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;background:#282c34;color:#dcdfe4;margin:24px}}
table{{border-collapse:collapse;margin:12px 0}}td,th{{border:1px solid #444;padding:4px 8px;text-align:right}}
th{{background:#333842}}td:first-child,th:first-child{{text-align:left}}h1,h2{{font-weight:500}}</style>
</head><body><h1>{html.escape(title)}</h1>
<h2>PnL</h2>{pnl_svg(points)}
<h2>By setup</h2>{table(REVIEW_COLUMNS, [_stats_row(s) for s in stats]) if stats else "<p>No closed trades.</p>"}
<h2>Round trips</h2>{table(TRIP_COLUMNS, [_trip_row(t) for t in trips]) if trips else "<p>No trades.</p>"}
</body></html>
"""
    Path(path).write_text(doc, encoding="utf-8")
    return len(trips)
