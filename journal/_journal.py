"""The :class:`Journal`: the public face of the event journal and its projection."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from . import _schema as S
from ._append import ENGINE_INDEX_BATCH, Appender, index_reports
from ._codec import canonical, chain_hash, sha256_text
from ._errors import CorruptJournalError, JournalError
from ._migrations import check_not_newer, migrate
from ._models import (
    AckAnswer,
    ArchiveResult,
    CheckResult,
    Event,
    NewEvent,
    State,
    Submission,
    VerifyResult,
    event_from_row,
)
from ._rebuild import differences, rebuild
from ._store import Store, create_private
from ._walcheck import precheck

if TYPE_CHECKING:
    from ._browse import ReportFilter, ReportPage

_SYNC_MODES = ("FULL", "NORMAL", "EXTRA")
_MAX_KEY = 256
_DUMP_CHUNK = 500
_GATHER_S = 0.002
_RETURN_S = 0.0005
"""How long a leader waits for callers the previous commit released (they may be done)."""
_SUB_COLUMNS = (
    "s.key, s.state, s.payload_sha256, s.attempts, s.next_attempt_at, s.error_class, "
    "s.error_message, s.error_status, s.created_at, s.updated_at, s.first_seq, s.last_seq, "
    "CAST(e.data AS BLOB), CAST(p.body AS BLOB)"
)
"""Texts come as bytes: a rotted byte that is not UTF-8 must damage one row, not the query."""
_SUB_JOINS = "JOIN events AS e ON e.seq = s.first_seq JOIN payloads AS p ON p.seq = s.first_seq"
_SUB_SELECT = f"SELECT {_SUB_COLUMNS} FROM submissions AS s {_SUB_JOINS}"

# Pending rows come from a range of `submissions_due` in its own order (next_attempt_at), so
# LIMIT stops the scan early however large the backlog. Ties on next_attempt_at (a submit_many
# batch, a requeue of everything failed) are sorted by first_seq in the inner query, which
# carries no report; the events and payloads are joined only for the rows returned.
_DUE = (
    f"SELECT {_SUB_COLUMNS} FROM (SELECT key AS due_key, next_attempt_at AS due_at, "
    "first_seq AS due_seq FROM submissions WHERE state = 'pending' AND next_attempt_at <= ?1 "
    "ORDER BY next_attempt_at, first_seq LIMIT ?2) AS d "
    f"JOIN submissions AS s ON s.key = d.due_key {_SUB_JOINS} ORDER BY d.due_at, d.due_seq"
)
_IN_FLIGHT = f"{_SUB_SELECT} WHERE s.state = 'in_flight' ORDER BY s.first_seq LIMIT ?1"
_LATEST_SCHEDULED = (
    f"{_SUB_SELECT} WHERE s.state = 'pending' AND s.next_attempt_at IS NOT NULL "
    "ORDER BY s.next_attempt_at DESC LIMIT ?1"
)


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid submission key, else raise ``TypeError``/``ValueError``."""
    if not isinstance(key, str):
        raise TypeError(f"submission key must be a str, got {type(key).__name__}")
    if not key or len(key) > _MAX_KEY or not key.isprintable():
        raise ValueError(f"submission key must be 1..{_MAX_KEY} printable characters, got {key!r}")
    return key


def _payload(body: Any, digest: str) -> tuple[str, bool]:
    """The payload text, checked against its digest; a damaged one is never parsed or sent.

    The engine's queries read the body as bytes, so a rotted byte that is not UTF-8 is caught
    here like any other damage instead of failing the whole query with a decode error.
    """
    if isinstance(body, bytes):
        if hashlib.sha256(body).hexdigest() != digest:
            return "", False
        return body.decode("utf-8"), True
    text = str(body)
    if sha256_text(text) != digest:
        return "", False
    return text, True


