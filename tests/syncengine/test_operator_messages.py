"""Messages that tell the operator what to do: login warns when its token is shadowed and
says when the login takes over (`run` logs the same on auth_failed, and does it), `config show`
prints absolute paths and marks defaults, `submit --option` passes converter options (a
semicolon CSV can be submitted by hand)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pywats import make_token
from syncengine.cli import cli
from tests.isolation import isolate_environment
from tests.syncengine.run_process import running_cli, wait_until
from tests.watsim.examples import example_uut
from watsim import Simulator

from .converters.harness import FIXTURES

USER, KEY = "operator", "messages-test-api-key-0123456789"
TOKEN = make_token(USER, KEY)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {
        "SYNCENGINE_JOURNAL": str(tmp_path / "journal.db"),
        "SYNCENGINE_CREDENTIALS": str(tmp_path / "creds" / "credentials.enc"),
        "SYNCENGINE_CREDENTIALS_STORE": "file",
    }


def test_login_warns_when_an_environment_token_shadows_it(env):
    with Simulator(token=TOKEN, seed=1) as sim:
        shadowed = {**env, "SYNCENGINE_TOKEN": "b2xkOnRva2Vu"}
        args = ["login", "--server", sim.base_url, "--user", USER, "--key-stdin"]
        result = CliRunner().invoke(cli, args, env=shadowed, input=KEY + "\n")
        assert result.exit_code == 0, result.output
        assert "SYNCENGINE_TOKEN shadows this stored login" in result.stderr
        plain = CliRunner().invoke(cli, args, env=env, input=KEY + "\n")
        assert plain.exit_code == 0 and "shadows" not in plain.stderr


def test_login_warning_for_a_config_file_token_says_when_the_login_takes_over(tmp_path: Path, env):
    config = tmp_path / "station.toml"
    config.write_text('token = "b2xkOnRva2Vu"\n', encoding="utf-8")
    with Simulator(token=TOKEN, seed=1) as sim:
        args = ["--config", str(config), "login", "--server", sim.base_url, "--user", USER]
        result = CliRunner().invoke(cli, [*args, "--key-stdin"], env=env, input=KEY + "\n")
    assert result.exit_code == 0, result.output
    warning = result.stderr.strip()
    assert warning.startswith(f"warning: 'token' in {config} shadows this stored login while")
    assert "turns to this login only when the server rejects it" in warning
    assert "without a restart" in warning and "the engine uses that token, not" not in warning


def test_run_with_a_rejected_config_token_takes_a_later_login_over_as_it_logs(tmp_path: Path, env):
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = tmp_path / "station.toml"
    with Simulator(token=TOKEN, seed=2) as sim:
        config.write_text(
            f'server_url = "{sim.base_url}"\ntoken = "d3Jvbmc6dG9rZW4="\n'
            f"probe_interval_s = 0.2\n[[watch]]\npath = {json.dumps(str(inbox))}\n"
            'converter = "wsjf"\nstable_s = 0.1\n',
            encoding="utf-8",
        )
        report = example_uut()
        (inbox / "board.json").write_text(json.dumps(report), encoding="utf-8")
        run_env = {**os.environ, **env, "SYNCENGINE_CONFIG": str(config)}
        with running_cli(["run"], run_env, tmp_path / "run.stderr") as child:
            log = child.log
            assert wait_until(lambda: "the server rejects the token from" in log(), 60), log()
            line = next(x for x in log().splitlines() if "the server rejects the token" in x)
            assert f"'token' in {config}" in line and "takes it over" in line
            assert "without a restart" in line and "cannot replace" not in line
            args = ["--config", str(config), "login", "--user", USER, "--key-stdin"]
            login = CliRunner().invoke(cli, args, env=env, input=KEY + "\n")
            assert login.exit_code == 0, login.output
            # What the line promised: the running engine recovers and delivers, no restart.
            assert wait_until(lambda: "auth_failed -> online" in log(), 60), log()
            assert wait_until(lambda: sim.stats()["distinct_reports"] == 1, 60), log()
            assert child.proc.poll() is None


def test_config_show_prints_absolute_paths_and_marks_defaults(tmp_path: Path, env, monkeypatch):
    station = tmp_path / "station"
    station.mkdir()
    (station / "config.toml").write_text(
        'server_url = "http://127.0.0.1:9"\njournal_path = "data/j.db"\n', encoding="utf-8"
    )
    monkeypatch.chdir(station)
    env = {k: v for k, v in env.items() if k != "SYNCENGINE_JOURNAL"}
    result = CliRunner().invoke(cli, ["--config", "config.toml", "config", "show"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"# config file: {station / 'config.toml'}"
    journal = next(line for line in lines if line.startswith("journal_path ="))
    assert json.dumps(str(station / "data" / "j.db")) in journal and "# from file" in journal
    status = next(line for line in lines if line.startswith("status_path ="))
    assert f"# default: {station / 'data' / 'j.db.status.json'}" in status
    assert any(line.startswith("concurrency =") and line.endswith("# default") for line in lines)


def test_submit_option_passes_converter_options(tmp_path: Path, env):
    rows = (FIXTURES / "eol_rows.csv").read_text(encoding="utf-8").replace(",", ";")
    path = tmp_path / "semicolon.csv"
    path.write_text(rows, encoding="utf-8")
    steps = json.dumps([{"column": "Vout", "unit": "V", "low": 11.8, "high": 12.2}])
    base = ["submit", "--converter", "csv", "--option", f"steps={steps}", str(path)]
    without = CliRunner().invoke(cli, base, env=env)
    assert without.exit_code == 1  # read with the default ',' the file makes no sense
    result = CliRunner().invoke(cli, [*base[:-1], "--option", "delimiter=;", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 3  # one key per row


def test_submit_option_without_a_name_is_a_usage_error(tmp_path: Path, env):
    path = tmp_path / "r.json"
    path.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["submit", "--option", "novalue", str(path)], env=env)
    assert result.exit_code == 2 and "NAME=VALUE" in result.output
