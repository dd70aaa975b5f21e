"""Shared by the service tests: an isolated environment, a station config, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncengine.cli import cli
from tests.isolation import isolate_environment


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated environment: no user config, a file credentials store in tmp_path."""
    isolate_environment(tmp_path, monkeypatch)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return {
        "SYNCENGINE_CREDENTIALS": str(tmp_path / "creds" / "credentials.enc"),
        "SYNCENGINE_CREDENTIALS_STORE": "file",
    }


@pytest.fixture
def station(tmp_path: Path) -> Path:
    """A config file with one existing watch folder and no token."""
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(
        'server_url = "https://wats.example.com"\njournal_path = "state/journal.db"\n'
        '[[watch]]\npath = "inbox"\nconverter = "wsjf"\n'
    )
    path.chmod(0o600)
    return path


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
