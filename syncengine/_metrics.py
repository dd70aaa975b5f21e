"""Counters, gauges and timings for one engine, thread-safe and cheap.

Counters only grow (``uploads_success``, ``uploads_failed``, ``retries``, ``offline_duration_s``,
...); gauges hold the latest value (``queue_depth``); timings (``upload_latency``,
``conversion_duration``) keep count and sum exactly and p50/p95 over a bounded reservoir of the
most recent observations, so memory stays constant however long the engine runs.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

#: Names that always appear in a snapshot, so dashboards see zeros instead of missing keys.
COUNTERS: tuple[str, ...] = (
    "uploads_success",
    "uploads_failed",
    "submissions_failed",
    "retries",
    "auth_refreshes",
    "offline_duration_s",
    "files_converted",
    "conversions_failed",
    "probes",
)
GAUGES: tuple[str, ...] = ("queue_depth", "in_flight")
TIMINGS: tuple[str, ...] = ("upload_latency", "conversion_duration")


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    # Nearest-rank: the smallest value with at least q of the observations at or below it.
    rank = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _Timing:
    __slots__ = ("count", "recent", "total")

    def __init__(self, reservoir: int) -> None:
        self.count = 0
        self.total = 0.0
        self.recent: deque[float] = deque(maxlen=reservoir)

    def snapshot(self) -> dict[str, float | int | None]:
        values = sorted(self.recent)
        return {
            "count": self.count,
            "sum": self.total,
            "p50": _percentile(values, 0.50),
            "p95": _percentile(values, 0.95),
        }


class Metrics:
    """The engine's metrics registry. All methods are safe to call from any thread."""

    def __init__(self, *, reservoir: int = 1024) -> None:
        if reservoir < 1:
            raise ValueError(f"reservoir must be >= 1, got {reservoir}")
        self._lock = threading.Lock()
        self._reservoir = reservoir
        self._counters: dict[str, float] = dict.fromkeys(COUNTERS, 0)
        self._gauges: dict[str, float] = dict.fromkeys(GAUGES, 0)
        self._timings: dict[str, _Timing] = {name: _Timing(reservoir) for name in TIMINGS}

    def inc(self, name: str, n: float = 1) -> None:
        """Add ``n`` (default 1, must not be negative) to the counter ``name``."""
        if n < 0:
            raise ValueError(f"counter {name!r} can only grow; got increment {n}")
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + n

    def set_gauge(self, name: str, value: float) -> None:
        """Set the gauge ``name`` to ``value``."""
        with self._lock:
            self._gauges[name] = value

    def observe(self, name: str, seconds: float) -> None:
        """Record one duration of ``seconds`` for the timing ``name``."""
        with self._lock:
            timing = self._timings.get(name)
            if timing is None:
                timing = self._timings[name] = _Timing(self._reservoir)
            timing.count += 1
            timing.total += seconds
            timing.recent.append(seconds)

    def counter(self, name: str) -> float:
        """The current value of counter ``name`` (0 when never incremented)."""
        with self._lock:
            return self._counters.get(name, 0)

    def snapshot(self) -> dict[str, Any]:
        """``{"counters": {...}, "gauges": {...}, "timings": {name: {count,sum,p50,p95}}}``."""
        with self._lock:
            return {
                "counters": dict(sorted(self._counters.items())),
                "gauges": dict(sorted(self._gauges.items())),
                "timings": {name: t.snapshot() for name, t in sorted(self._timings.items())},
            }


def prometheus_text(snapshot: dict[str, Any], *, prefix: str = "wats_sync_") -> str:
    """Render a :meth:`Metrics.snapshot` in the Prometheus text exposition format."""
    lines: list[str] = []
    for name, value in snapshot.get("counters", {}).items():
        metric = f"{prefix}{name}_total"
        lines += [f"# TYPE {metric} counter", f"{metric} {float(value)}"]
    for name, value in snapshot.get("gauges", {}).items():
        metric = f"{prefix}{name}"
        lines += [f"# TYPE {metric} gauge", f"{metric} {float(value)}"]
    for name, timing in snapshot.get("timings", {}).items():
        metric = f"{prefix}{name}_seconds"
        lines.append(f"# TYPE {metric} summary")
        for q, key in (("0.5", "p50"), ("0.95", "p95")):
            if timing.get(key) is not None:
                lines.append(f'{metric}{{quantile="{q}"}} {float(timing[key])}')
        lines += [f"{metric}_sum {float(timing['sum'])}", f"{metric}_count {timing['count']}"]
    return "\n".join(lines) + "\n"
