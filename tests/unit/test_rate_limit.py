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


class SteppedClock:
    """Time stands still while tasks run; `run` wakes the sleepers one by one, earliest
    first, moving the clock to each one's wake time (plus `late`: a slow event loop)."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 1000.0
        self.late = late
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._sleepers.append((self.now + seconds, self._seq, future))
        await future

    async def run(self, *aws):
        gathered = asyncio.gather(*aws, return_exceptions=True)
        while not gathered.done():
            for _ in range(20):  # let every runnable task reach its sleep (no real time)
                await asyncio.sleep(0)
            if self._sleepers:
                self._sleepers.sort(key=lambda s: s[:2])
                wake_at, _, future = self._sleepers.pop(0)
                self.now = max(self.now, wake_at + self.late)
                future.set_result(None)
        return await gathered


async def test_time_spent_queued_counts_against_the_wait_limit():
    """Issue 14 item 5: the wait limit runs from the call, not from the lock. 2 per second
    and a 1.5 s limit: of 8 orders asked together, the first 4 leave within 1 s, the rest
    would leave at 2 s or later and are refused at once, before waiting at all."""
    clock = SteppedClock()
    limiter = RateLimiter([RateLimit(2, 1.0)], clock=clock, sleep=clock.sleep)
    asked = clock.now
    left: list[float] = []

    async def one() -> None:
        await limiter.acquire(max_wait=1.5)
        left.append(clock.now - asked)

    results = await clock.run(*(one() for _ in range(8)))
    refused = [r for r in results if isinstance(r, BrokerRateLimited)]
    assert sorted(left) == [0.0, 0.0, 1.0, 1.0]
    assert len(refused) == 4
    assert all("rate limit" in r.message and "1.5 s wait limit" in r.message for r in refused)
    assert limiter.usage()[1.0] == 2  # the refused ones were never counted


async def test_an_order_held_up_behind_a_late_one_is_refused_at_its_deadline():
    """A request queued behind one that left late (a slow loop) is refused rather than
    sent after its wait limit, though its place in the queue first said it would fit."""
    clock = SteppedClock(late=0.6)  # every sleeper wakes 0.6 s late
    limiter = RateLimiter([RateLimit(1, 1.0)], clock=clock, sleep=clock.sleep)
    limiter.record()
    first, second = await clock.run(
        limiter.acquire(max_wait=2.0),  # fits at 1 s; leaves at 1.6 s
        limiter.acquire(max_wait=2.5),  # fits at 2 s by the queue; could only go at 2.6 s
    )
    assert first == pytest.approx(1.6)
    assert isinstance(second, BrokerRateLimited) and "wait limit" in second.message
    assert limiter.usage()[1.0] == 1
