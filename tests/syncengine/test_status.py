from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncengine import SyncEngineError, read_status
from syncengine._lock import JournalLock
from syncengine._status import classify_health, write_status

NOW = 1_000_000.0


def health(**overrides: Any) -> str:
    facts: dict[str, Any] = {
        "running": True,
        "connection": "online",
        "breaker": "closed",
        "counts": {"pending": 0, "in_flight": 0, "acked": 5, "failed": 0},
        "last_ack_at": NOW - 10,
        "oldest_pending_at": None,
        "started_at": NOW - 3600,
        "last_error_at": None,
        "stuck_after_s": 600.0,
        "now": NOW,
    }
    facts.update(overrides)
    return classify_health(**facts)


# --- health ---------------------------------------------------------------------------------
def test_healthy_engine_is_ok() -> None:
    assert health() == "ok"


def test_not_running_is_stopped() -> None:
    assert health(running=False, connection="offline") == "stopped"


def test_auth_failure_wins_over_offline_and_stuck() -> None:
    assert health(connection="auth_failed", counts={"pending": 3}, last_ack_at=0) == "auth_failed"


def test_offline_is_offline_not_stuck() -> None:
    assert health(connection="offline", counts={"pending": 3}, last_ack_at=0) == "offline"


def test_waiting_without_ack_for_stuck_after_while_reachable_is_stuck() -> None:
    facts = {"counts": {"pending": 2}, "last_ack_at": NOW - 700, "oldest_pending_at": NOW - 650}
    assert health(**facts) == "stuck"


def test_circuit_open_server_that_acks_nothing_is_stuck() -> None:
    facts = {"counts": {"pending": 2}, "last_ack_at": None, "oldest_pending_at": NOW - 601}
    assert health(connection="circuit_open", breaker="open", **facts) == "stuck"


def test_recently_arrived_backlog_after_a_quiet_day_is_not_stuck() -> None:
    facts = {"counts": {"pending": 2}, "last_ack_at": NOW - 86400, "oldest_pending_at": NOW - 5}
    assert health(**facts) == "ok"


def test_recent_engine_start_is_not_stuck() -> None:
    facts = {"counts": {"pending": 2}, "last_ack_at": None, "oldest_pending_at": NOW - 9999}
    assert health(started_at=NOW - 30, **facts) == "ok"


def test_in_flight_uploads_count_as_waiting() -> None:
    facts = {"counts": {"in_flight": 1}, "last_ack_at": NOW - 700, "oldest_pending_at": None}
    assert health(**facts) == "stuck"


def test_open_breaker_is_degraded() -> None:
    assert health(breaker="open", connection="circuit_open") == "degraded"


def test_failed_submissions_make_it_degraded() -> None:
    assert health(counts={"failed": 1}) == "degraded"


def test_error_after_the_last_ack_is_degraded() -> None:
    assert health(last_error_at=NOW - 1) == "degraded"


def test_error_before_the_last_ack_is_ok() -> None:
    assert health(last_error_at=NOW - 20) == "ok"


# --- status file ------------------------------------------------------------------------------
def test_write_status_leaves_only_the_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "s" / "status.json"
    write_status(path, {"health": "ok", "n": 1})
    write_status(path, {"health": "degraded", "n": 2})
    assert json.loads(path.read_text()) == {"health": "degraded", "n": 2}
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]


def test_read_status_of_a_running_engine_keeps_its_snapshot(tmp_path: Path) -> None:
    lock_path = tmp_path / "j.db.lock"
    status_path = tmp_path / "status.json"
    with JournalLock(lock_path):
        write_status(status_path, {"running": True, "health": "ok", "lock_path": str(lock_path)})
        got = read_status(status_path)
    assert (got["running"], got["health"], got["source"]) == (True, "ok", "status_file")


def test_read_status_of_a_crashed_engine_says_stopped(tmp_path: Path) -> None:
    lock_path = tmp_path / "j.db.lock"
    status_path = tmp_path / "status.json"
    write_status(status_path, {"running": True, "health": "ok", "lock_path": str(lock_path)})
    got = read_status(status_path)
    assert (got["running"], got["health"], got["stale"]) == (False, "stopped", True)


def test_read_status_without_file_or_journal_names_both(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no status file at .*no journal at") as caught:
        read_status(tmp_path / "none.json", tmp_path / "none.db")
    assert isinstance(caught.value, SyncEngineError)


def test_read_status_rejects_a_corrupt_file_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"status\.json is not valid JSON") as caught:
        read_status(path)
    assert isinstance(caught.value, SyncEngineError)
