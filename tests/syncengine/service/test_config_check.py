"""`syncengine config check` and the systemd credential, through the real click command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from journal import Journal
from syncengine.cli import EXIT_CONFIG
from syncengine.service import CREDENTIAL_NAME
from tests.syncengine.run_process import running_cli
from tests.syncengine.service.conftest import invoke
from tests.syncengine.test_engine_support import report, wait_for
from watsim import Simulator


# --- config check -------------------------------------------------------------------------------
def test_config_check_passes_a_runnable_configuration(station: Path, env: dict[str, str]) -> None:
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output and "1 watch folder(s)" in result.output


def test_config_check_without_a_token_is_a_configuration_error(
    station: Path, env: dict[str, str]
) -> None:
    result = invoke(["--config", str(station), "config", "check"], env)
    assert result.exit_code == EXIT_CONFIG
    assert "no token" in result.output


def test_config_check_names_a_missing_watch_folder(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "inbox").rmdir()
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert "watch[0].path" in result.output and "does not exist" in result.output


def test_config_check_counts_each_problem_once_and_keeps_each_line_whole(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    # Messages were split at every "; ": one missing folder counted as two problems and the
    # unknown-converter line was cut inside its parenthesis.
    (tmp_path / "inbox").rmdir()
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert "1 problem(s)" in result.output, result.output
    (tmp_path / "inbox").mkdir()
    station.write_text(station.read_text().replace('"wsjf"', '"wsjff"'))
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert "1 problem(s)" in result.output, result.output
    [line] = [ln for ln in result.output.splitlines() if "watch[0].converter" in ln]
    assert "did you mean 'wsjf'" in line and "see 'syncengine converters list')" in line


def test_config_check_finds_a_journal_folder_that_cannot_be_made(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "state").write_text("a file where the journal's folder should be")
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert "journal_path" in result.output


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_config_check_refuses_a_token_in_a_world_readable_file(
    station: Path, env: dict[str, str]
) -> None:
    station.write_text('token = "file-token-123"\n' + station.read_text())
    station.chmod(0o644)
    result = invoke(["--config", str(station), "config", "check"], env)
    assert result.exit_code == EXIT_CONFIG
    assert "readable by other users" in result.output
    assert "file-token-123" not in result.output


def test_config_check_names_a_textfile_folder_it_cannot_write(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "node-exporter").write_text("a file where the textfile's folder should be")
    textfile = tmp_path / "node-exporter" / "wats_sync.prom"
    args = ["--config", str(station), "config", "check", "--metrics-textfile", str(textfile)]
    result = invoke(args, {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert f"--metrics-textfile: {tmp_path / 'node-exporter'}: " in result.output
    # the same folder, usable: the check passes; run's environment variable is read too
    (tmp_path / "node-exporter").unlink()
    (tmp_path / "node-exporter").mkdir()
    assert invoke(args, {**env, "SYNCENGINE_TOKEN": "t"}).exit_code == 0
    from_env = {**env, "SYNCENGINE_TOKEN": "t", "SYNCENGINE_METRICS_TEXTFILE": str(tmp_path / "x")}
    result = invoke(["--config", str(station), "config", "check"], from_env)
    assert result.exit_code == EXIT_CONFIG and "must end in .prom" in result.output


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write any folder"
)
def test_config_check_names_a_read_only_textfile_folder(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "node-exporter"  # like Debian's root:root 0755 folder, for the service
    folder.mkdir()
    folder.chmod(0o555)
    args = ["--config", str(station), "config", "check", "--metrics-textfile"]
    result = invoke([*args, str(folder / "wats_sync.prom")], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert f"{folder} is not writable" in result.output


def test_config_check_an_unreadable_config_is_exit_3(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("server_url = [unclosed")
    assert invoke(["--config", str(bad), "config", "check"], env).exit_code == EXIT_CONFIG


# --- the systemd credential --------------------------------------------------------------------
def test_the_token_comes_from_the_systemd_credential(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    creds = tmp_path / "creds-dir"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text("credential-token-456\n")
    result = invoke(
        ["--config", str(station), "config", "check"], {**env, "CREDENTIALS_DIRECTORY": str(creds)}
    )
    assert result.exit_code == 0, result.output
    assert f"systemd credential {CREDENTIAL_NAME}" in result.output
    shown = invoke(
        ["--config", str(station), "config", "show"], {**env, "CREDENTIALS_DIRECTORY": str(creds)}
    )
    assert "credential-token-456" not in shown.output


def test_an_empty_systemd_credential_is_a_configuration_error(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    creds = tmp_path / "creds-dir"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text("\n")
    result = invoke(
        ["--config", str(station), "config", "check"], {**env, "CREDENTIALS_DIRECTORY": str(creds)}
    )
    assert result.exit_code == EXIT_CONFIG
    assert "is empty" in result.output


def test_the_environment_token_wins_over_the_credential(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    creds = tmp_path / "creds-dir"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text("credential-token")
    result = invoke(
        ["--config", str(station), "config", "check"],
        {**env, "CREDENTIALS_DIRECTORY": str(creds), "SYNCENGINE_TOKEN": "env-token"},
    )
    assert "token from env SYNCENGINE_TOKEN" in result.output


def test_config_check_names_an_unknown_converter(station: Path, env: dict[str, str]) -> None:
    station.write_text(station.read_text().replace('converter = "wsjf"', 'converter = "wsjff"'))
    result = invoke(["--config", str(station), "config", "check"], {**env, "SYNCENGINE_TOKEN": "t"})
    assert result.exit_code == EXIT_CONFIG
    assert "watch[0].converter" in result.output and "wsjf" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM of a child process")
def test_run_names_the_systemd_credential_when_the_server_rejects_its_token(
    station: Path, env: dict[str, str], tmp_path: Path, sim: Simulator
) -> None:
    """The token came from the credential, not the config file: the auth-failure line says
    so (it used to say "'token' in config.toml", sending the operator to the wrong file)."""
    station.write_text(
        f'server_url = "{sim.base_url}"\njournal_path = "journal.db"\nidle_poll_s = 0.05\n'
    )
    creds = tmp_path / "creds-dir"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text("d3Jvbmc6dG9rZW4=\n")  # a token the server refuses
    item = report(1, tag="credential-rejected")
    with Journal(tmp_path / "journal.db") as producer:
        producer.submit(item["id"], item)
    log = tmp_path / "run.log"
    run_env = {**os.environ, **env, "CREDENTIALS_DIRECTORY": str(creds)}
    with running_cli(["--config", str(station), "run"], run_env, log) as child:
        wait_for(
            lambda: "the server rejects the token from" in log.read_text(),
            timeout=60,
            what="the auth-failure line",
        )
        assert child.stop(60) == 0
    line = next(x for x in log.read_text().splitlines() if "rejects the token from" in x)
    assert f"the token from the systemd credential {CREDENTIAL_NAME}" in line
    assert "config.toml" not in line
