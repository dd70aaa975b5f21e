"""Operator actions from the command line: `dismiss` and `replay --with` take a report id or a
serial number as `inspect` does, and human `inspect` shows who asked for a resend or a
replacement, and why."""

from __future__ import annotations

import getpass
import json
import re
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
def bodies(tmp_path: Path) -> dict[str, dict[str, object]]:
    """key-f1 (SN-000001) and key-f2 (SN-000002) failed; key-ok (SN-000003) acknowledged."""
    made = {k: report(i, tag=k) for k, i in (("key-f1", 1), ("key-f2", 2), ("key-ok", 3))}
    with Journal(tmp_path / "journal.db") as journal:
        for key, body in made.items():
            journal.submit(key, body, source={"path": f"/in/{key}.json"})
            journal.upload_started([key])
        for key in ("key-f1", "key-f2"):
            journal.failed(key, reason="HTTP 400 bad sn", error_class="ReportRejectedError")
        answer = {"report_id": str(made["key-ok"]["id"]), "latency_s": 0.1, "status_code": 200}
        journal.acknowledged("key-ok", answer={**answer, "correlation_id": None})
    return made


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def state_of(tmp_path: Path, key: str) -> str | None:
    with Journal(tmp_path / "journal.db") as journal:
        return journal.state(key)


def row(output: str, label: str) -> str:
    (value,) = re.findall(rf"^{label}\s{{2,}}(.+)$", output, re.M)
    return value


def test_dismiss_takes_a_report_id(env, bodies, tmp_path: Path) -> None:
    result = run(env, "dismiss", str(bodies["key-f1"]["id"]), "--reason", "scrapped")
    assert result.exit_code == 0, result.output
    assert result.stdout == "dismissed key-f1\n"
    assert state_of(tmp_path, "key-f1") == "dismissed"


def test_dismiss_takes_a_serial_number_of_one_submission(env, bodies, tmp_path: Path) -> None:
    result = run(env, "dismiss", "SN-000002", "--reason", "scrapped", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"dismissed": "key-f2"}
    assert state_of(tmp_path, "key-f2") == "dismissed"
    assert state_of(tmp_path, "key-f1") == "failed"


def test_dismiss_of_something_unknown_names_what_it_looked_for(env, bodies) -> None:
    result = run(env, "dismiss", "SN-999999", "--reason", "scrapped")
    assert result.exit_code == EXIT_FAILED
    assert "key, report id or serial number 'SN-999999'" in result.output


def test_replay_with_a_corrected_file_takes_a_serial_number(env, bodies, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**bodies["key-f1"], "sn": "SN-000001-B"}))
    result = run(env, "replay", "--key", "SN-000001", "--with", str(fixed), "--reason", "sn")
    assert result.exit_code == 0, result.output
    assert state_of(tmp_path, "key-f1") == "superseded"


def test_inspect_shows_who_asked_for_a_resend_and_why(env, bodies) -> None:
    resent = run(env, "resend", "key-ok", "--reason", "server restored from backup", "--json")
    assert resent.exit_code == 0, resent.output
    new_key = json.loads(resent.stdout)["as"]
    shown = run(env, "inspect", new_key)
    assert shown.exit_code == 0, shown.output
    assert row(shown.stdout, "resend of") == "key-ok"
    assert row(shown.stdout, "reason") == "server restored from backup"
    assert row(shown.stdout, "requested by") == getpass.getuser()
    assert row(shown.stdout, "origin") == "cli"
    (submitted,) = [
        ln for ln in shown.stdout.splitlines() if ln.endswith(")") and "Submitted" in ln
    ]
    assert "resend of: key-ok" in submitted and "reason: server restored" in submitted


def test_inspect_shows_who_replaced_a_failed_report(env, bodies, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**bodies["key-f2"], "sn": "SN-000002-B"}))
    new_key = run(env, "replay", "--key", "key-f2", "--with", str(fixed)).stdout.split()[0]
    shown = run(env, "inspect", new_key)
    assert shown.exit_code == 0, shown.output
    assert row(shown.stdout, "supersedes") == "key-f2"
    assert row(shown.stdout, "requested by") == getpass.getuser()
    assert row(shown.stdout, "via") == "cli"
