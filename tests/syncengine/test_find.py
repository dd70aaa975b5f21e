"""`syncengine find` by serial, part number, report id, file and time; `inspect` and
`replay --key` accept a report id or a unique serial number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from journal import Journal
from syncengine.cli import EXIT_FAILED, cli
from tests.isolation import isolate_environment

from .test_engine_support import report


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_JOURNAL": str(tmp_path / "journal.db")}


@pytest.fixture
def ids(tmp_path: Path) -> dict[str, str]:
    """Three reports: SN-000001 twice (a retest, one failed), SN-000002 once; id by key."""
    made: dict[str, str] = {}
    with Journal(tmp_path / "journal.db") as journal:
        for key, i, tag, path in (
            ("key-a", 1, "first", "/station/in/board-a.json"),
            ("key-b", 1, "retest", "/station/in/board-a-retest.json"),
            ("key-c", 2, "first", "/station/in/other.xml"),
        ):
            body = report(i, tag=tag)
            if key == "key-c":
                body["pn"] = "PSU-7"
            journal.submit(key, body, source={"path": path})
            made[key] = str(body["id"])
        journal.upload_started(["key-b"])
        journal.failed("key-b", reason="HTTP 400", error_class="ReportRejectedError")
    return made


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_find_by_serial_number_prefix_prints_keys_states_and_files(env, ids):
    result = run(env, "find", "--sn", "SN-000001")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("KEY")
    assert lines[1].startswith("key-b") and "failed" in lines[1] and "board-a-retest" in lines[1]
    assert lines[2].startswith("key-a") and "pending" in lines[2]
    assert len(lines) == 3


def test_find_by_report_id_part_number_and_file(env, ids):
    by_id = run(env, "find", "--id", ids["key-c"], "--json")
    assert [json.loads(line)["key"] for line in by_id.output.splitlines()] == ["key-c"]
    by_pn = run(env, "find", "--pn", "PSU", "--json")
    assert [json.loads(line)["key"] for line in by_pn.output.splitlines()] == ["key-c"]
    by_file = run(env, "find", "--file", "retest", "--json")
    assert [json.loads(line)["key"] for line in by_file.output.splitlines()] == ["key-b"]


def test_find_by_time_range_and_state(env, ids):
    recent = run(env, "find", "--since", "1h", "--json")
    assert {json.loads(line)["key"] for line in recent.output.splitlines()} == set(ids)
    failed = run(env, "find", "--state", "failed", "--json")
    assert [json.loads(line)["key"] for line in failed.output.splitlines()] == ["key-b"]
    future = run(env, "find", "--until", "2000-01-01T00:00:00Z")
    assert future.exit_code == EXIT_FAILED and "nothing found" in future.output


def test_find_needs_a_criterion(env, ids):
    assert run(env, "find").exit_code == 2


def test_inspect_accepts_a_report_id_and_a_unique_serial_number(env, ids):
    by_id = run(env, "inspect", ids["key-a"], "--json")
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.output)["key"] == "key-a"
    by_sn = run(env, "inspect", "SN-000002", "--json")
    assert json.loads(by_sn.output)["key"] == "key-c"


def test_inspect_with_an_ambiguous_serial_number_says_how_to_choose(env, ids):
    result = run(env, "inspect", "SN-000001")
    assert result.exit_code == EXIT_FAILED
    assert "matches 2 submissions" in result.output and "syncengine find --sn" in result.output


def test_replay_key_accepts_a_report_id(env, ids, tmp_path: Path):
    result = run(env, "replay", "--key", ids["key-b"])
    assert result.exit_code == 0, result.output
    assert "key-b" in result.output
    with Journal(tmp_path / "journal.db") as journal:
        sub = journal.submission("key-b")
        assert sub is not None and sub.state == "pending"


@pytest.fixture
def archived(env, ids, tmp_path: Path) -> Path:
    """key-a (SN-000001) and key-c (SN-000002) acknowledged, then archived by the CLI."""
    with Journal(tmp_path / "journal.db") as journal:
        for key in ("key-a", "key-c"):
            journal.upload_started([key])
            answer = {"report_id": ids[key], "latency_s": 0.01, "status_code": 200}
            journal.acknowledged(key, answer={**answer, "correlation_id": None})
    result = run(env, "journal", "archive", "--older-than", "0")
    assert result.exit_code == 0 and "archived 2 submission(s)" in result.output, result.output
    (file,) = tmp_path.glob("journal.db.archive-*.jsonl.gz")
    return file


def test_find_by_serial_number_lists_an_archived_report_and_its_archive_file(env, archived):
    result = run(env, "find", "--sn", "SN-000002")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("key-c") and "archived" in lines[1] and "other.xml" in lines[1]
    assert lines[-1].startswith("key-c: archived on ") and lines[-1].endswith(f" in {archived}")
    (found,) = [
        json.loads(line)
        for line in run(env, "find", "--sn", "SN-000002", "--json").output.splitlines()
    ]
    assert found["state"] == "archived" and found["archive_file"] == str(archived)
    assert found["archived_at"] is not None


def test_find_state_archived_lists_exactly_the_archived_reports(env, archived, ids):
    result = run(env, "find", "--state", "archived", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["key"] for line in result.output.splitlines()] == ["key-c", "key-a"]
    by_id = run(env, "find", "--id", ids["key-a"], "--json")
    assert json.loads(by_id.output)["state"] == "archived"
    live = run(env, "find", "--sn", "SN-000001", "--state", "failed", "--json")
    assert [json.loads(line)["key"] for line in live.output.splitlines()] == ["key-b"]


def test_inspect_by_serial_number_of_an_archived_report_says_when_and_where(env, archived):
    result = run(env, "inspect", "SN-000002")
    assert result.exit_code == 0, result.output
    assert "no submission" not in result.output
    rows = dict(line.split(None, 1) for line in result.output.splitlines()[:2])
    assert rows == {"key": "key-c", "state": "archived"}
    assert f"archive file  {archived}" in result.output
    assert "archived      on " in result.output
    view = json.loads(run(env, "inspect", "key-c", "--json").output)
    assert view["state"] == "archived" and view["archive_file"] == str(archived)
    assert view["sn"] == "SN-000002" and view["source_path"] == "/station/in/other.xml"


def test_replay_of_an_archived_report_says_when_and_where_it_went(env, archived):
    result = run(env, "replay", "--key", "SN-000002")
    assert result.exit_code != 0
    assert "archived on " in result.output and str(archived) in result.output


def test_inspect_of_something_unknown_does_not_call_it_a_key(env, ids):
    result = run(env, "inspect", "SN-999999")
    assert result.exit_code == EXIT_FAILED
    assert "key, report id or serial number 'SN-999999'" in result.output
