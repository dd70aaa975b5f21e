"""An optional hard ceiling on uploads per second: a token bucket, per engine instance.

Off by default (``rate_per_s`` None): adaptive concurrency (:mod:`._concurrency`) sets the pace
from the server's answers. A site that wants a fixed ceiling sets ``rate_per_s``; each upload
then takes one token, and tokens refill at ``rate_per_s`` up to ``burst``. Several engines on
one host (one per journal) each have their own bucket, so their combined rate is the sum: give
each ``server_limit / number_of_instances``. See docs/engine.md.
"""

from __future__ import annotations

import math
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
        """Tokens per second; None when there is no ceiling (every request is granted)."""
        burst = config.burst if config.burst is not None else math.ceil(config.rate_per_s or 1)
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * (self.rate or 0.0))

    def try_acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens if available and return 0; else take nothing and return the wait."""
        if self.rate is None:
            return 0.0
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
