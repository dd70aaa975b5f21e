"""The journal's API contract: what producers, the engine and the tools rely on."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import stat
from pathlib import Path

import pytest

import journal as jpkg
from journal import (
    InvalidTransitionError,
    Journal,
    NewerSchemaError,
    NewEvent,
    SubmissionConflictError,
    UnknownSubmissionError,
)
from journal._journal import _DUE, _IN_FLIGHT, _LATEST_SCHEDULED

from .conftest import Clock, report


def test_public_names_are_exported_in_a_sorted_all() -> None:
    def order(name: str) -> tuple[int, str]:  # ruff's isort-style: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert jpkg.__all__ == sorted(jpkg.__all__, key=order)
    assert all(hasattr(jpkg, name) for name in jpkg.__all__)


def test_open_creates_the_file_and_closes_as_context_manager(journal_path: Path) -> None:
    with Journal(journal_path) as j:
        j.submit("k", report())
    assert journal_path.exists()
    with pytest.raises(jpkg.JournalError):
        j.state("k")


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_new_journal_is_readable_by_owner_only(journal_path: Path) -> None:
    Journal(journal_path).close()
    assert stat.S_IMODE(journal_path.stat().st_mode) == 0o600


def test_submit_returns_a_pending_submission_with_payload_and_source(journal: Journal) -> None:
    sub = journal.submit("k1", report(1), source={"file": "a.xml"})
    assert (sub.key, sub.state, sub.payload, sub.source) == (
        "k1",
        "pending",
        report(1),
        {"file": "a.xml"},
    )
    assert sub.attempts == 0 and sub.first_seq == sub.last_seq == 1


def test_submit_of_same_key_and_payload_returns_the_existing_record(journal: Journal) -> None:
    first = journal.submit("k1", report(1))
    journal.upload_started(["k1"])
    again = journal.submit("k1", report(1))
    assert again.state == "in_flight" and again.first_seq == first.first_seq
    assert [e.type for e in journal.history("k1")] == ["Submitted", "UploadStarted"]


def test_submit_of_same_key_with_other_payload_raises_conflict_naming_key(journal: Journal) -> None:
    journal.submit("k1", report(1))
    with pytest.raises(SubmissionConflictError, match="k1") as info:
        journal.submit("k1", report(2))
    assert info.value.key == "k1"


def test_submit_many_commits_all_items(journal: Journal) -> None:
    subs = journal.submit_many([("a", report(1), None), ("b", report(2), {"f": 1})])
    assert [s.key for s in subs] == ["a", "b"]
    assert journal.counts()["pending"] == 2


def test_submit_many_says_which_keys_existed_already(journal: Journal) -> None:
    journal.submit("a", report(1))
    subs = journal.submit_many([("a", report(1), None), ("b", report(2), None)])
    assert [(s.key, s.existed) for s in subs] == [("a", True), ("b", False)]
    assert not journal.submit("c", report(3)).existed and journal.submit("c", report(3)).existed
    assert not journal.submission("a").existed  # read back, it is just a submission


def test_submit_many_with_a_conflict_appends_nothing(journal: Journal) -> None:
    journal.submit("a", report(1))
    with pytest.raises(SubmissionConflictError):
        journal.submit_many([("b", report(2), None), ("a", report(3), None)])
    assert journal.state("b") is None


def test_state_of_unknown_key_is_none(journal: Journal) -> None:
    assert journal.state("nope") is None and journal.submission("nope") is None


def test_counts_has_exactly_the_four_states(journal: Journal) -> None:
    assert journal.counts() == {
        "pending": 0,
        "in_flight": 0,
        "acked": 0,
        "failed": 0,
        "superseded": 0,
        "dismissed": 0,
    }


def test_full_lifecycle_reaches_acked(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    assert journal.state("k") == "in_flight"
    journal.acknowledged(
        "k",
        answer={"report_id": "r1", "latency_s": 0.012, "status_code": 200, "correlation_id": None},
    )
    assert journal.state("k") == "acked"
    assert journal.counts() == {
        "pending": 0,
        "in_flight": 0,
        "acked": 1,
        "failed": 0,
        "superseded": 0,
        "dismissed": 0,
    }


def test_retry_scheduled_makes_pending_with_time_and_last_error(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    journal.retry_scheduled(
        "k",
        attempt=1,
        next_attempt_at=123.5,
        error_class="ServerError",
        message="502",
        status_code=502,
    )
    sub = journal.submission("k")
    assert sub is not None
    assert (sub.state, sub.attempts, sub.next_attempt_at) == ("pending", 1, 123.5)
    assert sub.last_error == {"error_class": "ServerError", "message": "502", "status_code": 502}


def test_requeue_of_failed_makes_pending_and_keeps_attempts(journal: Journal, clock: Clock) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    journal.failed("k", reason="schema rejected", error_class="ValidationError", status_code=400)
    assert journal.state("k") == "failed"
    clock.advance(60)
    journal.requeue("k", reason="operator fixed the server config")
    sub = journal.submission("k")
    assert sub is not None
    assert (sub.state, sub.attempts, sub.next_attempt_at) == ("pending", 1, clock.now)


def test_upload_started_again_on_in_flight_counts_another_attempt(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    journal.upload_started(["k"])
    sub = journal.submission("k")
    assert sub is not None and (sub.state, sub.attempts) == ("in_flight", 2)


def test_second_acknowledgement_is_recorded_and_stays_acked(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    journal.acknowledged("k", answer={"id": "r1"})
    journal.acknowledged("k", answer={"id": "r1", "note": "re-send"})
    assert journal.state("k") == "acked"
    assert [e.type for e in journal.history("k")][-2:] == ["Acknowledged", "Acknowledged"]
    assert journal.counts()["acked"] == 1


def test_acknowledging_an_unknown_key_raises_unknown_submission(journal: Journal) -> None:
    with pytest.raises(UnknownSubmissionError, match="ghost"):
        journal.acknowledged("ghost", answer={})


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ([], NewEvent("k", "Acknowledged", {"answer": {}})),
        (["UploadStarted"], NewEvent("k", "Requeued", {"reason": "x"})),
        (
            [],
            NewEvent(
                "k",
                "RetryScheduled",
                {"attempt": 1, "next_attempt_at": 1.0, "error_class": "E", "message": "m"},
            ),
        ),
        (["UploadStarted", "Acknowledged"], NewEvent("k", "UploadStarted")),
        (
            ["UploadStarted", "Acknowledged"],
            NewEvent("k", "Failed", {"reason": "r", "error_class": "E"}),
        ),
        (["Failed"], NewEvent("k", "UploadStarted")),
    ],
)
def test_invalid_transitions_raise_and_record_nothing(
    journal: Journal, setup: list[str], event: NewEvent
) -> None:
    journal.submit("k", report())
    fields: dict[str, dict[str, object]] = {
        "Acknowledged": {"answer": {}},
        "Failed": {"reason": "r", "error_class": "E"},
    }
    journal.record([NewEvent("k", t, fields.get(t, {})) for t in setup])
    before = journal.history("k")
    with pytest.raises(InvalidTransitionError, match="'k'"):
        journal.record([event])
    assert journal.history("k") == before


def test_record_is_all_or_nothing(journal: Journal) -> None:
    journal.submit_many([("a", report(1), None), ("b", report(2), None)])
    with pytest.raises(InvalidTransitionError):
        journal.record(
            [NewEvent("a", "UploadStarted"), NewEvent("b", "Acknowledged", {"answer": {}})]
        )
    assert journal.state("a") == "pending"


def test_record_applies_events_of_one_key_in_order(journal: Journal) -> None:
    journal.submit("a", report())
    journal.record([NewEvent("a", "UploadStarted"), NewEvent("a", "Acknowledged", {"answer": {}})])
    assert journal.state("a") == "acked"


def test_record_commits_events_of_many_keys_in_one_transaction(journal: Journal) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in range(5)])
    journal.upload_started([f"k{i}" for i in range(5)])
    seqs = {e.seq for i in range(5) for e in journal.history(f"k{i}") if e.type == "UploadStarted"}
    timestamps = {e.ts for i in range(5) for e in journal.history(f"k{i}")[1:]}
    assert len(seqs) == 5 and len(timestamps) == 1


def test_due_returns_pending_earliest_due_first_up_to_limit(journal: Journal, clock: Clock) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in range(4)])
    for key in ("k0", "k2"):
        journal.upload_started([key])
        journal.retry_scheduled(
            key, attempt=1, next_attempt_at=clock.now + 100, error_class="E", message="m"
        )
    assert [s.key for s in journal.due(clock.now, 10)] == ["k1", "k3"]
    assert [s.key for s in journal.due(clock.now + 100, 3)] == ["k1", "k3", "k0"]


def test_due_serves_fresh_submissions_in_submission_order(journal: Journal, clock: Clock) -> None:
    for i in range(3):
        journal.submit(f"k{i}", report(i))
        clock.advance(1)
    journal.submit_many([("b1", report(11), None), ("b0", report(10), None)])
    assert [s.key for s in journal.due(clock.now, 10)] == ["k0", "k1", "k2", "b1", "b0"]


def test_latest_scheduled_returns_the_furthest_ahead_first(journal: Journal, clock: Clock) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in range(3)])
    for key, ahead in (("k0", 50), ("k1", 500)):
        journal.upload_started([key])
        journal.retry_scheduled(
            key, attempt=1, next_attempt_at=clock.now + ahead, error_class="E", message="m"
        )
    assert [s.key for s in journal.latest_scheduled(2)] == ["k1", "k0"]


def test_due_with_in_flight_includes_interrupted_uploads(journal: Journal, clock: Clock) -> None:
    journal.submit_many([("a", report(1), None), ("b", report(2), None)])
    journal.upload_started(["a"])
    assert [s.key for s in journal.due(clock.now, 10)] == ["b"]
    assert [s.key for s in journal.due(clock.now, 10, include_in_flight=True)] == ["a", "b"]


def test_due_carries_the_payload(journal: Journal, clock: Clock) -> None:
    journal.submit("a", report(7), source={"file": "x"})
    (sub,) = journal.due(clock.now, 1)
    assert sub.payload == report(7) and sub.source == {"file": "x"}


def test_due_can_leave_payloads_as_their_stored_digest_checked_text(
    journal: Journal, clock: Clock
) -> None:
    journal.submit("a", report(7))
    (sub,) = journal.due(clock.now, 1, parse_payloads=False)
    assert sub.payload == {} and sub.payload_intact
    assert json.loads(sub.payload_json) == report(7)
    assert hashlib.sha256(sub.payload_json.encode()).hexdigest() == sub.payload_sha256


def test_keys_in_state_reads_the_projection_oldest_first(journal: Journal) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in range(4)])
    journal.upload_started(["k2", "k0"])
    journal.failed("k2", reason="r", error_class="E")
    journal.failed("k0", reason="r", error_class="E")
    assert journal.keys_in_state("failed") == ["k0", "k2"]
    assert journal.keys_in_state("pending") == ["k1", "k3"]
    assert journal.keys_in_state("acked") == []
    with pytest.raises(ValueError, match="state"):
        journal.keys_in_state("lost")  # type: ignore[arg-type]


def test_next_due_at_is_the_earliest_pending_time(journal: Journal, clock: Clock) -> None:
    assert journal.next_due_at() is None
    start = clock.now
    journal.submit("a", report(1))
    journal.upload_started(["a"])
    journal.retry_scheduled(
        "a", attempt=1, next_attempt_at=start + 50, error_class="E", message="m"
    )
    assert journal.next_due_at() == start + 50
    clock.advance(1)
    journal.submit("b", report(2))
    assert journal.next_due_at() == start + 1


def test_oldest_pending_and_last_ack_times(journal: Journal, clock: Clock) -> None:
    assert journal.oldest_pending_at() is None and journal.last_ack_at() is None
    t0 = clock.now
    journal.submit("a", report(1))
    clock.advance(5)
    journal.submit("b", report(2))
    journal.upload_started(["a"])
    journal.acknowledged("a", answer={})
    assert journal.oldest_pending_at() == t0 + 5
    assert journal.last_ack_at() == t0 + 5


def test_history_lists_events_with_seq_type_time_and_data(journal: Journal, clock: Clock) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    history = journal.history("k")
    assert [(e.seq, e.type) for e in history] == [(1, "Submitted"), (2, "UploadStarted")]
    assert history[1].data == {"v": 1, "attempt": 1}
    assert history[0].ts == clock.now and history[0].ts_iso.endswith("Z")


def test_dump_yields_one_dict_per_event_optionally_without_payloads(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    full = list(journal.dump())
    bare = list(journal.dump(payloads=False))
    assert [d["seq"] for d in full] == [1, 2]
    assert full[0]["data"]["payload"] == report()
    assert "payload" not in bare[0]["data"] and bare[0]["data"]["payload_sha256"]


def test_dump_since_skips_earlier_events(journal: Journal) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in range(1200)])
    assert [d["seq"] for d in journal.dump(since=1195)] == list(range(1196, 1201))


def test_fresh_journal_verifies_and_rebuild_matches(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    result = journal.verify()
    assert result.ok and result.checked == 2 and result.head_seq == 2
    assert journal.rebuild() == 1
    assert journal.check().ok


def test_reopen_keeps_submissions_and_state(journal_path: Path) -> None:
    with Journal(journal_path) as j:
        j.submit("k", report())
        j.upload_started(["k"])
    with Journal(journal_path) as j:
        assert j.state("k") == "in_flight" and j.counts()["in_flight"] == 1
        assert j.verify().ok


def test_journal_from_newer_schema_is_refused_naming_the_path(journal_path: Path) -> None:
    Journal(journal_path).close()
    with sqlite3.connect(journal_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(NewerSchemaError, match=r"journal\.db") as info:
        Journal(journal_path)
    assert info.value.found == 99


def test_file_that_is_not_a_database_is_refused_naming_the_path(journal_path: Path) -> None:
    journal_path.write_bytes(b"hello, this is not sqlite" * 100)
    with pytest.raises(jpkg.CorruptJournalError, match=r"journal\.db"):
        Journal(journal_path)


@pytest.mark.parametrize(
    ("payload", "error"),
    [([1, 2], TypeError), ({"x": math.nan}, ValueError), ({"x": object()}, TypeError)],
)
def test_bad_payload_is_refused_with_the_key_named(
    journal: Journal, payload: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="'k'"):
        journal.submit("k", payload)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", "a\nb", "x" * 300])
def test_bad_key_is_refused(journal: Journal, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        journal.submit(key, report())


def test_state_event_with_bad_fields_is_refused(journal: Journal) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    with pytest.raises(ValueError, match="next_attempt_at"):
        journal.retry_scheduled(
            "k", attempt=1, next_attempt_at=math.inf, error_class="E", message="m"
        )
    with pytest.raises(ValueError, match="unknown state event"):
        journal.record([NewEvent("k", "Teleported")])


def test_events_cannot_be_updated_or_deleted_through_sql(journal_path: Path) -> None:
    with Journal(journal_path) as j:
        j.submit("k", report())
    with sqlite3.connect(journal_path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET type = 'Acknowledged'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")


@pytest.mark.parametrize(
    "sql",
    [
        _DUE,
        _IN_FLIGHT,
        _LATEST_SCHEDULED,
        "SELECT min(next_attempt_at) FROM submissions WHERE state = 'pending'",
        "SELECT created_at FROM submissions WHERE state IN ('pending', 'in_flight') "
        "ORDER BY first_seq LIMIT 1",
        "SELECT seq FROM events WHERE key = 'k' ORDER BY seq",
    ],
)
def test_hot_queries_use_an_index(journal: Journal, journal_path: Path, sql: str) -> None:
    with sqlite3.connect(journal_path) as conn:
        params = (1.0, 5)[-sql.count("?") :] if "?" in sql else ()
        steps = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    tables = [s for s in steps if s.startswith(("SCAN", "SEARCH")) and s != "SCAN d"]
    assert steps and all("USING" in step for step in tables)  # "d": the due query's LIMIT rows


def test_due_query_stops_at_its_limit_instead_of_sorting_the_backlog(journal_path: Path) -> None:
    Journal(journal_path).close()
    with sqlite3.connect(journal_path) as conn:
        plan = conn.execute("EXPLAIN QUERY PLAN " + _DUE, (1.0, 5)).fetchall()
    (inner,) = [row[0] for row in plan if row[3].startswith("MATERIALIZE")]
    inner_steps = [row[3] for row in plan if row[1] == inner]
    # The range of the due index is read in its order; only ties are sorted ("RIGHT PART"),
    # and that happens before any report body is read: a full sort would read every due row
    # and its report before LIMIT applies.
    assert any("submissions_due" in step for step in inner_steps)
    assert "USE TEMP B-TREE FOR ORDER BY" not in inner_steps
    assert not any("events" in step or "payloads" in step for step in inner_steps)


def test_due_reads_ties_in_submission_order(journal: Journal, clock: Clock) -> None:
    journal.submit_many([(f"k{i}", report(i), None) for i in (3, 1, 2)])
    assert [s.first_seq for s in journal.due(clock.now, 3)] == sorted(
        s.first_seq for s in journal.due(clock.now, 3)
    )
    assert [s.key for s in journal.due(clock.now, 2)] == ["k3", "k1"]


def test_query_tool_reads_without_writing(journal: Journal, journal_path: Path) -> None:
    journal.submit("k", report())
    rows = list(jpkg.query(journal_path, "SELECT key, state FROM submissions"))
    assert rows == [{"key": "k", "state": "pending"}]
    with pytest.raises(jpkg.JournalError, match=r"readonly|read-only|query_only"):
        list(jpkg.query(journal_path, "INSERT INTO meta VALUES ('a', 'b') RETURNING *"))


def test_normal_synchronous_mode_is_applied(journal_path: Path) -> None:
    with Journal(journal_path, synchronous="NORMAL") as j:
        j.submit("k", report())
        assert j._store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValueError, match="synchronous"):
        Journal(journal_path, synchronous="OFF")


def test_journal_is_in_wal_mode(journal: Journal, journal_path: Path) -> None:
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_table_counts_inventories_the_journal(journal: Journal, journal_path: Path) -> None:
    journal.submit_many([("a", report(1), None), ("b", report(2), None)])
    journal.upload_started(["a"])
    counts = jpkg.table_counts(journal_path)
    assert (counts["events"], counts["payloads"], counts["submissions"]) == (3, 2, 2)


def test_requeue_of_pending_makes_it_due_now(journal: Journal, clock: Clock) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"])
    journal.retry_scheduled(
        "k", attempt=1, next_attempt_at=clock() + 3600, error_class="ServerError", message="503"
    )
    assert journal.due(clock(), 10) == []
    journal.requeue("k", reason="operator: resend now")
    assert [s.key for s in journal.due(clock(), 10)] == ["k"]
    assert journal.submission("k").attempts == 1
    assert journal.check().ok


def test_non_durable_upload_started_is_recorded_and_durability_setting_restored(
    journal: Journal,
) -> None:
    journal.submit("k", report())
    journal.upload_started(["k"], durable=False)
    assert journal.state("k") == "in_flight"
    mode = journal._store.conn.execute("PRAGMA synchronous").fetchone()[0]
    assert mode == 2  # FULL again for the next commit
