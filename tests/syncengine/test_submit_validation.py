"""SyncEngine.submit() checks a report locally first (validate_submit, on by default), as the
folder watcher does: an invalid report is a clear error, never a silent success of wait_idle()."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncengine import ReportInputError, SyncEngine
from watsim import Simulator

from .test_engine_support import fast_config, report, wait_for


def test_invalid_report_is_refused_before_it_is_journaled(tmp_path: Path, sim: Simulator):
    bad = report(1)
    del bad["pn"]
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        with pytest.raises(ReportInputError, match=r"is not valid: pn"):
            engine.submit(bad)
        assert engine.wait_idle(10)
        assert sum(engine.counts().values()) == 0
    assert sim.stats()["distinct_reports"] == 0


def test_the_error_names_every_bad_field(tmp_path: Path, sim: Simulator):
    bad = report(3)
    for name in ("pn", "sn", "rev"):
        del bad[name]
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        with pytest.raises(ReportInputError, match=r"is not valid: pn: .*bad fields: pn, sn, rev"):
            engine.submit(bad)


def test_validation_can_be_turned_off_and_the_server_refusal_is_a_clear_failed(
    tmp_path: Path, sim: Simulator
):
    bad = report(2)
    del bad["pn"]
    with SyncEngine(fast_config(tmp_path, sim, validate_submit=False)) as engine:
        key = engine.submit(bad)
        wait_for(lambda: engine.counts()["failed"] == 1, 30, "the server's refusal")
        sub = engine.submission(key)
        assert sub is not None and sub.state == "failed"
