"""CLI commands over a real journal file: submit, inspect, replay, status, journal tools."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from journal import Journal
from syncengine._ingest import submission_key
from syncengine.cli import EXIT_FAILED, cli
from tests.isolation import isolate_environment
from tests.watsim.examples import example_uut

TOKEN = "c2VjcmV0LXRva2VuLW5ldmVyLXByaW50ZWQ="


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {
        "SYNCENGINE_JOURNAL": str(tmp_path / "journal.sqlite3"),
        "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9",
        "SYNCENGINE_TOKEN": TOKEN,
    }


@pytest.fixture
def journal_path(env: dict[str, str]) -> Path:
    return Path(env["SYNCENGINE_JOURNAL"])


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def report_file(folder: Path, name: str, serial: str) -> Path:
    report = example_uut()
    report["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, serial))
    report["sn"] = serial
    path = folder / name
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def add(journal_path: Path, key: str, state: str = "pending") -> None:
    """A submission in ``state``, made through the journal's own API."""
    report = example_uut()
    report["id"] = key
    with Journal(journal_path) as journal:
        journal.submit(key, report, source={"path": f"/station/{key}.json"})
        if state == "pending":
            return
        journal.upload_started([key])
        if state == "acked":
            journal.acknowledged(key, answer={"id": key, "status_code": 200})
        elif state == "failed":
            journal.failed(
                key,
                reason="processCode 999 unknown",
                error_class="ValidationError",
                status_code=400,
            )


KEY_A = "0b6e9d42-8c1a-4f7e-b3d2-5a9c1e0f4d21"
KEY_B = "6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10"


def test_submit_prints_one_key_per_line(env, tmp_path: Path) -> None:
    files = [report_file(tmp_path, f"r{i}.json", f"SN-{i}") for i in range(2)]
    result = invoke(["submit", *map(str, files)], env)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


def test_submit_key_is_the_watcher_key(env, tmp_path: Path) -> None:
    path = report_file(tmp_path, "r.json", "SN-1")
    key = invoke(["submit", str(path)], env).stdout.strip()
    assert key == submission_key(hashlib.sha256(path.read_bytes()).hexdigest(), 0)


def test_submit_twice_is_one_submission(env, tmp_path: Path, journal_path: Path) -> None:
    path = report_file(tmp_path, "r.json", "SN-1")
    first = invoke(["submit", str(path)], env).stdout
    second = invoke(["submit", str(path)], env).stdout
    assert first == second
    with Journal(journal_path) as journal:
        assert journal.counts()["pending"] == 1


def test_submit_of_a_server_export_then_watched_is_one_submission(
    env, tmp_path: Path, journal_path: Path
) -> None:
    # A server export carries output-only fields; the CLI and the watcher must both store the
    # submit form, or the second path meets a payload conflict instead of a repeat.
    report = example_uut()
    report.update(startUTC="2026-03-01T08:15:02.125Z", productName="PCBA", origin="00:11")
    path = tmp_path / "export.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    key = invoke(["submit", str(path)], env).stdout.strip()
    from syncengine._ingest import build_submissions
    from syncengine.converters import Conversion

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    conversion = Conversion(converter="wsjf", version="1", reports=[report])
    [(watch_key, payload, source)] = build_submissions(path, sha, path.stat().st_size, conversion)
    with Journal(journal_path) as journal:
        assert journal.submit(watch_key, payload, source=source).key == key
        assert "startUTC" not in journal.submission(key).payload
        assert journal.counts()["pending"] == 1


def test_submit_leaves_the_file_in_place(env, tmp_path: Path) -> None:
    path = report_file(tmp_path, "r.json", "SN-1")
    invoke(["submit", str(path)], env)
    assert path.exists()


