"""The CLI through click's runner: parsing, help, configuration, login, errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pywats import make_token
from syncengine.cli import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_JOURNAL,
    EXIT_SERVER,
    STATUS_EXIT,
    cli,
)
from syncengine.cli._runtime import engine_config_and_credentials
from syncengine.cli._views import parse_since
from tests.isolation import isolate_environment
from watsim import Simulator

TOKEN = make_token("operator", "cli-test-api-key-0123456789")
SECRET_KEY = "cli-test-api-key-0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated environment: no user config, credentials in tmp_path."""
    isolate_environment(tmp_path, monkeypatch)
    return {
        "SYNCENGINE_JOURNAL": str(tmp_path / "journal.sqlite3"),
        "SYNCENGINE_CREDENTIALS": str(tmp_path / "creds" / "credentials.enc"),
    }


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sim():
    with Simulator(token=TOKEN, seed=1) as simulator:
        yield simulator


def invoke(runner: CliRunner, args: list[str], env: dict[str, str], **kw) -> Result:
    return runner.invoke(cli, args, env=env, catch_exceptions=False, **kw)


def test_version_option_prints_the_version(runner: CliRunner, env) -> None:
    result = invoke(runner, ["--version"], env)
    assert result.exit_code == 0
    assert "syncengine" in result.output


def test_unknown_command_is_a_usage_error(runner: CliRunner, env) -> None:
    assert invoke(runner, ["frobnicate"], env).exit_code == 2


