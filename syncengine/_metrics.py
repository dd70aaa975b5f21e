"""The engine's metrics: counters and timings it records, and the Prometheus view of them.

Two halves:

* :class:`Metrics`, one per engine, is where the engine's stages record what happened
  (``inc("uploads_success")``, ``observe("upload_latency", s)``) and where the engine's signals
  are counted by outcome, error class and converter. It only ever holds totals and bucket
  counts, so memory stays constant however long the engine runs. ``snapshot()`` is the
  ``metrics`` part of the status file.
* :class:`EngineCollector` is a ``prometheus_client`` custom collector: at every scrape it reads
  the engine's state (``status()``: health, counts, oldest pending, last ack, connection,
  breaker) and the totals above, and yields metric families. Nothing is copied into
  ``prometheus_client`` globals; each engine has its own registry (:func:`build_registry`).

The families (see docs/operations.md, "Metrics", for the table and the renames):

``wats_sync_build_info{version}``, ``wats_sync_submissions{state}``,
``wats_sync_uploads_total{outcome}``, ``wats_sync_upload_errors_total{class}``,
``wats_sync_upload_duration_seconds`` (histogram), ``wats_sync_uploads_in_flight``,
``wats_sync_oldest_pending_timestamp_seconds``, ``wats_sync_last_ack_timestamp_seconds``,
``wats_sync_health{state}``, ``wats_sync_connection_state{state}``,
``wats_sync_circuit_breaker_state{state}``, ``wats_sync_journal_size_bytes``,
``wats_sync_conversions_total{converter,outcome}``, ``wats_sync_conversion_duration_seconds``
(histogram), ``wats_sync_offline_seconds_total``, ``wats_sync_auth_refreshes_total``,
``wats_sync_connectivity_probes_total``, ``wats_sync_start_time_seconds``.

Every label value comes from a fixed set (states, outcomes, :data:`ERROR_CLASSES`) or from the
installed converters' names; never a key, a serial number or a message.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from . import signals
from ._breaker import CLOSED, HALF_OPEN, OPEN
from ._status import HEALTH_STATES

log = logging.getLogger("syncengine.metrics")

PREFIX = "wats_sync_"

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

#: Histogram bucket upper bounds (seconds) for every timing; fixed, so fleets can aggregate.
BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: ``wats_sync_uploads_total{outcome}``: what one upload attempt ended as.
UPLOAD_OUTCOMES: tuple[str, ...] = ("success", "retry", "rejected", "auth_rejected")

#: ``wats_sync_upload_errors_total{class}``: pywats exception class -> a fixed, small label set.
ERROR_CLASSES: dict[str, str] = {
    "ConnectError": "connect",
    "RequestTimeout": "timeout",
    "ConnectionDropped": "connection_dropped",
    "TransportError": "transport",
    "ServerError": "server_error",
    "RateLimitedError": "rate_limited",
    "AuthenticationError": "auth",
    "AuthorizationError": "auth",
    "ValidationError": "validation",
    "NotFoundError": "not_found",
    "ConflictError": "conflict",
    "InvalidResponseError": "invalid_response",
    "UnexpectedStatusError": "unexpected_status",
}
ERROR_CLASS_OTHER = "other"
ERROR_CLASS_LABELS: tuple[str, ...] = tuple(sorted({*ERROR_CLASSES.values(), ERROR_CLASS_OTHER}))
_AUTH_CLASSES = frozenset(k for k, v in ERROR_CLASSES.items() if v == "auth")

# _connection imports this module, so its state names are spelled out here (a test compares).
CONNECTION_STATES: tuple[str, ...] = ("online", "offline", "circuit_open", "auth_failed", "stopped")
BREAKER_STATES: tuple[str, ...] = (CLOSED, OPEN, HALF_OPEN)
SUBMISSION_STATES: tuple[str, ...] = ("pending", "in_flight", "acked", "failed")


def error_class_label(error_class: str | None) -> str:
    """The bounded ``class`` label for a pywats exception class name."""
    return ERROR_CLASSES.get(error_class or "", ERROR_CLASS_OTHER)


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    # Nearest-rank: the smallest value with at least q of the observations at or below it.
    rank = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _Timing:
    __slots__ = ("buckets", "count", "recent", "total")

    def __init__(self, reservoir: int) -> None:
        self.count = 0
        self.total = 0.0
        self.recent: deque[float] = deque(maxlen=reservoir)
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.recent.append(seconds)
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1

    def snapshot(self) -> dict[str, float | int | None]:
        values = sorted(self.recent)
        return {
            "count": self.count,
            "sum": self.total,
            "p50": _percentile(values, 0.50),
            "p95": _percentile(values, 0.95),
        }

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*BUCKETS, float("inf")), self.buckets, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class Metrics:
    """The engine's metrics registry. All methods are safe to call from any thread.

    Besides what the stages record, it counts the engine's signals (upload outcomes, error
    classes, conversions per converter) for the sender that owns it: a signal counts here when
    ``sender.metrics is self``, so several engines in one process keep separate books.
    """

    def __init__(self, *, reservoir: int = 1024) -> None:
        if reservoir < 1:
            raise ValueError(f"reservoir must be >= 1, got {reservoir}")
        self._lock = threading.Lock()
        self._reservoir = reservoir
        self._counters: dict[str, float] = dict.fromkeys(COUNTERS, 0)
        self._gauges: dict[str, float] = dict.fromkeys(GAUGES, 0)
        self._timings: dict[str, _Timing] = {name: _Timing(reservoir) for name in TIMINGS}
        self._uploads: dict[str, int] = dict.fromkeys(UPLOAD_OUTCOMES, 0)
        self._errors: dict[str, int] = dict.fromkeys(ERROR_CLASS_LABELS, 0)
        self._conversions: dict[tuple[str, str], int] = {}
        self._high: dict[str, float] = {}
        # blinker keeps weak references to bound methods: the receivers go with this object.
        signals.upload_succeeded.connect(self._on_upload_succeeded)
        signals.upload_failed.connect(self._on_upload_failed)
        signals.retry_scheduled.connect(self._on_retry_scheduled)
        signals.submission_failed.connect(self._on_submission_failed)
        signals.file_converted.connect(self._on_file_converted)
        signals.conversion_failed.connect(self._on_conversion_failed)

    # --- what the stages record -------------------------------------------------------------
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
            timing.add(seconds)

    def counter(self, name: str) -> float:
        """The current value of counter ``name`` (0 when never incremented)."""
        with self._lock:
            return self._counters.get(name, 0)

    def gauge(self, name: str) -> float:
        """The current value of gauge ``name`` (0 when never set)."""
        with self._lock:
            return self._gauges.get(name, 0)

    def monotonic(self, name: str, value: float) -> float:
        """``max`` of every ``value`` passed for ``name``: a derived total that never drops."""
        with self._lock:
            high = max(self._high.get(name, 0.0), value)
            self._high[name] = high
            return high

    def snapshot(self) -> dict[str, Any]:
        """``{"counters": {...}, "gauges": {...}, "timings": {name: {count,sum,p50,p95}}}``."""
        with self._lock:
            return {
                "counters": dict(sorted(self._counters.items())),
                "gauges": dict(sorted(self._gauges.items())),
                "timings": {name: t.snapshot() for name, t in sorted(self._timings.items())},
            }

    # --- read by the collector --------------------------------------------------------------
    def uploads_by_outcome(self) -> dict[str, int]:
        """Upload attempts per outcome (:data:`UPLOAD_OUTCOMES`)."""
        with self._lock:
            return dict(self._uploads)

    def upload_errors_by_class(self) -> dict[str, int]:
        """Failed upload attempts per error class label (:data:`ERROR_CLASS_LABELS`)."""
        with self._lock:
            return dict(self._errors)

    def conversions(self) -> dict[tuple[str, str], int]:
        """Converted (``success``) and refused (``error``) files per ``(converter, outcome)``."""
        with self._lock:
            return dict(self._conversions)

    def histogram(self, name: str) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` buckets and the sum of the timing ``name``."""
        with self._lock:
            timing = self._timings.get(name) or _Timing(1)
            return timing.cumulative(), timing.total

    # --- signal receivers -------------------------------------------------------------------
    def _mine(self, sender: object) -> bool:
        return getattr(sender, "metrics", None) is self

    def _bump(self, table: dict[Any, int], key: Any) -> None:
        with self._lock:
            table[key] = table.get(key, 0) + 1

    def _on_upload_succeeded(self, sender: object, **_kw: Any) -> None:
        if self._mine(sender):
            self._bump(self._uploads, "success")

    def _on_upload_failed(self, sender: object, **kw: Any) -> None:
        if self._mine(sender):
            self._bump(self._errors, error_class_label(kw.get("error_class")))

    def _on_retry_scheduled(self, sender: object, **kw: Any) -> None:
        if self._mine(sender):
            auth = kw.get("error_class") in _AUTH_CLASSES
            self._bump(self._uploads, "auth_rejected" if auth else "retry")

    def _on_submission_failed(self, sender: object, **kw: Any) -> None:
        # A report whose stored copy failed its digest check was never sent: not an upload.
        if self._mine(sender) and kw.get("error_class") != "CorruptPayload":
            self._bump(self._uploads, "rejected")

    def _on_file_converted(self, sender: object, **kw: Any) -> None:
        if self._mine(sender):
            self._bump(self._conversions, (str(kw.get("converter") or "none"), "success"))

    def _on_conversion_failed(self, sender: object, **kw: Any) -> None:
        if self._mine(sender):
            self._bump(self._conversions, (str(kw.get("converter") or "none"), "error"))