def test_submit_with_a_bad_file_exits_1_naming_it(env, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"type": "T", "id": ', encoding="utf-8")
    good = report_file(tmp_path, "good.json", "SN-1")
    result = invoke(["submit", str(bad), str(good)], env)
    assert result.exit_code == EXIT_FAILED
    assert "broken.json" in result.stderr
    assert "invalid JSON" in result.stderr


def test_submit_still_submits_the_good_files(env, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{", encoding="utf-8")
    good = report_file(tmp_path, "good.json", "SN-1")
    result = invoke(["submit", str(bad), str(good)], env)
    assert len(result.stdout.splitlines()) == 1


def test_submit_of_a_missing_file_says_so(env, tmp_path: Path) -> None:
    result = invoke(["submit", str(tmp_path / "nope.json")], env)
    assert result.exit_code == EXIT_FAILED
    assert "no such file" in result.stderr


def test_submit_of_an_invalid_report_names_the_problem(env, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"type": "T", "id": KEY_A, "pn": "X"}), encoding="utf-8")
    result = invoke(["submit", str(path)], env)
    assert result.exit_code == EXIT_FAILED
    assert "invalid" in result.stderr


def test_inspect_json_has_state_and_events(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["inspect", KEY_A, "--json"], env)
    data = json.loads(result.stdout)
    assert data["state"] == "failed"
    assert [e["type"] for e in data["events"]] == ["Submitted", "UploadStarted", "Failed"]


def test_inspect_lists_the_attempt_with_status_and_message(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    attempts = json.loads(invoke(["inspect", KEY_A, "--json"], env).stdout)["attempt_log"]
    assert len(attempts) == 1
    assert attempts[0]["status_code"] == 400
    assert attempts[0]["message"] == "processCode 999 unknown"


def test_inspect_for_people_shows_source_and_final_state(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    output = invoke(["inspect", KEY_A], env).stdout
    assert f"/station/{KEY_A}.json" in output
    assert "final state: acked" in output


def test_inspect_unknown_key_exits_1(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    result = invoke(["inspect", KEY_B], env)
    assert result.exit_code == EXIT_FAILED
    assert KEY_B in result.stderr


def test_status_json_with_engine_stopped_has_counts(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    add(journal_path, KEY_B, "failed")
    result = invoke(["status", "--json"], env)
    counts = json.loads(result.stdout)["counts"]
    assert counts == {
        "pending": 0,
        "in_flight": 0,
        "acked": 1,
        "failed": 1,
        "superseded": 0,
        "dismissed": 0,
    }


def test_status_of_a_stopped_engine_is_critical(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    result = invoke(["status"], env)
    assert result.exit_code == 2
    assert "stopped" in result.stdout


def test_replay_failed_requeues_them(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["replay", "--failed"], env)
    assert result.stdout.split() == [KEY_A]
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "pending"


def test_replay_records_who_why_and_origin(env, journal_path: Path) -> None:
    import getpass

    add(journal_path, KEY_A, "failed")
    add(journal_path, KEY_B, "failed")
    assert invoke(["replay", "--key", KEY_A, "--reason", "fixture re-seated"], env).exit_code == 0
    assert invoke(["replay", "--key", KEY_B], env).exit_code == 0
    with Journal(journal_path) as journal:
        told = journal.history(KEY_A)[-1].data
        default = journal.history(KEY_B)[-1].data
    assert (told["reason"], told["who"], told["origin"]) == (
        "fixture re-seated",
        getpass.getuser(),
        "cli",
    )
    assert default["reason"] == "replay requested with the syncengine CLI"
    assert default["who"] == getpass.getuser()


def test_replay_dry_run_changes_nothing(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["replay", "--failed", "--dry-run"], env)
    assert KEY_A in result.stdout
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "failed"


def test_replay_never_resends_an_acked_submission(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    result = invoke(["replay", "--key", KEY_A], env)
    assert "already acknowledged" in result.stderr
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "acked"


def test_replay_since_skips_older_failures(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["replay", "--failed", "--since", "2999-01-01T00:00:00Z", "--json"], env)
    assert json.loads(result.stdout) == {"requeued": []}


def test_replay_unknown_key_exits_1(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    assert invoke(["replay", "--key", KEY_B], env).exit_code == EXIT_FAILED


def test_dump_prints_one_json_object_per_event(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    lines = invoke(["journal", "dump"], env).stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines] == [
        "Submitted",
        "UploadStarted",
        "Acknowledged",
    ]


def test_dump_no_payload_leaves_the_report_out(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    first = json.loads(invoke(["journal", "dump", "--no-payload"], env).stdout.splitlines()[0])
    assert "payload" not in first["data"]


def test_dump_since_starts_after_that_event(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    lines = invoke(["journal", "dump", "--since", "2"], env).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3]


def test_verify_intact_journal_exits_0(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    result = invoke(["journal", "verify"], env)
    assert result.exit_code == 0
    assert "intact" in result.stdout


def test_verify_tampered_journal_exits_nonzero(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    conn = sqlite3.connect(journal_path)
    conn.execute("DROP TRIGGER events_no_update")
    # Whatever the stored representation, a different digest no longer matches the data.
    conn.execute("UPDATE events SET digest = '0' || substr(digest, 2) WHERE seq = 1")
    conn.commit()
    conn.close()
    result = invoke(["journal", "verify", "--json"], env)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def _truncate_tail(journal_path: Path) -> None:
    conn = sqlite3.connect(journal_path)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
    conn.commit()
    conn.close()


def test_verify_names_a_truncated_tail(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    _truncate_tail(journal_path)
    result = invoke(["journal", "verify"], env)
    assert result.exit_code == EXIT_FAILED
    assert "truncated" in result.stdout


def test_dump_streams_the_intact_prefix_of_a_truncated_journal(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    _truncate_tail(journal_path)
    assert len(invoke(["journal", "dump"], env).stdout.splitlines()) == 2


def test_inspect_on_a_truncated_journal_points_to_verify(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    _truncate_tail(journal_path)
    result = invoke(["inspect", KEY_A], env)
    assert result.exit_code == 4
    assert "syncengine journal verify" in result.stderr


def test_verify_on_a_file_that_is_not_a_journal_exits_4(env, journal_path: Path) -> None:
    journal_path.write_bytes(b"this is not an SQLite database at all" * 100)
    result = invoke(["journal", "verify"], env)
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1


def _skew_projection(journal_path: Path, key: str) -> None:
    conn = sqlite3.connect(journal_path)
    conn.execute("UPDATE submissions SET state = 'acked' WHERE key = ?", (key,))
    conn.commit()
    conn.close()


def test_verify_detects_a_projection_that_disagrees(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    _skew_projection(journal_path, KEY_A)
    result = invoke(["journal", "verify"], env)
    assert result.exit_code == EXIT_FAILED
    assert "journal rebuild" in result.stdout


def test_rebuild_repairs_a_projection_that_disagrees(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    _skew_projection(journal_path, KEY_A)
    invoke(["journal", "rebuild"], env)
    assert invoke(["journal", "verify"], env).exit_code == 0


def test_rebuild_prints_the_counts(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["journal", "rebuild"], env)
    assert result.exit_code == 0
    assert "failed 1" in result.stdout


def test_query_streams_rows_as_json(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    sql = "SELECT key, state FROM submissions"
    lines = invoke(["journal", "query", "--json", sql], env).stdout.splitlines()
    assert [json.loads(line) for line in lines] == [{"key": KEY_A, "state": "failed"}]


def test_query_for_people_has_a_header(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    sql = "SELECT type FROM events WHERE key = ?"
    output = invoke(["journal", "query", sql, "--param", KEY_A], env).stdout
    assert output.splitlines() == ["type", "Submitted"]


def test_redirected_output_is_utf8_whatever_the_code_page(env, journal_path: Path) -> None:
    import os
    import subprocess
    import sys

    add(journal_path, KEY_A)
    proc = subprocess.run(
        [sys.executable, "-m", "syncengine", "journal", "query", "SELECT 'Ω 你好' AS unit"],
        capture_output=True,
        env={**os.environ, **env, "PYTHONIOENCODING": "cp1252"},  # Windows' redirected default
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert proc.stdout.decode("utf-8").splitlines() == ["unit", "Ω 你好"]


def test_query_cannot_change_the_journal(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(["journal", "query", "UPDATE submissions SET state = 'acked'"], env)
    assert result.exit_code == 2
    assert invoke(["journal", "verify"], env).exit_code == 0


def test_query_with_bad_sql_is_a_usage_error(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    result = invoke(["journal", "query", "SELECT * FROM nowhere"], env)
    assert result.exit_code == 2
    assert "no such table" in result.stderr


def test_archive_moves_old_acked_submissions(env, journal_path: Path, tmp_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    add(journal_path, KEY_B, "pending")
    dest = tmp_path / "old.jsonl.gz"
    result = invoke(["journal", "archive", "--older-than", "0", "--dest", str(dest)], env)
    assert "archived 1 submission" in result.stdout
    assert dest.exists()


def test_inspect_of_an_archived_submission_says_it_was_archived(
    env, journal_path: Path, tmp_path: Path
) -> None:
    add(journal_path, KEY_A, "acked")
    invoke(["journal", "archive", "--older-than", "0", "--dest", str(tmp_path / "a.gz")], env)
    result = invoke(["inspect", KEY_A], env)
    assert result.exit_code == 0, result.output
    assert "state         archived" in result.stdout
    assert f"archive file  {tmp_path / 'a.gz'}" in result.stdout  # next to the journal


def test_archive_with_nothing_old_enough_says_so(env, journal_path: Path) -> None:
    add(journal_path, KEY_A, "acked")
    result = invoke(["journal", "archive", "--older-than", "30"], env)
    assert "nothing to archive" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["journal", "dump"],
        ["status", "--json"],
        ["inspect", KEY_A, "--json"],
        ["config", "show"],
        ["config", "show", "--json"],
    ],
    ids=" ".join,
)
def test_token_never_appears_in_output(env, journal_path: Path, args: list[str]) -> None:
    add(journal_path, KEY_A, "failed")
    result = invoke(args, env)
    assert TOKEN not in result.output


def test_converters_list_shows_the_builtins(env) -> None:
    data = json.loads(invoke(["converters", "list", "--json"], env).stdout)
    assert {"wsjf", "wsxf"} <= {c["name"] for c in data["converters"]}


def test_replay_of_a_backing_off_pending_key_makes_it_due_now(env, journal_path: Path) -> None:
    add(journal_path, KEY_A)
    with Journal(journal_path) as journal:
        journal.upload_started([KEY_A])
        far = time.time() + 3600
        journal.retry_scheduled(KEY_A, attempt=1, next_attempt_at=far, error_class="E", message="m")
    result = invoke(["replay", "--key", KEY_A], env)
    assert result.stdout.split() == [KEY_A]
    with Journal(journal_path) as journal:
        assert [s.key for s in journal.due(time.time(), 10)] == [KEY_A]
