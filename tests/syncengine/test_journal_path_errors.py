"""A journal_path no journal can be at (a folder, a file in its way) is a configuration error
(exit 3) naming the key for every command that opens the journal, as it is for `run` and
`config check`: not exit 1 "Is a directory" or exit 70 "disk I/O error"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncengine.cli import EXIT_CONFIG, cli
from tests.isolation import isolate_environment
from tests.watsim.examples import example_uut

COMMANDS = [
    ["status"],
    ["submit", "{report}"],
    ["find", "--sn", "SN-1"],
    ["inspect", "some-key"],
    ["journal", "verify"],
    ["journal", "backup", "{tmp}/backup.db"],
    ["journal", "archive", "verify", "{tmp}/archive.jsonl.gz"],
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_CREDENTIALS": str(tmp_path / "creds" / "credentials.enc")}


def _invoke(tmp_path: Path, env: dict[str, str], journal: Path, command: list[str]):
    report = tmp_path / "report.json"
    report.write_text(json.dumps(example_uut()), encoding="utf-8")
    (tmp_path / "archive.jsonl.gz").write_bytes(b"")
    args = [a.format(tmp=tmp_path, report=report) for a in command]
    return CliRunner().invoke(cli, args, env={**env, "SYNCENGINE_JOURNAL": str(journal)})


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_a_folder_as_journal_path_is_exit_3_naming_the_key(tmp_path: Path, env, command):
    folder = tmp_path / "journal-folder"
    folder.mkdir()
    result = _invoke(tmp_path, env, folder, command)
    assert result.exit_code == EXIT_CONFIG, result.output
    line = result.stderr.strip()
    assert "key 'journal_path' in environment variable SYNCENGINE_JOURNAL" in line
    assert f"{folder} is a folder; journal_path names the journal file" in line
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_a_file_in_the_way_of_journal_path_is_exit_3_naming_the_key(tmp_path: Path, env, command):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    result = _invoke(tmp_path, env, blocker / "journal.db", command)
    assert result.exit_code == EXIT_CONFIG, result.output
    line = result.stderr.strip()
    assert "key 'journal_path'" in line and f"{blocker} is a file, not a folder" in line
    assert len(line.splitlines()) == 1
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_a_missing_journal_is_still_exit_4(tmp_path: Path, env):
    result = _invoke(tmp_path, env, tmp_path / "nothing-here.db", ["journal", "verify"])
    assert result.exit_code == 4 and "no journal at" in result.stderr