def test_bad_config_file_is_one_line_and_exit_3(runner: CliRunner, env, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("concurency = 4\n", encoding="utf-8")
    result = invoke(runner, ["--config", str(config), "status"], env)
    assert result.exit_code == EXIT_CONFIG
    assert result.stderr.count("\n") == 1
    assert "unknown key 'concurency'" in result.stderr
    assert str(config) in result.stderr


def test_missing_config_file_is_exit_3(runner: CliRunner, env, tmp_path: Path) -> None:
    result = invoke(runner, ["--config", str(tmp_path / "none.toml"), "config", "show"], env)
    assert result.exit_code == EXIT_CONFIG
    assert "Traceback" not in result.output


def test_status_without_any_journal_reports_zero_counts(runner: CliRunner, env) -> None:
    result = invoke(runner, ["status", "--json"], env)
    data = json.loads(result.stdout)
    assert data["counts"] == {
        "pending": 0,
        "in_flight": 0,
        "acked": 0,
        "failed": 0,
        "superseded": 0,
        "dismissed": 0,
    }
    assert data["journal_exists"] is False


def test_status_without_any_journal_is_critical_and_says_why(runner: CliRunner, env) -> None:
    result = invoke(runner, ["status"], env)
    assert result.exit_code == 2
    assert "no journal at" in result.stdout


def test_status_with_a_garbled_status_file_is_exit_4(runner: CliRunner, env) -> None:
    Path(env["SYNCENGINE_JOURNAL"] + ".status.json").write_text("{not json", encoding="utf-8")
    result = invoke(runner, ["status", "--json"], env)
    assert result.exit_code == EXIT_JOURNAL
    assert result.stderr.startswith("syncengine: error:")


def test_inspect_without_journal_names_the_path(runner: CliRunner, env) -> None:
    result = invoke(runner, ["inspect", "some-key"], env)
    assert result.exit_code == EXIT_JOURNAL
    assert env["SYNCENGINE_JOURNAL"] in result.stderr


def test_journal_verify_without_journal_is_exit_4(runner: CliRunner, env) -> None:
    assert invoke(runner, ["journal", "verify"], env).exit_code == EXIT_JOURNAL


def test_replay_needs_a_selection(runner: CliRunner, env) -> None:
    result = invoke(runner, ["replay"], env)
    assert result.exit_code == 2
    assert "--failed" in result.output


def test_replay_rejects_a_bad_since(runner: CliRunner, env) -> None:
    result = invoke(runner, ["replay", "--failed", "--since", "yesterday-ish"], env)
    assert result.exit_code == 2
    assert "ISO-8601" in result.output


def test_run_without_server_url_is_exit_3(runner: CliRunner, env) -> None:
    result = invoke(runner, ["run"], {**env, "SYNCENGINE_TOKEN": TOKEN})
    assert result.exit_code == EXIT_CONFIG
    assert "SYNCENGINE_SERVER_URL" in result.stderr


def test_run_without_any_token_suggests_login(runner: CliRunner, env) -> None:
    result = invoke(runner, ["run"], {**env, "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9"})
    assert result.exit_code == EXIT_CONFIG
    assert "syncengine login" in result.stderr


def test_config_show_masks_the_token(runner: CliRunner, env) -> None:
    full = {**env, "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9", "SYNCENGINE_TOKEN": TOKEN}
    result = invoke(runner, ["config", "show"], full)
    assert result.exit_code == 0
    assert TOKEN not in result.output
    assert "token = " in result.output


def test_config_show_json_masks_the_token(runner: CliRunner, env) -> None:
    full = {**env, "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9", "SYNCENGINE_TOKEN": TOKEN}
    result = invoke(runner, ["config", "show", "--json"], full)
    data = json.loads(result.stdout)
    assert data["token"].startswith("***")
    assert TOKEN not in result.output


def test_config_show_names_where_values_came_from(runner: CliRunner, env) -> None:
    full = {**env, "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9"}
    data = json.loads(invoke(runner, ["config", "show", "--json"], full).stdout)
    assert data["origins"]["server_url"] == "env SYNCENGINE_SERVER_URL"


def test_login_stores_a_token_the_server_accepts(runner: CliRunner, env, sim) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    result = invoke(runner, args, env, input=SECRET_KEY + "\n")
    assert result.exit_code == 0, result.output
    full = {**env, "SYNCENGINE_SERVER_URL": sim.base_url}
    shown = json.loads(invoke(runner, ["config", "show", "--json"], full).stdout)
    assert "stored for user operator" in shown["token"]


def test_login_output_never_shows_key_or_token(runner: CliRunner, env, sim) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    result = invoke(runner, args, env, input=SECRET_KEY + "\n")
    assert SECRET_KEY not in result.output
    assert TOKEN not in result.output


def test_login_prompts_for_user_and_key(runner: CliRunner, env, sim) -> None:
    result = invoke(
        runner, ["login", "--server", sim.base_url], env, input=f"operator\n{SECRET_KEY}\n"
    )
    assert result.exit_code == 0, result.output
    assert SECRET_KEY not in result.output


def test_rejected_login_is_exit_6_and_stores_nothing(
    runner: CliRunner, env, sim, tmp_path: Path
) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    result = invoke(runner, args, env, input="wrong-key\n")
    assert result.exit_code == EXIT_AUTH
    assert "rejected" in result.stderr
    assert not (tmp_path / "creds" / "credentials.enc").exists()


def test_login_to_unreachable_server_is_exit_5(runner: CliRunner, env) -> None:
    args = ["login", "--server", "http://127.0.0.1:9", "--user", "u", "--key-stdin"]
    result = invoke(runner, args, env, input="k\n")
    assert result.exit_code == EXIT_SERVER
    assert result.stderr.count("\n") == 1


def test_login_with_empty_stdin_is_a_usage_error(runner: CliRunner, env, sim) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    assert invoke(runner, args, env, input="").exit_code == 2


def test_logout_forgets_the_stored_login(runner: CliRunner, env, sim) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    invoke(runner, args, env, input=SECRET_KEY + "\n")
    invoke(runner, ["logout", "--server", sim.base_url], env)
    full = {**env, "SYNCENGINE_SERVER_URL": sim.base_url}
    shown = json.loads(invoke(runner, ["config", "show", "--json"], full).stdout)
    assert shown["token"] == "none: run 'syncengine login'"


def test_logout_without_a_stored_login_is_fine(runner: CliRunner, env) -> None:
    result = invoke(runner, ["logout", "--server", "http://127.0.0.1:9"], env)
    assert result.exit_code == 0
    assert "no stored login" in result.stdout


def test_stored_login_gives_run_its_token(env, sim, runner: CliRunner) -> None:
    args = ["login", "--server", sim.base_url, "--user", "operator", "--key-stdin"]
    invoke(runner, args, env, input=SECRET_KEY + "\n")
    from syncengine._settings import load_settings

    full = {**env, "SYNCENGINE_SERVER_URL": sim.base_url}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in full.items():
            mp.setenv(name, value)
        config, provider = engine_config_and_credentials(load_settings(None))
    assert config.token.get_secret_value() == TOKEN
    assert provider.token() == TOKEN


def test_status_exit_codes_follow_the_monitoring_convention() -> None:
    assert STATUS_EXIT == {
        "ok": 0,
        "degraded": 1,
        "offline": 1,
        "stuck": 2,
        "auth_failed": 2,
        "stopped": 2,
    }


def test_since_accepts_an_age() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200


def test_since_accepts_an_iso_time_as_utc() -> None:
    assert parse_since("1970-01-01T01:00:00", now=0.0) == 3600.0


def test_since_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_since("last tuesday", now=0.0)


def _classified(exc: BaseException) -> int | None:
    from syncengine.cli._runtime import classify

    found = classify(exc)
    return None if found is None else found[0]


def test_expected_exceptions_map_to_their_documented_exit_codes(tmp_path: Path) -> None:
    from journal import CorruptJournalError, NewerSchemaError
    from pywats import AuthenticationError, ConnectError
    from syncengine import EngineLockedError
    from syncengine._settings import SettingsError
    from syncengine._watcher import WatchFolderError
    from syncengine.credentials import (
        CredentialsStoreError,
        LoginRejectedError,
        LoginUnreachableError,
    )

    cases = {
        SettingsError("x"): EXIT_CONFIG,
        WatchFolderError("watch[0].path: gone", key="watch[0].path"): EXIT_CONFIG,
        CredentialsStoreError("x"): EXIT_CONFIG,
        LoginRejectedError("x"): EXIT_AUTH,
        LoginUnreachableError("x"): EXIT_SERVER,
        CorruptJournalError(tmp_path / "j", "bad"): EXIT_JOURNAL,
        NewerSchemaError(tmp_path / "j", 9, 1, ["m9"]): EXIT_JOURNAL,
        EngineLockedError("x", lock_path="l"): EXIT_JOURNAL,
        AuthenticationError("x", operation="app.version", status_code=401): EXIT_AUTH,
        ConnectError("x", operation="app.version", may_have_reached_server=False): EXIT_SERVER,
        FileNotFoundError(2, "No such file", str(tmp_path / "f")): 1,
    }
    assert {type(e).__name__: _classified(e) for e in cases} == {
        type(e).__name__: code for e, code in cases.items()
    }


def test_an_unexpected_exception_is_not_classified_as_expected() -> None:
    assert _classified(RuntimeError("bug")) is None


def test_run_with_the_health_port_taken_is_exit_3_naming_the_key(
    runner: CliRunner, env, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = tmp_path / "taken.toml"
        config.write_text(f"[health_http]\nenabled = true\nport = {port}\n", encoding="utf-8")
        run_env = {**env, "SYNCENGINE_SERVER_URL": "http://127.0.0.1:9", "SYNCENGINE_TOKEN": TOKEN}
        result = invoke(runner, ["--config", str(config), "run"], run_env)
    assert result.exit_code == EXIT_CONFIG
    assert "health_http.port" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    assert result.stderr.count("\n") == 1
