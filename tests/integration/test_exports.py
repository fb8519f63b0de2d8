"""`desktop-oms export ...`: empty database, populated database, CSV read back."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from desktop_oms.cli import main
from desktop_oms.domain import OrderSide
from tests.helpers import limit, market

D = Decimal
TODAY = datetime.now(ZoneInfo("Asia/Kolkata")).date().isoformat()


def export(kind: str, *args: str) -> int:
    """`desktop-oms export KIND --from TODAY --to TODAY ARGS...`"""
    return main(["export", kind, "--from", TODAY, "--to", TODAY, *args])


def test_export_without_a_database_is_a_clear_error(tmp_path, capsys):
    assert (
        main(["export", "trades", "--from", TODAY, "--to", TODAY, "--data-dir", str(tmp_path)]) == 1
    )
    assert "no Desktop OMS database" in capsys.readouterr().err
    assert not (tmp_path / "oms.db").exists()  # export never creates one


async def test_export_of_an_empty_database_says_so(paper_oms, tmp_path, capsys):
    out = tmp_path / "t.csv"
    code = export("trades", "--data-dir", str(tmp_path), "--output", str(out))
    assert code == 0 and not out.exists()
    assert "No trades" in capsys.readouterr().out


async def test_trades_and_review_round_trip_while_the_app_runs(paper_oms, tmp_path, capsys):
    h = paper_oms
    await h.om.place_order(limit(qty=10, price="2450", strategy_id="Breakout", stop_loss=D("2440")))
    h.broker.set_last_price("NSE", "RELIANCE", D("2465.50"))
    await h.om.place_order(market(side=OrderSide.SELL, qty=10))
    trades_csv = tmp_path / "trades.csv"
    # the OMS still has the database open: export reads it read-only, without the lock
    assert export("trades", "--data-dir", str(tmp_path), "--output", str(trades_csv)) == 0
    raw = trades_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8 (₹, Hindi names)
    with trades_csv.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["side"], r["quantity"], r["price"], r["setup"]) for r in rows] == [
        ("BUY", "10", "2450", "Breakout"),
        ("SELL", "10", "2465.50", ""),
    ]
    assert (
        rows[1]["realized pnl"] == "155.00" and rows[1]["charges"] == "0.00"
    )  # no charges calculator here
    db_trades = h.db.journal.trades()
    assert [r["trade id"] for r in rows] == [t.trade_id for t in db_trades]

    review_csv = tmp_path / "review.csv"
    assert export("review", "--data-dir", str(tmp_path), "--output", str(review_csv)) == 0
    with review_csv.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    header, breakout = lines[0], dict(zip(lines[0], lines[1], strict=True))
    assert header[0] == "setup" and breakout["setup"] == "Breakout"
    assert (
        breakout["trades"],
        breakout["wins"],
        breakout["net pnl"],
        breakout["with stop-loss"],
    ) == ("1", "1", "155.00", "1")

    report = tmp_path / "review.html"
    assert (
        export(
            "review",
            "--format",
            "html",
            "--from",
            TODAY,
            "--to",
            TODAY,
            "--data-dir",
            str(tmp_path),
            "--output",
            str(report),
        )
        == 0
    )
    text = report.read_text(encoding="utf-8")
    assert "<svg" in text or "No PnL history" in text
    assert "Breakout" in text and "155.00" in text


def test_bad_dates_are_refused(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["export", "trades", "--from", "24/11/2026", "--to", TODAY])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


async def test_review_nets_the_charges_recorded_with_each_trade(tmp_path):
    from desktop_oms.app import Application
    from desktop_oms.config import Settings

    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    await app.start()
    try:
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await app.order_manager.place_order(limit(qty=100, price="2450", strategy_id="Breakout"))
        app.broker.set_last_price("NSE", "RELIANCE", D("2460"))
        await app.order_manager.place_order(limit(side=OrderSide.SELL, qty=100, price="2460"))
        trades = app.db.journal.trades()
        assert len(trades) == 2 and all(t.charges > 0 for t in trades)
        position = await app.position_manager.get_position("RELIANCE")
        assert position.charges == sum(t.charges for t in trades)  # same numbers, same transaction
    finally:
        await app.stop()
    out = tmp_path / "review.csv"
    assert export("review", "--data-dir", str(tmp_path), "--output", str(out)) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    row = dict(zip(rows[0], rows[1], strict=True))
    gross, charges, net = D(row["gross pnl"]), D(row["charges"]), D(row["net pnl"])
    assert gross == D("1000.00") and charges > 0 and net == gross - charges
