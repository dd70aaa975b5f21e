"""Retention: old acknowledged submissions move to a self-verifying archive file; nothing
unacknowledged is ever removed; the live chain still verifies across the gaps."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from journal import (
    ArchiveError,
    InvalidTransitionError,
    Journal,
    SubmissionConflictError,
    read_archive,
)

from .conftest import Clock, report


def ack(j: Journal, key: str) -> None:
    j.upload_started([key])
    j.acknowledged(key, answer={"id": key, "status_code": 200})


@pytest.fixture
def aged(journal: Journal, clock: Clock) -> Journal:
    """old-0..old-3 acked a day ago, interleaved with a pending, an in-flight and a failed one;
    new-0 acked just now."""
    for i in range(4):
        journal.submit(f"old-{i}", report(i))
        ack(journal, f"old-{i}")
        if i == 1:
            journal.submit("pending", report(10))
            journal.submit("flying", report(11))
            journal.upload_started(["flying"])
            journal.submit("broken", report(12))
            journal.failed("broken", reason="bad report", error_class="ValidationError")
    clock.advance(86_400)
    journal.submit("new-0", report(20))
    ack(journal, "new-0")
    return journal


def test_archive_moves_only_old_acked_submissions(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    assert (result.submissions, result.events) == (4, 12)
    assert [aged.submission(f"old-{i}") for i in range(4)] == [None] * 4
    assert [aged.state(k) for k in ("pending", "flying", "broken", "new-0")] == [
        "pending",
        "in_flight",
        "failed",
        "acked",
    ]
    assert aged.counts() == {
        "pending": 1,
        "in_flight": 1,
        "acked": 1,
        "failed": 1,
        "superseded": 0,
        "dismissed": 0,
    }
    assert aged.archived_count() == 4 and aged.state("old-0") == "acked"


def test_unacknowledged_submissions_are_never_archived(aged: Journal, tmp_path: Path) -> None:
    aged.archive(0, tmp_path)
    assert [aged.state(k) for k in ("pending", "flying", "broken")] == [
        "pending",
        "in_flight",
        "failed",
    ]
    assert [e.type for e in aged.history("flying")] == ["Submitted", "UploadStarted"]


def test_live_chain_verifies_and_rebuilds_after_archive(aged: Journal, tmp_path: Path) -> None:
    aged.archive(3600, tmp_path)
    assert aged.verify().ok
    assert aged.check().ok
    aged.rebuild()
    assert aged.check().ok and aged.archived_count() == 4


def test_archive_reads_back_the_removed_events_verified(aged: Journal, tmp_path: Path) -> None:
    before = [e for e in aged.dump() if e["key"].startswith("old-")]
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    assert result.path is not None
    assert list(read_archive(result.path, expected_sha256=result.sha256)) == before


def test_archived_event_records_the_file_digest(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    (archived,) = [e for e in aged.dump() if e["type"] == "Archived"]
    assert archived["seq"] == result.archive_seq
    assert archived["data"]["sha256"] == result.sha256 and archived["data"]["file"] == "a.jsonl.gz"


def test_nothing_old_enough_writes_no_file(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(10 * 86_400, tmp_path / "none.jsonl.gz")
    assert result.path is None and not (tmp_path / "none.jsonl.gz").exists()


def test_resubmitting_an_archived_key_is_idempotent(aged: Journal, tmp_path: Path) -> None:
    aged.archive(3600, tmp_path)
    again = aged.submit("old-2", report(2))
    assert again.state == "acked" and again.existed
    with pytest.raises(SubmissionConflictError):
        aged.submit("old-2", report(99))


def test_state_events_on_an_archived_key_are_refused(aged: Journal, tmp_path: Path) -> None:
    aged.archive(3600, tmp_path)
    with pytest.raises(InvalidTransitionError, match="archived"):
        aged.upload_started(["old-1"])


def test_undeclared_deletion_is_still_caught_after_archive(
    aged: Journal, journal_path: Path, tmp_path: Path
) -> None:
    aged.archive(3600, tmp_path)
    conn = sqlite3.connect(journal_path)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE key = 'pending'")
    conn.commit()
    conn.close()
    result = aged.verify()
    assert not result.ok and "missing" in (result.reason or "")


def test_other_events_stay_undeletable_after_archive(
    aged: Journal, journal_path: Path, tmp_path: Path
) -> None:
    aged.archive(3600, tmp_path)
    with sqlite3.connect(journal_path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events WHERE key = 'pending'")


def rewrite(path: Path, edit: object) -> None:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    lines = edit(lines)  # type: ignore[operator]
    path.write_bytes(gzip.compress("".join(lines).encode()))


def test_edited_archive_fails_to_read(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    assert result.path is not None
    rewrite(result.path, lambda ls: [ls[0], ls[1].replace("PN-1", "PN-9"), *ls[2:]])
    with pytest.raises(ArchiveError, match="digest"):
        list(read_archive(result.path))


def test_truncated_archive_fails_to_read(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    assert result.path is not None
    rewrite(result.path, lambda ls: ls[:-3])
    with pytest.raises(ArchiveError, match="truncated"):
        list(read_archive(result.path))


def test_archive_with_other_digest_than_recorded_is_refused(aged: Journal, tmp_path: Path) -> None:
    result = aged.archive(3600, tmp_path / "a.jsonl.gz")
    assert result.path is not None
    with pytest.raises(ArchiveError, match="sha256"):
        list(read_archive(result.path, expected_sha256="0" * 64))


def test_archive_takes_at_most_max_submissions_oldest_first(aged: Journal, tmp_path: Path) -> None:
    first = aged.archive(3600, tmp_path, max_submissions=3)
    second = aged.archive(3600, tmp_path, max_submissions=3)
    third = aged.archive(3600, tmp_path, max_submissions=3)
    assert (first.submissions, second.submissions, third.submissions) == (3, 1, 0)
    assert aged.state("old-3") == "acked" and aged.submission("old-3") is None
    assert aged.verify().ok and aged.check().ok
