"""The health snapshot: what it contains, how health is judged, and the status file.

The engine writes the snapshot every ``status_interval_s`` and once more when it stops, atomically
(temporary file, fsync, ``os.replace``), so a reader never sees half a file. :func:`read_status`
is what ``syncengine status --json`` uses; it works while the engine runs and after it stopped
(or crashed), falling back to the journal's own counts when there is no status file.

Health, first match wins:

``stopped``      the engine is not running (its lock is free).
``auth_failed``  the server rejects the token and no fresh one was available.
``offline``      the server does not answer.
``stuck``        submissions are waiting (due, backing off or in flight) and nothing was
                 acknowledged for ``stuck_after_s`` -- counted from the latest of the last ack,
                 the engine start and the oldest waiting submission's arrival -- although the
                 server is reachable (online or circuit_open).
``degraded``     the breaker is not closed, or some submissions failed permanently, or the
                 latest upload outcome was an error.
``ok``           everything else.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TypedDict, cast

from ._errors import StatusFileError, StatusUnavailableError
from ._lock import JournalLock

HEALTH_STATES = ("ok", "degraded", "stuck", "offline", "auth_failed", "stopped")


class OfflinePeriod(TypedDict):
    """One closed offline period of the connection."""

    start: float | None
    end: float
    seconds: float
    reason: str


class LastError(TypedDict):
    """The engine's note of the last failed upload (``status()["last_error"]``)."""

    key: str
    error_class: str
    status_code: int | None
    message: str
    correlation_id: str | None
    at: float


class StatusSnapshot(TypedDict):
    """The health snapshot: what ``SyncEngine.status()`` returns and the status file holds.

    A plain JSON object at run time (so the file and ``status --json`` keep their keys); typed
    here so that embedders and mypy know each key. :func:`read_status` returns a
    :class:`StoredStatus`: the same keys, fewer when there is no status file.
    """

    health: str
    running: bool
    state: str
    pid: int
    started_at: float | None
    updated_at: float
    server_url: str
    journal_path: str
    lock_path: str
    counts: dict[str, int]
    oldest_pending_at: float | None
    oldest_pending_age_s: float | None
    last_ack_at: float | None
    next_due_at: float | None
    connection: str
    connection_reason: str | None
    offline_for_s: float
    offline_periods: list[OfflinePeriod]
    breaker: str
    last_error: LastError | None
    abandoned_at_stop: int
    stuck_after_s: float
    error_files: dict[str, object] | None
    health_address: str | None
    metrics: dict[str, Any]


class _StoredAlways(TypedDict):
    # The keys every read_status() answer has (Required[] is Python 3.11+).
    health: str
    running: bool
    source: str
    """``status_file`` or ``journal`` (no usable status file: built from the journal)."""


class StoredStatus(_StoredAlways, total=False):
    """A snapshot as :func:`read_status` returns it, engine running or not.

    From a status file it holds every :class:`StatusSnapshot` key; built from the journal alone
    (no status file yet, or a new engine that has not written one) only ``health``, ``running``,
    ``source`` and the journal's facts are sure to be there, so every other key is optional.
    """

    stale: bool
    """The file's engine no longer holds the lock (it stopped or crashed)."""
    stale_file_ignored: bool
    """A new engine holds the lock and the file was its predecessor's."""
    note: str
    snapshot_age_s: float
    """Age of the engine's own snapshot (health, connection and breaker are its judgement)."""
    counts_source: str
    """``journal``: counts, oldest pending and last ack were re-read from the journal."""
    archived: int
    state: str
    pid: int | None
    started_at: float | None
    updated_at: float
    server_url: str | None
    journal_path: str | None
    lock_path: str | None
    counts: dict[str, int]
    oldest_pending_at: float | None
    oldest_pending_age_s: float | None
    last_ack_at: float | None
    next_due_at: float | None
    connection: str
    connection_reason: str | None
    offline_for_s: float
    offline_periods: list[OfflinePeriod]
    breaker: str
    last_error: LastError | None
    abandoned_at_stop: int
    stuck_after_s: float
    error_files: dict[str, object] | None
    health_address: str | None
    metrics: dict[str, Any]


def classify_health(
    *,
    running: bool,
    connection: str,
    breaker: str,
    counts: dict[str, int],
    last_ack_at: float | None,
    oldest_pending_at: float | None,
    started_at: float | None,
    last_error_at: float | None,
    stuck_after_s: float,
    now: float,
) -> str:
    """Judge health from the snapshot's facts (see the module docstring for the rules)."""
    if not running:
        return "stopped"
    if connection == "auth_failed":
        return "auth_failed"
    if connection == "offline":
        return "offline"
    waiting = counts.get("pending", 0) + counts.get("in_flight", 0)
    if waiting:
        since = max(t for t in (last_ack_at, started_at, oldest_pending_at, 0.0) if t is not None)
        if now - since >= stuck_after_s:
            return "stuck"
    if breaker != "closed" or connection != "online" or counts.get("failed", 0):
        return "degraded"
    if last_error_at is not None and (last_ack_at is None or last_error_at > last_ack_at):
        return "degraded"
    return "ok"


