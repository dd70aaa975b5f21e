"""Configuration mistakes are configuration errors (exit 3) that name the key to fix, in TOML
words, and `run` creates nothing (no journal, lock or status file) before refusing."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncengine._settings import SettingsError, load_settings
from syncengine.cli import EXIT_CONFIG
from tests.isolation import isolate_environment


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_CREDENTIALS": str(tmp_path / "creds" / "credentials.enc")}


@dataclass
class Result:
    exit_code: int
    output: str


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'server_url = "http://127.0.0.1:9"\ntoken = "t0k3n"\njournal_path = "data/journal.db"\n'
        + body,
        encoding="utf-8",
    )
    return path


def _run(tmp_path: Path, env: dict[str, str], body: str) -> Result:
    """``syncengine --config FILE run`` in a real process, bounded: a run that starts is a bug."""
    config = _config(tmp_path, body)
    child = subprocess.run(
        [sys.executable, "-m", "syncengine", "--config", str(config), "run"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(child.returncode, child.stdout + child.stderr)


def _created(tmp_path: Path) -> list[str]:
    data = tmp_path / "data"
    return sorted(p.name for p in data.iterdir()) if data.exists() else []


def test_missing_watch_folder_is_a_config_error_naming_the_key(tmp_path, env):
    result = _run(tmp_path, env, '[[watch]]\npath = "typo-inbox"\n')
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "watch[0].path" in result.output and "does not exist" in result.output
    assert "create = true" in result.output
    assert not (tmp_path / "typo-inbox").exists() and _created(tmp_path) == []


def test_create_true_accepts_a_missing_watch_folder(tmp_path):
    config = _config(tmp_path, '[[watch]]\npath = "new-inbox"\ncreate = true\n')
    settings = load_settings(config, env={})
    engine_config = settings.engine_config()
    assert engine_config.watch[0].create and not (tmp_path / "new-inbox").exists()


def test_unknown_converter_is_a_config_error_listing_converters_and_creates_nothing(tmp_path, env):
    (tmp_path / "in").mkdir()
    result = _run(tmp_path, env, '[[watch]]\npath = "in"\nconverter = "wsjff"\n')
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "watch[0].converter" in result.output and "did you mean 'wsjf'" in result.output
    assert "available:" in result.output and "csv" in result.output
    assert _created(tmp_path) == []  # no journal, no lock, no status file


def test_journal_path_that_is_a_folder_is_a_config_error(tmp_path, env):
    (tmp_path / "data" / "journal.db").mkdir(parents=True)
    result = _run(tmp_path, env, "")
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "journal_path" in result.output and "is a folder" in result.output


def test_parent_that_is_a_file_is_a_config_error_naming_the_key(tmp_path, env):
    (tmp_path / "data").write_text("a file where the journal's folder should be")
    result = _run(tmp_path, env, "")
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "journal_path" in result.output and "is a file, not a folder" in result.output


def test_error_dir_under_a_file_is_a_config_error_naming_its_key(tmp_path, env):
    (tmp_path / "in").mkdir()
    (tmp_path / "blocker").write_text("x")
    result = _run(tmp_path, env, '[[watch]]\npath = "in"\nerror_dir = "blocker/error"\n')
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "watch[0].error_dir" in result.output and "is a file, not a folder" in result.output
    assert _created(tmp_path) == []


@pytest.mark.skipif(
    not os.path.isdir("/proc/sys") or os.access("/proc/sys", os.W_OK),
    reason="needs a read-only folder that even root cannot write (/proc/sys here)",
)
def test_read_only_watch_folder_is_a_config_error(tmp_path, env):
    result = _run(tmp_path, env, '[[watch]]\npath = "/proc/sys"\n')
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "watch[0].path" in result.output and "not writable" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('jornal_path = "x"\n', "unknown key 'jornal_path' in config file"),
        ('jornal_path = "x"\n', "did you mean 'journal_path'?"),
        ('[[watch]]\npath = "in"\npaterns = ["*.x"]\n', "did you mean 'patterns'?"),
        ("[retry]\nbase = 1\n", "unknown key 'retry.base'"),
        ('[logging]\nlevle = "INFO"\n', "did you mean 'level'?"),
        ('watch = "in"\n', "expected an array of tables ([[watch]] sections)"),
        ('concurrency = "four"\n', "'concurrency' in config file"),
        ('concurrency = "four"\n', "expected an integer"),
        ('[[watch]]\npath = "in"\ndone_action = "shred"\n', "expected 'move', 'delete' or 'keep'"),
    ],
)
def test_config_messages_use_toml_words_and_suggest_near_miss_keys(tmp_path, text, expected):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert expected in message
    assert "Input should be" not in message and "valid tuple" not in message


def test_server_url_with_a_user_and_key_is_refused_without_echoing_the_key(tmp_path, env):
    config = tmp_path / "config.toml"
    config.write_text(
        'server_url = "https://operator:s3cretKEY@127.0.0.1:9"\ntoken = "t0k3n"\n'
        'journal_path = "data/journal.db"\n',
        encoding="utf-8",
    )
    child = subprocess.run(
        [sys.executable, "-m", "syncengine", "--config", str(config), "run"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = child.stdout + child.stderr
    assert child.returncode == EXIT_CONFIG, output
    assert "'server_url'" in output and "user:key@host" in output
    assert "s3cretKEY" not in output and "operator" not in output
    assert _created(tmp_path) == []


def test_engine_config_errors_never_echo_the_value(tmp_path):
    from pydantic import ValidationError

    from syncengine import EngineConfig

    for url, token in [("https://u:s3cretKEY@h", "t"), ("ftp://u:s3cretKEY@h", "t")]:
        with pytest.raises(ValidationError) as caught:
            EngineConfig(server_url=url, token=token, journal_path=tmp_path / "j.db")
        assert "s3cretKEY" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        EngineConfig(server_url="https://h", token=918273645, journal_path=tmp_path / "j.db")  # type: ignore[arg-type]
    assert "918273645" not in str(caught.value)


def test_a_server_url_without_a_scheme_is_refused_without_echoing_it(tmp_path):
    from pydantic import ValidationError

    from syncengine import EngineConfig

    with pytest.raises(ValidationError, match="server_url must start with http") as caught:
        EngineConfig(server_url="wats.example/?k=s3cret", token="t", journal_path=tmp_path / "j")
    assert "s3cret" not in str(caught.value)


def test_server_url_follows_the_pywats_rule_and_is_kept_as_given(tmp_path):
    from syncengine import EngineConfig

    # pywats.normalise_base_url accepts this and would strip "/api/"; the config keeps it.
    config = EngineConfig(server_url=" https://h.example/api/ ", token="t", journal_path=tmp_path)
    assert config.server_url == "https://h.example/api/"
