from __future__ import annotations

import pytest

from syncengine._config import RateLimitConfig
from syncengine._ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bucket(clock: FakeClock) -> TokenBucket:
    return TokenBucket(RateLimitConfig(rate_per_s=2.0, burst=4), clock=clock)


def test_starts_full_and_allows_a_burst(bucket: TokenBucket) -> None:
    assert [bucket.try_acquire() for _ in range(4)] == [0.0] * 4


def test_empty_bucket_returns_the_wait_without_taking(bucket: TokenBucket) -> None:
    for _ in range(4):
        bucket.try_acquire()
    assert bucket.try_acquire() == pytest.approx(0.5)
    assert bucket.tokens == pytest.approx(0.0)


def test_refills_at_the_configured_rate(bucket: TokenBucket, clock: FakeClock) -> None:
    for _ in range(4):
        bucket.try_acquire()
    clock.now += 1.0
    assert bucket.tokens == pytest.approx(2.0)


def test_never_holds_more_than_burst(bucket: TokenBucket, clock: FakeClock) -> None:
    clock.now += 1000
    assert bucket.tokens == pytest.approx(4.0)


def test_long_run_rate_is_bounded(bucket: TokenBucket, clock: FakeClock) -> None:
    taken = 0
    for _ in range(1000):  # 10 simulated seconds in 10 ms steps
        clock.now += 0.01
        if bucket.try_acquire() == 0.0:
            taken += 1
    assert taken <= 4 + 2 * 10


def test_asking_more_than_burst_is_a_clear_error(bucket: TokenBucket) -> None:
    with pytest.raises(ValueError, match="bucket of 4"):
        bucket.try_acquire(5)
