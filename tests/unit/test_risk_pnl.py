"""Today's PnL net of charges (DayPnlLedger), RiskLimits settings, the rate window."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from desktop_oms.config import Settings
from desktop_oms.domain import OrderSide, Position, Product
from desktop_oms.domain.positions import apply_fill, mark_to_market
from desktop_oms.infra.clock import IST, next_trading_day
from desktop_oms.risk import RISK_FIELDS, LossLimitAction, RiskLimits
from desktop_oms.risk.checks.rate import OrderRateWindow, RateLimit
from desktop_oms.risk.pnl import DayPnlLedger

D = Decimal


class Store:
    def __init__(self) -> None:
        self.data = {}

    def get_json(self, key):
        return self.data.get(key)

    def set_json(self, key, value):
        import json

        self.data[key] = json.loads(json.dumps(value, default=str))


class Positions:
    def __init__(self) -> None:
        self.by_key = {}

    def put(self, p: Position) -> None:
        self.by_key[p.key] = p

    def get(self, symbol, product=Product.MIS) -> Position:
        return self.by_key.get(("NSE", symbol, product)) or Position(symbol, "NSE", product)

    def all_positions(self):
        return list(self.by_key.values())


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def fill(positions: Positions, symbol, side, qty, price, charges="0", product=Product.MIS):
    p = positions.get(symbol, product)
    out = apply_fill(p, side, qty, D(price)).position
    positions.put(replace(out, charges=out.charges + D(charges)))


def test_day_pnl_counts_todays_fills_net_of_charges_at_live_prices():
    positions, store = Positions(), Store()
    prices = {}
    clock = Clock(datetime(2026, 5, 4, 9, 30, tzinfo=IST))
    ledger = DayPnlLedger(positions, store, last_price=lambda ex, sym: prices.get(sym), clock=clock)
    ledger.load_or_capture()
    fill(positions, "RELIANCE", OrderSide.BUY, 100, "2450", charges="40.11")
    fill(positions, "RELIANCE", OrderSide.SELL, 100, "2460", charges="94.30")
    fill(positions, "INFY", OrderSide.BUY, 10, "1500", charges="1")
    prices["INFY"] = D("1490")  # live: no mark needed
    day = ledger.today()
    assert (day.realized, day.unrealized, day.charges) == (D("1000"), D("-100"), D("135.41"))
    assert day.net == D("764.59")


def test_carried_positions_count_only_todays_move_and_a_restart_keeps_the_baseline():
    positions, store = Positions(), Store()
    # Yesterday: bought 10 CNC @ 1000, last marked at 1100 (unrealized 1000), charges 5.
    p = apply_fill(Position("TCS", "NSE", Product.CNC), OrderSide.BUY, 10, D("1000")).position
    positions.put(replace(mark_to_market(p, D("1100")), charges=D("5")))
    clock = Clock(datetime(2026, 5, 4, 9, 0, tzinfo=IST))
    ledger = DayPnlLedger(positions, store, clock=clock)
    ledger.load_or_capture()
    assert ledger.today().net == 0
    # Today it falls to 1050 and half is sold there.
    positions.put(mark_to_market(positions.get("TCS", Product.CNC), D("1050")))
    assert ledger.today().gross == D("-500")
    fill(positions, "TCS", OrderSide.SELL, 5, "1050", charges="2", product=Product.CNC)
    day = ledger.today()
    assert day.gross == D("-500")  # selling at the mark changes nothing
    assert day.charges == D("2") and day.net == D("-502")
    # Restart the same day: the saved baseline is used, not a new one.
    again = DayPnlLedger(positions, store, clock=clock)
    again.load_or_capture()
    assert again.today().net == D("-502")
    # The next day starts from zero again.
    clock.at += timedelta(days=1)
    assert ledger.today().net == 0 and ledger.day.isoformat() == "2026-05-05"


def test_risk_limits_defaults_validation_and_settings_roundtrip(tmp_path):
    limits = RiskLimits()
    assert limits.daily_loss_limit == D("60000") and limits.loss_warning == D("50000")
    assert limits.risk_per_trade == D("20000")
    assert limits.loss_limit_action is LossLimitAction.HALT_AND_FLATTEN
    assert limits.square_off_at.isoformat() == "15:15:00"
    for bad in (
        {"warn_at_loss_pct": "0"},
        {"loss_limit_action": "panic"},
        {"square_off_time": "3:15"},
        {"square_off_time": "16:00"},
        {"auto_square_off": "yes"},
    ):
        with pytest.raises(ValueError):
            RiskLimits(**bad)
    # The warning never lies beyond the limit.
    assert RiskLimits(daily_loss_limit_pct=D("3")).loss_warning == D("30000")
    custom = RiskLimits(
        capital="250000", loss_limit_action="halt", square_off_time="15:05", require_stop_loss=True
    )
    assert RiskLimits.from_dict(custom.to_dict()) == custom
    s = Settings(data_dir=tmp_path, risk=custom)
    s.save()
    loaded, warning = Settings.load(tmp_path)
    assert warning is None and loaded.risk == custom
    # Older settings files (contract fields only) still load.
    old = {
        k: v
        for k, v in RiskLimits().to_dict().items()
        if k not in ("loss_limit_action", "square_off_time")
    }
    assert RiskLimits.from_dict(old) == RiskLimits()
    assert {f.name for f in RISK_FIELDS} == set(RiskLimits().to_dict())


def test_next_trading_day_skips_the_weekend():
    friday = datetime(2026, 5, 8, tzinfo=IST).date()
    assert next_trading_day(friday).isoformat() == "2026-05-11"
    assert next_trading_day(friday - timedelta(days=1)) == friday


def test_rate_window_delay_is_exact():
    window = OrderRateWindow((RateLimit(2, 1.0), RateLimit(3, 10.0)))
    window.record(0.0)
    window.record(0.5)
    assert window.delay(0.9)[0] == pytest.approx(0.1)
    assert window.delay(1.0)[0] == 0
    window.record(1.0)
    wait, limit = window.delay(1.2)
    assert limit == RateLimit(3, 10.0) and wait == pytest.approx(8.8)
