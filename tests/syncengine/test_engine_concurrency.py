"""Adaptive concurrency: AIMD on uploads in flight, from latency and 429/503 answers, bounded,
honouring Retry-After; and the engine against the simulator refusing with 429."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from syncengine import SyncEngine, signals
from syncengine._concurrency import AdaptiveConcurrency
from syncengine._config import AdaptiveConfig, RateLimitConfig
from syncengine._ratelimit import TokenBucket
from watsim import Simulator

from .test_engine_support import Receivers, assert_exactly, fast_config, receivers, report

__all__ = ["receivers"]  # the fixture is used by name


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, maximum: int = 32, **config: Any) -> AdaptiveConcurrency:
    return AdaptiveConcurrency(AdaptiveConfig(**config), maximum, clock=clock)


def answer_round(limit: AdaptiveConcurrency, clock: Clock, latency: float) -> None:
    """One round trip at the current limit: that many answers, then the clock moves on."""
    for _ in range(limit.limit):
        limit.answered(latency)
    clock.now += latency


def test_slow_start_doubles_per_round_trip_until_the_first_cut() -> None:
    clock = Clock()
    limit = limiter(clock, maximum=64, initial=4)
    sizes = []
    for _ in range(3):
        answer_round(limit, clock, 0.02)
        sizes.append(limit.limit)
    assert sizes == [8, 16, 32]


def test_after_a_cut_it_grows_by_one_per_round_trip_while_latency_is_flat() -> None:
    clock = Clock()
    limit = limiter(clock, initial=8)
    limit.overloaded(None)
    assert limit.limit == 4
    sizes = []
    for _ in range(5):
        answer_round(limit, clock, 0.02)
        sizes.append(limit.limit)
    assert sizes == [5, 6, 7, 8, 9]


def test_growth_stops_at_the_maximum() -> None:
    clock = Clock()
    limit = limiter(clock, maximum=8, initial=4)
    for _ in range(50):
        answer_round(limit, clock, 0.02)
    assert limit.limit == 8


def test_a_429_or_503_halves_the_limit_and_not_below_the_minimum() -> None:
    clock = Clock()
    limit = limiter(clock, initial=16, min_in_flight=3)
    limit.overloaded(None)
    assert limit.limit == 8
    for _ in range(5):
        clock.now += 10
        limit.overloaded(None)
    assert limit.limit == 3


def test_one_congestion_event_seen_by_every_upload_in_flight_cuts_once() -> None:
    clock = Clock()
    limit = limiter(clock, initial=16)
    answer_round(limit, clock, 0.5)  # smoothed latency 0.5 s: one round trip
    before = limit.limit
    for _ in range(before):  # every upload in flight is refused within the same round trip
        limit.overloaded(None)
    assert limit.limit == before // 2
    assert limit.cuts == 1
    clock.now += 0.6  # the next round trip's refusal cuts again
    limit.overloaded(None)
    assert limit.limit == before // 4


def test_rising_latency_cuts_and_loopback_noise_does_not() -> None:
    clock = Clock()
    limit = limiter(clock, initial=16)
    for _ in range(20):
        answer_round(limit, clock, 0.001)
    # Sub-millisecond jitter (3x the baseline, but far below latency_floor_s) is not congestion.
    for _ in range(5):
        answer_round(limit, clock, 0.003)
    assert limit.cuts == 0
    grown = limit.limit
    for _ in range(10):
        answer_round(limit, clock, 0.8)
    assert limit.cuts >= 1
    assert limit.limit < grown


def test_a_server_slower_for_good_becomes_the_new_normal() -> None:
    clock = Clock()
    limit = limiter(clock, initial=8)
    for _ in range(5):
        answer_round(limit, clock, 0.05)
    for _ in range(400):
        answer_round(limit, clock, 0.5)
    cuts = limit.cuts
    for _ in range(20):
        answer_round(limit, clock, 0.5)
    assert limit.cuts == cuts  # no more cuts: the baseline followed
    assert limit.limit > 1


def test_retry_after_holds_every_upload_for_at_most_max_hold() -> None:
    clock = Clock()
    limit = limiter(clock, max_hold_s=60)
    limit.overloaded(30.0)
    held = limit.hold_s()
    assert 30.0 <= held < 45.0  # Retry-After times a per-engine jitter in [1, 1.5)
    clock.now += 46
    assert limit.hold_s() == 0.0
    limit.overloaded(3600.0)
    assert limit.hold_s() == pytest.approx(60.0)


def test_retry_after_holds_are_jittered_so_refused_engines_do_not_return_together() -> None:
    holds = set()
    for _ in range(20):
        limit = limiter(Clock())
        limit.overloaded(1.0)
        holds.add(round(limit.hold_s(), 6))
    assert len(holds) > 10
    assert all(1.0 <= h < 1.5 for h in holds)


def test_the_baseline_is_a_windowed_minimum_not_dragged_up_by_a_slow_queue() -> None:
    clock = Clock()
    limit = limiter(clock, initial=2, latency_floor_s=0.005)
    for _ in range(3):
        answer_round(limit, clock, 0.004)
    cuts = limit.cuts
    # A queue that stays within the baseline window is still measured against the 4 ms: the
    # last answers of a long congested stretch still count as congestion.
    for _ in range(150):
        limit.answered(0.030)
        clock.now += 0.031
    cuts = limit.cuts
    for _ in range(50):
        limit.answered(0.030)
        clock.now += 0.031
    assert limit.cuts > cuts


def test_disabled_keeps_the_maximum_but_still_honours_retry_after() -> None:
    clock = Clock()
    limit = limiter(clock, maximum=6, enabled=False)
    assert limit.limit == 6
    limit.overloaded(5.0)
    answer_round(limit, clock, 2.0)
    assert limit.limit == 6
    assert limit.hold_s() > 0


def test_concurrent_answers_never_leave_the_bounds() -> None:
    limit = AdaptiveConcurrency(AdaptiveConfig(initial=4), 32)
    seen: list[int] = []

    def hammer(i: int) -> None:
        for n in range(2000):
            if (n + i) % 97 == 0:
                limit.overloaded(None)
            else:
                limit.answered(0.001)
            seen.append(limit.limit)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert min(seen) >= 1 and max(seen) <= 32


def test_the_rate_limit_is_off_by_default_and_a_ceiling_when_set() -> None:
    assert RateLimitConfig().rate_per_s is None
    unlimited = TokenBucket(RateLimitConfig())
    assert all(unlimited.try_acquire() == 0.0 for _ in range(10_000))
    clock = Clock()
    ceiling = TokenBucket(RateLimitConfig(rate_per_s=2.5), clock=clock)
    assert ceiling.burst == 3.0  # rate rounded up
    assert [ceiling.try_acquire() for _ in range(3)] == [0.0] * 3
    assert ceiling.try_acquire() == pytest.approx(0.4)


def test_the_engine_backs_off_on_429_and_delivers_everything_once(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    config = fast_config(tmp_path, sim, concurrency=8, adaptive={"initial": 8})
    limits: list[int] = []

    def on_retry(sender: SyncEngine, **kw: Any) -> None:
        limits.append(int(sender.metrics.snapshot()["gauges"]["concurrency_limit"]))
        if len(limits) == 3:
            sim.clear_faults()

    receivers.connect(signals.retry_scheduled, on_retry)
    keys = [report(i, tag="aimd")["id"] for i in range(40)]
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=0)
    with SyncEngine(config) as engine:
        engine.submit_many([(k, report(i, tag="aimd"), None) for i, k in enumerate(keys)])
        assert engine.wait_idle(60)
        final = engine.metrics.snapshot()["gauges"]["concurrency_limit"]
    assert limits and limits[0] <= 4  # the first 429 halved the initial 8 before it was recorded
    assert 1 <= final <= 8
    assert_exactly(sim, keys)


def test_a_429_with_retry_after_waits_exactly_that_without_growing_backoff() -> None:
    from pywats import RateLimitedError, ServerError
    from syncengine._config import RetryConfig
    from syncengine._retry import RetryPolicy

    policy = RetryPolicy(RetryConfig(base_s=1.0, cap_s=60.0))
    refused = RateLimitedError("slow down", operation="submit", retry_after=1.0)
    assert [policy.decide(refused, n).delay_s for n in (1, 5, 50)] == [1.0, 1.0, 1.0]
    # Without a Retry-After (or another failure), backoff grows as before.
    assert policy.decide(RateLimitedError("slow", operation="submit"), 50).delay_s == 60.0
    assert policy.decide(ServerError("boom", operation="submit"), 50).delay_s == 60.0


def test_a_stream_of_429s_never_opens_the_breaker_and_everything_arrives_once(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    config = fast_config(
        tmp_path, sim, concurrency=4, breaker={"failure_threshold": 2, "reset_timeout_s": 3600}
    )
    refusals: list[int] = []

    def on_retry(sender: SyncEngine, **kw: Any) -> None:
        refusals.append(1)
        if len(refusals) == 12:
            sim.clear_faults()

    receivers.connect(signals.retry_scheduled, on_retry)
    keys = [report(i, tag="r429")["id"] for i in range(10)]
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=0.01)
    with SyncEngine(config) as engine:
        engine.submit_many([(k, report(i, tag="r429"), None) for i, k in enumerate(keys)])
        # With a 500 instead, two failures would open the breaker for an hour and this would
        # not drain.
        assert engine.wait_idle(60), engine.status()
        assert engine.status()["breaker"] == "closed"
    assert len(refusals) >= 12
    assert_exactly(sim, keys)


def test_a_server_back_after_an_outage_does_not_wait_out_the_open_breaker(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, breaker={"failure_threshold": 1, "reset_timeout_s": 3600})
    keys = [report(i, tag="outage")["id"] for i in range(20)]
    with SyncEngine(config) as engine:
        sim.set_faults(down_for_s=0.5)
        engine.submit_many([(k, report(i, tag="outage"), None) for i, k in enumerate(keys)])
        # The first upload got no answer and opened the breaker for an hour; the probe that
        # finds the server back lets the half-open upload go at once.
        assert engine.wait_idle(60), engine.status()
        assert engine.status()["breaker"] == "closed"
    assert_exactly(sim, keys)
