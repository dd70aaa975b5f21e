"""The service log at INFO: one line per acknowledged report (key, serial number, file) or a
periodic count; permanent failures name the file and serial number; a file dropped again says,
from the journal's answer, that it was delivered (or journaled, with its state) before."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from syncengine import SyncEngine
from syncengine._config import WatchFolder
from syncengine._ingest import submission_key
from syncengine.cli._logs import log_engine_events
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


def test_file_dropped_again_right_after_delivery_says_already_delivered(
    tmp_path: Path, sim: Simulator, caplog
):
    # The same bytes again seconds after the first drop: the journal's answer, not the clock,
    # says the key was there (the old guess called anything younger than 5 s "journaled").
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    body = json.dumps(report(3)).encode()
    with engine, log_engine_events(engine):
        (inbox / "first.json").write_bytes(body)
        wait_for(lambda: any(": acknowledged (" in m for m in _lines(caplog)), 60, "the ack")
        (inbox / "again.json").write_bytes(body)
        wait_for(lambda: (inbox / "done" / "again.json").exists(), 60, "the file in done/")
        wait_for(lambda: any("again.json" in m for m in _lines(caplog)), 30, "its line")
    key = submission_key(hashlib.sha256(body).hexdigest(), 0)
    line = next(m for m in _lines(caplog) if "again.json" in m)
    assert f"again.json: already delivered (key {key}); not sent again" in line
    assert f"'syncengine resend {key} --reason TEXT'" in line and "journaled (" not in line
    assert sim.stats()["distinct_reports"] == 1


def test_file_dropped_again_after_a_refusal_says_already_journaled_with_its_state(
    tmp_path: Path, sim: Simulator, caplog
):
    caplog.set_level(logging.INFO, logger="syncengine.events")
    engine, inbox = _engine(tmp_path, sim)
    bad = report(4)
    bad["processCode"] = 999  # the simulator refuses unknown process codes (400)
    body = json.dumps(bad).encode()
    with engine, log_engine_events(engine):
        (inbox / "first.json").write_bytes(body)
        wait_for(lambda: any("failed permanently" in m for m in _lines(caplog)), 60, "failure")
        (inbox / "again.json").write_bytes(body)
        wait_for(lambda: any("again.json" in m for m in _lines(caplog)), 60, "its line")
    key = submission_key(hashlib.sha256(body).hexdigest(), 0)
    line = next(m for m in _lines(caplog) if "again.json" in m)
    assert f"already journaled (key {key}, state failed); not sent again" in line
    assert f"'syncengine replay --key {key}'" in line


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


def test_each_connection_change_is_logged_once_with_the_level_it_deserves(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    config = fast_config(tmp_path, sim, breaker={"failure_threshold": 2, "reset_timeout_s": 0.05})
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    with SyncEngine(config) as engine, log_engine_events(engine):
        engine.submit(report(1))
        wait_for(lambda: engine.connection_state == "circuit_open", 60, "the breaker open")
        sim.clear_faults()
        assert engine.wait_idle(30)
        wait_for(lambda: engine.connection_state == "online", 60, "online again")
    changes = [r for r in caplog.records if r.getMessage().startswith("connection ")]
    opened = [r for r in changes if "online -> circuit_open" in r.getMessage()]
    assert [(r.name, r.levelname) for r in opened] == [("syncengine.connection", "WARNING")]
    back = [r for r in changes if "-> online" in r.getMessage()]
    assert back and {(r.name, r.levelname) for r in back} == {("syncengine.connection", "INFO")}
