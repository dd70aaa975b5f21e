"""Tests that run the CLI see none of the machine's wats-sync settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def isolate_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop every ``SYNCENGINE_*`` variable and point the XDG folders (config files, the
    credentials store) into ``tmp_path``, so a test reads only what it sets itself."""
    for name in list(os.environ):
        if name.startswith("SYNCENGINE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-site"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
