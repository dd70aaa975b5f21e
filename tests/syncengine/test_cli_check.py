"""``syncengine check FILE...``: the server's documented rules, locally, changing nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncengine.cli import EXIT_FAILED, EXIT_USAGE, cli
from tests.isolation import isolate_environment
from tests.watsim.examples import (
    REFUSED_LOOPS_LINES,
    example_uut,
    export_loops_uut,
    refused_loops_uut,
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_JOURNAL": str(tmp_path / "journal.sqlite3")}


def _write(tmp_path: Path, name: str, report: dict[str, object]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def _check(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["check", *args], env=env, catch_exceptions=False)


def test_a_refused_report_prints_the_servers_lines_and_exits_1(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = _write(tmp_path, "refused.json", refused_loops_uut())
    result = _check(env, str(path))
    assert result.exit_code == EXIT_FAILED
    for line in REFUSED_LOOPS_LINES:
        assert f"    {line}" in result.output
    assert "HTTP 400" in result.output
    assert "fix: " in result.output and "normalize_loops = true" in result.output


def test_a_good_report_passes_with_exit_0(tmp_path: Path, env: dict[str, str]) -> None:
    path = _write(tmp_path, "good.json", example_uut())
    result = _check(env, str(path))
    assert result.exit_code == 0, result.output
    assert "ok, no documented rule refuses it" in result.output


def test_it_changes_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    path = _write(tmp_path, "refused.json", refused_loops_uut())
    before = path.read_bytes()
    _check(env, str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refused.json"]  # no journal, no moves


def test_normalize_loops_shows_the_rewrite_and_passes_an_export(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = _write(tmp_path, "export.json", export_loops_uut())
    assert _check(env, str(path)).exit_code == EXIT_FAILED
    result = _check(env, "--normalize-loops", str(path))
    assert result.exit_code == 0, result.output
    assert "rewritten by normalize_loops (1 changes)" in result.output


def test_the_configured_normalize_loops_is_the_default(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "conf.toml"
    config.write_text("normalize_loops = true\n", encoding="utf-8")
    path = _write(tmp_path, "export.json", export_loops_uut())
    result = CliRunner().invoke(
        cli, ["--config", str(config), "check", str(path)], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    result = _check(env, "--no-normalize-loops", str(path))
    assert result.exit_code == EXIT_FAILED


def test_json_gives_one_object_per_file(tmp_path: Path, env: dict[str, str]) -> None:
    bad = _write(tmp_path, "bad.json", refused_loops_uut())
    good = _write(tmp_path, "good.json", example_uut())
    result = _check(env, "--json", str(bad), str(good))
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["refused"] for o in objects] == [True, False]
    assert objects[0]["reports"][0]["refusals"] == list(REFUSED_LOOPS_LINES)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"{not json", "conversion failed"), (b'{"type": "T"}', "would not journal it")],
)
def test_garbage_is_one_clear_line_and_exit_1(
    tmp_path: Path, env: dict[str, str], content: bytes, fragment: str
) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(content)
    result = _check(env, str(path))
    assert result.exit_code == EXIT_FAILED
    assert fragment in result.output


def test_a_missing_file_is_reported(tmp_path: Path, env: dict[str, str]) -> None:
    result = _check(env, str(tmp_path / "nope.json"))
    assert result.exit_code == EXIT_FAILED
    assert "no such file" in result.output


def test_without_watsim_it_says_what_is_missing(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "watsim", None)  # import watsim raises ImportError
    path = _write(tmp_path, "good.json", example_uut())
    result = CliRunner().invoke(cli, ["check", str(path)], env=env)
    assert result.exit_code == EXIT_USAGE
    assert "needs the watsim package" in result.output


def _watch_config(tmp_path: Path, *, top: bool, folder: bool) -> Path:
    """A config with two [[watch]] folders: ``a`` (normalize_loops = ``folder``) and ``b``."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir(exist_ok=True)
    config = tmp_path / "conf.toml"
    config.write_text(
        f"normalize_loops = {str(top).lower()}\n"
        f"[[watch]]\npath = '{tmp_path / 'a'}'\nnormalize_loops = {str(folder).lower()}\n"
        f"[[watch]]\npath = '{tmp_path / 'b'}'\n",
        encoding="utf-8",
    )
    return config


def _check_with(config: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), "check", *args], env=env, catch_exceptions=False
    )


def test_a_file_in_a_watch_folder_is_checked_with_that_folders_normalize_loops(
    tmp_path: Path, env: dict[str, str]
) -> None:
    config = _watch_config(tmp_path, top=False, folder=True)
    inside = _write(tmp_path / "a", "export.json", export_loops_uut())
    result = _check_with(config, env, "--json", str(inside))
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["watch"] == 1
    assert record["reports"][0]["normalize_loops_changes"]


def test_a_folder_that_turns_normalize_loops_off_wins_over_the_top_level(
    tmp_path: Path, env: dict[str, str]
) -> None:
    config = _watch_config(tmp_path, top=True, folder=False)
    inside = _write(tmp_path / "a", "export.json", export_loops_uut())
    assert _check_with(config, env, str(inside)).exit_code == EXIT_FAILED
    elsewhere = _write(tmp_path, "export.json", export_loops_uut())  # in no folder: top level
    assert _check_with(config, env, str(elsewhere)).exit_code == 0
    inherit = _write(tmp_path / "b", "export.json", export_loops_uut())  # folder b inherits
    assert _check_with(config, env, str(inherit)).exit_code == 0


def test_watch_n_checks_any_file_with_that_folders_setting(
    tmp_path: Path, env: dict[str, str]
) -> None:
    config = _watch_config(tmp_path, top=False, folder=True)
    elsewhere = _write(tmp_path, "export.json", export_loops_uut())
    assert _check_with(config, env, str(elsewhere)).exit_code == EXIT_FAILED
    result = _check_with(config, env, "--watch", "1", "--json", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["watch"] == 1
    assert _check_with(config, env, "--watch", "2", str(elsewhere)).exit_code == EXIT_FAILED


def test_the_flag_still_wins_over_the_folder(tmp_path: Path, env: dict[str, str]) -> None:
    config = _watch_config(tmp_path, top=False, folder=True)
    inside = _write(tmp_path / "a", "export.json", export_loops_uut())
    result = _check_with(config, env, "--no-normalize-loops", str(inside))
    assert result.exit_code == EXIT_FAILED


def test_watch_beyond_the_configured_folders_is_a_usage_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    config = _watch_config(tmp_path, top=False, folder=True)
    path = _write(tmp_path, "export.json", export_loops_uut())
    result = CliRunner().invoke(
        cli, ["--config", str(config), "check", "--watch", "3", str(path)], env=env
    )
    assert result.exit_code == EXIT_USAGE
    assert "2 [[watch]] folder(s)" in result.output
