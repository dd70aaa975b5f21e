"""Circuit breaker around the server: stop hammering it when it keeps failing.

``closed``: everything goes through; ``failure_threshold`` consecutive retryable failures open it.
``open``: nothing goes through until ``reset_timeout_s`` has passed, then it is ``half_open``.
``half_open``: exactly one caller gets a permit (the probe upload); its success closes the
breaker, its failure opens it again for another ``reset_timeout_s``. Every other caller is
refused until then, however many threads ask at once.

A non-retryable answer (400, 401, 404, ...) proves the server is answering, so it counts as a
success for the breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._config import BreakerConfig

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """A thread-safe circuit breaker; ``clock`` (monotonic seconds) is injectable for tests."""

    def __init__(
        self, config: BreakerConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.opened_count = 0
        """How many times the breaker opened since it was created."""

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (an expired open breaker reports half_open)."""
        with self._lock:
            self._advance()
            return self._state

    def _advance(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self.config.reset_timeout_s:
            self._state = HALF_OPEN
            self._probe_out = False

    def allow(self) -> bool:
        """Ask for a permit to send one request; True means go (and report its outcome)."""
        with self._lock:
            self._advance()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def retry_in(self) -> float:
        """Seconds until the next permit can be granted (0 when one can be granted now)."""
        with self._lock:
            self._advance()
            if self._state == OPEN:
                return max(0.0, self._opened_at + self.config.reset_timeout_s - self._clock())
            return 0.0

    def record_success(self) -> None:
        """The permitted request got an answer that is not a retryable failure."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._probe_out = False

    def record_failure(self) -> None:
        """The permitted request failed in a retryable way (network, 5xx, 429, garbage)."""
        with self._lock:
            self._advance()
            self._failures += 1
            if self._state == HALF_OPEN or (
                self._state == CLOSED and self._failures >= self.config.failure_threshold
            ):
                self._state = OPEN
                self._opened_at = self._clock()
                self._probe_out = False
                self.opened_count += 1

    def try_now(self) -> None:
        """The server answers again (a probe got through): an open breaker goes half-open at
        once, so its one permitted upload decides now instead of after ``reset_timeout_s``."""
        with self._lock:
            if self._state == OPEN:
                self._state = HALF_OPEN
                self._probe_out = False

    def release(self) -> None:
        """Give back a permit that was not used (the request was never sent)."""
        with self._lock:
            if self._state == HALF_OPEN:
                self._probe_out = False
