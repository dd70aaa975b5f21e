"""The outbox: pick due submissions, send them with a few workers, record every outcome.

One dispatcher thread picks due submissions, earliest due first (``in_flight`` ones left
by a crashed run, which are due again), takes a rate-limiter token and a breaker permit for each,
records ``UploadStarted`` for the batch in one transaction, and hands them to ``concurrency``
worker threads. A worker POSTs one report (the key is the ``Idempotency-Key``), then records
``Acknowledged`` / ``RetryScheduled`` / ``Failed`` with the server's answer, and only then fires
the signals. Workers never decide policy themselves: :mod:`._retry` classifies, the breaker and
:class:`~._connection.ConnectionService` are told, the journal holds the truth.

When the engine stops past its grace period, workers still waiting on the server are
*abandoned*: they record nothing, so their submissions stay ``in_flight`` and are sent again at
the next start (safe: the server upserts by report id).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from journal import NewEvent

from ._breaker import CircuitBreaker
from ._connection import ConnectionService
from ._metrics import Metrics
from ._ratelimit import TokenBucket
from ._retry import Action, Decision, RetryPolicy
from ._signals import (
    emit,
    retry_scheduled,
    submission_failed,
    upload_failed,
    upload_started,
    upload_succeeded,
)

log = logging.getLogger("syncengine.outbox")

T = TypeVar("T")

# Due submissions read per journal query. Reading a window and dispatching from it amortises the
# query over a backlog; bounded because each entry carries its report.
_WINDOW = 64
_CLOCK_CHECK_S = 30.0
_CLOCK_WINDOW = 512
_CLOCK_SLACK_S = 5.0  # ordinary clock corrections (NTP steps) are not a set-back clock


class JournalClosedError(RuntimeError):
    """The engine closed its journal; the caller's work is abandoned (it will be replayed)."""


def _recorder(events: list[Any]) -> Callable[[Any], None]:
    return lambda j: j.record(events)


class _Pending:
    __slots__ = ("done", "error", "event")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.done = False
        self.error: BaseException | None = None


class JournalAccess:
    """Shares the engine's Journal between threads and closes it only when no call is running.

    The Journal is thread-safe itself (and group-commits concurrent submits), so calls run
    concurrently; this wrapper only makes ``close()`` wait for running calls and turns any
    later call into :class:`JournalClosedError`.
    """

    def __init__(self, journal: Any) -> None:
        self._journal: Any = journal
        self._active = 0
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(journal)``; raises JournalClosedError after close() began."""
        with self._cond:
            journal = self._journal
            if journal is None:
                raise JournalClosedError("the engine's journal is closed")
            self._active += 1
        try:
            return fn(journal)
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def record(self, event: Any) -> None:
        """Commit one state event (a ``journal.NewEvent``), group-committed with concurrent ones.

        Workers finishing at the same time share one transaction (one fsync): the first to get
        the commit lock commits every event queued so far; the others find theirs done. If the
        batch is refused (one invalid event), each event is committed on its own so one bad
        event cannot sink the others; its own error is raised in its own worker.
        """
        item = _Pending(event)
        with self._queue_lock:
            self._queue.append(item)
        with self._commit_lock:
            if not item.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if item.error is not None:
            raise item.error

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self.call(_recorder([p.event for p in batch]))
        except JournalClosedError as exc:
            for p in batch:
                p.error = exc
        except Exception:
            if len(batch) == 1:
                batch[0].error = sys.exc_info()[1]
            else:
                for p in batch:
                    try:
                        self.call(_recorder([p.event]))
                    except Exception as exc:
                        p.error = exc
        for p in batch:
            p.done = True

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new calls, wait (bounded) for running ones, then close the journal."""
        with self._cond:
            journal, self._journal = self._journal, None
            deadline = time.monotonic() + timeout
            while self._active and time.monotonic() < deadline:
                self._cond.wait(0.05)
        if journal is not None:
            journal.close()


