"""Black-76 prices, implied volatility, Greeks, the smile and paper chain quotes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr as scipy_ndtr

from desktop_oms.marketdata.options import pricing
from desktop_oms.marketdata.options.pricing import (
    IST,
    IVStatus,
    Smile,
    SpreadModel,
    analyse,
    atm_vol_after_move,
    black76_greeks,
    black76_price,
    forward_price,
    implied_vol,
    ndtr,
    price_chain,
    years_to_expiry,
)

F = 26400.0
R = 0.065
DAY = 1.0 / 365.0
MINUTE = DAY / (24 * 60)
TICK = Decimal("0.05")


def _strikes(forward: float, step: float, each_side: int) -> np.ndarray:
    atm = round(forward / step) * step
    return atm + step * np.arange(-each_side, each_side + 1)


# -- Black-76 --------------------------------------------------------------------------


def test_normal_cdf_matches_scipy_in_the_body_and_both_tails():
    x = np.concatenate([np.linspace(-38.0, 38.0, 2001), [-np.inf, np.inf, 0.0]])
    ours, reference = ndtr(x), scipy_ndtr(x)
    # (below ~1e-308 scipy flushes to 0 where erfc still gives subnormals)
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-300)
    assert ndtr(np.nan).shape == () and np.isnan(ndtr(np.nan))
    assert ndtr(np.array([[0.0]])).shape == (1, 1) and ndtr(0.0) == 0.5


@pytest.mark.parametrize("years", [10 * MINUTE, DAY, 7 * DAY, 30 * DAY, 1.0])
@pytest.mark.parametrize("vol", [0.08, 0.15, 0.45])
def test_put_call_parity(years, vol):
    K = _strikes(F, 50, 40)
    call = black76_price(F, K, years, R, vol, True)
    put = black76_price(F, K, years, R, vol, False)
    np.testing.assert_allclose(call - put, math.exp(-R * years) * (F - K), rtol=0, atol=1e-8 * F)


def test_known_value():
    # F=100, K=100, T=1, r=0, vol=20%: 100 (2 N(0.1) - 1) = 7.965567...
    assert black76_price(100.0, 100.0, 1.0, 0.0, 0.2, True) == pytest.approx(7.9655674554, abs=1e-9)
    assert black76_price(100.0, 100.0, 1.0, 0.05, 0.2, False) == pytest.approx(
        7.9655674554 * math.exp(-0.05), abs=1e-9
    )


def test_at_or_after_expiry_an_option_is_worth_its_intrinsic_value():
    K = np.array([26000.0, 26400.0, 26800.0])
    for years in (0.0, -DAY):
        np.testing.assert_array_equal(black76_price(F, K, years, R, 0.2, True), [400.0, 0.0, 0.0])
        np.testing.assert_array_equal(black76_price(F, K, years, R, 0.2, False), [0.0, 0.0, 400.0])
    greeks = black76_greeks(F, K, 0.0, R, 0.2, True)
    np.testing.assert_array_equal(greeks.delta, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(greeks.gamma, 0.0)
    np.testing.assert_array_equal(greeks.vega, 0.0)
    np.testing.assert_array_equal(
        black76_greeks(F, K, -DAY, R, 0.2, False).delta, [0.0, -0.5, -1.0]
    )


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="strike must be positive"):
        black76_price(F, [26000.0, 0.0], DAY, R, 0.2, True)
    with pytest.raises(ValueError, match="forward must be positive"):
        implied_vol(100.0, float("nan"), 26000.0, DAY, R, True)


# -- Greeks against finite differences -------------------------------------------------


@pytest.mark.parametrize("years", [15 * MINUTE, 2 * DAY, 30 * DAY])
@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_match_finite_differences(years, is_call):
    K = _strikes(F, 100, 8)
    vol = 0.14
    g = black76_greeks(F, K, years, R, vol, is_call)

    def price(f=F, t=years, v=vol):
        return black76_price(f, K, t, R, v, is_call)

    h = 1e-3 * F * vol * math.sqrt(years)  # small against the distribution's width
    delta = (price(F + h) - price(F - h)) / (2 * h)
    gamma = (price(F + h) - 2 * price() + price(F - h)) / (h * h)
    vega = (price(v=vol + 1e-5) - price(v=vol - 1e-5)) / (2e-5) / 100.0
    dt = years * 1e-4
    theta = (price(t=years - dt) - price(t=years + dt)) / (2 * dt) / 365.0
    scale = black76_price(F, F, years, R, vol, True)  # ATM price: what "small" means here
    np.testing.assert_allclose(g.delta, delta, atol=1e-6)
    np.testing.assert_allclose(g.gamma, gamma, atol=1e-6 * np.max(np.abs(gamma)) + 1e-9, rtol=2e-3)
    np.testing.assert_allclose(g.vega, vega, atol=1e-7 * scale, rtol=1e-6)
    np.testing.assert_allclose(g.theta, theta, atol=1e-6 * scale, rtol=1e-5)
    # the signs a trader expects
    atm = len(K) // 2
    assert np.all(g.gamma >= 0) and np.all(g.vega >= 0)  # (underflow to 0 far out)
    assert g.gamma[atm] > 0 and g.vega[atm] > 0 and g.theta[atm] < 0
    assert np.all(g.delta >= 0) if is_call else np.all(g.delta <= 0)


def test_nan_vol_gives_nan_prices_and_greeks():
    g = black76_greeks(F, [26000.0, 26400.0], DAY, R, [np.nan, 0.15], True)
    assert np.isnan(g.delta[0]) and np.isnan(g.vega[0]) and np.isfinite(g.delta[1])
    price = black76_price(F, [26000.0, 26400.0], DAY, R, [np.nan, 0.15], True)
    assert np.isnan(price[0]) and price[1] > 0


# -- implied volatility ----------------------------------------------------------------


def _round_trip(years, vol, is_call):
    K = F * np.exp(np.linspace(-0.15, 0.15, 61))
    price = black76_price(F, K, years, R, vol, is_call)
    iv = implied_vol(price, F, K, years, R, is_call)
    time_value = price * math.exp(R * years) - np.maximum((F - K) if is_call else (K - F), 0.0)
    return K, price, iv, time_value


@pytest.mark.parametrize(
    "years", [5 * MINUTE, 2 * 60 * MINUTE, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 1.0]
)
@pytest.mark.parametrize("vol", [0.05, 0.12, 0.3, 0.9])
@pytest.mark.parametrize("is_call", [True, False])
def test_implied_vol_round_trips_its_price(years, vol, is_call):
    K, price, iv, time_value = _round_trip(years, vol, is_call)
    meaningful = time_value > 1e-4  # a hundredth of a paisa of time value
    assert np.all(iv.status[meaningful] == IVStatus.OK)
    np.testing.assert_allclose(iv.vol[meaningful], vol, rtol=1e-7)
    # and the price back from that vol
    back = black76_price(F, K[meaningful], years, R, iv.vol[meaningful], is_call)
    np.testing.assert_allclose(back, price[meaningful], rtol=1e-9, atol=1e-9)


def test_implied_vol_agrees_with_scipy_brentq_on_tick_prices():
    # LTPs on the 0.05 grid, as the chain shows them: compare with a scalar library solver.
    K = _strikes(F, 50, 20)
    years = 3 * DAY
    smile = Smile(0.13)
    for is_call in (True, False):
        model = black76_price(F, K, years, R, smile.vol(F, K, years), is_call)
        ltp = np.maximum(np.round(model / 0.05) * 0.05, 0.05)
        iv = implied_vol(ltp, F, K, years, R, is_call)
        for i, strike in enumerate(K):
            if iv.status[i] != IVStatus.OK:
                continue

            def gap(v, strike=strike, target=ltp[i], is_call=is_call):
                return float(black76_price(F, strike, years, R, v, is_call)) - target

            assert iv.vol[i] == pytest.approx(brentq(gap, 1e-6, 20.0, xtol=1e-14), rel=1e-8)
        assert np.count_nonzero(iv.status == IVStatus.OK) >= 35


def test_prices_without_an_implied_vol_say_why():
    K = np.array([26000.0] * 6 + [26800.0])
    intrinsic_call = (F - 26000.0) * math.exp(-R * DAY)
    prices = np.array([intrinsic_call - 1.0, intrinsic_call, 0.0, np.nan, F, 50.0, 20.0])
    years = np.array([DAY, DAY, DAY, DAY, DAY, 0.0, -DAY])
    iv = implied_vol(prices, F, K, years, R, True)
    assert np.all(np.isnan(iv.vol))
    assert [IVStatus(s) for s in iv.status] == [
        IVStatus.BELOW_INTRINSIC,
        IVStatus.NO_TIME_VALUE,
        IVStatus.NO_PRICE,
        IVStatus.NO_PRICE,
        IVStatus.ABOVE_MAXIMUM,
        IVStatus.EXPIRED,
        IVStatus.EXPIRED,
    ]
    assert iv.reason(0) == "price below intrinsic value"
    assert iv.reason(5).startswith("expired")
    # puts too: a put cannot be worth more than its discounted strike
    put = implied_vol(26800.0, F, 26800.0, DAY, R, False)
    assert IVStatus(put.status[()]) == IVStatus.ABOVE_MAXIMUM


def test_expiry_today_with_minutes_left():
    years = 7 * MINUTE
    K = _strikes(F, 50, 6)
    ltp = np.maximum(np.round(black76_price(F, K, years, R, 0.11, True) / 0.05) * 0.05, 0.05)
    result = analyse(ltp, F, K, years, R, True)
    ok = result.iv.status == IVStatus.OK
    assert ok[len(K) // 2]  # ATM has time value
    assert np.all(np.isfinite(result.greeks.delta[ok])) and np.all(result.greeks.gamma[ok] > 0)
    # deep ITM on the tick grid may be exactly intrinsic: no IV, said so, Greeks NaN
    assert np.all(np.isnan(result.greeks.delta[~ok]))
    assert all(result.iv.reason(i) for i in np.flatnonzero(~ok))


def test_deep_in_and_out_of_the_money():
    K = np.array([18000.0, 22000.0, 31000.0, 36000.0])
    for is_call in (True, False):
        price = black76_price(F, K, 30 * DAY, R, 0.35, is_call)
        iv = implied_vol(price, F, K, 30 * DAY, R, is_call)
        has_time_value = (
            price * math.exp(R * 30 * DAY) - np.maximum((F - K) if is_call else (K - F), 0.0) > 1e-4
        )
        np.testing.assert_allclose(iv.vol[has_time_value], 0.35, rtol=1e-7)
        assert np.count_nonzero(has_time_value) >= 2


def test_bisection_settles_what_newton_does_not(monkeypatch):
    monkeypatch.setattr(pricing, "_NEWTON_ITERATIONS", 1)
    K, price, iv, time_value = _round_trip(5 * DAY, 0.2, True)
    meaningful = time_value > 1e-4
    assert np.all(iv.status[meaningful] == IVStatus.OK)
    np.testing.assert_allclose(iv.vol[meaningful], 0.2, rtol=1e-9)


def test_scalars_and_broadcasting():
    iv = implied_vol(black76_price(F, 26500.0, DAY, R, 0.2, True), F, 26500.0, DAY, R, True)
    assert iv.vol.shape == () and iv.vol == pytest.approx(0.2, rel=1e-9)
    two_expiries = implied_vol(
        black76_price(F, 26500.0, np.array([DAY, 7 * DAY]), R, 0.2, True),
        F,
        26500.0,
        np.array([DAY, 7 * DAY]),
        R,
        True,
    )
    np.testing.assert_allclose(two_expiries.vol, 0.2, rtol=1e-9)


# -- the smile -------------------------------------------------------------------------


def test_smile_passes_through_atm_and_tilts_to_puts():
    smile = Smile(0.13)
    years = 7 * DAY
    assert smile.vol(F, F, years) == pytest.approx(0.13)
    below, above = smile.vol(F, np.array([F * 0.97, F * 1.03]), years)
    assert below > 0.13 and below > above  # index skew: OTM puts richer than OTM calls


@pytest.mark.parametrize("years", [10 * MINUTE, 2 * DAY, 7 * DAY, 30 * DAY, 90 * DAY])
@pytest.mark.parametrize("atm_vol", [0.08, 0.13, 0.3, 0.6])
def test_smile_prices_are_free_of_strike_arbitrage(years, atm_vol):
    smile = Smile(atm_vol)
    K = F * np.exp(np.linspace(-0.25, 0.25, 801))
    vol = smile.vol(F, K, years)
    scale = black76_price(F, F, years, R, atm_vol, True)
    tol = 1e-10 * F
    for is_call in (True, False):
        price = black76_price(F, K, years, R, vol, is_call)
        slope = np.diff(price) / np.diff(K)
        if is_call:
            assert np.all(np.diff(price) <= tol)  # calls fall with strike
            assert np.all(slope >= -math.exp(-R * years) - 1e-9)  # by less than the strike gap
        else:
            assert np.all(np.diff(price) >= -tol)  # puts rise with strike
            assert np.all(slope <= math.exp(-R * years) + 1e-9)
        assert np.all(np.diff(slope) >= -1e-9 * max(scale, 1.0))  # convex in strike


def test_smile_is_free_of_calendar_arbitrage():
    smile = Smile(0.15)
    k = np.linspace(-0.3, 0.3, 121)
    maturities = [MINUTE * 30, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 1.0]
    total = np.array([smile.total_variance(k, t) for t in maturities])
    assert np.all(np.diff(total, axis=0) >= 0)


def test_smile_parameters_that_allow_arbitrage_are_refused():
    with pytest.raises(ValueError, match="allows arbitrage"):
        Smile(0.13, rho=-0.5, eta=1.5)
    with pytest.raises(ValueError, match="rho"):
        Smile(0.13, rho=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        Smile(0.13, gamma=0.7)
    with pytest.raises(ValueError, match="ATM volatility"):
        Smile(0.0)


def test_atm_vol_moves_against_the_spot():
    assert atm_vol_after_move(0.13, 26400 * 0.99, 26400) == pytest.approx(
        0.13 * math.exp(4 * 0.01005), rel=1e-3
    )
    assert atm_vol_after_move(0.13, 26400 * 1.01, 26400) < 0.13
    assert atm_vol_after_move(0.13, 26400, 26400) == 0.13
    assert atm_vol_after_move(0.13, 1.0, 26400) == pytest.approx(0.39)  # capped at 3x
    assert atm_vol_after_move(0.13, 26400 * 100, 26400) == pytest.approx(0.065)  # floored


# -- chain quotes ----------------------------------------------------------------------


def _chain(forward=F, years=2 * DAY, atm_vol=0.13, step=50, each_side=20, spread=None):
    strikes = [Decimal(str(int(k))) for k in _strikes(forward, step, each_side)]
    return strikes, price_chain(
        Decimal(str(forward)), strikes, years, R, Smile(atm_vol), TICK, spread
    )


CASES = [
    (F, 2 * DAY, 0.13, 50),
    (F, 10 * MINUTE, 0.11, 50),
    (F * 0.97, 9 * DAY, 0.18, 50),
    (59870.0, 24 * DAY, 0.15, 100),
    (85123.4, 6 * DAY, 0.12, 100),
    (13020.0, 30 * DAY, 0.2, 25),
]


@pytest.mark.parametrize(("forward", "years", "atm_vol", "step"), CASES)
def test_chain_quotes_cannot_be_arbitraged(forward, years, atm_vol, step):
    strikes, chain = _chain(forward, years, atm_vol, step)
    K = np.array([float(s) for s in strikes])
    df = math.exp(-R * years)
    cb, ca, pb, pa = (
        chain.call_bid * 0.05,
        chain.call_ask * 0.05,
        chain.put_bid * 0.05,
        chain.put_ask * 0.05,
    )
    eps = 1e-9
    # verticals: buying the lower-strike call and selling the higher never pays you to start
    assert np.all(ca[:-1] - cb[1:] >= -eps)
    # ... and never costs more than the discounted strike gap
    assert np.all(cb[:-1] - ca[1:] <= df * np.diff(K) + eps)
    assert np.all(pa[1:] - pb[:-1] >= -eps)
    assert np.all(pb[1:] - pa[:-1] <= df * np.diff(K) + eps)
    # butterflies bought at the asks, middle sold at the bid: never a credit
    assert np.all(ca[:-2] + ca[2:] - 2 * cb[1:-1] >= -eps)
    assert np.all(pa[:-2] + pa[2:] - 2 * pb[1:-1] >= -eps)
    # conversions and reversals at the quotes
    assert np.all(ca - pb >= df * (forward - K) - eps)
    assert np.all(cb - pa <= df * (forward - K) + eps)


@pytest.mark.parametrize(("forward", "years", "atm_vol", "step"), CASES)
def test_chain_ltps_keep_order_convexity_and_parity_within_ticks(forward, years, atm_vol, step):
    strikes, chain = _chain(forward, years, atm_vol, step)
    K = np.array([float(s) for s in strikes])
    c, p = chain.call_ltp, chain.put_ltp  # in ticks
    assert np.all(np.diff(c) <= 0) and np.all(np.diff(p) >= 0)
    assert np.all(c[:-2] + c[2:] - 2 * c[1:-1] >= -2)
    assert np.all(p[:-2] + p[2:] - 2 * p[1:-1] >= -2)
    parity = (c - p) * 0.05 - math.exp(-R * years) * (forward - K)
    # within half a tick each, except that nothing trades below one tick: < 1.5 ticks
    assert np.max(np.abs(parity)) < 0.075
    away_from_the_floor = (c > 1) & (p > 1)
    assert np.max(np.abs(parity[away_from_the_floor])) <= 0.05 + 1e-9
    assert np.all((chain.call_bid <= c) & (c <= chain.call_ask) & (c >= 1))
    assert np.all((chain.put_bid <= p) & (p <= chain.put_ask) & (p >= 1))
    assert np.all(chain.call_ask - chain.call_bid >= 1)


def test_chain_quotes_are_decimals_on_the_tick():
    strikes, chain = _chain()
    atm = len(strikes) // 2
    quote = chain.call_quote(atm)
    put = chain.put_quote(atm)
    for value in (quote.bid, quote.ask, quote.ltp, put.bid, put.ask, put.ltp):
        assert isinstance(value, Decimal) and value % TICK == 0 and value.as_tuple().exponent == -2
    assert quote.bid < quote.ltp < quote.ask
    # the model LTP is within half a tick of the theoretical price
    assert abs(float(quote.ltp) - chain.call_theo[atm]) <= 0.025 + 1e-9
    assert chain.strikes == tuple(strikes)


def test_far_strikes_have_no_bid_but_an_ask_of_a_tick():
    strikes, chain = _chain(years=10 * MINUTE, step=50, each_side=40)
    assert chain.call_bid[-1] == 0 and chain.call_ask[-1] == 1 and chain.call_ltp[-1] == 1
    assert chain.put_quote(0).bid == Decimal("0.00")


def test_wider_spreads_widen_the_quotes():
    _, narrow = _chain(spread=SpreadModel(relative=0.001))
    _, wide = _chain(spread=SpreadModel(relative=0.01))
    assert np.all(wide.call_ask - wide.call_bid >= narrow.call_ask - narrow.call_bid)
    assert np.any(wide.call_ask - wide.call_bid > narrow.call_ask - narrow.call_bid)


def test_expired_chain_is_intrinsic():
    strikes, chain = _chain(years=-MINUTE, each_side=2)
    K = np.array([float(s) for s in strikes])
    expected = np.maximum(F - K, 0.0)
    np.testing.assert_allclose(np.maximum(chain.call_ltp, 1) * 0.05, np.maximum(expected, 0.05))


# -- time ------------------------------------------------------------------------------


def test_years_to_expiry_runs_to_the_close_in_ist():
    expiry = date(2026, 12, 8)
    at_open = datetime(2026, 12, 8, 9, 15, tzinfo=IST)
    assert years_to_expiry(at_open, expiry) == pytest.approx(6.25 / 24 / 365)
    # the same instant seen from a machine in UTC
    assert years_to_expiry(at_open.astimezone(UTC), expiry) == pytest.approx(6.25 / 24 / 365)
    assert years_to_expiry(datetime(2026, 12, 8, 15, 30, tzinfo=IST), expiry) == 0.0
    assert years_to_expiry(datetime(2026, 12, 8, 15, 31, tzinfo=IST), expiry) < 0
    assert years_to_expiry(datetime(2026, 12, 1, 15, 30, tzinfo=IST), expiry) == pytest.approx(
        7 / 365
    )
    with pytest.raises(ValueError, match="time-zone aware"):
        years_to_expiry(datetime(2026, 12, 8, 9, 15), expiry)


def test_forward_from_spot():
    assert forward_price(26000.0, 30 * DAY, 0.065) == pytest.approx(
        26000 * math.exp(0.065 * 30 / 365)
    )
    assert forward_price(26000.0, -DAY, 0.065) == pytest.approx(26000.0)
    assert forward_price(26000.0, 1.0, 0.065, dividend_yield=0.065) == pytest.approx(26000.0)


def test_minutes_later_the_atm_option_is_cheaper():
    now = datetime(2026, 12, 8, 14, 0, tzinfo=IST)
    earlier = years_to_expiry(now, date(2026, 12, 8))
    later = years_to_expiry(now + timedelta(minutes=60), date(2026, 12, 8))
    assert black76_price(F, F, later, R, 0.12, True) < black76_price(F, F, earlier, R, 0.12, True)
