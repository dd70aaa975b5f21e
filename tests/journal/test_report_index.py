"""The report index is brought up to date after submit, never lost, never blocks the engine.

``submit`` does not write ``report_index`` (four fewer WAL pages per durable submit); the
engine's non-durable commits, ``reports()`` and ``archive()`` catch it up (see
``_schema.CATCH_UP_REPORT_INDEX``). These tests check that every report still shows up where
the station page looks, with the same fields as the full refill ``rebuild()`` writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import journal._journal as journal_module
from journal import Journal, NewEvent, ReportFilter

from .conftest import Clock


def payload(n: int) -> dict[str, object]:
    return {"id": f"id-{n}", "sn": f"SN{n:04d}", "pn": "PN-7", "processCode": 10 + n % 3}


def indexed(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT seq, key, sn, pn, process_code, report_id, source_path, created_at "
            "FROM report_index ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def listed(j: Journal, **filters: object) -> list[str]:
    return [r.key for r in j.reports(ReportFilter(limit=1000, **filters)).rows]  # type: ignore[arg-type]


def test_durable_submit_leaves_the_index_to_reports_which_lists_everything(
    journal_path: Path, clock: Clock
) -> None:
    with Journal(journal_path, clock=clock) as j:
        for n in range(7):
            j.submit(f"k{n}", payload(n), source={"path": f"/in/{n}.json"})
        assert indexed(journal_path) == []  # nothing written by submit itself
        assert listed(j) == [f"k{n}" for n in reversed(range(7))]
        assert listed(j, sn="SN0003") == ["k3"]
        rows = indexed(journal_path)
        assert rows[3][2:7] == ("SN0003", "PN-7", "10", "id-3", "/in/3.json")
    conn = sqlite3.connect(journal_path)
    conn.execute("DELETE FROM report_index")
    conn.commit()
    conn.close()
    with Journal(journal_path, clock=clock) as j:
        j.rebuild()  # the full refill writes exactly the same rows
    assert indexed(journal_path) == rows


def test_the_engines_non_durable_commits_carry_the_index_in_bounded_steps(
    journal_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "ENGINE_INDEX_BATCH", 4)
    with Journal(journal_path, clock=clock) as j:
        j.submit_many([(f"k{n}", payload(n), None) for n in range(10)])
        j.upload_started(["k0"], durable=False)
        assert [r[1] for r in indexed(journal_path)] == ["k0", "k1", "k2", "k3"]
        j.upload_started(["k1"], durable=True)  # a durable commit adds no work
        assert len(indexed(journal_path)) == 4
        j.record([NewEvent("k2", "UploadStarted")], durable=False)
        j.record([NewEvent("k3", "UploadStarted")], durable=False)
        assert [r[1] for r in indexed(journal_path)] == [f"k{n}" for n in range(10)]


def test_reports_catches_up_in_steps_and_sees_other_writers(
    journal_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "ENGINE_INDEX_BATCH", 3)
    with Journal(journal_path, clock=clock) as reader, Journal(journal_path) as writer:
        writer.submit_many([(f"k{n}", payload(n), None) for n in range(11)])
        assert sorted(listed(reader)) == sorted(f"k{n}" for n in range(11))
        writer.submit("late", payload(99))
        assert listed(reader)[0] == "late"


def test_archiving_the_newest_indexed_reports_loses_no_later_one(
    journal_path: Path, clock: Clock, tmp_path: Path
) -> None:
    with Journal(journal_path, clock=clock) as j:
        j.submit("old", payload(0))
        assert listed(j) == ["old"]
        for n in range(1, 4):
            j.submit(f"k{n}", payload(n))
            j.upload_started([f"k{n}"])
            j.acknowledged(f"k{n}", answer={"id": n})
        assert listed(j)[0] == "k3"  # indexed up to k3
        clock.advance(100)
        # The newest indexed reports leave the live file; their rows stay, marked archived.
        assert j.archive(10, tmp_path / "a.jsonl.gz").submissions == 3
        for n in range(4, 8):
            j.submit(f"k{n}", payload(n))
        j.upload_started(["k4"], durable=False)
        assert listed(j) == ["k7", "k6", "k5", "k4", "old"]
        assert listed(j, with_archived=True) == ["k7", "k6", "k5", "k4", "k3", "k2", "k1", "old"]
        assert j.verify().ok and j.check().ok


def ack(j: Journal, key: str) -> None:
    j.upload_started([key])
    j.acknowledged(
        key,
        answer={"report_id": key, "latency_s": 0.01, "status_code": 200, "correlation_id": None},
    )


def test_archive_indexes_and_keeps_the_rows_of_what_it_moves(
    journal_path: Path, clock: Clock, tmp_path: Path
) -> None:
    with Journal(journal_path, clock=clock) as j:
        for n in range(4):
            j.submit(f"k{n}", payload(n), source={"path": f"/in/{n}.json"})
            if n < 3:
                ack(j, f"k{n}")
        assert indexed(journal_path) == []  # never listed before the archive
        clock.advance(100)
        assert j.archive(10, tmp_path / "a.jsonl.gz").submissions == 3
        assert [(r[1], r[2], r[6]) for r in indexed(journal_path)] == [
            (f"k{n}", f"SN{n:04d}", f"/in/{n}.json") for n in range(4)
        ]
        archived = j.reports(ReportFilter(state="archived")).rows
        assert [(r.key, r.state, r.sn) for r in archived] == [
            ("k2", "archived", "SN0002"),
            ("k1", "archived", "SN0001"),
            ("k0", "archived", "SN0000"),
        ]
        assert listed(j, sn="SN0001", with_archived=True) == ["k1"]
        assert listed(j) == ["k3"]  # the station page's default list: live reports
        assert j.verify().ok and j.check().ok


def test_rebuild_and_a_second_archive_keep_the_archived_rows(
    journal_path: Path, clock: Clock, tmp_path: Path
) -> None:
    with Journal(journal_path, clock=clock) as j:
        for n in range(4):
            j.submit(f"k{n}", payload(n))
            ack(j, f"k{n}")
        clock.advance(100)
        assert j.archive(10, tmp_path / "a.jsonl.gz", max_submissions=2).submissions == 2
        before = indexed(journal_path)
        j.rebuild()
        assert indexed(journal_path) == before
        assert j.archive(10, tmp_path / "b.jsonl.gz").submissions == 2
        assert indexed(journal_path) == before  # every row was there; none left
        assert [r.key for r in j.reports(ReportFilter(state="archived")).rows] == [
            "k3",
            "k2",
            "k1",
            "k0",
        ]
        assert j.verify().ok and j.check().ok and j.counts()["acked"] == 0


def test_a_rotted_report_neither_fails_the_engine_nor_hangs_reports(
    journal_path: Path, clock: Clock
) -> None:
    with Journal(journal_path, clock=clock) as j:
        for n in range(3):
            j.submit(f"k{n}", payload(n))
    conn = sqlite3.connect(journal_path)
    conn.execute("DROP TRIGGER payloads_no_update")
    conn.execute("UPDATE payloads SET body = substr(body, 2) WHERE seq = 3")  # k2: not JSON
    conn.commit()
    conn.close()
    with Journal(journal_path, clock=clock) as j:
        j.upload_started(["k0"], durable=False)  # carries the catch-up: must not raise
        assert j.state("k0") == "in_flight"
        assert sorted(listed(j)) == ["k0", "k1"]  # returns: the damaged one is left out
        assert not j.verify().ok
