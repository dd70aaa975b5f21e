"""The chart's memory: queue depth and accepted reports, sampled while the engine runs.

A bounded ring of samples taken every ``sample_s`` from the engine's own status (the same
numbers the status file holds), so the chart shows what happened since the engine started,
at most ``window_s`` back, and never grows.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One point: when, how many reports waited, how many were accepted so far."""

    at: float
    waiting: int
    acked_total: int


class Sampler:
    """Samples ``status()`` on a daemon thread into a bounded ring.

    ``join_s`` bounds the wait for the thread in :meth:`stop` (``timeouts.stop_join_s``).
    """

    def __init__(
        self,
        status: Callable[[], Mapping[str, Any]],
        sample_s: float,
        *,
        join_s: float,
        window_s: float = 1800.0,
    ) -> None:
        self._status = status
        self.sample_s = sample_s
        self._join_s = join_s
        self._ring: deque[Sample] = deque(maxlen=max(2, int(window_s / sample_s) + 1))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, status: Mapping[str, Any] | None = None) -> None:
        """Record one sample now (from ``status`` if given)."""
        snap = status if status is not None else self._status()
        counts = snap.get("counts") or {}
        acked = int(counts.get("acked", 0)) + int(snap.get("archived", 0) or 0)
        waiting = int(counts.get("pending", 0)) + int(counts.get("in_flight", 0))
        with self._lock:
            self._ring.append(Sample(time.time(), waiting, acked))

    def samples(self) -> list[Sample]:
        """The samples, oldest first."""
        with self._lock:
            return list(self._ring)

    def acks_per_minute(self, minutes: float = 5.0) -> float | None:
        """Accepted reports per minute over the last ``minutes``, None before two samples."""
        points = self.samples()
        if len(points) < 2:
            return None
        newest = points[-1]
        start = next((p for p in points if p.at >= newest.at - minutes * 60), points[0])
        if newest.at <= start.at:
            return None
        return max(0, newest.acked_total - start.acked_total) * 60.0 / (newest.at - start.at)

    def start(self) -> None:
        """Sample every ``sample_s`` until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="syncengine-ui-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._join_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            # A status read can fail during shutdown; the next one will do.
            with contextlib.suppress(Exception):
                self.take()
            self._stop.wait(self.sample_s)
