"""Baskets of option legs (issue 16), as the app wires them: the preview (margin, charges,
premium, slices, the checks each leg would fail) and the sending (buy legs first, each
through place_order; a failed leg stops the rest and says so)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from desktop_oms.app import Application
from desktop_oms.config import Settings
from desktop_oms.domain import OrderSide, OrderStatus, OrderType, Product
from desktop_oms.domain.margin import short_option_margin
from desktop_oms.risk import RiskLimits
from tests.integration.test_paper_options import option

LIMITS = RiskLimits(capital=D("1000000"), max_order_value=D("2000000"), max_quantity=20_000)


@pytest.fixture
async def app(tmp_path):
    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False, risk=LIMITS),
        with_window=False,
    )
    await app.start()
    yield app
    await app.stop()


def atm_pair(app) -> tuple[str, str]:
    """The nearest NIFTY expiry's at-the-money call and put (the listing follows the day)."""
    spot = app.broker.last_price("NSE", "NIFTY 50")
    calls = [i for i in app.instruments if i.name == "NIFTY" and i.instrument_type == "CE"]
    nearest = min(i.expiry for i in calls)
    call = min((i for i in calls if i.expiry == nearest), key=lambda i: abs(i.strike - spot))
    return call.symbol, call.symbol[:-2] + "PE"


async def test_a_basket_preview_shows_margin_charges_and_premium(app):
    call, put = atm_pair(app)
    legs = [
        option(OrderSide.SELL, qty=65, symbol=put),  # listed first, sent last
        option(OrderSide.BUY, qty=65 * 40, symbol=call),
    ]
    preview = await app.risk.basket.preview(legs)
    first, second = preview.legs
    assert first.request.side is OrderSide.BUY and second.request.side is OrderSide.SELL
    call_price = app.broker.last_price("NFO", call)
    put_price = app.broker.last_price("NFO", put)
    assert first.price == call_price and first.premium == call_price * 2600
    assert first.margin == first.premium and first.slices == 2
    spot = app.broker.last_price("NSE", "NIFTY 50")
    naked = short_option_margin(app.instruments.require("NFO", put), spot) * 65
    assert second.margin == naked and second.slices == 1
    assert preview.margin == first.margin + second.margin
    assert preview.premium_paid == call_price * 2600 and preview.premium_received == put_price * 65
    assert preview.net_premium == put_price * 65 - call_price * 2600
    assert first.charges > 0 and second.charges > 0
    assert preview.charges == first.charges + second.charges
    assert preview.available == (await app.broker.funds()).available
    assert preview.fits is (preview.margin <= preview.available)
    assert preview.source == "paper margin model"
    assert "no hedge benefit" in preview.notes[0]
    assert first.problems == () and second.problems == ()
    stop = option(OrderSide.SELL, qty=65, symbol=call, order_type=OrderType.SL_M,
                  trigger_price=call_price - 10)  # fmt: skip
    refused = await app.risk.basket.preview([stop])
    assert refused.legs[0].problems[0][0] == "order_shape"


async def test_a_basket_sends_buys_first_and_a_failed_leg_stops_the_rest(app):
    call, put = atm_pair(app)
    outcome = await app.order_manager.place_basket(
        [option(OrderSide.SELL, qty=65, symbol=put), option(OrderSide.BUY, qty=65, symbol=call)]
    )
    assert outcome.complete and [leg.request.side for leg in outcome.legs] == [
        OrderSide.BUY,
        OrderSide.SELL,
    ]
    assert all(leg.sent and leg.result.status is OrderStatus.FILLED for leg in outcome.legs)
    assert outcome.message == "Basket of 2 legs sent (buy legs first)"
    # the second leg breaks the order value limit: the third is not sent
    outcome = await app.order_manager.place_basket(
        [
            option(OrderSide.BUY, qty=65, symbol=put, product=Product.MIS),
            option(OrderSide.SELL, qty=65 * 20, symbol=call, product=Product.MIS),
            option(OrderSide.SELL, qty=65, symbol=put, product=Product.MIS),
        ]
    )
    first, second, third = outcome.legs
    assert first.sent and outcome.failed is second and second.failed_check == "max_order_value"
    assert not third.sent and third.result is None and third.error.startswith("not sent")
    assert outcome.level == "error"
    assert outcome.message.startswith(f"Basket stopped at SELL 1,300 NFO:{call}")
    assert outcome.message.endswith(f"1 of 3 legs sent; not sent: SELL 65 NFO:{put}")
