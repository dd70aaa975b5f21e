"""Migration 0003: the chain head and the per-state counters become one row of ``head``.

A schema-2 journal written by the release before (tests/fixtures/journal-v2) must open, migrate
and keep every count, the chain head and the last ack; the old names stay readable as views;
truncation is still caught at open; rebuild() and verify() agree afterwards.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from journal import SCHEMA_VERSION, CorruptJournalError, Journal
from journal._migrations import applied_migrations

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "journal-v2" / "journal.sqlite3"
COUNTS = {
    "pending": 1,
    "in_flight": 1,
    "acked": 1,
    "failed": 1,
    "superseded": 0,
    "dismissed": 1,
}


@pytest.fixture
def old(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite3"
    shutil.copy(FIXTURE, path)
    return path


def _raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_fixture_is_schema_2(old: Path) -> None:
    assert _raw(old, "PRAGMA user_version") == [(2,)]
    assert _raw(old, "SELECT type FROM sqlite_master WHERE name = 'chain_head'") == [("table",)]


def test_a_schema_2_journal_migrates_keeping_counts_head_and_last_ack(old: Path) -> None:
    head_before = _raw(old, "SELECT seq, hash, last_ack_at FROM chain_head")
    counts_before = sorted(_raw(old, "SELECT state, n FROM state_counts"))
    with Journal(old) as j:
        assert j.counts() == COUNTS
        assert j.archived_count() == 1
        assert j.last_ack_at() == 1800001010.0
        assert "0003_head" in [name for name, _ in applied_migrations(j._store.conn)]
        assert j.verify().ok and j.check().ok
    assert _raw(old, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert _raw(old, "SELECT seq, hash, last_ack_at FROM chain_head") == head_before
    assert sorted(_raw(old, "SELECT state, n FROM state_counts")) == counts_before
    kinds = dict(_raw(old, "SELECT name, type FROM sqlite_master WHERE name IN "
                      "('head', 'chain_head', 'state_counts')"))  # fmt: skip
    assert kinds == {"head": "table", "chain_head": "view", "state_counts": "view"}


def test_a_migrated_journal_goes_on_and_rebuild_agrees(old: Path) -> None:
    with Journal(old, clock=lambda: 1_900_000_000.0) as j:
        j.submit("key-new", {"id": "n", "sn": "SN-new"})
        j.upload_started(["key-pending", "key-new"])
        j.acknowledged("key-new", answer={"id": "r-new"})
        j.requeue("key-failed", reason="fixed")
        expected = dict(COUNTS, pending=1, in_flight=2, acked=2, failed=0)
        assert j.counts() == expected
        last = j.last_ack_at()
        assert last == 1_900_000_000.0
        # Spoil the counters behind the journal's back: rebuild puts them right.
        j._store.conn.execute("UPDATE head SET pending = 99, archived = 7, last_ack_at = NULL")
        assert not j.check().ok
        j.rebuild()
        assert j.counts() == expected and j.archived_count() == 1
        assert j.last_ack_at() == last
        assert j.verify().ok and j.check().ok
    with Journal(old) as j:
        assert j.counts() == expected


def test_a_removed_last_event_is_still_caught_at_open(old: Path) -> None:
    with Journal(old) as j:
        j.submit("key-new", {"id": "n"})
    conn = sqlite3.connect(old)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
    conn.commit()
    conn.close()
    with pytest.raises(CorruptJournalError, match="chain head"):
        Journal(old)
    with Journal(old, check_on_open=False) as j:
        assert not j.verify().ok