def _submission(row: Sequence[Any], *, parse: bool = True) -> Submission:
    raw = row[12]
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except ValueError:  # a damaged event (bad JSON or not UTF-8); verify() reports it
        data = {}
    text, intact = _payload(row[13], row[2])
    last_error = (
        {"error_class": row[5], "message": row[6], "status_code": row[7]}
        if row[5] is not None
        else None
    )
    return Submission(
        key=row[0],
        state=cast(State, row[1]),
        payload=json.loads(text) if parse and intact else {},
        source=data.get("source"),
        attempts=row[3],
        next_attempt_at=row[4],
        last_error=last_error,
        created_at=row[8],
        updated_at=row[9],
        first_seq=row[10],
        last_seq=row[11],
        payload_sha256=row[2],
        payload_intact=intact,
        payload_json=text,
    )


def _fetch_all(sql: str, params: tuple[Any, ...], conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _apply_events(app: Appender, events: _Events, atomic: bool) -> BaseException | None:
    """Apply one request's state events inside a savepoint; its error undoes only them."""
    if atomic:
        for key, type_, fields in events:
            app.state_event(key, type_, fields)
        return None
    mark = (app.seq, app.hash, app.deltas.copy(), app.last_ack, app.appended)
    app.conn.execute("SAVEPOINT request")
    try:
        for key, type_, fields in events:
            app.state_event(key, type_, fields)
    except (JournalError, ValueError, TypeError) as exc:
        app.conn.execute("ROLLBACK TO request")
        app.conn.execute("RELEASE request")
        app.seq, app.hash, app.deltas, app.last_ack, app.appended = mark
        return exc
    app.conn.execute("RELEASE request")
    return None


_Item = tuple[str, dict[str, Any], str, str, str, dict[str, Any] | None]
_Events = list[tuple[str, str, dict[str, Any]]]


class _Request:
    """One caller's work in a group commit: a submission (``item``) or state events."""

    __slots__ = ("done", "durable", "error", "events", "item", "result")

    def __init__(
        self, item: _Item | None = None, events: _Events | None = None, durable: bool = True
    ) -> None:
        self.item = item
        self.events = events
        self.durable = durable
        self.done = False
        self.result: Submission | None = None
        self.error: BaseException | None = None


class Journal:
    """An append-only, hash-chained SQLite event journal with its queue projection.

    ``Journal(path)`` opens or creates the file (owner-only permissions where the OS has them),
    refuses a file written by a newer schema (:class:`NewerSchemaError`) or one whose files are
    damaged (:class:`CorruptJournalError`), and applies pending migrations. It is a context
    manager; :meth:`close` releases the connection.

    Threads: one connection per ``Journal``, shared under a lock. Concurrent :meth:`submit` and
    :meth:`record` calls from several threads are committed together (group commit: one calling
    thread leads and commits everything queued in one transaction; the others are woken with
    their results; each call stays all or nothing on its own).
    Processes: any number may open the same file; writes are ``BEGIN IMMEDIATE`` with
    ``busy_timeout_s`` and a bounded retry, so "database is locked" never reaches the caller;
    after ``busy_timeout_s`` :class:`JournalBusyError` does.

    ``synchronous="FULL"`` (default) fsyncs the WAL at every commit: a returned ``submit`` survives
    power loss. ``"NORMAL"`` skips that fsync (faster; survives a process crash but the last
    transactions may be lost on power loss). ``check_on_open`` compares the chain head with the
    last event (cheap; catches a truncated tail); a full walk is :meth:`verify`. ``clock``
    returns UNIX seconds for event timestamps (tests inject one).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout_s: float = 30.0,
        check_on_open: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if synchronous.upper() not in _SYNC_MODES:
            raise ValueError(f"synchronous must be one of {_SYNC_MODES}, got {synchronous!r}")
        if busy_timeout_s < 0:
            raise ValueError(f"busy_timeout_s must be >= 0, got {busy_timeout_s!r}")
        self.path = Path(path)
        self._clock = clock
        self._queue: list[_Request] = []
        self._queue_changed = threading.Condition(threading.Lock())
        self._leading = False
        self._active = 0
        self._returning = 0
        precheck(self.path)
        create_private(self.path)
        self._store = Store(
            self.path, synchronous=synchronous.upper(), busy_timeout_s=busy_timeout_s
        )
        try:
            if self._store.read(lambda c: check_not_newer(c, self.path)):
                self._store.write(lambda c: migrate(c, self.path))
            if check_on_open:
                self._store.read(self._check_head)
        except BaseException:
            self._store.close()
            raise

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the journal object cannot be used afterwards."""
        self._store.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _check_head(self, conn: sqlite3.Connection) -> None:
        head = conn.execute(S.SELECT_HEAD).fetchone()
        tail = conn.execute(
            f"SELECT {S.EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if head is None:
            raise CorruptJournalError(self.path, "the chain_head row is missing")
        if tail is None:
            if head[0] != 0:
                raise CorruptJournalError(
                    self.path, f"no events but the chain head says seq {head[0]}; run verify()"
                )
            return
        if (tail[0], tail[9]) != (head[0], head[1]):
            raise CorruptJournalError(
                self.path,
                f"the chain head says seq {head[0]} but the last event is seq {tail[0]}: events "
                "were removed or edited; run verify() (open with check_on_open=False to read)",
            )
        expect = chain_hash(tail[8], tail[0], tail[1], tail[2], tail[3], tail[4], tail[5], tail[7])
        if expect != tail[9] or sha256_text(tail[6]) != tail[7]:
            raise CorruptJournalError(
                self.path, f"the last event (seq {tail[0]}) fails its hash; run verify()"
            )

    # -- producers ------------------------------------------------------------------------------

    def submit(
        self, key: str, payload: dict[str, Any], *, source: dict[str, Any] | None = None
    ) -> Submission:
        """Append a submission; return once it is durable.

        Idempotent: a key already present with the same payload digest returns the existing
        record with ``existed`` True (an archived one comes back ``acked``); a different
        payload raises
        :class:`SubmissionConflictError`. Concurrent calls from several threads share commits.
        """
        with self._queue_changed:
            self._active += 1
            self._returning = max(0, self._returning - 1)
        try:
            request = _Request(self._prepare(key, payload, source))
        except BaseException:
            with self._queue_changed:
                self._active -= 1
            raise
        self._group_commit(request)
        assert request.result is not None
        return request.result

    def _group_commit(self, request: _Request) -> None:
        """Commit ``request`` together with whatever other threads queued meanwhile.

        The caller counted itself in ``_active`` before preparing its request. One thread leads
        and commits the whole queue in one transaction (one fsync); the others wait on the
        condition and are woken with their own result or error.
        """
        with self._queue_changed:
            self._queue.append(request)
            # Followers wait here, not on the store lock: a leader that committed their
            # request wakes them at once, and the next leader finds everyone queued meanwhile.
            while not request.done and self._leading:
                self._queue_changed.wait()
            lead = not request.done
            if lead:
                self._leading = True
                # Commit delay with siblings (PostgreSQL's commit_delay idea): other threads
                # that are still preparing their request get a moment to queue, so one fsync
                # carries them too. So do the callers the previous commit released, which are
                # likely on their way back (a steady set of producers then shares every commit
                # instead of splitting into two alternating halves). A lone caller never waits.
                now = time.monotonic()
                deadline, returning_deadline = now + _GATHER_S, now + _RETURN_S
                try:
                    while (self._active > len(self._queue) and now < deadline) or (
                        self._returning > 0 and now < returning_deadline
                    ):
                        self._queue_changed.wait(0.0002)
                        now = time.monotonic()
                except BaseException:
                    # Interrupted while gathering (KeyboardInterrupt): withdraw this request
                    # and give up the lead, or every later caller would wait for it forever.
                    self._queue.remove(request)
                    self._active -= 1
                    self._leading = False
                    self._queue_changed.notify_all()
                    raise
                batch, self._queue = self._queue, []
                self._active -= len(batch)
                self._returning = len(batch) - 1
        if lead:
            try:
                self._commit_requests(batch)
            finally:
                with self._queue_changed:
                    self._leading = False
                    self._queue_changed.notify_all()
        if request.error is not None:
            raise request.error

    def submit_many(
        self, items: Sequence[tuple[str, dict[str, Any], dict[str, Any] | None]]
    ) -> list[Submission]:
        """Append several submissions in ONE transaction; all or nothing.

        Each item is ``(key, payload, source)``. A conflict on any item raises
        :class:`SubmissionConflictError` and nothing is appended. A key already journaled with
        the same payload comes back as it stands, with ``existed`` True.
        """
        requests = [_Request(self._prepare(k, p, s)) for k, p, s in items]
        if not requests:
            return []
        self._commit_requests(requests, atomic=True)
        out: list[Submission] = []
        for request in requests:
            if request.error is not None:
                raise request.error
            assert request.result is not None
            out.append(request.result)
        return out

    def _prepare(
        self, key: str, payload: dict[str, Any], source: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any], str, str, str, dict[str, Any] | None]:
        check_key(key)
        if not isinstance(payload, dict):
            raise TypeError(f"payload of {key!r} must be a dict, got {type(payload).__name__}")
        if source is not None and not isinstance(source, dict):
            raise TypeError(f"source of {key!r} must be a dict or None")
        payload_text = canonical(payload, what=f"payload of {key!r}")
        source_text = canonical(source, what=f"source of {key!r}")
        return (key, payload, payload_text, sha256_text(payload_text), source_text, source)

    def _commit_requests(self, batch: list[_Request], *, atomic: bool = False) -> None:
        """Commit every request of ``batch`` in one transaction.

        Not ``atomic`` (the group commit): each request succeeds or fails on its own. A refused
        submission writes nothing; a request of state events runs inside a savepoint, so an
        invalid event undoes only its own request's events and the others still commit.
        """

        def run(conn: sqlite3.Connection) -> list[tuple[Submission | None, BaseException | None]]:
            app = Appender(conn, self._clock())
            results: list[tuple[Submission | None, BaseException | None]] = []
            for request in batch:
                if request.events is not None:
                    results.append((None, _apply_events(app, request.events, atomic)))
                    continue
                assert request.item is not None
                key, payload, payload_text, digest, source_text, source = request.item
                try:
                    row, created = app.submit(key, payload_text, digest, source_text, payload)
                except JournalError as exc:
                    if atomic:
                        raise
                    results.append((None, exc))
                    continue
                if created or row is None:
                    made = self._made(app, key, payload, payload_text, source, digest, row)
                else:
                    found = conn.execute(S.SELECT_SUBMITTED_DATA, (row[10],)).fetchone()
                    made = _submission([*row, *found])
                results.append((made if created else replace(made, existed=True), None))
            app.finish()
            if not durable:
                # The engine's non-durable commits (no fsync) carry the report index along.
                index_reports(conn, ENGINE_INDEX_BATCH)
            return results

        durable = any(request.durable for request in batch)
        try:
            results = self._store.write(run, durable=durable)
        except BaseException as exc:
            for request in batch:
                request.error, request.done = exc, True
            if atomic:
                raise
            return
        for request, (result, error) in zip(batch, results, strict=True):
            request.result, request.error, request.done = result, error, True

    @staticmethod
    def _made(
        app: Appender,
        key: str,
        payload: dict[str, Any],
        text: str,
        source: dict[str, Any] | None,
        digest: str,
        row: list[Any] | None,
    ) -> Submission:
        if row is None:  # archived earlier with the same payload
            seq = app.conn.execute(S.SELECT_ARCHIVED, (key,)).fetchone()[1]
            ts = app.conn.execute("SELECT ts FROM events WHERE seq = ?", (seq,)).fetchone()[0]
            return Submission(
                key, "acked", payload, None, 0, None, None, ts, ts, seq, seq, digest, True, text
            )
        return Submission(
            key,
            "pending",
            payload,
            source,
            0,
            row[4],
            None,
            row[8],
            row[9],
            row[10],
            row[11],
            digest,
            True,
            text,
        )

    # -- state events (the engine) --------------------------------------------------------------

    def record(self, events: Sequence[NewEvent], *, durable: bool = True) -> None:
        """Commit state events of several submissions in ONE transaction; all or nothing.

        Events apply in order, so one batch may move a key through several states. An invalid
        transition raises :class:`InvalidTransitionError` and nothing of this call is recorded.
        With ``durable=False`` the commit is not fsynced (see docs/journal.md, "Durability"):
        only for events whose loss in a power cut is harmless. Concurrent calls from several
        threads (and concurrent :meth:`submit` calls) share one transaction and one fsync,
        each call still all or nothing on its own (group commit).
        """
        with self._queue_changed:
            self._active += 1
            self._returning = max(0, self._returning - 1)
        try:
            items = [(check_key(e.key), e.type, dict(e.fields)) for e in events]
        except BaseException:
            with self._queue_changed:
                self._active -= 1
            raise
        if not items:
            with self._queue_changed:
                self._active -= 1
            return
        self._group_commit(_Request(events=items, durable=durable))

    def upload_started(self, keys: Sequence[str], *, durable: bool = True) -> None:
        """Mark submissions in flight (one transaction for all); pending or in_flight only.

        The engine passes ``durable=False``: losing an UploadStarted in a power cut leaves the
        submission pending instead of in_flight, and both are sent again at the next start.
        """
        if isinstance(keys, str):
            raise TypeError("upload_started takes a sequence of keys, not one str")
        self.record([NewEvent(k, "UploadStarted") for k in keys], durable=durable)

    def acknowledged(self, key: str, *, answer: AckAnswer) -> None:
        """Record the server's acceptance: ``answer`` is what it answered (:class:`AckAnswer`:
        report_id, latency_s, status_code, correlation_id and, for a 2xx without an id,
        raw_answer).

        Allowed from in_flight, and again from acked (a re-send after a crash may be acked
        twice; the second answer is kept in the history, the state stays acked).
        """
        self.record([NewEvent(key, "Acknowledged", {"answer": answer})])

    def retry_scheduled(
        self,
        key: str,
        *,
        attempt: int,
        next_attempt_at: float,
        error_class: str,
        message: str,
        status_code: int | None = None,
    ) -> None:
        """Record a retryable failure of an in-flight upload; pending again at the given time."""
        fields = {
            "attempt": attempt,
            "next_attempt_at": next_attempt_at,
            "error_class": error_class,
            "message": message,
            "status_code": status_code,
        }
        self.record([NewEvent(key, "RetryScheduled", fields)])

    def failed(
        self, key: str, *, reason: str, error_class: str, status_code: int | None = None
    ) -> None:
        """Record a permanent failure (never retried automatically; see :meth:`requeue`)."""
        fields = {"reason": reason, "error_class": error_class, "status_code": status_code}
        self.record([NewEvent(key, "Failed", fields)])

    def requeue(
        self, key: str, *, reason: str, who: str | None = None, origin: str | None = None
    ) -> None:
        """Operator action: a failed or backing-off pending submission is due now; attempts kept.

        ``who`` and ``origin`` ("cli", "station page", ...) are recorded when given.
        """
        fields = {"reason": reason, "who": who, "origin": origin}
        self.record([NewEvent(key, "Requeued", {k: v for k, v in fields.items() if v})])

    def dismiss(
        self, key: str, *, reason: str, who: str | None = None, origin: str | None = None
    ) -> None:
        """Operator action: a failed submission is never to be uploaded; it stays in the journal.

        It leaves the ``failed`` count for ``dismissed``; the reason, who and origin are kept.
        """
        fields = {"reason": reason, "who": who, "origin": origin}
        self.record([NewEvent(key, "Dismissed", {k: v for k, v in fields.items() if v})])

    def supersede(
        self,
        key: str,
        payload: dict[str, Any],
        *,
        reason: str,
        who: str | None = None,
        origin: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> str:
        """Operator action: replace a failed submission by a corrected report; return its key.

        One transaction appends the corrected report as a new submission (its source names the
        old key in ``supersedes``) and moves the old one to ``superseded`` (its event names the
        new key in ``by``). The report id may be the old one's: the server overwrites by id.
        """
        from ._resolve import supersede

        check_key(key)
        if not isinstance(payload, dict):
            raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
        return self._store.write(
            lambda c: supersede(
                c,
                self._clock(),
                key,
                payload,
                reason=reason,
                who=who,
                origin=origin,
                source=source,
            )
        )

    # -- queries --------------------------------------------------------------------------------

    def state(self, key: str) -> State | None:
        """The submission's state, ``None`` if unknown; an archived one is ``"acked"``."""

        def run(conn: sqlite3.Connection) -> State | None:
            row = conn.execute("SELECT state FROM submissions WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return cast(State, row[0])
            if conn.execute(S.SELECT_ARCHIVED, (key,)).fetchone() is not None:
                return "acked"
            return None

        return self._store.read(run)

    def submission(self, key: str) -> Submission | None:
        """The live submission with its payload; ``None`` if unknown or archived."""
        row = self._store.read(
            lambda c: c.execute(_SUB_SELECT + " WHERE s.key = ?", (key,)).fetchone()
        )
        return None if row is None else _submission(row)

    def history(self, key: str) -> list[Event]:
        """Every live event of one submission, oldest first."""
        rows = self._store.read(
            lambda c: c.execute(
                f"{S.EVENT_SELECT} WHERE e.key = ? ORDER BY e.seq", (key,)
            ).fetchall()
        )
        return [event_from_row(r) for r in rows]

    def due(
        self,
        now: float,
        limit: int,
        *,
        include_in_flight: bool = False,
        parse_payloads: bool = True,
    ) -> list[Submission]:
        """Up to ``limit`` pending submissions with ``next_attempt_at <= now``, earliest due first.

        Fresh submissions are due when submitted, so new work comes in submission order; a
        retry comes when its time is reached. Ties (one ``submit_many`` batch) go by first event
        seq. With ``include_in_flight`` in_flight ones come first, whatever their time: the
        engine asks for them at start, because an upload interrupted by a crash must be re-sent.
        Cost grows with ``limit``, not with the backlog. With ``parse_payloads=False`` each
        ``payload`` is left empty and only ``payload_json`` (digest-checked) is filled: the
        engine sends that text as it is.
        """
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")

        def run(conn: sqlite3.Connection) -> list[Any]:
            rows = conn.execute(_IN_FLIGHT, (limit,)).fetchall() if include_in_flight else []
            if len(rows) < limit:
                rows += conn.execute(_DUE, (now, limit - len(rows))).fetchall()
            return rows

        return [_submission(r, parse=parse_payloads) for r in self._store.read(run)]

    def latest_scheduled(self, limit: int, *, parse_payloads: bool = True) -> list[Submission]:
        """Up to ``limit`` pending submissions with the latest ``next_attempt_at``, latest first.

        The engine reads these to find retries scheduled under a clock that was since set back.
        ``parse_payloads`` as in :meth:`due`.
        """
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        rows = self._store.read(lambda c: c.execute(_LATEST_SCHEDULED, (limit,)).fetchall())
        return [_submission(r, parse=parse_payloads) for r in rows]

    def next_due_at(self) -> float | None:
        """The earliest ``next_attempt_at`` of a pending submission, ``None`` if none pends."""
        return self._float("SELECT min(next_attempt_at) FROM submissions WHERE state = 'pending'")

    def counts(self) -> dict[str, int]:
        """Live submissions per state: exactly ``pending``, ``in_flight``, ``acked``, ``failed``.

        Archived submissions are not in ``acked``; see :meth:`archived_count`.
        """
        rows = self._store.read(lambda c: c.execute("SELECT state, n FROM state_counts").fetchall())
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in S.STATES}

    def archived_count(self) -> int:
        """How many submissions were moved to archive files."""
        value = self._scalar("SELECT n FROM state_counts WHERE state = 'archived'")
        return int(value or 0)

    def keys_in_state(self, state: State) -> list[str]:
        """Keys of the live submissions in ``state``, oldest submission first.

        Reads the projection (a scan of the submission rows), never the event log.
        """
        if state not in S.STATES:
            raise ValueError(f"state must be one of {S.STATES}, got {state!r}")
        rows = self._store.read(
            lambda c: c.execute(
                "SELECT key FROM submissions WHERE state = ? ORDER BY first_seq", (state,)
            ).fetchall()
        )
        return [r[0] for r in rows]

    def reports(self, flt: ReportFilter) -> ReportPage:
        """A page of submissions for people (the station page): filtered, newest first.

        A page reads index rows, never report bodies, and stops at the page: on a journal of a
        million events every filter and every state with it takes a few ms to ~35 ms (the
        slowest are ranges or file names matching only old reports, and a file name no report
        has). Costs that grow with the journal are in ``_browse_plan.py`` and
        docs/performance.md ("Station page").
        """
        from ._browse import browse

        self._index_reports()
        return self._store.read(lambda c: browse(c, flt))

    def _index_reports(self) -> None:
        """Index every submission not indexed yet (``submit`` leaves that to later), in steps.

        A journal this process cannot write to (read-only file, lock held past the busy
        timeout) is browsed as indexed so far.
        """
        try:
            while self._store.read(lambda c: c.execute(S.UNINDEXED_REPORTS).fetchone()):
                if not self._store.write(lambda c: index_reports(c, ENGINE_INDEX_BATCH)):
                    return  # only damaged reports are left (verify() names them)
        except JournalError:
            return

    def oldest_pending_at(self) -> float | None:
        """``created_at`` of the oldest submission not yet acked nor failed (pending/in_flight)."""
        return self._float(
            "SELECT created_at FROM submissions WHERE state IN ('pending', 'in_flight') "
            "ORDER BY first_seq LIMIT 1"
        )

    def last_ack_at(self) -> float | None:
        """When the most recent Acknowledged event was recorded, ``None`` if never."""
        return self._float("SELECT last_ack_at FROM chain_head WHERE id = 1")

    def _float(self, sql: str) -> float | None:
        value = self._scalar(sql)
        return None if value is None else float(value)

    def _scalar(self, sql: str) -> Any:
        row = self._store.read(lambda c: c.execute(sql).fetchone())
        return None if row is None else row[0]

    # -- integrity and tooling ------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the hash chain and report the first broken event; never repairs anything."""
        from ._verify import verify

        return verify(self._store)

    def rebuild(self) -> int:
        """Recompute the projection from the events alone (one transaction); return its size."""
        return self._store.write(rebuild)

    def check(self) -> CheckResult:
        """Compare the live projection with one rebuilt from the events (nothing is changed)."""
        diffs = self._store.read(differences)
        return CheckResult(ok=not diffs, differences=diffs)

    def dump(self, *, since: int = 0, payloads: bool = True) -> Iterator[dict[str, Any]]:
        """Stream events with ``seq > since`` as dicts, in order, a chunk at a time."""
        last = since
        select = S.EVENT_SELECT if payloads else S.EVENT_SELECT_BARE
        sql = f"{select} WHERE e.seq > ? ORDER BY e.seq LIMIT {_DUMP_CHUNK}"
        while True:
            rows = self._store.read(partial(_fetch_all, sql, (last,)))
            if not rows:
                return
            for row in rows:
                yield event_from_row(row).as_dict(payloads=payloads)
            last = rows[-1][0]

    def archive(
        self, older_than_s: float, dest: str | Path, *, max_submissions: int = 10_000
    ) -> ArchiveResult:
        """Move acked submissions last updated more than ``older_than_s`` ago to ``dest``.

        ``dest`` is a file path (gzip JSON lines, self-verifying) or an existing directory (a
        file name is chosen). At most ``max_submissions``, oldest first, per call (the write
        lock is held while the file is written); call again until ``submissions == 0``. See
        docs/journal.md, "Archive".
        """
        from ._archive import archive

        return archive(self._store, self._clock(), older_than_s, Path(dest), max_submissions)
