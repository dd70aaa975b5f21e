"""Operator resolutions: dismiss and supersede a failed submission; the report index and list."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from journal import (
    InvalidTransitionError,
    Journal,
    NewEvent,
    ReportFilter,
    UnknownSubmissionError,
)
from journal._schema import DDL_V1

from .conftest import Clock

FAILED = {"reason": "400 bad sn", "error_class": "ValidationError", "status_code": 400}


def report(n: int, sn: str = "SN", pn: str = "PN-1", process: int = 10) -> dict[str, object]:
    return {"id": f"r{n}", "sn": f"{sn}{n}", "pn": pn, "processCode": process, "type": "T"}


def make_failed(journal: Journal, key: str, payload: dict[str, object]) -> None:
    journal.submit(key, payload, source={"path": f"/in/{key}.json"})
    journal.record([NewEvent(key, "UploadStarted"), NewEvent(key, "Failed", FAILED)])


def test_dismissed_leaves_failed_count_and_keeps_its_story(journal: Journal) -> None:
    make_failed(journal, "k1", report(1))
    journal.dismiss("k1", reason="unit scrapped", who="anna", origin="station page")
    counts = journal.counts()
    assert (counts["failed"], counts["dismissed"]) == (0, 1)
    last = journal.history("k1")[-1]
    assert last.type == "Dismissed"
    assert last.data == {
        "v": 1,
        "reason": "unit scrapped",
        "who": "anna",
        "origin": "station page",
    }
    assert journal.due(1e12, 10) == []
    assert journal.submission("k1").state == "dismissed"


def test_dismissed_is_final(journal: Journal) -> None:
    make_failed(journal, "k1", report(1))
    journal.dismiss("k1", reason="scrap")
    for kind in ("Requeued", "UploadStarted", "Dismissed"):
        fields = {"reason": "x"} if kind != "UploadStarted" else {}
        with pytest.raises(InvalidTransitionError):
            journal.record([NewEvent("k1", kind, fields)])


def test_only_failed_can_be_dismissed(journal: Journal) -> None:
    journal.submit("k1", report(1))
    with pytest.raises(InvalidTransitionError):
        journal.dismiss("k1", reason="no")
    with pytest.raises(UnknownSubmissionError):
        journal.dismiss("nope", reason="no")
    assert [e.type for e in journal.history("k1")] == ["Submitted"]


def test_supersede_links_both_ways_and_keeps_the_report_id(journal: Journal) -> None:
    make_failed(journal, "old", report(1))
    fixed = {**report(1), "sn": "SN1-fixed"}
    new = journal.supersede("old", fixed, reason="sn corrected", who="anna", origin="cli")
    assert journal.submission("old").state == "superseded"
    assert journal.history("old")[-1].data["by"] == new
    sub = journal.submission(new)
    assert sub.state == "pending"
    assert sub.source["supersedes"] == "old"
    assert sub.payload["id"] == "r1"  # the server overwrites by id: same id is fine
    assert [s.key for s in journal.due(1e12, 10)] == [new]
    counts = journal.counts()
    assert (counts["failed"], counts["superseded"], counts["pending"]) == (0, 1, 1)


def test_supersede_refused_unless_failed_and_nothing_written(journal: Journal) -> None:
    journal.submit("k1", report(1))
    before = len(list(journal.dump()))
    with pytest.raises(InvalidTransitionError):
        journal.supersede("k1", report(2), reason="x")
    with pytest.raises(UnknownSubmissionError):
        journal.supersede("missing", report(2), reason="x")
    assert len(list(journal.dump())) == before
    assert journal.verify().ok


def test_superseded_twice_is_refused(journal: Journal) -> None:
    make_failed(journal, "old", report(1))
    journal.supersede("old", report(2), reason="fix")
    with pytest.raises(InvalidTransitionError):
        journal.supersede("old", report(3), reason="fix again")


def test_superseded_cannot_be_recorded_without_its_report(journal: Journal) -> None:
    make_failed(journal, "old", report(1))
    with pytest.raises(ValueError, match="supersede"):
        journal.record([NewEvent("old", "Superseded", {"reason": "x", "by": "ghost"})])
    assert journal.submission("old").state == "failed"


def test_rebuild_and_verify_understand_resolutions(journal: Journal) -> None:
    for i in range(4):
        make_failed(journal, f"k{i}", report(i))
    journal.dismiss("k0", reason="scrap")
    journal.supersede("k1", report(11), reason="fix")
    journal.requeue("k2", reason="retry", who="anna", origin="station page")
    before = journal.counts()
    journal.rebuild()
    assert journal.counts() == before
    assert journal.check().ok
    result = journal.verify()
    assert result.ok, result.reason


def seed(journal: Journal, clock: Clock, n: int) -> None:
    for i in range(n):
        clock.advance(10)
        journal.submit(
            f"k{i}",
            report(i, pn="PN-A" if i % 2 else "PN-B", process=10 + i % 3),
            source={"path": f"/in/station-{i % 4}/file{i}.json"},
        )


def test_reports_filter_by_each_field(journal: Journal, clock: Clock) -> None:
    seed(journal, clock, 30)
    journal.record([NewEvent("k7", "UploadStarted"), NewEvent("k7", "Failed", FAILED)])

    def keys(**kw: object) -> list[str]:
        return [r.key for r in journal.reports(ReportFilter(**kw)).rows]

    assert keys(state="failed") == ["k7"]
    assert keys(sn="SN2") == [
        "k29",
        "k28",
        "k27",
        "k26",
        "k25",
        "k24",
        "k23",
        "k22",
        "k21",
        "k20",
        "k2",
    ]
    assert keys(sn="SN12") == ["k12"]
    assert len(keys(pn="PN-A", limit=100)) == 15
    assert set(keys(process="11", limit=100)) == {f"k{i}" for i in range(30) if i % 3 == 1}
    assert keys(source="station-3/file27") == ["k27"]
    start = journal.submission("k5").created_at
    end = journal.submission("k8").created_at
    assert keys(since=start, until=end) == ["k7", "k6", "k5"]
    with pytest.raises(ValueError):
        journal.reports(ReportFilter(state="bogus"))


def test_reports_pages_cover_everything_once(journal: Journal, clock: Clock) -> None:
    seed(journal, clock, 23)
    seen: list[str] = []
    before = None
    for _ in range(10):
        page = journal.reports(ReportFilter(limit=5, before=before))
        seen += [r.key for r in page.rows]
        before = page.next_before
        if before is None:
            break
    assert seen == [f"k{i}" for i in reversed(range(23))]


def _undo_head(conn: sqlite3.Connection) -> None:
    """Undo migration 0003: the chain head and the counters back in their own tables."""
    conn.execute("CREATE TABLE chain_head_t AS SELECT * FROM chain_head")
    conn.execute("CREATE TABLE state_counts_t AS SELECT * FROM state_counts")
    conn.execute("DROP VIEW chain_head")
    conn.execute("DROP VIEW state_counts")
    conn.execute("DROP TABLE head")
    for ddl in DDL_V1:
        if "CREATE TABLE chain_head" in ddl or "CREATE TABLE state_counts" in ddl:
            conn.execute(ddl)
    conn.execute("INSERT INTO chain_head SELECT * FROM chain_head_t")
    conn.execute("INSERT INTO state_counts SELECT * FROM state_counts_t")
    conn.execute("DROP TABLE chain_head_t")
    conn.execute("DROP TABLE state_counts_t")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_head'")


def _downgrade_to_v1(path: Path) -> None:
    """Turn a current journal into what schema 1 wrote (no report index, four states)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_report_list'")
    _undo_head(conn)
    conn.execute("DROP TABLE report_index")  # and its indexes, migration 0004's too
    conn.execute("ALTER TABLE submissions RENAME TO submissions_new")
    ddl = next(s for s in DDL_V1 if "CREATE TABLE submissions" in s)
    conn.execute(ddl)
    conn.execute("INSERT INTO submissions SELECT * FROM submissions_new")
    conn.execute("DROP TABLE submissions_new")
    conn.execute("DELETE FROM state_counts WHERE state IN ('superseded', 'dismissed')")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0002_resolution'")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.close()


def test_a_schema_1_journal_migrates_and_its_reports_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Journal(path) as journal:
        make_failed(journal, "k1", report(1, sn="OLD"))
        journal.submit("k2", report(2, sn="OLD"))
    _downgrade_to_v1(path)
    with Journal(path) as journal:
        assert [r.key for r in journal.reports(ReportFilter(sn="OLD")).rows] == ["k2", "k1"]
        journal.dismiss("k1", reason="scrap")
        assert journal.counts()["dismissed"] == 1
        assert journal.check().ok
        assert journal.verify().ok


def test_a_supersede_that_fails_midway_leaves_nothing(journal: Journal) -> None:
    from journal import SubmissionConflictError, superseding_key
    from journal._codec import canonical, sha256_text

    make_failed(journal, "old", report(1))
    fixed = report(2)
    taken = superseding_key("old", sha256_text(canonical(fixed, what="x")))
    journal.submit(taken, report(3))  # the derived key is taken by another payload
    before = len(list(journal.dump(payloads=False)))
    with pytest.raises(SubmissionConflictError):
        journal.supersede("old", fixed, reason="fix")
    assert journal.submission("old").state == "failed"
    assert len(list(journal.dump(payloads=False))) == before
    assert journal.check().ok and journal.verify().ok
