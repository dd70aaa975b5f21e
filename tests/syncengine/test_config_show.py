"""`config show` names the done and error folders the engine uses, marked as defaults when the
file leaves them unset, instead of printing null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncengine.cli import cli
from tests.isolation import isolate_environment

CONFIG = """
server_url = "https://acme.wats.com"
journal_path = "journal.sqlite3"

[[watch]]
path = "ict"

[[watch]]
path = "fct"
done_dir = "/srv/archive/fct"

[[watch]]
path = "eol"
done_action = "delete"
"""


@pytest.fixture
def show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    isolate_environment(tmp_path, monkeypatch)
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")

    def run(*args: str) -> Result:
        argv = ["--config", str(tmp_path / "config.toml"), "config", "show", *args]
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0, result.output
        return result

    return run


def test_text_shows_the_effective_done_and_error_folders_marked_default(show, tmp_path) -> None:
    lines = {
        line.split(" = ", 1)[0]: line
        for line in show().stdout.splitlines()
        if line.startswith("watch")
    }
    assert sorted(lines) == ["watch[0]", "watch[1]", "watch[2]"]
    ict = json.loads(lines["watch[0]"].split(" = ", 1)[1].split("    # ")[0])
    assert ict["done_dir"] == str(tmp_path / "ict" / "done")
    assert ict["error_dir"] == str(tmp_path / "ict" / "error")
    assert lines["watch[0]"].endswith(
        "# from file; done_dir and error_dir: default (in the watch folder)"
    )
    assert '"done_dir": "/srv/archive/fct"' in lines["watch[1]"]
    assert lines["watch[1]"].endswith("; error_dir: default (in the watch folder)")
    eol = json.loads(lines["watch[2]"].split(" = ", 1)[1].split("    # ")[0])
    assert eol["done_dir"] is None  # deleted after conversion: no done folder
    assert eol["error_dir"] == str(tmp_path / "eol" / "error")


def test_json_fills_the_folders_and_names_them_as_defaults(show, tmp_path) -> None:
    data = json.loads(show("--json").stdout)
    dirs = [(w["done_dir"], w["error_dir"]) for w in data["watch"]]
    assert dirs == [
        (str(tmp_path / "ict" / "done"), str(tmp_path / "ict" / "error")),
        ("/srv/archive/fct", str(tmp_path / "fct" / "error")),
        (None, str(tmp_path / "eol" / "error")),
    ]
    defaults = {k for k, v in data["origins"].items() if k.startswith("watch[")}
    assert defaults == {
        "watch[0].done_dir",
        "watch[0].error_dir",
        "watch[1].error_dir",
        "watch[2].error_dir",
    }
    assert {data["origins"][k] for k in defaults} == {"default"}
