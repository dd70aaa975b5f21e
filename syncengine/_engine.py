"""SyncEngine: the facade station software embeds, and the engine's lifecycle.

``with SyncEngine(config) as engine: engine.submit(report)`` is the whole embedded API: submit
returns the key only after the journal committed the report; from then on the engine owns
getting it to the server exactly once (in effect), through crashes, outages and bad answers.

Lifecycle: ``new`` -> ``start()`` -> ``running`` -> ``stop()`` -> ``stopping`` -> ``stopped``.
An engine is started once; make a new one to start again.

Shutdown order (``stop``): 1 stop the folder watchers, 2 refuse new submissions
(:class:`EngineStoppingError`), 3 let in-flight uploads finish within the grace period (the rest
stay ``in_flight`` and are replayed at the next start), 4 write the final status snapshot,
5 close the journal and release the lock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from . import _resolutions
from ._breaker import CircuitBreaker
from ._config import EngineConfig
from ._connection import ConnectionService
from ._errors import (
    EngineNotRunningError,
    EngineStateError,
    EngineStoppingError,
    ReportInputError,
    from_journal,
)
from ._lock import JournalLock
from ._metrics import Metrics
from ._ratelimit import TokenBucket
from ._report_input import check_locally, key_of, payload_of
from ._snapshot import EngineParts, assemble, queue_depth
from ._status import LastError, StatusSnapshot, read_status, write_status
from .signals import emit, engine_started, engine_stopped, engine_stopping, submission_appended

if TYPE_CHECKING:
    from journal import Event, Journal, Submission

    from ._clients import Clients, CredentialProvider
    from ._dispatcher import Dispatcher
    from ._health_http import LocalServers
    from ._journal_access import JournalAccess
    from ._uploader import Uploads
    from ._watcher import WatchService

log = logging.getLogger("syncengine.engine")


class SyncEngine:
    """Drains one journal to one WATS server; the facade station software and GUIs use.

    ``credentials`` supplies and refreshes the token (default: ``config.token``). ``clock``
    (monotonic seconds) drives the breaker and rate limiter, for tests.
    """

    def __init__(
        self,
        config: EngineConfig,
        *,
        credentials: CredentialProvider | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(config, EngineConfig):
            raise TypeError(f"config must be an EngineConfig, got {type(config).__name__}")
        self.config = config
        self._credentials = credentials
        self._clock = clock or time.monotonic
        self.metrics = Metrics()
        """The engine's counters, gauges and timings (see docs/engine.md)."""
        self._state = "new"
        self._state_lock = threading.Condition()
        self._submitting = 0
        self._stop_guard = threading.Lock()
        self._stopped = threading.Event()
        self._progress = threading.Condition()
        self._lock = JournalLock(config.effective_lock_path, journal_path=config.journal_path)
        self._journal: JournalAccess | None = None
        self._clients: Clients | None = None
        self._breaker = CircuitBreaker(config.breaker, clock=self._clock)
        self._connection: ConnectionService | None = None
        self._previous_connection = "online"  # the ConnectionService starts online
        self._dispatcher: Dispatcher | None = None
        self._beat_every_s: float | None = None
        self._uploads: Uploads | None = None
        self._watcher: WatchService | None = None
        self._health_server: LocalServers | None = None
        self._status_thread: threading.Thread | None = None
        self._status_stop = threading.Event()
        self._started_at: float | None = None
        self._last_error: LastError | None = None
        self._abandoned = 0

    def __repr__(self) -> str:
        return (
            f"<SyncEngine {self._state} server={self.config.server_url!r} "
            f"journal={str(self.config.journal_path)!r}>"
        )

    @property
    def state(self) -> str:
        """``new``, ``running``, ``stopping`` or ``stopped``."""
        return self._state

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and the beginning of ``stop()``."""
        return self._state == "running"

    def __enter__(self) -> SyncEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Take the journal lock, open the journal and start sending.

        Raises :class:`EngineLockedError` when another engine drains the same journal.
        """
        with self._state_lock:
            if self._state != "new":
                raise EngineStateError(
                    f"start() on an engine that is {self._state}; make a new one"
                )
            self._state = "starting"
        try:
            if self.config.watch:
                # Before the journal, lock and status files exist: a bad folder creates nothing.
                from ._watcher import check_watch_folders

                check_watch_folders(self.config)
            self._start()
        except BaseException:
            self._state = "new"
            self._teardown()
            raise
        # engine_started comes before any upload signal of a backlog: the threads start after.
        emit(engine_started, self)
        self._start_threads()
        try:
            self._start_watcher()
        except BaseException:
            # A watch folder that cannot be watched must not leave a half-started engine.
            self.stop(grace=0)
            raise

    def _start(self) -> None:
        # pywats and journal are imported here, not at module level, so that importing
        # syncengine (settings, CLI --help) stays cheap and works without them loaded.
        from journal import Journal, JournalError

        from ._clients import Clients
        from ._concurrency import AdaptiveConcurrency
        from ._dispatcher import Dispatcher
        from ._journal_access import JournalAccess
        from ._outcomes import Outcomes
        from ._retry import RetryPolicy
        from ._uploader import Uploads

        cfg = self.config
        self._lock.acquire()
        cfg.journal_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            journal = Journal(
                cfg.journal_path,
                synchronous=cfg.journal_synchronous,
                busy_timeout_s=cfg.timeouts.journal_busy_s,
            )
        except JournalError as exc:
            raise from_journal(exc) from exc
        self._journal = JournalAccess(journal)
        self._clients = clients = Clients(cfg, self._credentials, self.metrics)
        self._connection = ConnectionService(
            self._breaker,
            self.metrics,
            probe=clients.probe,
            recover_auth=clients.recover_auth,
            probe_interval_s=cfg.probe_interval_s,
            clock=self._clock,
        )
        policy = RetryPolicy(cfg.retry)
        metrics = self.metrics
        limit = AdaptiveConcurrency(
            cfg.adaptive,
            cfg.concurrency,
            clock=self._clock,
            on_change=lambda n: metrics.set_gauge("concurrency_limit", n),
        )
        metrics.set_gauge("concurrency_limit", limit.limit)
        outcomes = Outcomes(
            sender=self,
            journal=self._journal,
            breaker=self._breaker,
            connection=self._connection,
            metrics=self.metrics,
            on_error=self._note_error,
            on_ack=self._note_ack,
        )
        self._uploads = Uploads(
            clients=clients,
            outcomes=outcomes,
            policy=policy,
            breaker=self._breaker,
            limit=limit,
            metrics=self.metrics,
            concurrency=cfg.concurrency,
            on_done=self._wake_dispatcher,
        )
        self._dispatcher = Dispatcher(
            sender=self,
            journal=self._journal,
            uploads=self._uploads,
            outcomes=outcomes,
            policy=policy,
            breaker=self._breaker,
            bucket=TokenBucket(cfg.rate_limit, clock=self._clock),
            limit=limit,
            connection=self._connection,
            metrics=self.metrics,
            idle_poll_s=cfg.idle_poll_s,
        )
        self._dispatcher.beat_every_s = self._beat_every_s
        clients.on_recovered = self._wake_dispatcher
        self._connection.on_change = self._connection_changed
        from ._health_http import local_servers

        self._health_server = local_servers(cfg, self)  # binds: may fail here
        self._started_at = time.time()
        with self._state_lock:
            self._state = "running"

    def _wake_dispatcher(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.wake()

    def _connection_changed(self, state: str) -> None:
        previous, self._previous_connection = self._previous_connection, state
        if previous == "offline" and state == "circuit_open":
            # A probe found the server answering again after an outage that opened the breaker:
            # let its one half-open upload go now rather than wait out reset_timeout_s (up to
            # 30 s of a backlog drain spent waiting for a server that is back).
            self._breaker.try_now()
        self._wake_dispatcher()

    def _start_threads(self) -> None:
        assert self._dispatcher is not None and self._uploads is not None
        assert self._connection is not None
        self._dispatcher.start()
        self._uploads.start()
        self._connection.start()
        self._status_thread = threading.Thread(
            target=self._status_loop, name="syncengine-status", daemon=True
        )
        self._status_thread.start()
        if self._health_server is not None:
            self._health_server.start()

    def _start_watcher(self) -> None:
        if not self.config.watch:
            return
        from ._watcher import WatchService

        self._watcher = WatchService(self.config, self._submit_rows, self.metrics)
        self._watcher.start()

    def stop(self, grace: float | None = None) -> None:
        """Shut down gracefully (see the module docstring); idempotent.

        ``grace`` (default ``config.grace_period_s``) bounds the wait for in-flight uploads.
        """
        grace_s = self.config.grace_period_s if grace is None else max(0.0, float(grace))
        # One shutdown at a time: a second caller (signal thread and __exit__ racing) waits for
        # the first to finish and then finds nothing to do.
        with self._stop_guard:
            with self._state_lock:
                if self._state != "running":
                    return
            self._shutdown(grace_s)

    def _shutdown(self, grace_s: float) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            try:
                watcher.stop(grace_s)
            except Exception:
                log.exception("stopping the folder watcher failed")
        with self._state_lock:
            self._state = "stopping"
            # Submits admitted before this point finish committing (bounded by the journal's
            # busy timeout); their callers get their key back.
            self._state_lock.wait_for(
                lambda: self._submitting == 0, timeout=self.config.timeouts.stop_submits_s
            )
        emit(engine_stopping, self, grace_s=grace_s)
        if self._dispatcher is not None:
            self._dispatcher.stop()
        if self._uploads is not None:
            self._abandoned = self._uploads.stop(grace_s)
        if self._dispatcher is not None:
            self._dispatcher.join(self.config.timeouts.stop_join_s)
        if self._abandoned:
            log.warning(
                "%d upload(s) did not finish within %.1fs; they stay in_flight and are "
                "replayed at the next start",
                self._abandoned,
                grace_s,
            )
        if self._connection is not None:
            self._connection.stop(self.config.timeouts.stop_join_s)
        self._status_stop.set()
        if self._status_thread is not None:
            self._status_thread.join(self.config.timeouts.stop_join_s)
        self._state = "stopped"
        try:
            self._write_status()
        except Exception:
            log.exception("writing the final status snapshot failed")
        self._teardown()
        self._stopped.set()
        emit(engine_stopped, self, abandoned=self._abandoned)

    def _teardown(self) -> None:
        if self._health_server is not None:
            try:
                self._health_server.stop()
            except Exception:
                log.exception("stopping the health endpoint failed")
            self._health_server = None
        if self._journal is not None:
            self._journal.close(self.config.timeouts.journal_close_s)
            self._journal = None
        if self._clients is not None:
            self._clients.close()
        self._lock.release()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the engine has stopped (for a CLI main loop); False on timeout."""
        return self._stopped.wait(timeout)

    def _check_running(self) -> None:
        if self._state == "running":
            return
        if self._state in ("stopping", "stopped"):
            raise EngineStoppingError(
                f"the engine is {self._state} and accepts no new submissions; "
                "keep the report and submit it to a running engine"
            )
        raise EngineNotRunningError("start the engine (or use 'with SyncEngine(...)') first")

    @contextlib.contextmanager
    def _submission(self) -> Iterator[None]:
        # Submits run concurrently (the journal group-commits them); stop() flips the state
        # under the same condition and then waits for the ones already admitted.
        with self._state_lock:
            self._check_running()
            self._submitting += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._submitting -= 1
                self._state_lock.notify_all()

    def _access(self) -> JournalAccess:
        if self._journal is None:
            raise EngineNotRunningError(
                f"the engine is {self._state} and its journal is not open; "
                "read a stopped engine's journal with journal.Journal or read_status()"
            )
        return self._journal

    def submit(
        self, report: object, *, key: str | None = None, source: dict[str, Any] | None = None
    ) -> str:
        """Commit ``report`` (a pywats report or a WSJF dict) to the journal; return its key.

        Returns only after the journal transaction committed (fsynced). The key defaults to the
        report id and is the upload's ``Idempotency-Key``. Submitting the same key with the same
        payload again is a no-op; with a different payload it raises the journal's conflict
        error. Raises :class:`EngineStoppingError` while or after the engine stops.
        """
        payload = payload_of(report)
        key = key_of(payload, key, "submit()")
        if self.config.validate_submit:
            check_locally(payload, key)
        with self._submission():
            self._access().call(lambda j: j.submit(key, payload, source=source))
        emit(submission_appended, self, key=key, source=source)
        self._wake_dispatcher()
        return key

    def submit_many(
        self, items: Sequence[tuple[str, dict[str, Any], dict[str, Any] | None]]
    ) -> list[str]:
        """Commit several ``(key, payload, source)`` submissions in one journal transaction.

        Returns the keys in order. Raises :class:`EngineStoppingError` (nothing written) when
        the engine refuses submissions.
        """
        return [sub.key for sub in self._submit_rows(items)]

    def _submit_rows(
        self, items: Sequence[tuple[str, dict[str, Any], dict[str, Any] | None]]
    ) -> list[Submission]:
        # submit_many with the journal's answer, for the folder watcher: ``existed`` says which
        # keys an earlier drop of the same file journaled already (its log line says so).
        rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for index, item in enumerate(items):
            try:
                key, payload, source = item
            except (TypeError, ValueError) as exc:
                raise ReportInputError(
                    f"submit_many() item {index}: expected (key, payload, source), got {item!r:.80}"
                ) from exc
            if not isinstance(payload, Mapping):
                raise ReportInputError(
                    f"submit_many() item {index}: payload must be a WSJF dict, "
                    f"got {type(payload).__name__}"
                )
            rows.append(
                (key_of(payload, key, f"submit_many() item {index}"), dict(payload), source)
            )
        if not rows:
            return []
        with self._submission():
            journaled = self._access().call(lambda j: j.submit_many(rows))
        for key, _payload, source in rows:
            emit(submission_appended, self, key=key, source=source)
        self._wake_dispatcher()
        return journaled

    def wait_idle(self, timeout: float, *, include_backoff: bool = True) -> bool:
        """Block until nothing is pending or in flight; False if ``timeout`` passes first.

        Submissions that failed permanently do not count (they wait for an operator). By
        default a submission backing off after a retryable error is still pending, so this
        waits until it is delivered; with ``include_backoff=False`` only submissions that are
        due now (and uploads in flight) count, i.e. "the engine has nothing to do right now".
        """
        deadline = time.monotonic() + timeout
        while True:
            if self._idle_now(include_backoff):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._progress:
                self._progress.wait(min(remaining, 0.05))

    def _idle_now(self, include_backoff: bool) -> bool:
        def check(j: Journal) -> bool:
            counts = j.counts()
            if counts.get("in_flight", 0):
                return False
            if include_backoff or not counts.get("pending", 0):
                return not counts.get("pending", 0)
            return not j.due(time.time(), 1)

        # The journal reads are separate transactions; an upload that started (or finished)
        # between them could make "not due" look like "idle". Only a window in which the
        # outbox did not move counts.
        before = self._uploads.activity() if self._uploads is not None else (0, 0)
        idle = bool(self._access().call(check))
        after = self._uploads.activity() if self._uploads is not None else (0, 0)
        return idle and before == after and before[1] == 0

    def counts(self) -> dict[str, int]:
        """Submissions per state: ``{"pending", "in_flight", "acked", "failed"}``."""
        return dict(self._access().call(lambda j: j.counts()))

    def submission(self, key: str) -> Submission | None:
        """One submission as the journal projects it (state, attempts, last error, payload),
        or None when the key is unknown or archived."""
        return self._access().call(lambda j: j.submission(key))

    def history(self, key: str) -> list[Event]:
        """Every journal event of one submission, oldest first."""
        return list(self._access().call(lambda j: j.history(key)))

    def requeue(
        self,
        key: str,
        *,
        reason: str = "requeued by operator",
        who: str | None = None,
        origin: str | None = None,
    ) -> None:
        """Make a failed (or pending) submission due again now.

        Raises :class:`UnknownSubmissionError` for a key the journal does not hold (or archived)
        and the journal's ``InvalidTransitionError`` (as a SyncEngineError) for one in flight
        or acked.
        """
        _resolutions.requeue(self._access(), key, reason=reason, who=who, origin=origin)
        self._wake_dispatcher()

    def requeue_failed(
        self,
        *,
        reason: str = "requeued by operator",
        who: str | None = None,
        origin: str | None = None,
    ) -> list[str]:
        """Requeue every failed submission (one journal transaction); returns their keys."""
        keys = _resolutions.requeue_failed(self._access(), reason=reason, who=who, origin=origin)
        if keys:
            self._wake_dispatcher()
        return keys

    @property
    def health_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the /healthz + /metrics endpoint, or None when not enabled."""
        return None if self._health_server is None else self._health_server.address

    @property
    def connection_state(self) -> str:
        """online, offline, circuit_open or auth_failed (``stopped`` when not running)."""
        return self._connection.state if self._connection is not None else "stopped"

    def status(self) -> StatusSnapshot:
        """The health snapshot (the same JSON object the status file holds); no side effects.

        After stop() it is the final snapshot as :func:`read_status` sees it (counts re-read
        from the journal).
        """
        if self._state == "stopped" and self._journal is None:
            stored = read_status(self.config.effective_status_path, self.config.journal_path)
            return cast(StatusSnapshot, stored)
        return assemble(
            EngineParts(
                config=self.config,
                state=self._state,
                started_at=self._started_at,
                journal=self._journal,
                connection=self._connection,
                breaker_state=self._breaker.state,
                last_error=self._last_error,
                watcher=self._watcher,
                metrics=self.metrics,
                abandoned=self._abandoned,
                health_address=self.health_address,
            )
        )

    def _note_error(self, error: LastError) -> None:
        self._last_error = error
        self._notify_progress()

    def _note_ack(self, at: float) -> None:
        self._notify_progress()

    def _notify_progress(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _write_status(self) -> None:
        snapshot = self.status()
        # The gauges that live in the snapshot's facts, for /metrics between two snapshots.
        self.metrics.set_gauge("queue_depth", queue_depth(snapshot["counts"]))
        error_files = snapshot.get("error_files")
        if error_files is not None:
            count = error_files.get("count")
            if isinstance(count, (int, float)):
                self.metrics.set_gauge("error_files", count)
        write_status(self.config.effective_status_path, snapshot)

    def _status_loop(self) -> None:
        # The first snapshot at once: `status --json` right after start must see a running
        # engine, not a stale file from the previous run.
        while True:
            try:
                self._write_status()
            except Exception:
                log.exception("writing the status snapshot failed")
            if self._status_stop.wait(self.config.status_interval_s):
                return

    @property
    def heartbeat_at(self) -> float | None:
        """Monotonic time (``time.monotonic()``) the dispatcher loop last went round, or None
        when it is not running. The service watchdog pings systemd only while this moves."""
        if self._state != "running" or self._dispatcher is None:
            return None
        return self._dispatcher.heartbeat_at

    def set_heartbeat_interval(self, seconds: float) -> None:
        """Make :attr:`heartbeat_at` move at least every ``seconds`` while the engine runs.

        The dispatcher loop otherwise sleeps up to ``idle_poll_s`` when nothing is due; a
        service watchdog that needs a fresh heartbeat within its own interval sets this (to a
        quarter of it). Before or after :meth:`start`.
        """
        if not seconds > 0:
            raise ValueError(f"heartbeat interval must be > 0, got {seconds}")
        self._beat_every_s = seconds
        if self._dispatcher is not None:
            self._dispatcher.beat_every_s = seconds
            self._dispatcher.wake()  # it may be in a long idle sleep already

    def dismiss(
        self, key: str, *, reason: str, who: str | None = None, origin: str | None = "api"
    ) -> None:
        """Dismiss a failed submission: it is never uploaded and leaves the failed count.

        Recorded in the journal with ``reason``, ``who`` and ``origin``; nothing is erased.
        """
        _resolutions.dismiss(self._access(), key, reason=reason, who=who, origin=origin)

    def supersede(
        self,
        key: str,
        report: object,
        *,
        reason: str,
        who: str | None = None,
        origin: str | None = "api",
        source: dict[str, Any] | None = None,
    ) -> str:
        """Replace a failed submission by a corrected report (a pywats report or WSJF dict).

        The corrected report becomes a new submission linked to the old one both ways (see
        :meth:`journal.Journal.supersede`); returns its key. The report id may stay the same:
        the server overwrites by id.
        """
        payload = payload_of(report)
        new_key = _resolutions.supersede(
            self._access(), key, payload, reason=reason, who=who, origin=origin, source=source
        )
        self._wake_dispatcher()
        return new_key

    def probe_now(self) -> str:
        """Probe the server at once (an operator's "check now"); returns the connection state."""
        if self._connection is None:
            raise EngineNotRunningError("the engine is not running")
        state = self._connection.probe_once()
        self._wake_dispatcher()
        return state

    @property
    def ui_url(self) -> str | None:
        """The station page's URL (``http://127.0.0.1:PORT/``), or None when not enabled."""
        servers = self._health_server
        address = None if servers is None else servers.ui_address
        if address is None:
            return None
        host, port = address
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