class MetricsSource(Protocol):
    """What the collector reads: an engine (``SyncEngine`` is one)."""

    @property
    def metrics(self) -> Metrics: ...

    def status(self) -> Mapping[str, Any]: ...


def journal_size_bytes(journal_path: str | Path | None) -> int:
    """Bytes on disk of the journal file and its write-ahead log (0 when absent)."""
    if not journal_path:
        return 0
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += Path(str(journal_path) + suffix).stat().st_size
    return total


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wats-sync")
    except Exception:  # not installed (a source checkout on sys.path)
        return "unknown"


def _one_hot(name: str, doc: str, states: tuple[str, ...], current: object) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["state"])
    for state in states:
        family.add_metric([state], 1.0 if state == current else 0.0)
    if current not in states and isinstance(current, str):
        family.add_metric([current], 1.0)  # a state added later still shows, as itself
    return family


class EngineCollector(Collector):
    """A ``prometheus_client`` collector that reads one engine's state at scrape time."""

    def __init__(self, source: MetricsSource) -> None:
        self._source = source
        self._version = _version()

    def describe(self) -> list[Metric]:
        # Collecting at registration would scrape an engine that is not started yet.
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield every ``wats_sync_*`` family (read at call time)."""
        status = self._source.status()
        metrics = self._source.metrics
        p = PREFIX
        info = GaugeMetricFamily(
            p + "build_info", "wats-sync version; the value is always 1", labels=["version"]
        )
        info.add_metric([self._version], 1.0)
        yield info

        started = status.get("started_at")
        if isinstance(started, (int, float)):
            yield GaugeMetricFamily(
                p + "start_time_seconds", "When the engine started (UNIX time)", value=started
            )

        counts = dict(status.get("counts") or {})
        subs = GaugeMetricFamily(
            p + "submissions", "Submissions in the journal per state", labels=["state"]
        )
        for state in (*SUBMISSION_STATES, *sorted(set(counts) - set(SUBMISSION_STATES))):
            subs.add_metric([state], float(counts.get(state, 0)))
        yield subs

        uploads = CounterMetricFamily(
            p + "uploads", "Upload attempts by outcome", labels=["outcome"]
        )
        for outcome, n in metrics.uploads_by_outcome().items():
            uploads.add_metric([outcome], float(n))
        yield uploads

        errors = CounterMetricFamily(
            p + "upload_errors", "Failed upload attempts by error class", labels=["class"]
        )
        for label, n in sorted(metrics.upload_errors_by_class().items()):
            errors.add_metric([label], float(n))
        yield errors

        yield self._histogram(
            p + "upload_duration_seconds", "Duration of one upload attempt", "upload_latency"
        )
        yield GaugeMetricFamily(
            p + "uploads_in_flight",
            "Uploads handed to workers and not yet recorded",
            value=metrics.gauge("in_flight"),
        )

        oldest = GaugeMetricFamily(
            p + "oldest_pending_timestamp_seconds",
            "When the oldest waiting submission arrived (UNIX time); absent when none waits",
        )
        if isinstance(status.get("oldest_pending_at"), (int, float)):
            oldest.add_metric([], float(status["oldest_pending_at"]))
        yield oldest
        last_ack = GaugeMetricFamily(
            p + "last_ack_timestamp_seconds",
            "When the server last acknowledged a submission (UNIX time); absent before the first",
        )
        if isinstance(status.get("last_ack_at"), (int, float)):
            last_ack.add_metric([], float(status["last_ack_at"]))
        yield last_ack

        yield _one_hot(
            p + "health",
            "Engine health, one-hot (1 = current)",
            HEALTH_STATES,
            status.get("health"),
        )
        yield _one_hot(
            p + "connection_state",
            "Connection to the server, one-hot (1 = current)",
            CONNECTION_STATES,
            status.get("connection"),
        )
        yield _one_hot(
            p + "circuit_breaker_state",
            "Circuit breaker, one-hot (1 = current)",
            BREAKER_STATES,
            status.get("breaker"),
        )
        yield GaugeMetricFamily(
            p + "journal_size_bytes",
            "Journal file plus write-ahead log on disk",
            value=float(journal_size_bytes(status.get("journal_path"))),
        )

        # Files set aside in the watch folders' error/ folders (0 without watch folders).
        error_files = status.get("error_files") or {}
        yield GaugeMetricFamily(
            p + "error_files",
            "Files waiting in the watch folders' error folders for an operator",
            value=float(error_files.get("count") or 0),
        )
        oldest_error = GaugeMetricFamily(
            p + "error_files_oldest_timestamp_seconds",
            "When the oldest file in an error folder was set aside (UNIX time); absent when none",
        )
        if isinstance(error_files.get("oldest_at"), (int, float)):
            oldest_error.add_metric([], float(error_files["oldest_at"]))
        yield oldest_error

        conversions = CounterMetricFamily(
            p + "conversions",
            "Watched files converted (success) or sent to the error folder (error)",
            labels=["converter", "outcome"],
        )
        for (converter, outcome), n in sorted(metrics.conversions().items()):
            conversions.add_metric([converter, outcome], float(n))
        yield conversions
        yield self._histogram(
            p + "conversion_duration_seconds",
            "Duration of one file conversion",
            "conversion_duration",
        )

        # Closed offline periods are in the counter; the current one is added while it lasts.
        offline = metrics.counter("offline_duration_s") + float(status.get("offline_for_s") or 0)
        yield CounterMetricFamily(
            p + "offline_seconds",
            "Time the server was unreachable",
            value=metrics.monotonic("offline_seconds", offline),
        )
        yield CounterMetricFamily(
            p + "auth_refreshes",
            "Tokens refreshed after the server rejected one",
            value=metrics.counter("auth_refreshes"),
        )
        yield CounterMetricFamily(
            p + "connectivity_probes",
            "Connectivity probes sent while not online",
            value=metrics.counter("probes"),
        )

    def _histogram(self, name: str, doc: str, timing: str) -> HistogramMetricFamily:
        buckets, total = self._source.metrics.histogram(timing)
        return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=total)


def build_registry(source: MetricsSource, *, process: bool = True) -> CollectorRegistry:
    """A registry of its own for one engine: :class:`EngineCollector` plus, with ``process``,
    the library's process, platform and GC collectors (memory, CPU, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(source))
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None = None) -> tuple[bytes, str]:
    """``(body, content type)`` for a scrape whose ``Accept`` header is ``accept``.

    The library negotiates: OpenMetrics when the scraper asks for it (Prometheus does), else
    the classic text format.
    """
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class TextfileWriter:
    """Writes the metrics to a ``.prom`` file every ``interval_s``, atomically, for the
    textfile collector of node_exporter (Linux) or windows_exporter (Windows).

    The text is ``prometheus_client.generate_latest`` (the classic format the collectors read),
    written to ``<name>.<pid>.<thread id>`` next to the target, made mode 0644, fsynced and
    renamed over the target, so the exporter never reads half a file. The mode is set
    explicitly because the exporter runs as another user and the service's ``UMask=0077``
    would otherwise leave the file 0600 (``node_textfile_scrape_error 1``); on Windows
    ``chmod`` only clears the read-only flag. A failed write is logged and tried again at the
    next interval. :meth:`stop` writes a last time.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        path: Path,
        interval_s: float = 15.0,
        *,
        join_s: float = 5.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"textfile interval must be > 0, got {interval_s}")
        if path.suffix != ".prom":
            raise ValueError(f"the textfile collector reads only *.prom files, got {path}")
        self._registry = registry
        self.path = path
        self._interval = interval_s
        self._join_s = join_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.writes = 0
        """Successful writes so far."""

    def write(self) -> bool:
        """Write the file now; True on success (a failure is logged, not raised)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_textfile(self.path, generate_latest(self._registry))
        except Exception as exc:
            log.warning("writing metrics to %s failed: %s", self.path, exc)
            return False
        self.writes += 1
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.write()

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what a killed writer left: ``<name>.<pid>.<thread id>`` of another process.

        A failed write removes its temporary, but a process killed during a write cannot;
        each such kill would leave one more file next to the ``.prom``.
        """
        removed = []
        pattern = re.compile(re.escape(self.path.name) + r"\.(\d+)\.\d+")
        with contextlib.suppress(OSError):
            for candidate in self.path.parent.iterdir():
                match = pattern.fullmatch(candidate.name)
                if match is None or int(match.group(1)) == os.getpid():
                    continue
                with contextlib.suppress(OSError):
                    candidate.unlink()
                    removed.append(candidate)
        return removed

    def start(self) -> None:
        """Remove a killed run's temporaries, write once now, then every interval on a thread."""
        for stale in self.remove_stale_temporaries():
            log.info("removed %s, left by a writer that was killed", stale)
        self.write()
        self._thread = threading.Thread(target=self._run, name="syncengine-textfile", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write the final values."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._join_s)
        self.write()


TEXTFILE_MODE = 0o644
"""The textfile's mode: the exporter (another user) reads it; nobody else may write it."""


def _write_textfile(path: Path, data: bytes) -> None:
    # The temporary's name is what remove_stale_temporaries() recognises after a kill.
    from journal import write_atomic  # not at import: importing syncengine stays cheap

    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    write_atomic(path, data, mode=TEXTFILE_MODE, tmp=tmp)
