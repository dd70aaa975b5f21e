"""A token-bucket rate limiter, per engine instance (that is, per process).

Each upload takes one token; tokens refill at ``rate_per_s`` up to ``burst``. Several engines on
one host (one per journal) each have their own bucket, so their combined rate is the sum: give
each ``server_limit / number_of_instances``. See docs/engine.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._config import RateLimitConfig


class TokenBucket:
    """Thread-safe token bucket; ``clock`` (monotonic seconds) is injectable for tests."""

    def __init__(
        self, config: RateLimitConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = config.rate_per_s
        self.burst = float(config.burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    def try_acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens if available and return 0; else take nothing and return the wait."""
        if n > self.burst:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.burst}")
        with self._lock:
            self._refill()
            if self._tokens >= n:
                self._tokens -= n
                return 0.0
            return (n - self._tokens) / self.rate

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        with self._lock:
            self._refill()
            return self._tokens
