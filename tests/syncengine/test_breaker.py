from __future__ import annotations

import threading

import pytest

from syncengine._breaker import CircuitBreaker
from syncengine._config import BreakerConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(failure_threshold=3, reset_timeout_s=10), clock=clock)


def _fail(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        assert breaker.allow()
        breaker.record_failure()


def test_stays_closed_below_threshold(breaker: CircuitBreaker) -> None:
    _fail(breaker, 2)
    assert breaker.state == "closed"
    assert breaker.allow()


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    _fail(breaker, 3)
    assert breaker.state == "open"
    assert not breaker.allow()


def test_success_resets_the_consecutive_count(breaker: CircuitBreaker) -> None:
    _fail(breaker, 2)
    breaker.record_success()
    _fail(breaker, 2)
    assert breaker.state == "closed"


def test_half_open_after_reset_timeout(breaker: CircuitBreaker, clock: FakeClock) -> None:
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.state == "half_open"


def test_half_open_grants_exactly_one_permit_to_many_threads(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.now += 10
    barrier = threading.Barrier(16)
    granted: list[bool] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        ok = breaker.allow()
        with lock:
            granted.append(ok)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted.count(True) == 1


def test_probe_success_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow() and breaker.allow()


def test_probe_failure_reopens_for_a_full_timeout(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 9.9
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(0.1)


def test_released_probe_permit_can_be_granted_again(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.allow()
    assert not breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_counts_how_often_it_opened(breaker: CircuitBreaker, clock: FakeClock) -> None:
    _fail(breaker, 3)
    clock.now += 10
    _fail(breaker, 1)
    assert breaker.opened_count == 2
