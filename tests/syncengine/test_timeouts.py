"""Timeouts come from EngineConfig.timeouts, not from constants in the modules that wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncengine import EngineConfig
from syncengine.cli._submit_files import command_pool
from syncengine.converters import WorkerUnavailableError


def test_a_converter_worker_slower_to_start_than_converter_start_s_is_unavailable(
    tmp_path: Path,
) -> None:
    plugin = tmp_path / "slow_import.py"
    plugin.write_text("import time\n\ntime.sleep(10)\n", encoding="utf-8")
    report = tmp_path / "r.json"
    report.write_text("{}", encoding="utf-8")
    config = EngineConfig(
        server_url="http://127.0.0.1:9",
        token="t",
        journal_path=tmp_path / "j.db",
        converter_paths=(str(plugin),),
        timeouts={"converter_start_s": 0.5},
    )
    # With the old fixed 60 s start wait the worker comes up after the plugin's 10 s and
    # answers for the file: it is not unavailable.
    with command_pool(config) as pool, pytest.raises(WorkerUnavailableError):
        pool.convert(report)
