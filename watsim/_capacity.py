"""The ``capacity_rps`` fault: a server with a finite capacity, for fleet benchmarks.

Invented behaviour (the real server's capacity model is not published): requests admitted in the
last second are counted; at ``capacity_rps`` the request is refused with 429 and a
``Retry-After``; below it, each admitted request first waits longer as the utilisation ``u`` (the
window's count before it, over ``capacity_rps``) nears 1, as a queue does:
``service * u**2 / (1 - u)`` with ``service = 1 / capacity_rps``, capped at 1 s. A client that
watches latency and 429s can find the server's pace from both.
"""

from __future__ import annotations

import threading
import time
from collections import deque

_WINDOW_S = 1.0
_MAX_QUEUE_DELAY_S = 1.0


class Capacity:
    """Counts admitted requests over a sliding one-second window; thread-safe."""

    def __init__(self) -> None:
        self._clock = time.monotonic
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, capacity_rps: float) -> float | None:
        """Admit one request: the queueing delay in seconds, or None when over capacity."""
        now = self._clock()
        with self._lock:
            horizon = now - _WINDOW_S
            while self._admitted and self._admitted[0] <= horizon:
                self._admitted.popleft()
            load = len(self._admitted) / capacity_rps
            if load >= 1.0 or len(self._admitted) + 1 > capacity_rps:
                return None
            self._admitted.append(now)
        return min(_MAX_QUEUE_DELAY_S, (1.0 / capacity_rps) * load * load / (1.0 - load))

    def reset(self) -> None:
        """Forget the window (used by reset)."""
        with self._lock:
            self._admitted.clear()
