"""End to end: station files dropped into watched folders reach the simulator exactly once."""

from __future__ import annotations

import shutil
from pathlib import Path

from syncengine import SyncEngine, signals
from syncengine._config import WatchFolder
from watsim import Simulator

from .converters.harness import FIXTURES
from .test_engine_support import Receivers, fast_config, receivers, wait_for

__all__ = ["receivers"]  # the fixture is used by name

CSV_OPTIONS = {
    "steps": [
        {"column": "Vout", "unit": "V", "low": 11.8, "high": 12.2},
        {"column": "Iq", "unit": "A", "high": 0.9},
        {"column": "LED", "type": "passfail"},
        {"column": "Firmware", "type": "string", "limit": "1.2.0"},
    ]
}


def _engine(tmp_path: Path, sim: Simulator) -> SyncEngine:
    folders = (
        WatchFolder(path=tmp_path / "auto", stable_s=0.1, create=True),
        WatchFolder(
            path=tmp_path / "csv", converter="csv", stable_s=0.1, options=CSV_OPTIONS, create=True
        ),
    )
    return SyncEngine(
        fast_config(tmp_path, sim, watch=folders, station_name="E2E", converter_workers=2)
    )


def test_files_of_every_builtin_format_reach_the_server_once(
    tmp_path: Path, sim: Simulator, receivers: Receivers
):
    converted: list[list[str]] = []

    def on_converted(sender: object, **kw: object) -> None:
        converted.append(list(kw["keys"]))  # type: ignore[arg-type]

    receivers.connect(signals.file_converted, on_converted)
    with _engine(tmp_path, sim) as engine:
        for name in ("ict_uut.json", "fct_report.xml", "eol_station.txt", "two_reports.json"):
            shutil.copy(FIXTURES / name, tmp_path / "auto" / name)
        shutil.copy(FIXTURES / "eol_rows.csv", tmp_path / "csv" / "eol_rows.csv")
        wait_for(lambda: len(converted) == 5, timeout=60, what="five converted files")
        assert engine.wait_idle(60)
    stats = sim.stats()
    assert stats["distinct_reports"] == 1 + 1 + 1 + 2 + 3
    assert set(stats["receive_counts"].values()) == {1}
    assert sim.report("6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10") is not None  # the file's own id
    assert sorted(p.name for p in (tmp_path / "auto" / "done").iterdir()) == [
        "eol_station.txt",
        "fct_report.xml",
        "ict_uut.json",
        "two_reports.json",
    ]


def test_same_file_dropped_again_is_not_sent_again(tmp_path: Path, sim: Simulator):
    with _engine(tmp_path, sim) as engine:
        shutil.copy(FIXTURES / "eol_station.txt", tmp_path / "auto" / "a.txt")
        wait_for(lambda: (tmp_path / "auto" / "done" / "a.txt").exists(), 60, "first file done")
        assert engine.wait_idle(60)
        shutil.copy(FIXTURES / "eol_station.txt", tmp_path / "auto" / "b.txt")
        wait_for(lambda: (tmp_path / "auto" / "done" / "b.txt").exists(), 60, "second file done")
        assert engine.wait_idle(60)
    stats = sim.stats()
    assert stats["distinct_reports"] == 1 and list(stats["receive_counts"].values()) == [1]
