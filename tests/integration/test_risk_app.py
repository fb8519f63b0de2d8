"""The risk layer as the Application wires it (paper broker, no window): the validator on
every order, charges on positions, a price-driven loss breach through the app's mark loop
engaging the kill switch, limits saved via Settings, engaged across a restart."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from desktop_oms.app import Application
from desktop_oms.config import Settings
from desktop_oms.domain.events import KillSwitchProgress
from desktop_oms.oms import OrderRejected
from desktop_oms.risk import PreTradeValidator, RiskLimits
from tests.helpers import limit, market, until

D = Decimal
LIMITS = RiskLimits(capital=D("100000"), auto_square_off=False)  # loss limit ₹6,000


def settings(tmp_path, limits=LIMITS) -> Settings:
    return Settings(data_dir=tmp_path, broker="paper", simulate_market=False, risk=limits)


async def test_app_risk_end_to_end(tmp_path):
    app = Application(settings(tmp_path), with_window=False)
    await app.start()
    try:
        assert isinstance(app.validator, PreTradeValidator)
        assert (
            app.order_manager.validator is app.validator
            and app.order_manager.charges is app.risk.charges
        )
        progress = []
        app.events.subscribe(KillSwitchProgress, progress.append)
        app.broker.set_last_price("NSE", "RELIANCE", D("2450"))
        await asyncio.sleep(0)  # the tick reaches the quote cache on the next loop pass
        # A new price is seen by the very next order (price band around 2,450 now).
        with pytest.raises(OrderRejected) as exc:
            await app.order_manager.place_order(limit(qty=1000, price="2450.50"))
        assert exc.value.failed_check == "max_order_value"
        assert exc.value.reason == "Order value ₹24,50,500.00 exceeds your limit of ₹5,00,000.00"
        await app.order_manager.place_order(market(qty=100))
        with pytest.raises(OrderRejected) as exc:
            await app.order_manager.place_order(market(qty=100))  # a second click
        assert exc.value.failed_check == "duplicate_order"
        position = await app.position_manager.get_position("RELIANCE")
        assert position.charges > 0 and position.net_pnl == position.total_pnl - position.charges
        assert app.pnl_now().charges == position.charges
        # Prices fall through the daily loss limit: the app's mark loop -> risk monitor.
        app.broker.set_last_price("NSE", "RELIANCE", D("2385"))
        await until(lambda: app.kill_switch.engaged)
        await until(lambda: progress and progress[-1].state in ("DONE", "FAILED"))
        assert progress[-1].state == "DONE", progress[-1].message
        assert app.position_manager.open_positions() == []
        assert app.risk.monitor.snapshot.net < -LIMITS.daily_loss_limit
        # Limits are editable and saved through Settings.
        app.risk.update_limits(replace(LIMITS, max_quantity=100))
        assert app.validator.limits.max_quantity == 100
        loaded, warning = Settings.load(tmp_path)
        assert warning is None and loaded.risk.max_quantity == 100
    finally:
        await app.stop()
    again = Application(settings(tmp_path), with_window=False)
    await again.start()
    try:
        assert again.kill_switch.engaged and again.order_manager.halted
        with pytest.raises(OrderRejected) as exc:
            await again.order_manager.place_order(limit(qty=1, price="2385"))
        assert exc.value.failed_check == "kill_switch"
        assert not again.kill_switch.can_rearm()[0]  # still beyond the loss limit today
    finally:
        await again.stop()