def write_status(path: Path, status: StatusSnapshot | dict[str, Any]) -> None:
    """Write ``status`` as JSON to ``path`` atomically (``journal.write_atomic``)."""
    from journal import write_atomic  # not at import: importing syncengine stays cheap

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(status, indent=2, sort_keys=True, default=str) + "\n"
    write_atomic(path, text.encode("utf-8"))


def _lock_is_free(lock_path: Path) -> bool:
    if not lock_path.exists():
        return True
    lock = JournalLock(lock_path)
    try:
        lock.acquire()
    except Exception:
        return False
    lock.release()
    return True


def _journal_facts(journal_path: Path) -> dict[str, Any]:
    from journal import Journal

    with Journal(journal_path) as journal:
        return {
            "counts": dict(journal.counts()),
            "oldest_pending_at": journal.oldest_pending_at(),
            "last_ack_at": journal.last_ack_at(),
            "archived": journal.archived_count(),
        }


def _lock_holder(lock_path: Path) -> tuple[int | None, float] | None:
    """``(pid, lock file mtime)`` of the engine holding the lock, or None when it is free."""
    if _lock_is_free(lock_path):
        return None
    try:
        mtime = lock_path.stat().st_mtime
        with open(lock_path, encoding="utf-8", errors="replace") as handle:
            handle.seek(1)  # Windows locks byte 0 (and refuses to read it); the pid follows
            text = handle.read().strip()
    except OSError:
        return (None, 0.0)
    return (int(text) if text.isdigit() else None, mtime)


def _written_by_holder(status: dict[str, Any], holder: tuple[int | None, float]) -> bool:
    # The lock file is rewritten (pid, mtime) when an engine takes it, before the engine sets
    # started_at. A file whose pid differs, or whose engine started before the lock was last
    # taken, was left by an earlier engine, even if the pid was reused (containers).
    # A snapshot that names neither (not one an engine writes) cannot be told apart: trusted.
    pid, mtime = holder
    started = status.get("started_at")
    if pid is not None and status.get("pid") is not None and status.get("pid") != pid:
        return False
    return not isinstance(started, (int, float)) or started >= mtime - 0.05


def read_status(path: Path | None, journal_path: Path | None = None) -> StoredStatus:
    """The health snapshot for ``status --json``, whether or not the engine runs.

    Reads the status file at ``path`` and, when ``journal_path`` exists, replaces its counts,
    oldest pending and last ack with the journal's at this moment (``counts_source`` says
    which); ``snapshot_age_s`` is the age of the engine's own snapshot (health, connection,
    breaker are its judgement then). If the engine that wrote the file no longer holds its
    lock (it stopped or crashed), ``running`` becomes False and health ``stopped``. If another
    engine holds the lock now (a restart), the file is its predecessor's and is never shown as
    the running engine's: the snapshot says ``starting`` with that engine's pid. With no status
    file, the snapshot is built from the journal alone. Raises :class:`StatusUnavailableError`
    (a FileNotFoundError) naming both paths when neither exists, and :class:`StatusFileError`
    (a ValueError) for a status file that is not a JSON object.
    """
    status: dict[str, Any] | None = None
    if path is not None and Path(path).exists():
        try:
            status = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise StatusFileError(f"status file {path} is not valid JSON: {exc}") from exc
        if not isinstance(status, dict):
            raise StatusFileError(f"status file {path} does not hold a JSON object")
    if status is None:
        if journal_path is None or not Path(journal_path).exists():
            raise StatusUnavailableError(
                f"no status file at {path} and no journal at {journal_path}: "
                "has an engine ever run with this configuration?"
            )
        status = {"source": "journal", "journal_path": str(journal_path), "running": False}
    else:
        status["source"] = "status_file"
        lock_path = status.get("lock_path")
        if status.get("running") and lock_path:
            holder = _lock_holder(Path(lock_path))
            if holder is None:
                status["running"] = False
                status["stale"] = True
            elif not _written_by_holder(status, holder):
                status = _starting(status, holder[0])
    now = time.time()
    updated = status.get("updated_at")
    if status.get("source") == "status_file" and isinstance(updated, (int, float)):
        status["snapshot_age_s"] = max(0.0, now - updated)
    if not status.get("running"):
        status["running"] = False
        status["health"] = "stopped"
    if journal_path is not None and Path(journal_path).exists():
        facts = _journal_facts(Path(journal_path))
        status.update(facts)
        status["counts_source"] = "journal"
        oldest = facts["oldest_pending_at"]
        status["oldest_pending_age_s"] = None if oldest is None else max(0.0, now - oldest)
    return cast(StoredStatus, status)  # JSON from the file: the keys an engine wrote


def _starting(previous: dict[str, Any], pid: int | None) -> dict[str, Any]:
    """The snapshot while a newly started engine has not written its first status yet."""
    return {
        "source": "journal",
        "running": True,
        "health": "starting",
        "pid": pid,
        "journal_path": previous.get("journal_path"),
        "lock_path": previous.get("lock_path"),
        "server_url": previous.get("server_url"),
        "stale_file_ignored": True,
        "note": "an engine has just started and not yet written its status; the status file "
        "left by the previous engine was ignored",
    }
