"""Upgrade: a journal written by an earlier release opens with today's code and migrates."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from journal import SCHEMA_VERSION, Journal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def old_journal(tmp_path: Path) -> Path:
    copy = tmp_path / "journal.sqlite3"
    shutil.copy(FIXTURES / "journal-v1" / "journal.sqlite3", copy)
    return copy


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_fixture_is_a_version_1_journal(old_journal: Path):
    assert _user_version(old_journal) == 1


def test_version_1_journal_opens_migrated_with_nothing_lost(old_journal: Path):
    with Journal(old_journal) as journal:
        counts = journal.counts()
        assert (counts["pending"], counts["acked"], counts["failed"]) == (1, 1, 1)
        assert journal.verify().ok
        assert journal.check().ok
        acked = journal.submission("key-acked")
        assert acked is not None and acked.payload["sn"] == "SN-0001"
        failed = journal.submission("key-failed")
        assert failed is not None and failed.last_error is not None
        assert [e.type for e in journal.history("key-failed")][-1] == "Failed"
    assert _user_version(old_journal) == SCHEMA_VERSION


def test_migrated_journal_keeps_working(old_journal: Path):
    with Journal(old_journal) as journal:
        journal.requeue("key-failed", reason="after upgrade")
        journal.upload_started(["key-pending"])
        journal.acknowledged("key-pending", answer={"id": "x", "status_code": 200})
        counts = journal.counts()
        assert (counts["pending"], counts["acked"], counts["failed"]) == (1, 2, 0)
        assert journal.verify().ok
