"""The dispatcher: pick due submissions from the journal and hand them to the upload workers.

One thread picks due submissions, earliest due first (``in_flight`` ones left by a crashed run
come first: they are due again), as many as the adaptive concurrency limit allows in flight
(:mod:`._concurrency`; nothing while a Retry-After is honoured), takes a breaker permit and,
when a hard ceiling is configured, a rate-limiter token for each,
records ``UploadStarted`` for the batch in one transaction, and hands the jobs to
:class:`~._uploader.Uploads`. It reads a *window* of due submissions per journal query and
dispatches from it, and it finds retries scheduled under a clock that was since set back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from journal import Submission

from ._breaker import CircuitBreaker
from ._concurrency import AdaptiveConcurrency
from ._connection import ConnectionService
from ._errors import JournalClosedError
from ._journal_access import JournalAccess
from ._metrics import Metrics
from ._outcomes import Outcomes
from ._ratelimit import TokenBucket
from ._retry import RetryPolicy
from ._uploader import UploadJob, Uploads
from .signals import emit, upload_started

log = logging.getLogger("syncengine.outbox")

# Due submissions read per journal query. Reading a window and dispatching from it amortises the
# query over a backlog; bounded because each entry carries its report.
_WINDOW = 64
_CLOCK_CHECK_S = 30.0
_CLOCK_WINDOW = 512
_CLOCK_SLACK_S = 5.0  # ordinary clock corrections (NTP steps) are not a set-back clock


def _take(pending: deque[Submission], free: int, busy: set[str]) -> list[Submission]:
    """Pop up to ``free`` submissions from the front of ``pending``, dropping busy ones."""
    subs: list[Submission] = []
    while pending and len(subs) < free:
        sub = pending.popleft()
        if sub.key not in busy:
            subs.append(sub)
    return subs


class Dispatcher:
    """Feeds due submissions to the upload workers; owned and started by the SyncEngine."""

    def __init__(
        self,
        *,
        sender: object,
        journal: JournalAccess,
        uploads: Uploads,
        outcomes: Outcomes,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        bucket: TokenBucket,
        limit: AdaptiveConcurrency,
        connection: ConnectionService,
        metrics: Metrics,
        idle_poll_s: float,
    ) -> None:
        self._sender = sender
        self._journal = journal
        self._uploads = uploads
        self._outcomes = outcomes
        self._policy = policy
        self._breaker = breaker
        self._bucket = bucket
        self._limit = limit
        self._connection = connection
        self._metrics = metrics
        self._idle_poll = idle_poll_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_clock_check = 0.0
        # Due submissions read from the journal and not yet dispatched, earliest due first. Only
        # this engine moves submissions out of pending (the journal lock), so an entry stays valid;
        # the window is re-read when empty or older than idle_poll_s, so retries that became due
        # and operator requeues are seen within that time.
        self._candidates: deque[Submission] = deque()
        self._candidates_at = 0.0
        # Pending submissions found scheduled under a clock since set back, not yet sent.
        self._set_back: deque[Submission] = deque()
        self.heartbeat_at: float | None = None
        """Monotonic time the dispatcher loop last went round (the service watchdog reads it)."""
        self.beat_every_s: float | None = None
        """When set, the loop goes round at least this often even with nothing to do, however
        long ``idle_poll_s`` is, so that :attr:`heartbeat_at` stays fresh for a watchdog."""

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the dispatcher thread."""
        self._thread = threading.Thread(target=self._run, name="syncengine-dispatch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something changed (new submission, connection back, upload done): look now."""
        self._wake.set()

    def stop(self) -> None:
        """Stop picking work (the thread ends at its next wake-up)."""
        self._stopping.set()
        self._wake.set()

    def join(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the thread to end."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    # --- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat_at = time.monotonic()
            try:
                delay = self._dispatch_once()
            except JournalClosedError:
                return
            except Exception:
                log.exception("outbox dispatcher failed; retrying after %.2fs", self._idle_poll)
                delay = self._idle_poll
            beat = self.beat_every_s
            if beat is not None:
                delay = min(delay, beat)
            if delay > 0:
                self._wake.wait(delay)

    def _dispatch_once(self) -> float:
        """Send what can be sent now; return how long to sleep unless woken."""
        self._wake.clear()
        busy = self._uploads.busy()
        free = self._limit.limit - len(busy)
        if free <= 0 or not self._connection.can_send():
            return self._idle_poll
        hold = self._limit.hold_s()
        if hold > 0:  # the server asked for a pause (Retry-After)
            return min(self._idle_poll, hold)
        now = time.time()
        subs = self._take_due(now, free, busy)
        rotten = [s for s in subs if not s.payload_intact]
        if rotten:
            self._outcomes.rotten(rotten)
            subs = [s for s in subs if s.payload_intact]
        if not subs:
            next_at = self._journal.call(lambda j: j.next_due_at())
            if next_at is None:
                return self._idle_poll
            subs = self._scheduled_in_the_future(now, free, busy)
            if not subs:
                return min(self._idle_poll, max(0.001, float(next_at) - now))
        batch: list[Submission] = []
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

    def _take_due(self, now: float, free: int, busy: set[str]) -> list[Submission]:
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

    def _scheduled_in_the_future(self, now: float, free: int, busy: set[str]) -> list[Submission]:
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
                first_at = found[0].next_attempt_at
                log.warning(
                    "%d waiting submission(s) were scheduled under a clock that was set back "
                    "(first: retry due in %.0fs); sending them now",
                    len(found),
                    (first_at or now) - now,
                )
                if len(window) >= limit:
                    self._next_clock_check = 0.0  # there may be more beyond this window
            self._set_back.extend(found)
        return _take(self._set_back, free, busy)

    def _mis_scheduled(self, sub: Submission, now: float) -> bool:
        if sub.state != "pending" or sub.next_attempt_at is None:
            return False
        if sub.updated_at > now + _CLOCK_SLACK_S:
            return True  # its last event is dated in the future
        # Only a 429's Retry-After may push a wait beyond the cap; any other wait that long was
        # computed under a different clock (or a larger cap since reduced).
        error_class = (sub.last_error or {}).get("error_class")
        longest = self._policy.config.cap_s + _CLOCK_SLACK_S
        return error_class != "RateLimitedError" and sub.next_attempt_at - now > longest

    def _start_batch(self, batch: list[Submission]) -> None:
        keys = [s.key for s in batch]
        self._uploads.reserve(keys)
        try:
            # Not fsynced: a lost UploadStarted (power cut) leaves the submission pending, which
            # is replayed exactly like in_flight; the durable commits are Submitted and the ack.
            self._journal.call(lambda j: j.upload_started(keys, durable=False))
        except BaseException:
            self._uploads.release(keys)
            for _ in batch:
                self._breaker.release()
            raise
        self._metrics.set_gauge("in_flight", self._uploads.in_flight)
        for sub in batch:
            attempt = sub.attempts + 1
            emit(upload_started, self._sender, key=sub.key, attempt=attempt)
            self._uploads.put(UploadJob(sub.key, sub.payload_json.encode("utf-8"), attempt))
