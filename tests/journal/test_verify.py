"""verify() finds edits, deletions, truncation and bit rot, names the first bad event, and
never repairs; the intact prefix stays readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from journal import CorruptJournalError, Journal

from .conftest import report


@pytest.fixture
def filled(journal_path: Path) -> Path:
    with Journal(journal_path) as j:
        for i in range(10):
            j.submit(f"k{i}", report(i))
            j.upload_started([f"k{i}"])
    return journal_path  # seq 2i+1 = Submitted k<i>, seq 2i+2 = UploadStarted k<i>


def tamper(path: Path, *sql: str) -> None:
    """Edit the file behind the journal's back, as an attacker or a buggy tool would."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_edited_event_data_is_reported_by_seq_and_key(filled: Path) -> None:
    tamper(filled, """UPDATE events SET data = replace(data, '"v":1', '"v":2') WHERE seq = 7""")
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_key) == (False, 7, "k3")
    assert "digest" in (result.reason or "")


def test_edited_event_header_is_reported(filled: Path) -> None:
    tamper(filled, "UPDATE events SET type = 'Acknowledged' WHERE seq = 4")
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_key) == (False, 4, "k1")


def test_deleted_event_is_reported_as_missing(filled: Path) -> None:
    tamper(filled, "DELETE FROM events WHERE seq = 5")
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "missing" in (result.reason or "")


def test_truncated_tail_is_refused_at_open(filled: Path) -> None:
    tamper(filled, "DELETE FROM events WHERE seq > 17")
    with pytest.raises(CorruptJournalError, match="chain head"):
        Journal(filled)


def test_truncated_tail_is_reported_and_prefix_stays_readable(filled: Path) -> None:
    tamper(filled, "DELETE FROM events WHERE seq > 17")
    with Journal(filled, check_on_open=False) as j:
        result = j.verify()
        assert (result.ok, result.first_bad_seq) == (False, 18)
        assert "truncated" in (result.reason or "")
        assert [e.type for e in j.history("k2")] == ["Submitted", "UploadStarted"]


def test_rewritten_chain_link_is_reported(filled: Path) -> None:
    tamper(filled, "UPDATE events SET prev_hash = hash WHERE seq = 9")
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_key) == (False, 9, "k4")


def test_verify_changes_nothing(filled: Path) -> None:
    tamper(filled, "UPDATE events SET data = '{}' WHERE seq = 3")
    before = filled.read_bytes()
    with Journal(filled) as j:
        assert not j.verify().ok
        assert not j.verify().ok
    assert filled.read_bytes() == before


def test_check_reports_a_projection_edited_behind_the_journal(filled: Path) -> None:
    conn = sqlite3.connect(filled)
    conn.execute("UPDATE submissions SET state = 'acked' WHERE key = 'k0'")
    conn.commit()
    conn.close()
    with Journal(filled) as j:
        result = j.check()
        assert not result.ok and any("'k0'" in d for d in result.differences)
        j.rebuild()
        assert j.check().ok and j.state("k0") == "in_flight"


def test_edited_report_payload_is_reported_by_seq_and_key(filled: Path) -> None:
    conn = sqlite3.connect(filled)
    conn.execute("DROP TRIGGER payloads_no_update")
    conn.execute("UPDATE payloads SET body = replace(body, 'PN-1', 'PN-2') WHERE seq = 5")
    conn.commit()
    conn.close()
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_key) == (False, 5, "k2")
    assert "payload" in (result.reason or "")


def test_payloads_cannot_be_updated_or_deleted_through_sql(filled: Path) -> None:
    with sqlite3.connect(filled) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE payloads SET body = '{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM payloads")


def test_rebuild_restores_deleted_rows_and_drops_rows_without_events(filled: Path) -> None:
    conn = sqlite3.connect(filled)
    conn.execute("DELETE FROM submissions WHERE key IN ('k1', 'k2')")
    conn.execute(
        "INSERT INTO submissions SELECT 'ghost', state, payload_sha256, attempts, "
        "next_attempt_at, error_class, error_message, error_status, created_at, updated_at, "
        "first_seq, last_seq FROM submissions WHERE key = 'k3'"
    )
    conn.commit()
    conn.close()
    with Journal(filled) as j:
        diffs = j.check().differences
        assert any("'k1'" in d for d in diffs) and any("'ghost'" in d for d in diffs)
        assert j.rebuild() == 10
        assert j.check().ok and j.state("ghost") is None and j.state("k1") == "in_flight"
        assert j.counts()["in_flight"] == 10


def test_edited_payload_reference_is_reported(filled: Path) -> None:
    tamper(filled, "UPDATE events SET ref = 'ff' WHERE seq = 9")
    with Journal(filled) as j:
        result = j.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_key) == (False, 9, "k4")
