"""Adaptive concurrency: how many uploads may be in flight, set from the server's answers.

AIMD, as TCP's congestion window and Vector's Adaptive Request Concurrency do it:

- **Slow start.** Until the first cut, every answered upload with flat latency adds one, so the
  limit doubles per round trip: a healthy server is filled within a few round trips of start.
- **Additive increase.** After that, a full window of answered uploads with flat latency (as
  many as the limit: one round trip at the current limit) adds one.
- **Multiplicative decrease.** A ``429`` or ``503`` answer, or a latency that rose above
  ``latency_tolerance`` times the baseline (and by more than ``latency_floor_s``), multiplies
  the limit by ``decrease_factor``; at most once per round trip (the smoothed latency), so one
  congestion event, seen by every upload in flight, cuts once.
- **Retry-After.** A 429/503 that names a wait holds all new uploads for that long times a
  random factor in [1, 1.5), drawn per answer (at most ``max_hold_s``): engines refused in the
  same second do not all come back in the same instant. The refused submission itself waits at
  least that long anyway (retry policy).
- **Bounds.** The limit stays within ``[min_in_flight, concurrency]`` (default 1..32).

The *baseline* is the lowest latency seen in the last one to two windows of ``_BASELINE_WINDOW_S``
(a windowed minimum, as BBR keeps its min RTT), so a server that became slower for good becomes
the new normal within a minute instead of keeping the limit low, while a queue that builds up
slowly (a fleet filling the server) is still measured against the unloaded round trip. The
*smoothed latency* is an EWMA of the answered uploads. Failures that say nothing about load
(a refused report, a rejected token, no answer at all) leave the limit alone: the circuit
breaker and the ConnectionService deal with a server that is gone.

Thread-safe; ``clock`` (monotonic seconds) is injectable for tests.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from ._config import AdaptiveConfig

_EWMA_ALPHA = 0.2
_BASELINE_WINDOW_S = 30.0
_HOLD_JITTER = 0.5


class AdaptiveConcurrency:
    """The current in-flight limit, fed with every answered upload."""

    def __init__(
        self,
        config: AdaptiveConfig,
        maximum: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self._config = config
        self._max = maximum
        self._min = min(config.min_in_flight, maximum)
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        start = config.initial if config.enabled else maximum
        self._limit = max(self._min, min(maximum, start))
        self._credit = 0
        self._slow_start = config.enabled
        self._baseline: float | None = None
        self._window_min: float | None = None  # the current baseline window's lowest latency
        self._previous_min: float | None = None  # the previous window's
        self._window_start = clock()
        self._random = random.Random()
        self._smoothed: float | None = None
        self._last_cut = -math.inf
        self._hold_until = -math.inf
        self.cuts = 0
        """How often the limit was cut (for tests and metrics)."""

    @property
    def limit(self) -> int:
        """Uploads that may be in flight now."""
        with self._lock:
            return self._limit

    def hold_s(self) -> float:
        """Seconds to wait before starting any upload (a Retry-After being honoured), else 0."""
        with self._lock:
            return max(0.0, self._hold_until - self._clock())

    def answered(self, latency_s: float) -> None:
        """An upload was answered normally (stored, or refused for a reason that is not load)."""
        if not self._config.enabled:
            return
        with self._lock:
            before = self._limit
            latency = max(0.0, latency_s)
            self._smoothed = (
                latency
                if self._smoothed is None
                else self._smoothed + _EWMA_ALPHA * (latency - self._smoothed)
            )
            self._track_baseline(latency)
            if self._latency_rose():
                self._cut()
            elif self._limit < self._max:
                self._credit += 1
                if self._slow_start or self._credit >= self._limit:
                    self._limit += 1
                    self._credit = 0
            after = self._limit
        self._changed(before, after)

    def overloaded(self, retry_after_s: float | None) -> None:
        """The server answered 429 or 503: cut the limit, and hold for ``Retry-After``."""
        with self._lock:
            before = self._limit
            if retry_after_s is not None and retry_after_s > 0:
                jitter = 1.0 + _HOLD_JITTER * self._random.random()
                hold = min(retry_after_s * jitter, self._config.max_hold_s)
                self._hold_until = max(self._hold_until, self._clock() + hold)
            if self._config.enabled:
                self._cut()
            after = self._limit
        self._changed(before, after)

    def _track_baseline(self, latency: float) -> None:
        now = self._clock()
        if now - self._window_start >= _BASELINE_WINDOW_S:
            self._previous_min, self._window_min = self._window_min, None
            self._window_start = now
        if self._window_min is None or latency < self._window_min:
            self._window_min = latency
        lows = [m for m in (self._window_min, self._previous_min) if m is not None]
        self._baseline = min(lows)

    def _latency_rose(self) -> bool:
        assert self._smoothed is not None and self._baseline is not None
        rise = self._smoothed - self._baseline
        return (
            self._smoothed > self._baseline * self._config.latency_tolerance
            and rise > self._config.latency_floor_s
        )

    def _cut(self) -> None:
        now = self._clock()
        # Once per round trip: the uploads already in flight all see the same congestion.
        if now - self._last_cut < (self._smoothed or 0.0):
            return
        self._last_cut = now
        self._limit = max(self._min, math.floor(self._limit * self._config.decrease_factor))
        self._credit = 0
        self._slow_start = False
        self.cuts += 1

    def _changed(self, before: int, after: int) -> None:
        if before != after and self._on_change is not None:
            self._on_change(after)
