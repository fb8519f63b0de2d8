"""The client-side sliding-window limiter, with an injected clock (deterministic)."""

from __future__ import annotations

import asyncio

import pytest

from desktop_oms.brokers.errors import BrokerRateLimited
from desktop_oms.brokers.rate_limit import (
    KITE_ORDER_LIMITS,
    RateLimit,
    RateLimiter,
    kite_order_limiter,
    kite_quote_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_kite_order_limits_are_kites():
    assert [(limit.requests, limit.period) for limit in KITE_ORDER_LIMITS] == [
        (10, 1.0),
        (400, 60.0),
        (5000, 86_400.0),
    ]
    assert kite_quote_limiter().limits == (RateLimit(1, 1.0),)


def test_ten_per_second_then_refused_until_the_window_slides(clock):
    limiter = kite_order_limiter(clock=clock, margin=0)
    for _ in range(10):
        assert not limiter.would_exceed()
        assert limiter.try_acquire()
        clock.advance(0.01)
    assert limiter.would_exceed()
    assert not limiter.try_acquire()  # refused attempts are not counted
    assert limiter.usage()[1.0] == 10
    # The first request was sent at t=0: it leaves the 1 s window at t=1.0.
    assert limiter.delay() == pytest.approx(1.0 - 0.10)
    clock.advance(limiter.delay())
    assert limiter.try_acquire()
    assert not limiter.try_acquire()


def test_four_hundred_per_minute(clock):
    limiter = kite_order_limiter(clock=clock, margin=0)
    for second in range(40):
        for _ in range(10):
            assert limiter.try_acquire(), second
        clock.advance(1.0)
    # 400 sent within the last 40 s: the per-second window is free, the minute is full.
    assert limiter.usage()[1.0] == 0
    assert limiter.would_exceed()
    assert limiter.delay() == pytest.approx(20.0)  # the first ten leave at t=60 s
    clock.advance(20.0)
    assert limiter.try_acquire()


def test_five_thousand_per_day(clock):
    limiter = RateLimiter([RateLimit(5000, 86_400.0)], clock=clock)
    limiter.record(5000)
    assert limiter.would_exceed()
    clock.advance(86_399.0)
    assert limiter.would_exceed()
    clock.advance(1.0)
    assert not limiter.would_exceed()


def test_count_larger_than_a_limit_never_fits(clock):
    limiter = kite_order_limiter(clock=clock, margin=0)
    assert limiter.delay(11) == float("inf")
    assert limiter.would_exceed(11)
    assert limiter.try_acquire(10)


async def test_acquire_waits_exactly_until_a_slot_frees(clock):
    limiter = kite_order_limiter(clock=clock, sleep=clock.sleep, margin=0)
    for _ in range(10):
        assert await limiter.acquire() == 0.0
    waited = await limiter.acquire()
    assert waited == pytest.approx(1.0)
    assert clock.sleeps == [pytest.approx(1.0)]
    assert limiter.usage()[1.0] == 1  # the ten old ones slid out, the new one counts


async def test_acquire_gives_up_beyond_max_wait_without_recording(clock):
    limiter = kite_order_limiter(clock=clock, sleep=clock.sleep, margin=0)
    limiter.record(10)
    with pytest.raises(BrokerRateLimited, match="10/s"):
        await limiter.acquire(max_wait=0.5)
    assert clock.sleeps == []
    assert limiter.usage()[1.0] == 10


async def test_concurrent_acquires_are_served_in_order(clock):
    limiter = RateLimiter([RateLimit(2, 1.0)], clock=clock, sleep=clock.sleep)
    served: list[int] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        served.append(i)

    await asyncio.gather(*(one(i) for i in range(6)))
    assert served == list(range(6))
    # 6 requests at 2/s: the last pair waits two full windows.
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_safety_margin_counts_each_request_a_little_longer(clock):
    limiter = kite_order_limiter(clock=clock)  # default margin for network jitter
    assert limiter.margin > 0
    limiter.record(10)
    clock.advance(1.0)
    assert limiter.would_exceed()  # Kite may have seen them later than we sent them
    assert limiter.delay() == pytest.approx(limiter.margin)
    clock.advance(limiter.margin)
    assert limiter.try_acquire()


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        RateLimit(0, 1.0)
    with pytest.raises(ValueError):
        RateLimiter([])
    with pytest.raises(ValueError):
        RateLimiter(KITE_ORDER_LIMITS, margin=-1)
