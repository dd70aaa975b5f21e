"""`syncengine resend KEY --reason` sends an acknowledged report again after a server-side
restore: a new, recorded submission (not a bypass of the journal) that the engine delivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from journal import Journal
from syncengine import SyncEngine
from syncengine.cli import EXIT_FAILED, cli
from tests.isolation import isolate_environment
from watsim import Simulator

from .test_engine_support import fast_config, report, wait_for


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_JOURNAL": str(tmp_path / "journal.db")}


def test_resend_of_an_acked_report_is_recorded_and_delivered_again(
    tmp_path: Path, sim: Simulator, env
):
    body = report(5, tag="resend")
    config = fast_config(tmp_path, sim)
    with SyncEngine(config) as engine:
        key = engine.submit(body)
        assert engine.wait_idle(30)
    sim.reset()  # the server lost its reports (a restore from an older backup)
    result = CliRunner().invoke(
        cli, ["resend", str(body["id"]), "--reason", "server restored", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    new_key = json.loads(result.stdout)["as"]
    assert new_key != key
    with Journal(tmp_path / "journal.db") as journal:
        sub = journal.submission(new_key)
        assert sub is not None and sub.state == "pending"
        assert sub.source is not None and sub.source["resend_of"] == key
        assert sub.source["reason"] == "server restored" and sub.source["origin"] == "cli"
        old = journal.submission(key)
        assert old is not None and old.state == "acked"  # the original stays as it was
    with SyncEngine(config) as engine:
        wait_for(lambda: sim.report(str(body["id"])) is not None, 30, "the report back")
        assert engine.wait_idle(30)
    assert sim.stats()["receive_counts"] == {str(body["id"]): 1}


def test_resend_refuses_a_report_that_is_not_acknowledged(tmp_path: Path, env):
    with Journal(tmp_path / "journal.db") as journal:
        journal.submit("k-pending", report(1))
    result = CliRunner().invoke(cli, ["resend", "k-pending", "--reason", "x"], env=env)
    assert result.exit_code == EXIT_FAILED and "still to be sent" in result.output
