"""Assembling a running engine's health snapshot from its parts, with no side effects.

:mod:`._status` defines the snapshot, judges health and writes the status file; this module
gathers the facts (the journal's counts and times, the connection, the breaker, the error
folders, the metrics) into one :class:`StatusSnapshot` for :meth:`SyncEngine.status`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ._status import LastError, StatusSnapshot, classify_health

if TYPE_CHECKING:
    from journal import Journal

    from ._config import EngineConfig
    from ._connection import ConnectionService
    from ._journal_access import JournalAccess
    from ._metrics import Metrics
    from ._watcher import WatchService

log = logging.getLogger("syncengine.engine")


@dataclass(frozen=True)
class EngineParts:
    """What a snapshot is read from: the engine's state and its live parts (None when absent)."""

    config: EngineConfig
    state: str
    started_at: float | None
    journal: JournalAccess | None
    connection: ConnectionService | None
    breaker_state: str
    last_error: LastError | None
    watcher: WatchService | None
    metrics: Metrics
    abandoned: int
    health_address: tuple[str, int] | None


class _JournalFacts(NamedTuple):
    counts: dict[str, int]
    oldest_pending_at: float | None
    last_ack_at: float | None
    next_due_at: float | None


def _journal_facts(j: Journal) -> _JournalFacts:
    return _JournalFacts(dict(j.counts()), j.oldest_pending_at(), j.last_ack_at(), j.next_due_at())


def queue_depth(counts: Mapping[str, int]) -> int:
    """Submissions waiting to be delivered: pending plus in flight."""
    return counts.get("pending", 0) + counts.get("in_flight", 0)


def _address(address: tuple[str, int] | None) -> str | None:
    return None if address is None else f"http://{address[0]}:{address[1]}"


def assemble(parts: EngineParts) -> StatusSnapshot:
    """The snapshot of a live engine now; a journal that cannot be read counts as empty."""
    now = time.time()
    running = parts.state == "running"
    facts = _JournalFacts({}, None, None, None)
    if parts.journal is not None:
        try:
            facts = parts.journal.call(_journal_facts)
        except Exception:
            log.debug("status: journal unavailable", exc_info=True)
    counts = facts.counts
    conn = parts.connection
    connection = conn.state if running and conn is not None else "stopped"
    last_error = parts.last_error
    oldest = facts.oldest_pending_at
    config = parts.config
    health = classify_health(
        running=running,
        connection=connection,
        breaker=parts.breaker_state,
        counts=counts,
        last_ack_at=facts.last_ack_at,
        oldest_pending_at=oldest,
        started_at=parts.started_at,
        last_error_at=None if last_error is None else last_error["at"],
        stuck_after_s=config.stuck_after_s,
        now=now,
    )
    error_files = parts.watcher.error_files() if parts.watcher is not None else None
    if error_files is not None and error_files["count"] and health == "ok":
        health = "degraded"  # files in error/ wait for a person
    metrics = parts.metrics.snapshot()
    gauges = metrics.get("gauges")
    if isinstance(gauges, dict):  # this snapshot's own figures, not the last loop's
        gauges["queue_depth"] = queue_depth(counts)
        if error_files is not None:
            gauges["error_files"] = error_files["count"]
    return {
        "health": health,
        "running": running,
        "state": parts.state,
        "pid": os.getpid(),
        "started_at": parts.started_at,
        "updated_at": now,
        "server_url": config.server_url,
        "journal_path": str(config.journal_path),
        "lock_path": str(config.effective_lock_path),
        "counts": counts,
        "oldest_pending_at": oldest,
        "oldest_pending_age_s": None if oldest is None else max(0.0, now - oldest),
        "last_ack_at": facts.last_ack_at,
        "next_due_at": facts.next_due_at,
        "connection": connection,
        "connection_reason": conn.reason if conn is not None else None,
        "offline_for_s": conn.offline_for() if conn is not None else 0.0,
        "offline_periods": conn.offline_periods() if conn is not None else [],
        "breaker": parts.breaker_state,
        "last_error": last_error,
        "abandoned_at_stop": parts.abandoned,
        "stuck_after_s": config.stuck_after_s,
        "error_files": error_files,
        "health_address": _address(parts.health_address),
        "metrics": metrics,
    }
