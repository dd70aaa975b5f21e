"""The upload workers: POST one report each, then hand the outcome to :mod:`._outcomes`.

The dispatcher puts :class:`UploadJob` s into :class:`Uploads`; ``concurrency`` worker threads
take them, send through :meth:`Clients.send <._clients.Clients.send>` (the key is the
``Idempotency-Key``), have the retry policy classify a refusal, and record the outcome.
:class:`Uploads` also keeps the set of keys in workers ("busy"), which the dispatcher skips and
``stop()`` waits for.

When the engine stops past its grace period, workers still waiting on the server are
*abandoned*: they record nothing, so their submissions stay ``in_flight`` and are sent again at
the next start (safe: the server upserts by report id).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._breaker import CircuitBreaker
from ._clients import Clients, Delivered
from ._concurrency import AdaptiveConcurrency
from ._errors import JournalClosedError
from ._metrics import Metrics
from ._outcomes import Outcomes
from ._retry import Action, RetryPolicy

log = logging.getLogger("syncengine.outbox")

# Answers that mean "too much load": adaptive concurrency cuts its limit (docs/engine.md).
_OVERLOAD = (429, 503)


@dataclass(frozen=True)
class UploadJob:
    """One report to POST: the journal's stored JSON text, digest-checked, sent as it is."""

    key: str
    payload: bytes
    attempt: int


class Uploads:
    """The upload worker threads and the keys they hold (busy until their outcome is recorded)."""

    def __init__(
        self,
        *,
        clients: Clients,
        outcomes: Outcomes,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        limit: AdaptiveConcurrency,
        metrics: Metrics,
        concurrency: int,
        on_done: Callable[[], None],
    ) -> None:
        self._clients = clients
        self._outcomes = outcomes
        self._policy = policy
        self._breaker = breaker
        self._limit = limit
        self._metrics = metrics
        self._concurrency = concurrency
        self._on_done = on_done
        self._jobs: queue.Queue[UploadJob | None] = queue.Queue()
        self._busy: set[str] = set()
        self._batches = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._abandon = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the dispatcher's side ------------------------------------------------------------
    def busy(self) -> set[str]:
        """A copy of the keys in workers now."""
        with self._lock:
            return set(self._busy)

    def reserve(self, keys: list[str]) -> None:
        """Mark ``keys`` busy before their UploadStarted commit, so a stop() starting now waits
        for these uploads too."""
        with self._lock:
            self._busy.update(keys)
            self._batches += 1

    def release(self, keys: list[str]) -> None:
        """Undo :meth:`reserve` (the UploadStarted commit failed)."""
        with self._idle:
            self._busy.difference_update(keys)
            self._idle.notify_all()

    def put(self, job: UploadJob) -> None:
        """Hand one reserved job to the workers."""
        self._jobs.put(job)

    def activity(self) -> tuple[int, int]:
        """``(batches started so far, uploads in workers now)``: lets a reader of the journal
        tell whether the engine moved while it was reading (see SyncEngine.wait_idle)."""
        with self._lock:
            return self._batches, len(self._busy)

    @property
    def in_flight(self) -> int:
        """Uploads handed to workers and not yet recorded."""
        with self._lock:
            return len(self._busy)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads."""
        self._threads = [
            threading.Thread(target=self._work, name=f"syncengine-upload-{i}")
            for i in range(self._concurrency)
        ]
        for thread in self._threads:
            # Daemon: an upload hung on the network must not keep the process alive after stop
            # abandoned it; its submission stays in_flight and is replayed next start.
            thread.daemon = True
            thread.start()

    def stop(self, grace_s: float) -> int:
        """Let running uploads finish for ``grace_s``; return how many were abandoned.

        Abandoned uploads record nothing: they stay ``in_flight`` in the journal.
        """
        deadline = time.monotonic() + grace_s
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            abandoned = len(self._busy)
            # Set while holding the lock: a worker that has not yet claimed its outcome now
            # sees the flag, one that already claimed it finishes recording before close().
            self._abandon.set()
        for _ in range(self._concurrency):
            self._jobs.put(None)
        return abandoned

    # --- the workers ----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._upload(job)
            except JournalClosedError:
                pass
            except Exception:
                # The submission stays in_flight and is sent again (the dispatcher sees an
                # in_flight key no worker holds); a half-open permit must not stay taken.
                log.exception("recording the outcome of %s failed", job.key)
                self._breaker.release()
            finally:
                with self._idle:
                    self._busy.discard(job.key)
                    self._idle.notify_all()
                self._metrics.set_gauge("in_flight", self.in_flight)
                self._on_done()

    def _claim(self) -> bool:
        """True if this worker may still record its outcome (the engine did not abandon it)."""
        with self._lock:
            return not self._abandon.is_set()

    def _upload(self, job: UploadJob) -> None:
        sent = self._clients.send(job.payload, job.key, on_rejected=self._breaker.record_success)
        if isinstance(sent, Delivered):
            self._limit.answered(sent.latency_s)
            if self._claim():
                self._outcomes.succeeded(job.key, sent)
            return
        exc = sent.error
        if not self._policy.is_api_error(exc):
            log.error("uploading %s raised %r; retrying later", job.key, exc, exc_info=exc)
        decision = self._policy.decide(exc, job.attempt)
        if decision.status_code in _OVERLOAD:
            retry_after = getattr(exc, "retry_after", None)
            self._limit.overloaded(retry_after if isinstance(retry_after, (int, float)) else None)
        elif decision.status_code is not None and decision.action is not Action.REAUTH:
            self._limit.answered(sent.latency_s)  # an answer: its latency tells the load
        if decision.action is Action.REAUTH:
            # A fresh token was rejected too: nothing is recorded, the submission stays
            # in_flight and the dispatcher sends it again with whatever token is current.
            if sent.auth and self._claim():
                self._outcomes.auth_paused(job.key, job.attempt, decision, sent.latency_s)
            return
        if self._claim():
            correlation_id = getattr(exc, "correlation_id", None)
            self._outcomes.failed(
                job.key,
                job.attempt,
                decision,
                sent.latency_s,
                correlation_id if isinstance(correlation_id, str) else None,
            )
