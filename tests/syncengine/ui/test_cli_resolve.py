"""The CLI's ways out of ``failed``: ``dismiss`` and ``replay --key K --with FILE``; and a
status that never lies (live counts, snapshot age, no predecessor's file)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from journal import Journal
from syncengine._lock import JournalLock
from syncengine._status import read_status, write_status
from syncengine.cli import EXIT_FAILED, cli

from ..test_cli_journal import KEY_A, KEY_B, add
from ..test_cli_journal import env as env  # the fixture, by name


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_dismiss_records_who_why_and_origin(env: dict[str, str], tmp_path: Path) -> None:
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "failed")
    result = run(["dismiss", KEY_A, "--reason", "unit scrapped"], env)
    assert result.exit_code == 0, result.output
    with Journal(journal_path) as journal:
        last = journal.history(KEY_A)[-1]
        assert journal.counts()["dismissed"] == 1 and journal.counts()["failed"] == 0
    assert last.type == "Dismissed"
    assert (last.data["reason"], last.data["origin"]) == ("unit scrapped", "cli")
    assert last.data.get("who")
    shown = run(["inspect", KEY_A], env).output
    assert "Dismissed" in shown and "unit scrapped" in shown
    dumped = [json.loads(line) for line in run(["journal", "dump"], env).output.splitlines()]
    assert dumped[-1]["type"] == "Dismissed"


def test_dismiss_refuses_a_report_that_is_not_failed(env: dict[str, str]) -> None:
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "acked")
    result = CliRunner().invoke(cli, ["dismiss", KEY_A, "--reason", "x"], env=env)
    assert result.exit_code == EXIT_FAILED
    assert "only a failed report" in result.stderr
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "acked"


def test_replay_with_a_corrected_file_supersedes(env: dict[str, str], tmp_path: Path) -> None:
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "failed")
    with Journal(journal_path) as journal:
        fixed = dict(journal.submission(KEY_A).payload)
    fixed["processCode"] = 10
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(fixed), encoding="utf-8")
    result = run(["replay", "--key", KEY_A, "--with", str(path), "--reason", "process fixed"], env)
    assert result.exit_code == 0, result.output
    new_key = result.stdout.strip()
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "superseded"
        assert journal.submission(new_key).source["supersedes"] == KEY_A
        assert journal.history(KEY_A)[-1].data["by"] == new_key
        assert journal.counts()["failed"] == 0
    shown = run(["inspect", new_key], env).output
    assert any(line.startswith("supersedes") and KEY_A in line for line in shown.splitlines())


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"


@pytest.mark.parametrize("form", ["wsxf", "wats_text"])
def test_replay_with_a_corrected_file_in_the_station_s_own_format(
    env: dict[str, str], tmp_path: Path, form: str
) -> None:
    # The operator corrects the file the station wrote, in its format, not a WSJF rewrite.
    from syncengine.converters import write_wats_text

    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "failed")
    export = (FIXTURES / "server_export_uut.xml").read_bytes()
    if form == "wsxf":
        path = tmp_path / "fixed.xml"
        path.write_bytes(export)
        expected = ("SN-4711", 20)
    else:
        with Journal(journal_path) as journal:
            fixed = dict(journal.submission(KEY_A).payload)
        fixed["processCode"] = 10
        path = tmp_path / "fixed.txt"
        path.write_text(write_wats_text([fixed]), encoding="utf-8")
        expected = (fixed["sn"], 10)
    result = run(["replay", "--key", KEY_A, "--with", str(path)], env)
    assert result.exit_code == 0, result.output
    new_key = result.stdout.strip()
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "superseded"
        stored = journal.submission(new_key).payload
    assert (stored["sn"], stored["processCode"]) == expected


def test_replay_with_a_file_of_two_reports_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    from syncengine.converters import write_wats_text

    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "failed")
    with Journal(journal_path) as journal:
        report = dict(journal.submission(KEY_A).payload)
    path = tmp_path / "two.txt"
    path.write_text(write_wats_text([report, report]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["replay", "--key", KEY_A, "--with", str(path)], env=env)
    assert result.exit_code != 0
    assert "holds 2 reports" in result.stderr and "exactly the one" in result.stderr
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "failed"


@pytest.mark.parametrize(
    "body", ["{not json", "[]", '{"type": "Q"}', "<WATSReports><broken", "plain words"]
)
def test_replay_with_a_bad_file_changes_nothing(
    env: dict[str, str], tmp_path: Path, body: str
) -> None:
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    add(journal_path, KEY_A, "failed")
    path = tmp_path / "bad.json"
    path.write_text(body, encoding="utf-8")
    result = CliRunner().invoke(cli, ["replay", "--key", KEY_A, "--with", str(path)], env=env)
    assert result.exit_code != 0
    with Journal(journal_path) as journal:
        assert journal.state(KEY_A) == "failed"


def test_replay_with_needs_exactly_one_key(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}", encoding="utf-8")
    args = ["replay", "--key", KEY_A, "--key", KEY_B, "--with", str(path)]
    assert CliRunner().invoke(cli, args, env=env).exit_code == 2


def test_status_counts_are_read_from_the_journal_now(tmp_path: Path) -> None:
    journal_path = tmp_path / "j.db"
    status_path = tmp_path / "j.status.json"
    lock = JournalLock(tmp_path / "j.lock")
    lock.acquire()
    try:
        add(journal_path, KEY_A, "failed")
        snapshot = {
            "running": True,
            "pid": os.getpid(),
            "started_at": time.time(),
            "updated_at": time.time() - 30,
            "lock_path": str(lock.path),
            "health": "ok",
            "counts": {"pending": 0, "in_flight": 0, "acked": 0, "failed": 0},
        }
        write_status(status_path, snapshot)
        add(journal_path, KEY_B, "pending")  # after the snapshot
        status = read_status(status_path, journal_path)
    finally:
        lock.release()
    assert status["running"] is True
    assert status["counts"]["failed"] == 1 and status["counts"]["pending"] == 1
    assert status["counts_source"] == "journal"
    assert status["snapshot_age_s"] >= 29


def test_a_predecessors_status_file_is_never_shown_as_the_running_engines(
    tmp_path: Path,
) -> None:
    journal_path = tmp_path / "j.db"
    status_path = tmp_path / "j.status.json"
    add(journal_path, KEY_A, "acked")
    earlier = {
        "running": True,
        "pid": os.getpid(),  # a container restart reuses the pid
        "started_at": time.time() - 3600,
        "updated_at": time.time() - 1,
        "lock_path": str(tmp_path / "j.lock"),
        "health": "ok",
        "connection": "online",
        "counts": {"acked": 99},
    }
    write_status(status_path, earlier)
    time.sleep(0.1)
    lock = JournalLock(tmp_path / "j.lock")
    lock.acquire()  # the new engine took the lock and has not written its status yet
    try:
        status = read_status(status_path, journal_path)
    finally:
        lock.release()
    assert status["health"] == "starting"
    assert status["running"] is True
    assert status.get("connection") is None
    assert status["counts"]["acked"] == 1
    assert status["stale_file_ignored"] is True
    stopped = read_status(status_path, journal_path)  # lock free again: the engine is gone
    assert stopped["health"] == "stopped" and stopped["running"] is False


def test_status_of_a_running_engine_counts_what_the_journal_holds_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncengine import SyncEngine
    from watsim import Simulator

    from ..test_engine_support import fast_config, report, wait_for

    for name in list(os.environ):
        if name.startswith("SYNCENGINE_"):
            monkeypatch.delenv(name)
    with Simulator(token="test-token") as sim:
        sim.set_faults(down_for_s=60)  # nothing is delivered while we look
        config = fast_config(tmp_path, sim, status_interval_s=3600.0)
        env = {
            "SYNCENGINE_JOURNAL": str(config.journal_path),
            "SYNCENGINE_SERVER_URL": sim.base_url,
            "SYNCENGINE_TOKEN": "test-token",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        }
        with SyncEngine(config) as engine:
            # The first snapshot is written at start; none follows for an hour.
            wait_for(config.effective_status_path.exists, what="the first status snapshot")
            with Journal(config.journal_path) as producer:  # another process would do the same
                producer.submit("late", report(5))
            result = CliRunner().invoke(cli, ["status", "--json"], env=env)
            snap = json.loads(result.stdout)
            assert engine.running
        sim.clear_faults()
    assert snap["running"] is True and snap["pid"] == os.getpid()
    assert snap["counts_source"] == "journal"
    assert snap["counts"]["pending"] + snap["counts"]["in_flight"] == 1
    assert snap["snapshot_age_s"] > 0
