"""The service log at INFO: one line per acknowledged report (key, serial number, file) or a
periodic count; permanent failures name the file and serial number; a file dropped again says
it was journaled before instead of "journaled"."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from journal import Journal, file_sha256
from syncengine import SyncEngine
from syncengine._config import WatchFolder
from syncengine._ingest import convert_file
from syncengine.cli._logs import log_engine_events
from syncengine.converters import WorkerPool
from watsim import Simulator

from .test_engine_support import fast_config, report, wait_for


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "syncengine.events"]


def _engine(tmp_path: Path, sim: Simulator) -> tuple[SyncEngine, Path]:
    inbox = tmp_path / "in"
    inbox.mkdir(exist_ok=True)
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.3)
    return SyncEngine(fast_config(tmp_path, sim, watch=[folder])), inbox


def test_each_acknowledged_report_gets_an_info_line_with_serial_and_file(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    with engine, log_engine_events(engine, acks="each"):
        (inbox / "board-7.json").write_text(json.dumps(report(7)), encoding="utf-8")
        wait_for(lambda: any(": acknowledged (" in m for m in _lines(caplog)), 60, "the ack line")
    line = next(m for m in _lines(caplog) if ": acknowledged (" in m)
    assert "SN SN-000007" in line and "board-7.json" in line


def test_summary_mode_counts_instead(tmp_path: Path, sim: Simulator, caplog):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    with engine, log_engine_events(engine, acks="summary", summary_s=3600):
        for i in range(3):
            (inbox / f"r{i}.json").write_text(json.dumps(report(i)), encoding="utf-8")
        wait_for(lambda: sim.stats()["distinct_reports"] == 3, 60, "three reports")
        assert engine.wait_idle(30)
    lines = _lines(caplog)
    assert not any("acknowledged (SN" in m for m in lines)
    assert any(m.startswith("3 report(s) acknowledged in the last") for m in lines)


def test_permanent_failure_names_file_and_serial_number(tmp_path: Path, sim: Simulator, caplog):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    bad = report(9)
    bad["processCode"] = 999  # the simulator refuses unknown process codes (400)
    with engine, log_engine_events(engine):
        (inbox / "refused.json").write_text(json.dumps(bad), encoding="utf-8")
        wait_for(lambda: any("failed permanently" in m for m in _lines(caplog)), 60, "failure")
    line = next(m for m in _lines(caplog) if "failed permanently" in m)
    assert "SN SN-000009" in line and "refused.json" in line


def test_file_dropped_again_says_already_journaled(tmp_path: Path, sim: Simulator, caplog):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    body = json.dumps(report(3)).encode()
    first = tmp_path / "first.json"
    first.write_bytes(body)
    # The same bytes were journaled an hour ago (a journal with a clock an hour behind).
    with WorkerPool([], workers=1, timeout_s=10.0, memory_mb=512) as pool:
        sha, size = file_sha256(first)
        _conv, items = convert_file(pool, first, sha, size, converter="wsjf")
    with Journal(tmp_path / "journal.db", clock=lambda: time.time() - 3600) as journal:
        journal.submit_many(items)
    with engine, log_engine_events(engine):
        (inbox / "again.json").write_bytes(body)
        wait_for(lambda: (inbox / "done" / "again.json").exists(), 60, "the file in done/")
        wait_for(lambda: any("again.json" in m for m in _lines(caplog)), 30, "its line")
    line = next(m for m in _lines(caplog) if "again.json" in m)
    assert f"already journaled before (key {items[0][0]})" in line and "journaled (" not in line


@pytest.mark.parametrize(
    ("token_from", "expected"),
    [
        (None, "run 'syncengine login' to store a new one"),
        ("SYNCENGINE_TOKEN", "token from SYNCENGINE_TOKEN: run 'syncengine login' to store a"),
    ],
)
def test_auth_failed_says_whether_a_login_can_help(
    tmp_path: Path, sim: Simulator, caplog, token_from, expected
):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine = SyncEngine(fast_config(tmp_path, sim, token="d3Jvbmc6dG9rZW4="))
    with engine, log_engine_events(engine, token_from=token_from):
        engine.submit(report(1, tag="auth"))
        wait_for(lambda: engine.status()["connection"] == "auth_failed", 30, "auth_failed")
        wait_for(lambda: any(expected in m for m in _lines(caplog)), 30, "the hint")