class ClientSource(Protocol):
    """Where the outbox gets its pywats client, and how it asks for a fresh token."""

    def current(self) -> tuple[int, Any]:
        """``(generation, client)``; the generation changes whenever the token changes."""

    def reauthenticate(self, rejected_generation: int) -> bool:
        """The client of ``rejected_generation`` was refused; True if a new one is ready."""


@dataclass
class _Job:
    key: str
    payload: bytes  # the journal's stored JSON text, digest-checked, sent as it is
    attempt: int


def _retry_event(job: _Job, decision: Decision, next_at: float) -> Any:
    fields = {
        "attempt": job.attempt,
        "next_attempt_at": next_at,
        "error_class": decision.error_class,
        "message": decision.message,
        "status_code": decision.status_code,
    }
    return NewEvent(job.key, "RetryScheduled", fields)


def _take(pending: deque[Any], free: int, busy: set[str]) -> list[Any]:
    """Pop up to ``free`` submissions from the front of ``pending``, dropping busy ones."""
    subs: list[Any] = []
    while pending and len(subs) < free:
        sub = pending.popleft()
        if sub.key not in busy:
            subs.append(sub)
    return subs


class Outbox:
    """Sends due submissions; owned and started by the SyncEngine."""

    def __init__(
        self,
        *,
        sender: object,
        journal: JournalAccess,
        clients: ClientSource,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        bucket: TokenBucket,
        connection: ConnectionService,
        metrics: Metrics,
        concurrency: int,
        idle_poll_s: float,
        on_error: Callable[[dict[str, Any]], None],
        on_ack: Callable[[float], None],
    ) -> None:
        self._sender = sender
        self._journal = journal
        self._clients = clients
        self._policy = policy
        self._breaker = breaker
        self._bucket = bucket
        self._connection = connection
        self._metrics = metrics
        self._concurrency = concurrency
        self._idle_poll = idle_poll_s
        self._on_error = on_error
        self._on_ack = on_ack
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._busy: set[str] = set()
        self._batches = 0
        self._busy_lock = threading.Lock()
        self._idle = threading.Condition(self._busy_lock)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._next_clock_check = 0.0
        self._threads: list[threading.Thread] = []
        # Due submissions read from the journal and not yet dispatched, earliest due first. Only
        # this engine moves submissions out of pending (the journal lock), so an entry stays valid;
        # the window is re-read when empty or older than idle_poll_s, so retries that became due
        # and operator requeues are seen within that time.
        self._candidates: deque[Any] = deque()
        self._candidates_at = 0.0
        # Pending submissions found scheduled under a clock since set back, not yet sent.
        self._set_back: deque[Any] = deque()
        self.heartbeat_at: float | None = None
        """Monotonic time the dispatcher loop last went round (the service watchdog reads it)."""

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the dispatcher and the worker threads."""
        self._threads = [threading.Thread(target=self._dispatch, name="syncengine-dispatch")]
        self._threads += [
            threading.Thread(target=self._work, name=f"syncengine-upload-{i}")
            for i in range(self._concurrency)
        ]
        for thread in self._threads:
            # Daemon: an upload hung on the network must not keep the process alive after stop
            # abandoned it; its submission stays in_flight and is replayed next start.
            thread.daemon = True
            thread.start()

    def wake(self) -> None:
        """Something changed (new submission, connection back): look for due work now."""
        self._wake.set()

    def activity(self) -> tuple[int, int]:
        """``(batches started so far, uploads in workers now)``: lets a reader of the journal
        tell whether the engine moved while it was reading (see SyncEngine.wait_idle)."""
        with self._busy_lock:
            return self._batches, len(self._busy)

    @property
    def in_flight(self) -> int:
        """Uploads handed to workers and not yet recorded."""
        with self._busy_lock:
            return len(self._busy)

    def stop(self, grace_s: float) -> int:
        """Stop picking work, let running uploads finish for ``grace_s``; return the abandoned.

        Abandoned uploads record nothing: they stay ``in_flight`` in the journal.
        """
        self._stopping.set()
        self._wake.set()
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
        self._threads[0].join(5.0)
        return abandoned

    # --- dispatcher -------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat_at = time.monotonic()
            try:
                delay = self._dispatch_once()
            except JournalClosedError:
                return
            except Exception:
                log.exception("outbox dispatcher failed; retrying after %.2fs", self._idle_poll)
                delay = self._idle_poll
            if delay > 0:
                self._wake.wait(delay)

    def _dispatch_once(self) -> float:
        """Send what can be sent now; return how long to sleep unless woken."""
        self._wake.clear()
        with self._busy_lock:
            busy = set(self._busy)
        free = self._concurrency - len(busy)
        if free <= 0 or not self._connection.can_send():
            return self._idle_poll
        now = time.time()
        subs = self._take_due(now, free, busy)
        rotten = [s for s in subs if not s.payload_intact]
        if rotten:
            self._fail_rotten(rotten)
            subs = [s for s in subs if s.payload_intact]
        if not subs:
            next_at = self._journal.call(lambda j: j.next_due_at())
            if next_at is None:
                return self._idle_poll
            subs = self._scheduled_in_the_future(now, free, busy)
            if not subs:
                return min(self._idle_poll, max(0.001, float(next_at) - now))
        batch: list[Any] = []
        delay = 0.0
        for sub in subs:
            if not self._breaker.allow():
                delay = max(
                    0.001, min(self._idle_poll, self._breaker.retry_in() or self._idle_poll)
                )
                break
            wait = self._bucket.try_acquire()
            if wait > 0:
                self._breaker.release()
                delay = min(self._idle_poll, wait)
                break
            batch.append(sub)
        # What was not dispatched (the loop stops at the first refusal) goes back to the front.
        self._candidates.extendleft(reversed(subs[len(batch) :]))
        if batch:
            try:
                self._start_batch(batch)
            except BaseException:
                self._candidates.clear()  # re-read from the journal next time
                raise
        return delay

    def _take_due(self, now: float, free: int, busy: set[str]) -> list[Any]:
        """Up to ``free`` due submissions, earliest due first, from the (re-read) window."""
        age = time.monotonic() - self._candidates_at
        if not self._candidates or age > self._idle_poll:
            limit = max(_WINDOW, free) + len(busy)
            window = self._journal.call(
                lambda j: j.due(now, limit, include_in_flight=True, parse_payloads=False)
            )
            self._candidates = deque(s for s in window if s.key not in busy)
            self._candidates_at = time.monotonic()
        return _take(self._candidates, free, busy)

    def _fail_rotten(self, subs: list[Any]) -> None:
        """Fail submissions whose stored payload no longer matches its digest.

        Sending damaged bytes would put a wrong report on the server as if it were valid; the
        submission goes to ``failed`` instead, visible in status and ``inspect``, and
        ``journal verify`` names the damaged event. Recovery is an operator's (docs/operations.md).
        """
        reason = (
            "the journal's copy of this report no longer matches its digest (disk damage or "
            "tampering); not sent. Run 'syncengine journal verify' and see docs/operations.md"
        )
        for sub in subs:
            log.error("submission %s: %s", sub.key, reason)
            fields = {"reason": reason, "error_class": "CorruptPayload", "status_code": None}
            self._journal.record(NewEvent(sub.key, "Failed", fields))
            self._metrics.inc("submissions_failed")
            emit(
                submission_failed,
                self._sender,
                key=sub.key,
                reason=reason,
                error_class="CorruptPayload",
                status_code=None,
            )

    def _scheduled_in_the_future(self, now: float, free: int, busy: set[str]) -> list[Any]:
        """Pending submissions scheduled under a clock that has since been set back.

        Recognised by a last event dated in the future, or by a wait longer than the policy
        can choose (only 429's Retry-After exceeds cap_s). Waiting for the clock to catch up
        could take hours; sending now is safe (idempotent) and costs one early attempt. The
        check reads the pending submissions scheduled furthest ahead, at start and every 30 s;
        what it finds is sent as fast as the workers allow (not ``free`` per check), and a
        window found full of them is read again as soon as it is sent.
        """
        if not self._set_back and time.monotonic() >= self._next_clock_check:
            self._next_clock_check = time.monotonic() + _CLOCK_CHECK_S
            limit = _CLOCK_WINDOW + len(busy)
            # The suspects are the submissions scheduled furthest ahead: read those first.
            window = self._journal.call(lambda j: j.latest_scheduled(limit, parse_payloads=False))
            found = [s for s in window if s.key not in busy and self._mis_scheduled(s, now)]
            if found:
                log.warning(
                    "%d waiting submission(s) were scheduled under a clock that was set back "
                    "(first: retry due in %.0fs); sending them now",
                    len(found),
                    found[0].next_attempt_at - now,
                )
                if len(window) >= limit:
                    self._next_clock_check = 0.0  # there may be more beyond this window
            self._set_back.extend(found)
        return _take(self._set_back, free, busy)

    def _mis_scheduled(self, sub: Any, now: float) -> bool:
        if sub.state != "pending" or sub.next_attempt_at is None:
            return False
        if sub.updated_at > now + _CLOCK_SLACK_S:
            return True  # its last event is dated in the future
        # Only a 429's Retry-After may push a wait beyond the cap; any other wait that long was
        # computed under a different clock (or a larger cap since reduced).
        error_class = (sub.last_error or {}).get("error_class")
        longest = self._policy.config.cap_s + _CLOCK_SLACK_S
        return error_class != "RateLimitedError" and sub.next_attempt_at - now > longest

    def _start_batch(self, batch: list[Any]) -> None:
        keys = [s.key for s in batch]
        # Busy before the commit, so a stop() that starts now waits for these uploads too.
        with self._busy_lock:
            self._busy.update(keys)
            self._batches += 1
        try:
            # Not fsynced: a lost UploadStarted (power cut) leaves the submission pending, which
            # is replayed exactly like in_flight; the durable commits are Submitted and the ack.
            self._journal.call(lambda j: j.upload_started(keys, durable=False))
        except BaseException:
            with self._idle:
                self._busy.difference_update(keys)
                self._idle.notify_all()
            for _ in batch:
                self._breaker.release()
            raise
        self._metrics.set_gauge("in_flight", self.in_flight)
        for sub in batch:
            attempt = int(getattr(sub, "attempts", 0) or 0) + 1
            emit(upload_started, self._sender, key=sub.key, attempt=attempt)
            self._jobs.put(_Job(sub.key, sub.payload_json.encode("utf-8"), attempt))

    # --- workers -----------------------------------------------------------------------------
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
                self._wake.set()

    def _claim(self) -> bool:
        """True if this worker may still record its outcome (the engine did not abandon it)."""
        with self._busy_lock:
            return not self._abandon.is_set()

    def _upload(self, job: _Job) -> None:
        for _ in range(2):  # the second round only after a token refresh
            generation, client = self._clients.current()
            started = time.monotonic()
            try:
                answer = client.reports.submit(job.payload, idempotency_key=job.key)
            except Exception as exc:
                latency = time.monotonic() - started
                if not self._policy.is_api_error(exc):
                    log.error("uploading %s raised %r; retrying later", job.key, exc, exc_info=exc)
                decision = self._policy.decide(exc, job.attempt)
                if decision.action is Action.REAUTH:
                    self._breaker.record_success()  # the server answered
                    if self._clients.reauthenticate(generation):
                        continue
                    self._record_auth_pause(job, decision, latency)
                    return
                self._record_failure(job, decision, latency, getattr(exc, "correlation_id", None))
                return
            self._record_success(job, str(answer), time.monotonic() - started)
            return

    def _record_success(self, job: _Job, report_id: str, latency: float) -> None:
        if not self._claim():
            return
        answer = {"report_id": report_id, "latency_s": round(latency, 6), "status_code": 200}
        self._journal.record(NewEvent(job.key, "Acknowledged", {"answer": answer}))
        self._breaker.record_success()
        self._metrics.inc("uploads_success")
        self._metrics.observe("upload_latency", latency)
        self._on_ack(time.time())
        emit(
            upload_succeeded,
            self._sender,
            key=job.key,
            report_id=report_id,
            latency_s=latency,
            correlation_id=None,
        )
        self._connection.report_answer()
        self._connection.update("upload acknowledged")

    def _failure_signal(self, job: _Job, decision: Decision, latency: float) -> None:
        emit(
            upload_failed,
            self._sender,
            key=job.key,
            error_class=decision.error_class,
            status_code=decision.status_code,
            message=decision.message,
            latency_s=latency,
        )

    def _note_error(self, job: _Job, decision: Decision, correlation_id: str | None) -> None:
        self._on_error(
            {
                "key": job.key,
                "error_class": decision.error_class,
                "status_code": decision.status_code,
                "message": decision.message,
                "correlation_id": correlation_id,
                "at": time.time(),
            }
        )

    def _record_failure(
        self, job: _Job, decision: Decision, latency: float, correlation_id: str | None
    ) -> None:
        if not self._claim():
            return
        self._metrics.inc("uploads_failed")
        self._metrics.observe("upload_latency", latency)
        if decision.action is Action.FAIL:
            reason = decision.message
            self._journal.record(
                NewEvent(
                    job.key,
                    "Failed",
                    {
                        "reason": reason,
                        "error_class": decision.error_class,
                        "status_code": decision.status_code,
                    },
                )
            )
            self._breaker.record_success()  # a refusal is an answer
            self._metrics.inc("submissions_failed")
            self._note_error(job, decision, correlation_id)
            self._failure_signal(job, decision, latency)
            emit(
                submission_failed,
                self._sender,
                key=job.key,
                reason=reason,
                error_class=decision.error_class,
                status_code=decision.status_code,
            )
            self._connection.report_answer()
            self._connection.update("server refused a submission")
            return
        next_at = time.time() + decision.delay_s
        self._journal.record(_retry_event(job, decision, next_at))
        self._breaker.record_failure()
        self._metrics.inc("retries")
        self._note_error(job, decision, correlation_id)
        self._failure_signal(job, decision, latency)
        emit(
            retry_scheduled,
            self._sender,
            key=job.key,
            attempt=job.attempt,
            next_attempt_at=next_at,
            delay_s=decision.delay_s,
            error_class=decision.error_class,
        )
        if decision.transport:
            self._connection.report_no_answer(f"upload: {decision.error_class}")
        else:
            self._connection.report_server_failure(f"upload: {decision.error_class}")
        self._connection.update(f"upload: {decision.error_class}")

    def _record_auth_pause(self, job: _Job, decision: Decision, latency: float) -> None:
        if not self._claim():
            return
        # Not the submission's fault: it stays pending and due at once (no backoff); uploads
        # pause until the ConnectionService sees an accepted token.
        now = time.time()
        self._journal.record(_retry_event(job, decision, now))
        self._metrics.inc("uploads_failed")
        self._note_error(job, decision, None)
        self._failure_signal(job, decision, latency)
        emit(
            retry_scheduled,
            self._sender,
            key=job.key,
            attempt=job.attempt,
            next_attempt_at=now,
            delay_s=0.0,
            error_class=decision.error_class,
        )
        self._connection.report_auth_failed(f"token rejected ({decision.status_code})")
